//! Response compression: the app shell and JSON are compressed when the
//! client accepts it (gzip, br); photos (already compressed) are not; the
//! sync WebSocket is unaffected (server/tests/sync_api.rs runs over the
//! same middleware).

use std::io::Read;

use crate::helpers::spawn_app;

/// A GET with `Accept-Encoding`, the body as it came over the wire.
async fn get_raw(
    app: &wijklog_server::testing::TestApp,
    path: &str,
    encoding: &str,
) -> (u16, Option<String>, Vec<u8>) {
    let mut res = awc::Client::default()
        .get(format!("{}{path}", app.address))
        .insert_header(("Accept-Encoding", encoding))
        .no_decompress()
        .send()
        .await
        .expect("request");
    let enc = res
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .expect("body")
        .to_vec();
    (res.status().as_u16(), enc, body)
}

#[actix_web::test]
async fn the_app_shell_and_json_are_compressed_for_clients_that_accept_it() {
    let app = spawn_app().await;
    let static_dir = app.data_dir.join("static");
    std::fs::create_dir_all(static_dir.join("assets")).expect("dir");
    let script = "export const hallo = 'wijklog';\n".repeat(400);
    std::fs::write(static_dir.join("assets/index-abc.js"), &script).expect("write");

    // JavaScript of the shell, gzip: decodes back to the file.
    let (status, enc, body) = get_raw(&app, "/assets/index-abc.js", "gzip").await;
    assert_eq!(status, 200);
    assert_eq!(enc.as_deref(), Some("gzip"));
    assert!(body.len() < script.len() / 10, "{} bytes", body.len());
    let mut plain = String::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_string(&mut plain)
        .expect("gunzip");
    assert_eq!(plain, script);

    // Brotli when preferred.
    let (_, enc, body) = get_raw(&app, "/assets/index-abc.js", "br").await;
    assert_eq!(enc.as_deref(), Some("br"));
    assert!(body.len() < script.len() / 10);

    // JSON (the OpenAPI document), gzip.
    let (status, enc, body) = get_raw(&app, "/api/v1/openapi.json", "gzip").await;
    assert_eq!(status, 200);
    assert_eq!(enc.as_deref(), Some("gzip"));
    let mut json = String::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_string(&mut json)
        .expect("gunzip");
    assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());

    // No Accept-Encoding: sent as is.
    let (_, enc, body) = get_raw(&app, "/assets/index-abc.js", "identity").await;
    assert_eq!(enc, None);
    assert_eq!(body, script.as_bytes());
}

#[actix_web::test]
async fn images_are_sent_as_they_are() {
    let app = spawn_app().await;
    let static_dir = app.data_dir.join("static");
    std::fs::create_dir_all(&static_dir).expect("dir");
    // A PNG-named file of compressible bytes: the image type alone decides.
    let png = vec![0u8; 20_000];
    std::fs::write(static_dir.join("icon.png"), &png).expect("write");
    let (status, enc, body) = get_raw(&app, "/icon.png", "gzip, br").await;
    assert_eq!(status, 200);
    assert_eq!(enc, None, "images are not compressed again");
    assert_eq!(body.len(), png.len());
}
