//! Crash test: a real `wijklog serve` process is killed with SIGKILL at
//! random moments while several clients upload. After every kill the
//! database must hold every change that was ever acked and pass
//! `PRAGMA integrity_check`; at the end a restarted server serves them all.
//!
//! `WIJKLOG_CRASH_POINTS` sets the number of kills (default 50);
//! `WIJKLOG_CRASH_SEED` replays a run (the seed is printed).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use uuid::Uuid;
use wijklog_tests::server_process::{add_user, serve};
use wijklog_tests::sync_client::{SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "crash-test-wachtwoord";
const CLIENTS: usize = 3;

/// xorshift64*: enough randomness for kill moments, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One simulated phone: its walk, and the hashes the server acked.
struct Phone {
    user_id: String,
    /// Access token (the JWT secret and the device survive restarts).
    token: String,
    walk: Uuid,
    doc: AutoCommit,
    next_observation: usize,
    acked: HashSet<ChangeHash>,
}

impl Phone {
    /// Records the changes covered by an ack's heads.
    fn record_ack(&mut self, heads: &[String]) {
        let heads: Vec<ChangeHash> = heads.iter().filter_map(|h| h.parse().ok()).collect();
        if heads
            .iter()
            .any(|h| self.doc.get_change_by_hash(h).is_none())
        {
            return;
        }
        let not_covered: HashSet<ChangeHash> = self
            .doc
            .get_changes(&heads)
            .iter()
            .map(|c| c.hash())
            .collect();
        for c in self.doc.get_changes(&[]) {
            if !not_covered.contains(&c.hash()) {
                self.acked.insert(c.hash());
            }
        }
    }
}

/// Uploads until the connection dies: add an observation, sync, collect acks.
async fn upload_until_killed(base: String, mut phone: Phone) -> Phone {
    let Some(mut client) = SyncClient::try_connect(&base, &phone.token).await else {
        return phone;
    };
    client.add_doc(phone.walk, phone.doc.clone());
    loop {
        for _ in 0..3 {
            let doc = client.docs.remove(&phone.walk).expect("held");
            let doc_next =
                add_observation(phone.walk, doc.doc, &phone.user_id, phone.next_observation);
            phone.next_observation += 1;
            client.docs.insert(
                phone.walk,
                wijklog_tests::sync_client::ClientDoc {
                    doc: doc_next,
                    state: doc.state,
                    acked: doc.acked,
                },
            );
        }
        client.sync_doc(phone.walk).await;
        client
            .pump_until(Duration::from_millis(30), |c| c.closed.is_some())
            .await;
        phone.doc = client.docs[&phone.walk].doc.clone();
        for (doc, heads) in std::mem::take(&mut client.acks) {
            assert_eq!(doc, phone.walk);
            phone.record_ack(&heads);
        }
        if client.closed.is_some() {
            return phone;
        }
    }
}

/// Every acked change is in the `changes` table and the database is intact.
fn check_database(data: &Path, phones: &[Phone]) {
    let db = rusqlite::Connection::open(data.join("wijklog.db")).expect("open db");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok");
    for phone in phones {
        let mut stmt = db
            .prepare("SELECT hash FROM changes WHERE doc_id = ?1")
            .expect("prepare");
        let stored: HashSet<Vec<u8>> = stmt
            .query_map([phone.walk.as_bytes().to_vec()], |r| r.get::<_, Vec<u8>>(0))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        for hash in &phone.acked {
            assert!(
                stored.contains(hash.as_ref()),
                "acked change {hash} of walk {} is missing after the crash",
                phone.walk
            );
        }
    }
}

#[actix_rt::test]
async fn every_acked_change_survives_sigkill() {
    let points: usize = std::env::var("WIJKLOG_CRASH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("WIJKLOG_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("crash test: {points} kill points, WIJKLOG_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().to_owned();

    // One account (Argon2 is slow in debug builds); three phones, one walk each.
    add_user(&data, "boa", PASSWORD, &["boa"], Some("noord"));
    let mut phones = Vec::new();
    for _ in 0..CLIENTS {
        phones.push(Phone {
            user_id: String::new(),
            token: String::new(),
            walk: Uuid::new_v4(),
            doc: AutoCommit::new(),
            next_observation: 0,
            acked: HashSet::new(),
        });
    }

    let mut total_acked_before = 0;
    for point in 0..points {
        let round = std::time::Instant::now();
        let server = serve(&data).start();
        let started = round.elapsed();
        let base = server.base.clone();
        if point == 0 {
            let tokens = login(&base, "boa", PASSWORD).await;
            for phone in &mut phones {
                phone.user_id = tokens["user"]["id"].as_str().expect("user id").to_owned();
                phone.token = tokens["access_token"].as_str().expect("token").to_owned();
                phone.doc = new_walk(phone.walk, &phone.user_id, "noord");
            }
        }
        let kill_after = Duration::from_millis(50 + rng.below(500));
        let tasks: Vec<_> = phones
            .drain(..)
            .map(|p| actix_rt::spawn(upload_until_killed(base.clone(), p)))
            .collect();
        actix_rt::time::sleep(kill_after).await;
        server.kill();
        for task in tasks {
            phones.push(task.await.expect("client task"));
        }
        let joined = round.elapsed();
        check_database(&data, &phones);
        eprintln!(
            "kill point {point}: server up in {started:?}, killed after {kill_after:?}, clients done at {joined:?}, checked at {:?}, acked so far {}, observations {}",
            round.elapsed(),
            phones.iter().map(|p| p.acked.len()).sum::<usize>(),
            phones.iter().map(|p| p.next_observation).sum::<usize>(),
        );
        let acked: usize = phones.iter().map(|p| p.acked.len()).sum();
        assert!(acked >= total_acked_before, "acked set only grows");
        total_acked_before = acked;
    }
    let acked: usize = phones.iter().map(|p| p.acked.len()).sum();
    eprintln!("crash test: {acked} acked changes checked after {points} kills");
    assert!(acked > 0, "the clients got acks between the kills");

    // A restarted server serves every acked change to a fresh client.
    let server = serve(&data).start();
    let mut by_walk: HashMap<Uuid, HashSet<ChangeHash>> = HashMap::new();
    for phone in &phones {
        let mut client = SyncClient::connect(&server.base, &phone.token).await;
        client.add_doc(phone.walk, AutoCommit::new());
        client.sync_doc(phone.walk).await;
        let want = phone.acked.clone();
        let walk = phone.walk;
        let got_all = client
            .pump_until(Duration::from_secs(20), |c| {
                c.docs
                    .get(&walk)
                    .is_some_and(|d| want.iter().all(|h| d.doc.get_change_by_hash(h).is_some()))
            })
            .await;
        assert!(
            got_all,
            "the restarted server does not serve every acked change of {walk}"
        );
        by_walk.insert(walk, want);
    }
    assert_eq!(by_walk.len(), CLIENTS);
    server.kill();
}
