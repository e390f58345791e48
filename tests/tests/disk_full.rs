//! Disk full with the real server: `wijklog serve` keeps its data on a small
//! tmpfs mounted by the test (torn down after, also when the test fails;
//! mounting needs root, and a missing `mount` is a failure, not a skip).
//! A phone uploads; the file system is filled to the last byte; the phone
//! goes on uploading until the server refuses. Then:
//! - the refusal is the stable `storage_full` error for that document, the
//!   connection stays open, and no ack names a change that is not stored;
//! - reads are still served: a second connection syncs the walk, the
//!   coordinator's item list answers over REST;
//! - a write over REST (a login stores a refresh token) is refused with 503
//!   `storage_full` and `Retry-After`, and so is a photo upload (and no
//!   file of it is left behind);
//! - once space returns, the same connection's resend is stored and acked,
//!   the photo is stored,
//!   and after the server stops every acked change is in the database and
//!   `PRAGMA integrity_check` is `ok`.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use image::ImageFormat;
use uuid::Uuid;
use wijklog_testing::images::noise;
use wijklog_tests::server_process::{add_user, serve};
use wijklog_tests::sync_client::{SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "schijf-vol-wachtwoord";
/// Generous bounds for a loaded machine; the test waits for states, these
/// only stop a hang.
const WAIT: Duration = Duration::from_secs(60);

/// A size-limited tmpfs, unmounted when dropped.
struct SmallFs {
    dir: PathBuf,
}

impl SmallFs {
    fn mount(dir: &Path, bytes: u64) -> SmallFs {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes},mode=0700")])
            .arg("tmpfs")
            .arg(dir)
            .status()
            .expect("running mount (util-linux)");
        assert!(
            status.success(),
            "mounting a tmpfs of {bytes} bytes at {} failed: this test needs root",
            dir.display()
        );
        SmallFs {
            dir: dir.to_owned(),
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: the server may still be exiting.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Writes zeros to `path` until the file system has no byte left.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    for size in [1 << 20, 4096, 1] {
        let chunk = vec![0u8; size];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the file system: {e}"),
            }
        }
    }
}

/// The hashes of every change of `doc` covered by `heads`.
fn covered(doc: &mut AutoCommit, heads: &[ChangeHash]) -> HashSet<ChangeHash> {
    let after: HashSet<ChangeHash> = doc.get_changes(heads).iter().map(|c| c.hash()).collect();
    doc.get_changes(&[])
        .iter()
        .map(|c| c.hash())
        .filter(|h| !after.contains(h))
        .collect()
}

/// Every change an ack named so far (the acks must name changes the phone has).
fn acked(client: &mut SyncClient, walk: Uuid) -> HashSet<ChangeHash> {
    let acks = client.acks.clone();
    let doc = &mut client.docs.get_mut(&walk).expect("walk").doc;
    let mut all = HashSet::new();
    for (id, heads) in acks {
        assert_eq!(id, walk);
        let heads: Vec<ChangeHash> = heads.iter().map(|h| h.parse().expect("hash")).collect();
        for h in &heads {
            assert!(
                doc.get_change_by_hash(h).is_some(),
                "an ack names a change the phone never made"
            );
        }
        all.extend(covered(doc, &heads));
    }
    all
}

/// The hashes stored for `walk`, and the result of `integrity_check`.
fn stored(db: &Path, walk: Uuid) -> (HashSet<Vec<u8>>, String) {
    let db = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open db");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let mut stmt = db
        .prepare("SELECT hash FROM changes WHERE doc_id = ?1")
        .expect("prepare");
    let hashes = stmt
        .query_map([walk.as_bytes().to_vec()], |r| r.get::<_, Vec<u8>>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    (hashes, integrity)
}

async fn get(base: &str, token: &str, path: &str) -> u16 {
    awc::Client::default()
        .get(format!("{base}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `PUT /api/v1/blobs/{hex}`: status, body, whether `Retry-After` was set.
async fn put_photo(
    base: &str,
    token: &str,
    hex: &str,
    bytes: &[u8],
) -> (u16, serde_json::Value, bool) {
    let mut res = awc::Client::default()
        .put(format!("{base}/api/v1/blobs/{hex}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "image/png"))
        .send_body(bytes.to_vec())
        .await
        .expect("photo upload");
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    (
        res.status().as_u16(),
        body,
        res.headers().contains_key("retry-after"),
    )
}

/// Regular files anywhere below `dir` (0 if it does not exist).
fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.expect("entry"))
        .map(|e| {
            if e.file_type().expect("type").is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[actix_rt::test]
async fn a_full_disk_refuses_writes_with_storage_full_keeps_reads_and_recovers() {
    let t0 = std::time::Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let fs = SmallFs::mount(&tmp.path().join("fs"), 48 << 20);
    let data = fs.dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    // One account with both roles: every password hash costs seconds in a
    // debug build.
    add_user(
        &data,
        "boa",
        PASSWORD,
        &["boa", "coordinator"],
        Some("noord"),
    );
    let mut server = serve(&data).start();
    let base = server.base.clone();
    let boa = login(&base, "boa", PASSWORD).await;
    let user = boa["user"]["id"].as_str().expect("user id").to_owned();
    let token = boa["access_token"].as_str().expect("token").to_owned();

    // The walk is stored while there is space.
    let walk = Uuid::new_v4();
    let mut phone = SyncClient::connect(&base, &token).await;
    phone.add_doc(walk, new_walk(walk, &user, "noord"));
    phone.sync_doc(walk).await;
    let heads = phone.docs[&walk].doc.clone().get_heads();
    assert!(
        phone
            .pump_until(WAIT, |c| c.docs[&walk].acked == heads)
            .await,
        "the walk was not acked while the disk had space"
    );

    eprintln!(
        "disk full: accounts, server and walk ready at {:?}",
        t0.elapsed()
    );
    // Not a byte left.
    fill(&fs.dir.join("filler"));

    // The phone goes on observing until a commit fails (the database's
    // write-ahead log may still have room for a few).
    let mut next = 0;
    let mut refused = false;
    for _ in 0..400 {
        let d = phone.docs.remove(&walk).expect("walk");
        let doc = add_observation(walk, d.doc, &user, next);
        next += 1;
        phone.docs.insert(
            walk,
            wijklog_tests::sync_client::ClientDoc {
                doc,
                state: d.state,
                acked: d.acked,
            },
        );
        phone.sync_doc(walk).await;
        let want = phone.docs[&walk].doc.clone().get_heads();
        phone
            .pump_until(WAIT, |c| {
                !c.errors.is_empty() || c.docs[&walk].acked == want || c.closed.is_some()
            })
            .await;
        assert!(
            phone.closed.is_none(),
            "the server closed the phone's socket"
        );
        if !phone.errors.is_empty() {
            refused = true;
            break;
        }
    }
    assert!(refused, "400 commits on a full disk all succeeded");
    eprintln!(
        "disk full: {} observations acked on the full disk before the refusal, at {:?}",
        next - 1,
        t0.elapsed()
    );
    let refusal = phone.errors.remove(0);
    assert_eq!(refusal.doc, Some(walk));
    assert_eq!(refusal.code, "storage_full", "{}", refusal.message);
    assert!(phone.errors.is_empty(), "{:?}", phone.errors);

    // Nothing acked that is not stored; the latest observation is not stored.
    let acked_while_full = acked(&mut phone, walk);
    let (in_db, integrity) = stored(&data.join("wijklog.db"), walk);
    assert_eq!(integrity, "ok");
    for h in &acked_while_full {
        assert!(in_db.contains(h.as_ref()), "acked change {h} is not stored");
    }
    let latest = phone.docs[&walk].doc.clone().get_heads();
    assert!(
        latest.iter().all(|h| !in_db.contains(h.as_ref())),
        "the refused change is stored"
    );

    // Reads go on: another device gets every acked change, a coordinator
    // lists the items.
    let mut reader = SyncClient::connect(&base, &token).await;
    reader.add_doc(walk, AutoCommit::new());
    reader.sync_doc(walk).await;
    let got_all = reader
        .pump_until(WAIT, |c| {
            c.docs.get(&walk).is_some_and(|d| {
                acked_while_full
                    .iter()
                    .all(|h| d.doc.get_change_by_hash(h).is_some())
            })
        })
        .await;
    assert!(got_all, "a reading device did not get the stored walk");
    assert!(reader.errors.is_empty(), "{:?}", reader.errors);
    assert_eq!(get(&base, &token, "/api/v1/items").await, 200);

    // A login must store its refresh token: refused, and told when to retry.
    let mut res = awc::Client::default()
        .post(format!("{base}/api/v1/auth/login"))
        .send_json(
            &serde_json::json!({"username": "boa", "password": PASSWORD, "device_name": "test"}),
        )
        .await
        .expect("login request");
    let body: serde_json::Value = res.json().await.expect("login body");
    assert_eq!(res.status().as_u16(), 503, "{body}");
    assert_eq!(body["code"], "storage_full");
    assert!(res.headers().contains_key("retry-after"));

    // A photo cannot be written either: refused with the same code, and
    // nothing of it (no file, no temp file) is left behind.
    let photo = noise(ImageFormat::Png, 64, 64, 3);
    let hex = sha256_hex(&photo);
    let (status, body, retry_after) = put_photo(&base, &token, &hex, &photo).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "storage_full", "{body}");
    assert!(retry_after, "no Retry-After on the photo's refusal");
    assert_eq!(
        files_under(&data.join("blobs")),
        0,
        "a refused photo left a file"
    );

    // Space returns: the same connection's resend is stored and acked.
    std::fs::remove_file(fs.dir.join("filler")).expect("remove filler");
    phone.sync_doc(walk).await;
    let all = phone.docs[&walk].doc.clone().get_heads();
    assert!(
        phone.pump_until(WAIT, |c| c.docs[&walk].acked == all).await,
        "the resend after space returned was not acked: {:?}",
        phone.errors
    );
    assert!(phone.errors.is_empty(), "{:?}", phone.errors);
    let acked_at_end = acked(&mut phone, walk);
    assert!(acked_at_end.len() > acked_while_full.len());
    // And the photo is stored.
    let (status, body, _) = put_photo(&base, &token, &hex, &photo).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(files_under(&data.join("blobs")), 1);

    // After the server stops, every acked change is there.
    assert!(
        server.terminate(WAIT).is_some(),
        "the server did not stop on SIGTERM"
    );
    let (in_db, integrity) = stored(&data.join("wijklog.db"), walk);
    assert_eq!(integrity, "ok");
    for h in &acked_at_end {
        assert!(in_db.contains(h.as_ref()), "acked change {h} is not stored");
    }
    eprintln!("disk full: done at {:?}", t0.elapsed());
    drop(fs);
}
