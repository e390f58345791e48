//! SIGTERM while phones upload, with a commit in flight.
//!
//! Three phones upload observations to a real `wijklog serve` without
//! pause. The server is armed (`WIJKLOG_TEST_CRASH_AT=store.commit.before@N:term`)
//! to send itself SIGTERM while its N-th group commit is inside its
//! transaction, so the signal always finds a commit in flight. Then, as
//! docs/operations.md ("Shutdown") promises:
//! - the in-flight commit finishes and its changes are acked before the
//!   connections close; every phone's socket is closed with 1001
//!   `shutting_down`, and the process exits with status 0;
//! - every change a phone got an ack for is stored, and every stored change
//!   was acked (no commit finished without its ack reaching the phone);
//! - after a restart, the phones resend what was not acked and the store
//!   holds exactly what each phone holds.

use std::collections::HashSet;
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use uuid::Uuid;
use wijklog_testing::data::stored_changes;
use wijklog_tests::server_process::{add_user, serve};
use wijklog_tests::sync_client::{ClientDoc, SyncClient, login};
use wijklog_tests::walks::{add_observation, new_walk};

const PASSWORD: &str = "sigterm-wachtwoord";
const PHONES: usize = 3;
/// The group commit during which SIGTERM arrives (after every phone's walk
/// was created and some observations were stored).
const TERM_AT_COMMIT: u32 = 8;
/// Bounds against a hang; every wait is for a state.
const WAIT: Duration = Duration::from_secs(30);

struct Phone {
    user: String,
    token: String,
    walk: Uuid,
    doc: AutoCommit,
    next: usize,
    acked: HashSet<ChangeHash>,
    close: Option<Option<(u16, String)>>,
}

fn all_changes(doc: &mut AutoCommit) -> HashSet<ChangeHash> {
    doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
}

impl Phone {
    fn record_acks(&mut self, client: &mut SyncClient) {
        for (id, heads) in std::mem::take(&mut client.acks) {
            assert_eq!(id, self.walk);
            let heads: Vec<ChangeHash> = heads.iter().map(|h| h.parse().expect("hash")).collect();
            for h in &heads {
                assert!(
                    self.doc.get_change_by_hash(h).is_some(),
                    "an ack names a change the phone never made"
                );
            }
            let after: HashSet<ChangeHash> = self
                .doc
                .get_changes(&heads)
                .iter()
                .map(|c| c.hash())
                .collect();
            let all = all_changes(&mut self.doc);
            self.acked.extend(all.difference(&after).copied());
        }
    }
}

/// Observes and syncs until the server closes the socket.
async fn upload_until_closed(mut client: SyncClient, mut phone: Phone) -> Phone {
    client.add_doc(phone.walk, phone.doc.clone());
    loop {
        let d = client.docs.remove(&phone.walk).expect("held");
        let doc = add_observation(phone.walk, d.doc, &phone.user, phone.next);
        phone.next += 1;
        client.docs.insert(
            phone.walk,
            ClientDoc {
                doc,
                state: d.state,
                acked: d.acked,
            },
        );
        client.sync_doc(phone.walk).await;
        client
            .pump_until(Duration::from_millis(20), |c| c.closed.is_some())
            .await;
        phone.doc = client.docs[&phone.walk].doc.clone();
        phone.record_acks(&mut client);
        if client.closed.is_some() {
            // Whatever the server sent before its close frame is handled.
            phone.close = client.closed.clone();
            return phone;
        }
        assert!(client.errors.is_empty(), "{:?}", client.errors);
    }
}

#[actix_rt::test]
async fn sigterm_acks_the_commit_in_flight_before_closing_and_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    add_user(&data, "boa", PASSWORD, &["boa"], Some("noord"));

    let armed = format!("store.commit.before@{TERM_AT_COMMIT}:term");
    let mut server = serve(&data)
        .envs(&[("WIJKLOG_TEST_CRASH_AT", &armed)])
        .start();
    let tokens = login(&server.base, "boa", PASSWORD).await;
    let user = tokens["user"]["id"].as_str().expect("user id").to_owned();
    let token = tokens["access_token"].as_str().expect("token").to_owned();
    // Every phone is connected before the first upload: all of them are
    // uploading when the signal comes.
    let mut clients = Vec::new();
    for _ in 0..PHONES {
        clients.push(SyncClient::connect(&server.base, &token).await);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let walk = Uuid::new_v4();
            let phone = Phone {
                user: user.clone(),
                token: token.clone(),
                walk,
                doc: new_walk(walk, &user, "noord"),
                next: 0,
                acked: HashSet::new(),
                close: None,
            };
            actix_rt::spawn(upload_until_closed(client, phone))
        })
        .collect();
    let mut phones = Vec::new();
    for task in tasks {
        phones.push(task.await.expect("phone task"));
    }
    let status = server
        .wait_exit(WAIT)
        .expect("the server exits after SIGTERM");
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let lines = server.stdout_lines();
    let prefix = format!("wijklog crash point store.commit.before@{TERM_AT_COMMIT}: term");
    let in_flight: Vec<ChangeHash> = lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .expect("SIGTERM was sent during the commit")
        .trim()
        .strip_prefix("changes=")
        .expect("the commit's changes")
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| h.parse().expect("hash"))
        .collect();
    assert!(
        !in_flight.is_empty(),
        "the commit SIGTERM interrupted carried no change"
    );

    let mut acked_any = HashSet::new();
    for phone in &phones {
        assert_eq!(
            phone.close,
            Some(Some((1001, "shutting_down".to_owned()))),
            "a phone's socket was not closed with 1001 shutting_down"
        );
        let in_store = stored_changes(&data, phone.walk);
        for h in &phone.acked {
            assert!(in_store.contains(h), "acked change {h} is not stored");
        }
        for h in &in_store {
            assert!(
                phone.acked.contains(h),
                "stored change {h} was never acked: a commit finished after its connection closed"
            );
        }
        acked_any.extend(phone.acked.iter().copied());
    }
    for h in &in_flight {
        assert!(
            acked_any.contains(h),
            "a change of the commit in flight at SIGTERM was not acked"
        );
    }
    let observed: usize = phones.iter().map(|p| p.next).sum();
    eprintln!(
        "sigterm: {} changes acked, {} in the commit in flight, {observed} observations made",
        acked_any.len(),
        in_flight.len()
    );

    // The phones resend what was not acked; the store then holds exactly
    // what each phone holds.
    let mut server = serve(&data).start();
    for phone in &mut phones {
        let mut client = SyncClient::connect(&server.base, &phone.token).await;
        let want: HashSet<ChangeHash> = phone.doc.get_heads().into_iter().collect();
        let walk = phone.walk;
        // Everything acked before the signal: `ready` lists it as committed
        // (and a frame without new changes gets no ack).
        let stored_already = client.ready_heads(walk).into_iter().collect::<HashSet<_>>() == want;
        client.add_doc(phone.walk, phone.doc.clone());
        client.sync_doc(phone.walk).await;
        assert!(
            client
                .pump_until(WAIT, |c| {
                    stored_already
                        || c.docs[&walk].acked.iter().copied().collect::<HashSet<_>>() == want
                })
                .await,
            "the resend after the restart was not acked: {:?}",
            client.errors
        );
    }
    let status = server.terminate(WAIT).expect("the server stops");
    assert!(status.success());
    for phone in &mut phones {
        let mut doc = phone.doc.clone();
        assert_eq!(stored_changes(&data, phone.walk), all_changes(&mut doc));
    }
}

/// A SIGTERM sent the moment the server announced its port stops it
/// gracefully (exit status 0), not by the signal's default action: the
/// server listens for SIGTERM before it prints `wijklog listening on port`.
/// (It printed the port first and registered its handler only when the
/// serving task first ran, so a test that stopped a server it had just
/// started saw it die of signal 15.)
#[actix_rt::test]
async fn a_sigterm_right_after_the_port_is_announced_stops_gracefully() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    for round in 0..5 {
        let mut server = serve(&data).start();
        let status = server.terminate(WAIT).expect("the server stops");
        assert!(
            status.success(),
            "round {round}: SIGTERM right after start ended the server with {status:?}"
        );
    }
}
