//! Hostile sync clients against a real `wijklog serve` process: one field
//! account tries to crash or exhaust the server through the sync protocol.
//!
//! Each attack must leave the process running, answer the attacker with the
//! documented error code (docs/sync-protocol.md §4), let a normal teammate
//! keep syncing right after it, and keep the server's peak resident memory
//! (VmHWM from /proc) under [`PEAK_RSS_BOUND_KB`]. The attacks, as first
//! reproduced:
//!
//! - a change nesting maps 1,000 deep (the recursive projection overflowed
//!   the stack and killed the process);
//! - one change of a few hundred bytes holding a million run-length encoded
//!   operations (seconds of CPU and hundreds of MB per frame);
//! - frames whose changes depend on a change that never arrives (held in the
//!   shared document for good, +380 MB after 60 frames).

use std::time::Duration;

use automerge::sync::{ChunkList, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ScalarValue};
use uuid::Uuid;
use wijklog_tests::server_process::{ServerProcess, add_user, serve};
use wijklog_tests::sync_client::{SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "vijandige-test-wachtwoord";
const WAIT: Duration = Duration::from_secs(30);
/// Peak RSS the server may reach during all the attacks (kB). Generous: an
/// idle debug server is about 30 MB; before the fixes one frame of the
/// operation bomb alone added 430 MB and the dependency flood 380 MB.
const PEAK_RSS_BOUND_KB: u64 = 256 * 1024;

struct Account {
    id: String,
    token: String,
}

async fn account(server: &ServerProcess, name: &str) -> Account {
    let tokens = login(&server.base, name, PASSWORD).await;
    Account {
        id: tokens["user"]["id"].as_str().expect("user id").to_owned(),
        token: tokens["access_token"].as_str().expect("token").to_owned(),
    }
}

/// The attacker's walk, already stored on the server (a fresh document).
async fn stored_walk(server: &ServerProcess, who: &Account) -> (Uuid, AutoCommit) {
    let id = Uuid::new_v4();
    let doc = new_walk(id, &who.id, "noord");
    let mut c = SyncClient::connect(&server.base, &who.token).await;
    c.add_doc(id, doc.clone());
    assert!(c.sync_until_acked(id, WAIT).await, "{:?}", c.errors);
    c.close().await;
    (id, doc)
}

/// A sync message carrying exactly `changes` (as a client would send them).
fn message_with(doc: &mut AutoCommit, changes: Vec<Vec<u8>>) -> Vec<u8> {
    let mut msg = doc
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("a message");
    msg.changes = ChunkList::from(changes);
    msg.encode()
}

/// Sends `message` for `id` on a fresh connection; returns the error codes.
async fn attack(server: &ServerProcess, who: &Account, id: Uuid, message: &[u8]) -> Vec<String> {
    let mut c = SyncClient::connect(&server.base, &who.token).await;
    c.send_sync(id, message).await;
    let got = c
        .pump_until(WAIT, |c| !c.errors.is_empty() || !c.acks.is_empty())
        .await;
    assert!(got, "no answer to the attack; closed: {:?}", c.closed);
    assert!(c.acks.is_empty(), "the attack was acked: {:?}", c.acks);
    c.errors.iter().map(|e| e.code.clone()).collect()
}

/// A teammate creates a walk with an observation and gets it acked.
async fn teammate_still_syncs(server: &ServerProcess, who: &Account, round: usize) {
    let id = Uuid::new_v4();
    let doc = add_observation(id, new_walk(id, &who.id, "noord"), &who.id, round);
    let mut c = SyncClient::connect(&server.base, &who.token).await;
    c.add_doc(id, doc);
    assert!(
        c.sync_until_acked(id, WAIT).await,
        "a normal client could not sync after attack {round}: {:?}",
        c.errors
    );
}

#[actix_rt::test]
async fn one_field_account_cannot_crash_or_exhaust_the_sync_server() {
    let data = tempfile::tempdir().expect("tmp");
    add_user(data.path(), "mallory", PASSWORD, &["boa"], Some("noord"));
    add_user(data.path(), "ann", PASSWORD, &["boa"], Some("noord"));
    let server = serve(data.path()).start();
    let mallory = account(&server, "mallory").await;
    let ann = account(&server, "ann").await;
    teammate_still_syncs(&server, &ann, 0).await;

    // 1. Maps nested 1,000 deep in one change (the JS version of this attack
    //    is in tests/node/hostile-depth.test.mjs).
    let (id, mut doc) = stored_walk(&server, &mallory).await;
    let before = doc.get_heads();
    let mut obj = doc.put_object(ROOT, "x", ObjType::Map).expect("map");
    for _ in 0..1_000 {
        obj = doc.put_object(&obj, "x", ObjType::Map).expect("map");
    }
    doc.commit();
    let deep: Vec<Vec<u8>> = doc
        .get_changes(&before)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let msg = message_with(&mut doc, deep);
    assert!(msg.len() < 8_000, "a small frame: {} bytes", msg.len());
    assert_eq!(attack(&server, &mallory, id, &msg).await, vec!["too_deep"]);
    teammate_still_syncs(&server, &ann, 1).await;

    // 2. One change of a million run-length encoded operations.
    let (id, mut doc) = stored_walk(&server, &mallory).await;
    let before = doc.get_heads();
    let list = doc.put_object(ROOT, "l", ObjType::List).expect("list");
    doc.splice(
        &list,
        0,
        0,
        std::iter::repeat_n(ScalarValue::Null, 1_000_000),
    )
    .expect("splice");
    doc.commit();
    let bomb: Vec<Vec<u8>> = doc
        .get_changes(&before)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let msg = message_with(&mut doc, bomb);
    assert!(msg.len() < 2_000, "a small frame: {} bytes", msg.len());
    assert_eq!(attack(&server, &mallory, id, &msg).await, vec!["too_large"]);
    teammate_still_syncs(&server, &ann, 2).await;

    // 3. Frames of changes whose dependency never arrives: 60 frames of
    //    1 MB each on one connection, then the socket closes.
    let (id, mut doc) = stored_walk(&server, &mallory).await;
    let mut fork = doc.fork().with_actor(ActorId::random());
    fork.put(ROOT, "withheld", "the change everything depends on")
        .expect("put");
    fork.commit();
    let mut c = SyncClient::connect(&server.base, &mallory.token).await;
    for i in 0..60usize {
        let before = fork.get_heads();
        let filler: String = (0..1_000_000usize)
            .map(|k| char::from(b'a' + ((k * 7 + i) % 26) as u8))
            .collect();
        fork.put(ROOT, format!("t{i}"), filler).expect("put");
        fork.commit();
        let orphans: Vec<Vec<u8>> = fork
            .get_changes(&before)
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let msg = message_with(&mut fork, orphans);
        c.send_sync(id, &msg).await;
        c.pump_quiet(Duration::from_millis(20)).await;
    }
    c.pump_quiet(Duration::from_millis(500)).await;
    assert!(
        c.errors.iter().any(|e| e.code == "too_large"),
        "the waiting changes were never refused: {:?}",
        c.errors
    );
    assert!(
        c.errors.iter().all(|e| e.code == "too_large"),
        "{:?}",
        c.errors
    );
    c.close().await;
    teammate_still_syncs(&server, &ann, 3).await;

    // The process is up, and its memory stayed bounded throughout.
    let peak = server.peak_rss_kb().expect("the server process is running");
    assert!(
        peak < PEAK_RSS_BOUND_KB,
        "peak RSS {} MB over the bound {} MB",
        peak / 1024,
        PEAK_RSS_BOUND_KB / 1024
    );
    eprintln!("hostile sync: server peak RSS {} MB", peak / 1024);
    server.kill();
}
