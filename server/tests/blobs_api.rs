//! Integration tests of the photo endpoints (`/api/v1/blobs`): the real
//! server (`spawn_app`, 127.0.0.1 port 0, SQLite and blob files in a temp
//! dir), real HTTP, real sync to make documents reference photos, and the
//! real `wijklog` binary for `blobs gc`, `backup` and `restore`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use image::ImageFormat;
use uuid::Uuid;
use wijklog_server::blobs::{BlobHash, BlobStore};
use wijklog_server::config::BlobsConfig;
use wijklog_server::domain::{DocId, Role, UserId, now_ms};
use wijklog_server::storage::DocWrite;
use wijklog_server::testing::{Response, TestApp, spawn_app, spawn_app_with};
use wijklog_shared::{Catalog, NewItem, Timestamp};
use wijklog_testing::images::noise;
use wijklog_testing::sync_client::SyncClient;
use wijklog_testing::users::{TestUser, connect, user};
use wijklog_testing::walks::{self, T0, observation};

const WAIT: Duration = Duration::from_secs(10);

// ---------- test images ----------

fn jpeg(seed: u8) -> Vec<u8> {
    noise(ImageFormat::Jpeg, 64, 48, seed)
}

fn hex_of(bytes: &[u8]) -> String {
    BlobHash::of(bytes).to_string()
}

// ---------- HTTP helpers ----------

async fn put_blob(app: &TestApp, token: &str, hex: &str, body: Vec<u8>) -> Response {
    let auth = format!("Bearer {token}");
    app.request(
        "PUT",
        &format!("/api/v1/blobs/{hex}"),
        &[("Authorization", &auth), ("Content-Type", "image/jpeg")],
        Some(body),
    )
    .await
}

async fn get_path(app: &TestApp, token: Option<&str>, path: &str) -> Response {
    match token {
        Some(t) => {
            app.request(
                "GET",
                path,
                &[("Authorization", &format!("Bearer {t}"))],
                None,
            )
            .await
        }
        None => app.request("GET", path, &[], None).await,
    }
}

fn code(res: &Response) -> String {
    res.json()["code"].as_str().unwrap_or_default().to_owned()
}

fn blob_files(app: &TestApp) -> Vec<PathBuf> {
    files_under(&app.data_dir.join("blobs"))
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
    out.sort();
    out
}

fn blob_path(data_dir: &Path, hex: &str) -> PathBuf {
    data_dir.join("blobs").join(&hex[..2]).join(&hex[2..])
}

// ---------- documents that reference photos ----------

/// A walk of `who`'s team with one observation showing `photos`, synced to
/// the server through the real sync protocol and acknowledged.
async fn walk_with_photos(app: &TestApp, who: &TestUser, team: &str, photos: &[&str]) -> Uuid {
    let id = Uuid::new_v4();
    let by = walks::user_id(&who.id);
    let mut doc = walks::walk_document(id, &by, team, None);
    let item = doc
        .add_observation(
            &Catalog::defaults(),
            &by,
            Timestamp::from_millis(T0 + 1000),
            NewItem {
                category: "vervuiling".into(),
                text: "gedumpt afval".into(),
                place: None,
                ..observation(1)
            },
        )
        .expect("observation");
    for p in photos {
        doc.add_photo(
            &by,
            Timestamp::from_millis(T0 + 2000),
            &item,
            &format!("sha256:{p}"),
        )
        .expect("photo");
    }
    let mut client: SyncClient = connect(app, who).await;
    client.add_doc(id, doc.automerge().clone());
    assert!(
        client.sync_until_acked(id, WAIT).await,
        "walk not acked: {:?}",
        client.errors
    );
    client.close().await;
    id
}

struct People {
    boa_a: TestUser,
    boa_b: TestUser,
    coordinator: TestUser,
    spreekuur_a: TestUser,
    admin: TestUser,
}

async fn people(app: &TestApp) -> People {
    People {
        boa_a: user(app, "boa-a", &[Role::Boa], Some("noord")).await,
        boa_b: user(app, "boa-b", &[Role::Boa], Some("zuid")).await,
        coordinator: user(app, "coord", &[Role::Coordinator], None).await,
        spreekuur_a: user(app, "spreekuur-a", &[Role::Spreekuur], Some("noord")).await,
        admin: user(app, "beheer", &[Role::Admin], None).await,
    }
}

// ---------- upload ----------

#[actix_web::test]
async fn a_new_photo_is_stored_under_its_hash_and_recorded_with_uploader() {
    let app = spawn_app().await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    for (format, mime) in [
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Png, "image/png"),
        (ImageFormat::WebP, "image/webp"),
    ] {
        let bytes = noise(format, 40, 30, 7);
        let hex = hex_of(&bytes);
        let before = now_ms();
        let res = put_blob(&app, &boa.token, &hex, bytes.clone()).await;
        assert_eq!(res.status, 201, "{}", res.text());
        assert_eq!(res.json()["sha256"], hex);
        assert_eq!(
            std::fs::read(blob_path(&app.data_dir, &hex)).expect("file"),
            bytes
        );
        let record = app
            .state
            .blobs
            .record(&BlobHash::parse(&hex).expect("hash"))
            .expect("db")
            .expect("row");
        assert_eq!(record.mime, mime);
        assert_eq!(record.size, bytes.len() as u64);
        assert_eq!((record.width, record.height), (40, 30));
        assert_eq!(record.uploaded_by, boa.id);
        assert!(record.uploaded_at >= before && record.uploaded_at <= now_ms());
    }
    assert_eq!(
        blob_files(&app).len(),
        3,
        "one file per photo and no temp files"
    );
}

#[actix_web::test]
async fn uploading_a_photo_again_succeeds_without_storing_it_twice() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let bytes = jpeg(1);
    let hex = hex_of(&bytes);
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &hex, bytes.clone())
            .await
            .status,
        201
    );
    let first = app
        .state
        .blobs
        .record(&BlobHash::parse(&hex).expect("hash"))
        .expect("db")
        .expect("row");

    let again = put_blob(&app, &p.boa_a.token, &hex, bytes.clone()).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["status"], "already_stored");
    let by_other = put_blob(&app, &p.coordinator.token, &hex, bytes.clone()).await;
    assert_eq!(by_other.status, 200);

    assert_eq!(blob_files(&app), vec![blob_path(&app.data_dir, &hex)]);
    let after = app
        .state
        .blobs
        .record(&BlobHash::parse(&hex).expect("hash"))
        .expect("db")
        .expect("row");
    assert_eq!(after, first, "the first upload stays recorded");
    assert_eq!(app.state.blobs.records().expect("rows").len(), 1);
}

#[actix_web::test]
async fn a_body_that_does_not_hash_to_the_path_is_refused() {
    let app = spawn_app().await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    let other = hex_of(&jpeg(2));
    let res = put_blob(&app, &boa.token, &other, jpeg(3)).await;
    assert_eq!(res.status, 422);
    assert_eq!(code(&res), "hash_mismatch");
    assert!(
        res.json()["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(blob_files(&app).is_empty());
    assert!(app.state.blobs.records().expect("rows").is_empty());
}

#[actix_web::test]
async fn malformed_ids_are_refused() {
    let app = spawn_app().await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    let bytes = jpeg(4);
    let upper = hex_of(&bytes).to_uppercase();
    for bad in [upper.as_str(), "abc", "..%2F..%2Fwijklog.db"] {
        let res = put_blob(&app, &boa.token, bad, bytes.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text());
        assert_eq!(code(&res), "invalid_hash");
    }
    assert!(blob_files(&app).is_empty());
}

#[actix_web::test]
async fn a_photo_over_the_size_limit_is_refused() {
    let app = spawn_app_with(|c| c.blobs.max_bytes = 2_000).await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    let big = noise(ImageFormat::Png, 200, 200, 9);
    assert!(
        big.len() > 2_000,
        "test image must exceed the limit ({} bytes)",
        big.len()
    );
    let hex = hex_of(&big);

    // With a Content-Length: refused before reading the body.
    let res = put_blob(&app, &boa.token, &hex, big.clone()).await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert_eq!(code(&res), "too_large");

    // Chunked, without a length: refused while streaming.
    let raw = raw_request(app.port, &chunked_put(&hex, &boa.token, &big, 500), true).await;
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("too_large"), "{raw}");

    assert!(blob_files(&app).is_empty());
    // A photo under the limit still goes through.
    let small = noise(ImageFormat::Jpeg, 8, 8, 5);
    assert!(small.len() < 2_000);
    assert_eq!(
        put_blob(&app, &boa.token, &hex_of(&small), small.clone())
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn a_text_file_named_jpg_is_refused_by_its_content() {
    let app = spawn_app().await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    let text = b"Dit is geen foto, alleen tekst in een bestand dat foto.jpg heet.\n".to_vec();
    let res = app
        .request(
            "PUT",
            &format!("/api/v1/blobs/{}", hex_of(&text)),
            &[
                ("Authorization", &format!("Bearer {}", boa.token)),
                ("Content-Type", "image/jpeg"),
                ("Content-Disposition", "attachment; filename=\"foto.jpg\""),
            ],
            Some(text),
        )
        .await;
    assert_eq!(res.status, 415, "{}", res.text());
    assert_eq!(code(&res), "unsupported_type");

    // JPEG magic bytes followed by garbage: the decode check refuses it.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    fake.extend_from_slice(&[0x42; 300]);
    let res = put_blob(&app, &boa.token, &hex_of(&fake), fake).await;
    assert_eq!(res.status, 415);
    assert_eq!(code(&res), "unsupported_type");

    // A GIF is an image, but not one we accept.
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    assert_eq!(
        put_blob(&app, &boa.token, &hex_of(&gif), gif).await.status,
        415
    );
    assert!(blob_files(&app).is_empty());
}

#[actix_web::test]
async fn uploads_need_a_token_and_a_role_that_creates_content() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let bytes = jpeg(6);
    let hex = hex_of(&bytes);
    let res = app
        .request(
            "PUT",
            &format!("/api/v1/blobs/{hex}"),
            &[],
            Some(bytes.clone()),
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(code(&res), "unauthenticated");
    let res = put_blob(&app, "not-a-token", &hex, bytes.clone()).await;
    assert_eq!(res.status, 401);
    let res = put_blob(&app, &p.admin.token, &hex, bytes.clone()).await;
    assert_eq!(res.status, 403);
    assert_eq!(code(&res), "forbidden");
    assert!(blob_files(&app).is_empty());
    for who in [&p.boa_a, &p.spreekuur_a, &p.coordinator] {
        assert!(matches!(
            put_blob(&app, &who.token, &hex, bytes.clone()).await.status,
            200 | 201
        ));
    }
}

// ---------- truncated upload ----------

fn put_head(hex: &str, token: &str, length: usize) -> String {
    format!(
        "PUT /api/v1/blobs/{hex} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: {length}\r\n\r\n"
    )
}

fn chunked_put(hex: &str, token: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = format!(
        "PUT /api/v1/blobs/{hex} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Sends `bytes` on a fresh TCP connection; if `read_answer`, reads until
/// the server closes (or 5 s), else closes right after sending.
async fn raw_request(port: u16, bytes: &[u8], read_answer: bool) -> String {
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // The server may answer (and close) before everything is sent.
        let _ = s.write_all(&bytes);
        if !read_answer {
            let _ = s.shutdown(std::net::Shutdown::Both);
            return String::new();
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("raw socket task")
}

#[actix_web::test]
async fn an_upload_cut_off_mid_body_leaves_nothing_and_the_retry_succeeds() {
    let app = spawn_app().await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    let bytes = noise(ImageFormat::Png, 120, 90, 11);
    let hex = hex_of(&bytes);

    let mut partial = put_head(&hex, &boa.token, bytes.len()).into_bytes();
    partial.extend_from_slice(&bytes[..bytes.len() / 2]);
    raw_request(app.port, &partial, false).await;
    // Give the server time to see the broken connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        blob_files(&app).is_empty(),
        "partial data left: {:?}",
        blob_files(&app)
    );
    assert!(app.state.blobs.records().expect("rows").is_empty());

    let retry = put_blob(&app, &boa.token, &hex, bytes.clone()).await;
    assert_eq!(retry.status, 201, "{}", retry.text());
    assert_eq!(blob_files(&app), vec![blob_path(&app.data_dir, &hex)]);
    assert_eq!(
        std::fs::read(blob_path(&app.data_dir, &hex)).expect("file"),
        bytes
    );
}

#[actix_web::test]
async fn a_body_that_ends_before_its_content_length_is_answered_incomplete_body() {
    let app = spawn_app().await;
    let boa = user(&app, "boa-a", &[Role::Boa], Some("noord")).await;
    let bytes = noise(ImageFormat::Png, 120, 90, 12);
    let hex = hex_of(&bytes);
    // Half the body, then the client closes its sending side (the phone's
    // network dropped the rest) but still reads the answer.
    let mut partial = put_head(&hex, &boa.token, bytes.len()).into_bytes();
    partial.extend_from_slice(&bytes[..bytes.len() / 2]);
    let port = app.port;
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(&partial).expect("send");
        s.shutdown(std::net::Shutdown::Write).expect("half close");
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("raw socket task");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"incomplete_body\""), "{answer}");
    assert!(blob_files(&app).is_empty(), "{:?}", blob_files(&app));
    assert!(app.state.blobs.records().expect("rows").is_empty());
}

// ---------- read permissions ----------

#[actix_web::test]
async fn a_photo_is_readable_exactly_by_those_who_may_see_a_walk_that_shows_it() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let bytes = jpeg(20);
    let hex = hex_of(&bytes);
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &hex, bytes.clone())
            .await
            .status,
        201
    );
    let path = format!("/api/v1/blobs/{hex}");

    // Uploaded but not yet referenced: nobody may read it.
    for who in [&p.boa_a, &p.coordinator] {
        assert_eq!(get_path(&app, Some(&who.token), &path).await.status, 404);
    }

    walk_with_photos(&app, &p.boa_a, "noord", &[&hex]).await;
    let hash = BlobHash::parse(&hex).expect("hash");
    assert_eq!(app.state.blobs.reference_count(&hash).expect("refs"), 1);

    for who in [&p.boa_a, &p.coordinator] {
        let res = get_path(&app, Some(&who.token), &path).await;
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.body, bytes);
        assert_eq!(res.header("content-type"), Some("image/jpeg"));
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    }
    for who in [&p.boa_b, &p.spreekuur_a, &p.admin] {
        let res = get_path(&app, Some(&who.token), &path).await;
        assert_eq!(res.status, 404, "must look like an unknown photo");
        assert_eq!(code(&res), "not_found");
    }
    let unknown = hex_of(b"never uploaded");
    let res = get_path(
        &app,
        Some(&p.boa_b.token),
        &format!("/api/v1/blobs/{unknown}"),
    )
    .await;
    assert_eq!((res.status, code(&res)), (404, "not_found".to_owned()));
    assert_eq!(get_path(&app, None, &path).await.status, 401);

    // Revalidation with the ETag.
    let etag = get_path(&app, Some(&p.boa_a.token), &path)
        .await
        .header("etag")
        .expect("etag")
        .to_owned();
    let res = app
        .request(
            "GET",
            &path,
            &[
                ("Authorization", &format!("Bearer {}", p.boa_a.token)),
                ("If-None-Match", &etag),
            ],
            None,
        )
        .await;
    assert_eq!(res.status, 304);
    assert!(res.body.is_empty());
}

#[actix_web::test]
async fn a_reference_synced_before_the_upload_makes_the_photo_readable_once_it_arrives() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let bytes = jpeg(21);
    let hex = hex_of(&bytes);
    walk_with_photos(&app, &p.boa_b, "zuid", &[&hex]).await;
    let path = format!("/api/v1/blobs/{hex}");
    assert_eq!(
        get_path(&app, Some(&p.boa_b.token), &path).await.status,
        404,
        "not uploaded yet"
    );
    assert_eq!(
        put_blob(&app, &p.boa_b.token, &hex, bytes.clone())
            .await
            .status,
        201
    );
    assert_eq!(
        get_path(&app, Some(&p.boa_b.token), &path).await.body,
        bytes
    );
    assert_eq!(
        get_path(&app, Some(&p.boa_a.token), &path).await.status,
        404
    );
}

// ---------- thumbnails ----------

#[actix_web::test]
async fn the_thumbnail_is_a_jpeg_no_larger_than_thumb_px_and_is_cached() {
    let app = spawn_app_with(|c| c.blobs.thumb_px = 160).await;
    let p = people(&app).await;
    let bytes = noise(ImageFormat::WebP, 800, 600, 30);
    let hex = hex_of(&bytes);
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &hex, bytes).await.status,
        201
    );
    walk_with_photos(&app, &p.boa_a, "noord", &[&hex]).await;
    let path = format!("/api/v1/blobs/{hex}/thumb");

    let res = get_path(&app, Some(&p.coordinator.token), &path).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("image/jpeg"));
    let thumb = image::load_from_memory_with_format(&res.body, ImageFormat::Jpeg)
        .expect("thumbnail decodes");
    assert_eq!((thumb.width(), thumb.height()), (160, 120));

    let cached = app
        .data_dir
        .join("thumbs")
        .join("160")
        .join(&hex[..2])
        .join(format!("{}.jpg", &hex[2..]));
    assert_eq!(std::fs::read(&cached).expect("cached thumbnail"), res.body);
    let again = get_path(&app, Some(&p.coordinator.token), &path).await;
    assert_eq!(again.body, res.body);

    assert_eq!(
        get_path(&app, Some(&p.boa_b.token), &path).await.status,
        404
    );
}

// ---------- garbage collection ----------

fn ms(secs: i64) -> i64 {
    secs * 1000
}

#[actix_web::test]
async fn an_orphan_is_collected_after_the_grace_period_and_a_referenced_photo_is_kept() {
    let app = spawn_app_with(|c| c.blobs.gc_grace_secs = 3600).await;
    let p = people(&app).await;
    let orphan = jpeg(40);
    let kept = jpeg(41);
    let (orphan_hex, kept_hex) = (hex_of(&orphan), hex_of(&kept));
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &orphan_hex, orphan)
            .await
            .status,
        201
    );
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &kept_hex, kept.clone())
            .await
            .status,
        201
    );
    walk_with_photos(&app, &p.boa_a, "noord", &[&kept_hex]).await;
    let blobs = &app.state.blobs;

    let report = blobs.collect_garbage(now_ms()).expect("gc");
    assert!(report.deleted.is_empty(), "inside the grace period");
    assert!(blob_path(&app.data_dir, &orphan_hex).exists());

    let report = blobs.collect_garbage(now_ms() + ms(3601)).expect("gc");
    assert_eq!(
        report.deleted,
        vec![BlobHash::parse(&orphan_hex).expect("hash")]
    );
    assert!(!blob_path(&app.data_dir, &orphan_hex).exists());
    assert!(
        blobs
            .record(&BlobHash::parse(&orphan_hex).expect("hash"))
            .expect("db")
            .is_none()
    );
    assert!(
        blob_path(&app.data_dir, &kept_hex).exists(),
        "referenced photos are never collected"
    );
    let res = get_path(
        &app,
        Some(&p.boa_a.token),
        &format!("/api/v1/blobs/{kept_hex}"),
    )
    .await;
    assert_eq!(res.body, kept);
}

#[actix_web::test]
async fn a_photo_whose_last_reference_went_gets_the_full_grace_period_from_then() {
    let app = spawn_app_with(|c| c.blobs.gc_grace_secs = 3600).await;
    let p = people(&app).await;
    let bytes = jpeg(42);
    let hex = hex_of(&bytes);
    let hash = BlobHash::parse(&hex).expect("hash");
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &hex, bytes).await.status,
        201
    );
    let walk = walk_with_photos(&app, &p.boa_a, "noord", &[&hex]).await;
    assert_eq!(
        app.state
            .blobs
            .record(&hash)
            .expect("db")
            .expect("row")
            .orphaned_at,
        None
    );

    // The walk's projection loses the photo (as after an edit that removes it):
    // the projection trigger drops the reference and starts the grace period.
    let doc_id = DocId::from_bytes(*walk.as_bytes());
    let mut rows = app.store().projection_rows(doc_id).expect("rows");
    assert_eq!(rows.len(), 1);
    let mut row: serde_json::Value = serde_json::from_str(&rows[0].row_json).expect("row json");
    assert_eq!(row["photos"], serde_json::json!([format!("sha256:{hex}")]));
    row["photos"] = serde_json::json!([]);
    rows[0].row_json = row.to_string();
    let outcome = app
        .store()
        .commit(&[DocWrite {
            epoch: None,
            doc_id,
            user_id: UserId::parse(&p.boa_a.id).expect("id"),
            device_id: None,
            create: None,
            changes: Vec::new(),
            projection: Some(rows),
            schedule: None,
        }])
        .expect("commit");
    assert!(outcome.writes[0].is_ok(), "{:?}", outcome.writes);
    assert_eq!(app.state.blobs.reference_count(&hash).expect("refs"), 0);
    let orphaned_at = app
        .state
        .blobs
        .record(&hash)
        .expect("db")
        .expect("row")
        .orphaned_at
        .expect("orphaned");
    assert!(
        (orphaned_at - now_ms()).abs() < 60_000,
        "orphaned now, not at upload"
    );

    let report = app
        .state
        .blobs
        .collect_garbage(orphaned_at + ms(3599))
        .expect("gc");
    assert!(report.deleted.is_empty());
    let report = app
        .state
        .blobs
        .collect_garbage(orphaned_at + ms(3600))
        .expect("gc");
    assert_eq!(report.deleted, vec![hash]);
    assert!(!blob_path(&app.data_dir, &hex).exists());
}

// ---------- the wijklog binary: blobs gc, backup, restore ----------

fn wijklog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wijklog"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("WIJKLOG_BLOBS_GC_GRACE_SECS", "0")
        .output()
        .expect("run wijklog")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[actix_web::test]
async fn wijklog_blobs_gc_deletes_an_orphan_with_grace_zero() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let orphan = jpeg(50);
    let kept = jpeg(51);
    let (orphan_hex, kept_hex) = (hex_of(&orphan), hex_of(&kept));
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &orphan_hex, orphan)
            .await
            .status,
        201
    );
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &kept_hex, kept).await.status,
        201
    );
    walk_with_photos(&app, &p.boa_a, "noord", &[&kept_hex]).await;
    // The upload time must be strictly in the past for grace 0.
    tokio::time::sleep(Duration::from_millis(5)).await;

    let data = app.data_dir.to_str().expect("utf-8").to_owned();
    let out = wijklog(&["blobs", "gc", "--data", &data]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("deleted 1 unreferenced photo"),
        "{}",
        text(&out)
    );
    assert!(!blob_path(&app.data_dir, &orphan_hex).exists());
    assert!(blob_path(&app.data_dir, &kept_hex).exists());
    let remaining: Vec<String> = app
        .state
        .blobs
        .records()
        .expect("rows")
        .into_iter()
        .map(|r| r.sha256)
        .collect();
    assert_eq!(remaining, vec![kept_hex]);
}

#[actix_web::test]
async fn backup_includes_the_photos_and_restore_puts_them_back() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let photo = noise(ImageFormat::Png, 50, 50, 60);
    let hex = hex_of(&photo);
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &hex, photo.clone())
            .await
            .status,
        201
    );
    walk_with_photos(&app, &p.boa_a, "noord", &[&hex]).await;

    let out_dir = tempfile::tempdir().expect("tempdir");
    let file = out_dir.path().join("wijklog-backup.db");
    let file_arg = file.to_str().expect("utf-8").to_owned();
    let data = app.data_dir.to_str().expect("utf-8").to_owned();
    let out = wijklog(&["backup", "--to", &file_arg, "--data", &data]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 photo(s)"), "{}", text(&out));
    let copy = out_dir
        .path()
        .join("wijklog-backup.db.blobs")
        .join(&hex[..2])
        .join(&hex[2..]);
    assert_eq!(std::fs::read(&copy).expect("photo in the backup"), photo);

    // A second backup to the same name is refused (the photo dir exists).
    std::fs::remove_file(&file).expect("rm db copy");
    let out = wijklog(&["backup", "--to", &file_arg, "--data", &data]);
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert!(!file.exists(), "refused before writing anything");
    let out = wijklog(&[
        "backup",
        "--to",
        &out_dir.path().join("b2.db").to_string_lossy(),
        "--data",
        &data,
    ]);
    assert!(out.status.success(), "{}", text(&out));

    // Restore into an empty data directory and serve it.
    let restored = tempfile::tempdir().expect("tempdir");
    let restored_arg = restored.path().to_str().expect("utf-8").to_owned();
    let b2 = out_dir.path().join("b2.db").to_string_lossy().into_owned();
    let out = wijklog(&["restore", "--from", &b2, "--data", &restored_arg]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(blob_path(restored.path(), &hex)).expect("restored photo"),
        photo
    );

    let restored_path = restored.path().to_owned();
    let app2 = spawn_app_with(move |c| c.data_dir = restored_path).await;
    let tokens = app2
        .login("coord", "een-lang-test-wachtwoord")
        .await
        .expect("login on restored data");
    let res = get_path(
        &app2,
        Some(&tokens.access_token),
        &format!("/api/v1/blobs/{hex}"),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.body, photo);
    let store = BlobStore::new(restored.path(), BlobsConfig::default());
    let record = store
        .record(&BlobHash::parse(&hex).expect("hash"))
        .expect("db")
        .expect("row restored");
    assert_eq!(record.uploaded_by, p.boa_a.id);
}

#[actix_web::test]
async fn a_coordinators_photo_read_is_audited_with_the_items_and_a_boas_is_not() {
    let app = spawn_app().await;
    let p = people(&app).await;
    let bytes = jpeg(31);
    let hex = hex_of(&bytes);
    assert_eq!(
        put_blob(&app, &p.boa_a.token, &hex, bytes).await.status,
        201
    );
    let walk = walk_with_photos(&app, &p.boa_a, "noord", &[&hex]).await;
    let path = format!("/api/v1/blobs/{hex}");
    let blob_reads = |app: &TestApp| -> Vec<wijklog_server::storage::AuditEntry> {
        app.store()
            .audit_entries(1000)
            .expect("audit")
            .into_iter()
            .map(|r| r.entry)
            .filter(|e| e.action == "blob.read")
            .collect()
    };

    // The boa of the walk's team reads it: not audited.
    assert_eq!(
        get_path(&app, Some(&p.boa_a.token), &path).await.status,
        200
    );
    assert!(blob_reads(&app).is_empty());

    // The coordinator reads it: who, which photo, which item.
    let res = get_path(&app, Some(&p.coordinator.token), &path).await;
    assert_eq!(res.status, 200);
    let reads = blob_reads(&app);
    assert_eq!(reads.len(), 1, "{reads:?}");
    let entry = &reads[0];
    assert_eq!(
        entry.actor.as_ref().map(|a| a.as_str()),
        Some(p.coordinator.id.as_str())
    );
    assert_eq!(entry.subject.as_deref(), Some(hex.as_str()));
    let items = entry.detail["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["doc"], walk.to_string());
    assert!(items[0]["item"].as_str().is_some_and(|i| !i.is_empty()));

    // A revalidation (304) serves nothing and adds nothing; a refused read neither.
    let etag = res.header("etag").expect("etag").to_owned();
    let again = app
        .request(
            "GET",
            &path,
            &[
                ("Authorization", &format!("Bearer {}", p.coordinator.token)),
                ("If-None-Match", &etag),
            ],
            None,
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(
        get_path(&app, Some(&p.admin.token), &path).await.status,
        404
    );
    assert_eq!(blob_reads(&app).len(), 1);
}
