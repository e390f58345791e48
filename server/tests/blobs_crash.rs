//! The server process is killed (SIGKILL) in the middle of a photo upload;
//! after a restart the retried upload succeeds and the data directory holds
//! exactly one correct copy of the photo, with no partial or temp files.
//! Uses the real `wijklog` binary (`user add`, `serve`) on 127.0.0.1 port 0.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::ImageFormat;
use wijklog_server::blobs::BlobHash;
use wijklog_testing::cli;
use wijklog_testing::images::noise;
use wijklog_testing::server::{Serve, ServerProcess};

const PASSWORD: &str = "een-lang-test-wachtwoord";

fn start(data: &Path) -> ServerProcess {
    Serve::new(env!("CARGO_BIN_EXE_wijklog"), data)
        .env("WIJKLOG_LOG_FILTER", "error")
        .start()
}

fn add_user(data: &Path) {
    let out = cli::run(
        Path::new(env!("CARGO_BIN_EXE_wijklog")),
        &[
            "user",
            "add",
            "--username",
            "boa",
            "--role",
            "boa",
            "--team",
            "noord",
            "--data",
            data.to_str().expect("utf-8 path"),
        ],
        &[],
        &[],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", cli::text(&out));
}

async fn login(base: &str) -> String {
    let mut res = awc::Client::default()
        .post(format!("{base}/api/v1/auth/login"))
        .send_json(&serde_json::json!({"username": "boa", "password": PASSWORD}))
        .await
        .expect("login request");
    let body: serde_json::Value = res.json().await.expect("login json");
    body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

async fn put(base: &str, token: &str, hex: &str, body: Vec<u8>) -> u16 {
    awc::Client::default()
        .put(format!("{base}/api/v1/blobs/{hex}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_body(body)
        .await
        .expect("put request")
        .status()
        .as_u16()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.expect("entry");
        if e.file_type().expect("type").is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

fn photo() -> Vec<u8> {
    noise(ImageFormat::Png, 400, 300, 1)
}

#[actix_web::test]
async fn killing_the_server_mid_upload_leaves_nothing_and_the_retry_stores_one_correct_photo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    add_user(data);
    let bytes = photo();
    let hex = BlobHash::of(&bytes).to_string();

    let server = start(data);
    let token = login(&server.base).await;
    // Half of the body, then the server dies while waiting for the rest.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    let head = format!(
        "PUT /api/v1/blobs/{hex} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\n\r\n",
        bytes.len()
    );
    socket.write_all(head.as_bytes()).expect("head");
    socket
        .write_all(&bytes[..bytes.len() / 2])
        .expect("half the body");
    socket.flush().expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill();
    drop(socket);

    assert!(
        files_under(&data.join("blobs")).is_empty(),
        "{:?}",
        files_under(&data.join("blobs"))
    );

    let server = start(data);
    let token = login(&server.base).await;
    assert_eq!(
        put(&server.base, &token, &hex, bytes.clone()).await,
        201,
        "the retry stores the photo"
    );
    assert_eq!(
        put(&server.base, &token, &hex, bytes.clone()).await,
        200,
        "a second retry is a no-op"
    );
    let files = files_under(&data.join("blobs"));
    let expected = data.join("blobs").join(&hex[..2]).join(&hex[2..]);
    assert_eq!(
        files,
        vec![expected.clone()],
        "exactly one file, no temp files"
    );
    assert_eq!(std::fs::read(&expected).expect("photo"), bytes);
}
