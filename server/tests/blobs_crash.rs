//! The server process is killed (SIGKILL) in the middle of a photo upload;
//! after a restart the retried upload succeeds and the data directory holds
//! exactly one correct copy of the photo, with no partial or temp files.
//! Uses the real `wijklog` binary (`user add`, `serve`) on 127.0.0.1 port 0.

use std::io::{BufRead, BufReader, Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use image::{ImageFormat, RgbImage};
use wijklog_server::blobs::BlobHash;

const PASSWORD: &str = "een-lang-test-wachtwoord";

struct Server {
    child: Child,
    base: String,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server running, also when an assertion fails.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wijklog"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--static")
        .arg(data.join("static"))
        .env_remove("RUST_LOG")
        .env("WIJKLOG_LOG_FILTER", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wijklog serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line
                .strip_prefix("wijklog listening on port ")
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                let _ = tx.send(port);
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server printed its port");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        port,
    }
}

fn add_user(data: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wijklog"))
        .args([
            "user",
            "add",
            "--username",
            "boa",
            "--role",
            "boa",
            "--team",
            "noord",
            "--data",
        ])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    assert!(child.wait().expect("wait").success());
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
    let mut state = 0x1234_5678u32;
    let img = RgbImage::from_fn(400, 300, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).expect("encode");
    out.into_inner()
}

#[actix_web::test]
async fn killing_the_server_mid_upload_leaves_nothing_and_the_retry_stores_one_correct_photo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    add_user(data);
    let bytes = photo();
    let hex = BlobHash::of(&bytes).to_string();

    let mut server = start(data);
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
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reap");
    drop(server);
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
