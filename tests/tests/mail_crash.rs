//! SIGKILL of a real `wijklog serve` while it is sending mail: nothing queued
//! is lost, and a message sent again after the restart keeps its Message-ID
//! (at-least-once delivery, docs/operations.md "Mail").
//!
//! Two moments of the first message's delivery:
//! - the SMTP server (aiosmtpd on loopback, tests/smtp/smtp_sink.py) stores
//!   it and holds back its "250" answer; the test kills wijklog meanwhile,
//!   so it never learns that the message was accepted;
//! - the "250" arrived and wijklog kills itself before the outbox records
//!   the message as sent (the crash point `mail.accepted`).
//!
//! Either way, after the restart it sends that message again (same
//! Message-ID) and the others: at most a duplicate, never a loss.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wijklog_server::domain::{DocId as ServerDocId, DocKind, UserId as ServerUserId};
use wijklog_server::storage::{DocMeta, DocWrite, NewChange, NewDoc, SqliteStore, Store};
use wijklog_server::testing_smtp::SmtpSink;
use wijklog_shared::{
    Catalog, DocId, Document, NewItem, NewSpreekuur, PartnerContact, ResidentContact, Severity,
    Timestamp, UserId,
};
use wijklog_tests::server_process::{add_user, serve};
use wijklog_tests::sync_client::login;

const PASSWORD: &str = "een-lang-test-wachtwoord";

fn commit(
    store: &SqliteStore,
    since: &[automerge::ChangeHash],
    doc: &mut Document,
    kind: DocKind,
    team: Option<&str>,
    user: &str,
    create: bool,
) {
    let id = ServerDocId::from_bytes(doc.id().as_bytes());
    let am = doc.automerge_mut();
    let changes: Vec<NewChange> = am
        .get_changes(since)
        .iter()
        .map(NewChange::from_change)
        .collect();
    let owner = ServerUserId::parse(user).expect("user");
    let meta = DocMeta {
        id,
        kind,
        owner: owner.clone(),
        team: team.map(str::to_owned),
        created_at: 0,
    };
    // Authorship as the sync server derives it: the new changes' actors are
    // the sender's, the others are looked up in the store's bindings.
    let fresh: Vec<Vec<u8>> = changes.iter().map(|c| c.actor.clone()).collect();
    let sender = user.to_string();
    let mut author = |actor: &automerge::ActorId| -> Option<String> {
        if fresh.contains(&actor.to_bytes().to_vec()) {
            return Some(sender.clone());
        }
        store
            .actor_owner(actor.to_bytes())
            .expect("binding")
            .map(|u| u.as_str().to_owned())
    };
    let rows = wijklog_server::sync::projection::rows(&meta, am.document(), &mut author);
    let out = store
        .commit(&[DocWrite {
            epoch: None,
            doc_id: id,
            user_id: owner.clone(),
            device_id: None,
            create: create.then(|| NewDoc {
                kind,
                owner,
                team: team.map(str::to_owned),
            }),
            changes,
            projection: rows,
            schedule: None,
        }])
        .expect("commit");
    out.writes[0].as_ref().expect("accepted");
}

/// A spreekuur note with a consenting resident, and a partner with an address.
/// Returns (doc id, item id).
fn seed(data: &Path, staff_id: &str) -> (String, String) {
    let store = SqliteStore::open_in_dir(data).expect("store");
    let catalog_meta = store
        .docs_of_kind(DocKind::Catalog)
        .expect("catalog")
        .into_iter()
        .next()
        .expect("seeded catalog");
    let stored = store
        .load_doc(catalog_meta.id)
        .expect("load")
        .expect("catalog doc");
    let am = stored.to_automerge().expect("automerge");
    let catalog_heads = am.get_heads();
    let mut catalog_doc =
        Document::load(DocId::from_bytes(catalog_meta.id.as_bytes()), &am.save()).expect("doc");
    let who = UserId::parse(staff_id).expect("uid");
    catalog_doc.set_actor(automerge::ActorId::random());
    catalog_doc
        .set_partner_contact(
            &who,
            Timestamp::from_millis(1),
            "politie",
            &PartnerContact {
                email: Some("wijkagent@politie.example".into()),
                phone: None,
                contact: None,
            },
        )
        .expect("partner");
    commit(
        &store,
        &catalog_heads,
        &mut catalog_doc,
        DocKind::Catalog,
        None,
        staff_id,
        false,
    );

    let catalog = Catalog::defaults();
    let mut doc = Document::new_spreekuur(
        DocId::new_v4(),
        &catalog,
        &who,
        Timestamp::from_millis(1_767_225_600_000),
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "oostermeent".into(),
            held_on: Timestamp::from_millis(1_767_225_600_000),
            team: "noord".into(),
        },
    )
    .expect("session");
    doc.set_actor(automerge::ActorId::random());
    let item = doc
        .add_note(
            &catalog,
            &who,
            Timestamp::from_millis(1_767_225_600_000),
            NewItem {
                id: None,
                category: "openbare_ruimte".into(),
                severity: Severity::Aandacht,
                text: "Stoeptegel los".into(),
                place: None,
                location: None,
                feedback_needed: true,
            },
        )
        .expect("note");
    doc.set_resident_contact(
        &who,
        Timestamp::from_millis(1_767_225_600_000),
        &item,
        ResidentContact {
            name: Some("Jan".into()),
            phone: None,
            email: Some("jan@example.nl".into()),
            consent: true,
        },
    )
    .expect("contact");
    commit(
        &store,
        &[],
        &mut doc,
        DocKind::Spreekuur,
        Some("noord"),
        staff_id,
        true,
    );
    (doc.id().to_string(), item.to_string())
}

async fn post(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let mut res = awc::Client::default()
        .post(format!("{base}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send_json(&body)
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// How the server dies while it sends the first message.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// The sink holds back its "250"; the test kills the server.
    BeforeTheAnswer,
    /// The "250" arrived; the server kills itself at `mail.accepted@1`,
    /// before the outbox records it.
    AfterTheAnswer,
}

#[actix_rt::test]
async fn sigkill_while_sending_loses_no_mail_and_a_resend_keeps_its_message_id() {
    kill_while_sending(Kill::BeforeTheAnswer).await;
}

#[actix_rt::test]
async fn sigkill_after_the_smtp_answer_before_it_is_recorded_loses_no_mail() {
    kill_while_sending(Kill::AfterTheAnswer).await;
}

async fn kill_while_sending(kill: Kill) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().to_owned();
    let mut sink = SmtpSink::start();
    if let Kill::BeforeTheAnswer = kill {
        sink.restart(&["--hold-first", "30"]);
    }
    let port = sink.port().to_string();
    let env = [
        ("WIJKLOG_MAIL_HOST", "127.0.0.1"),
        ("WIJKLOG_MAIL_PORT", port.as_str()),
        ("WIJKLOG_MAIL_TLS", "none"),
        ("WIJKLOG_MAIL_FROM", "Wijkteam <wijkteam@gemeente.example>"),
        ("WIJKLOG_MAIL_RETRY_BASE_MS", "200"),
        ("WIJKLOG_MAIL_RETRY_MAX_MS", "500"),
        ("WIJKLOG_MAIL_POLL_MS", "100"),
        ("WIJKLOG_MAIL_TIMEOUT_SECS", "60"),
        // Sends while the sink is down (below) are retried, never given up.
        ("WIJKLOG_MAIL_MAX_ATTEMPTS", "1000"),
    ];
    add_user(&data, "coco", PASSWORD, &["coordinator"], None);

    // First start: migrations and the catalog; then the documents.
    let mut server = serve(&data).start();
    let tokens = login(&server.base, "coco", PASSWORD).await;
    let coord_id = tokens["user"]["id"].as_str().expect("id").to_owned();
    assert!(server.terminate(Duration::from_secs(10)).is_some());
    let (doc, item) = seed(&data, &coord_id);

    if let Kill::AfterTheAnswer = kill {
        // Down while the three messages are queued, so the kill at the first
        // acceptance finds the other two queued as well.
        sink.stop();
    }
    let armed = match kill {
        Kill::BeforeTheAnswer => serve(&data).envs(&env),
        Kill::AfterTheAnswer => serve(&data)
            .envs(&env)
            .env("WIJKLOG_TEST_CRASH_AT", "mail.accepted@1"),
    };
    let mut server = armed.start();
    let token = login(&server.base, "coco", PASSWORD).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let base = server.base.clone();
    let mut queued = Vec::new();
    let (status, body) = post(
        &base,
        &token,
        &format!("/api/v1/items/{doc}/{item}/feedback-mail"),
        json!({"done": "De tegel ligt weer vast."}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    queued.push(
        body["message"]["message_id"]
            .as_str()
            .expect("mid")
            .to_owned(),
    );
    for n in 0..2 {
        let (status, body) = post(
            &base,
            &token,
            &format!("/api/v1/items/{doc}/{item}/forward"),
            json!({"partner": "politie", "note": format!("doorgestuurd {n}")}),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        queued.push(
            body["message"]["message_id"]
                .as_str()
                .expect("mid")
                .to_owned(),
        );
    }

    if let Kill::AfterTheAnswer = kill {
        sink.restart(&[]);
    }
    // The sink has stored the first message and holds back its answer (kill
    // now), or has answered it (the server killed itself).
    let got = sink.wait_for(1, Duration::from_secs(20)).await;
    assert!(
        !got.is_empty(),
        "the first message never reached the SMTP server"
    );
    match kill {
        Kill::BeforeTheAnswer => server.kill(),
        Kill::AfterTheAnswer => {
            let status = server
                .wait_exit(Duration::from_secs(20))
                .expect("the server killed itself at mail.accepted@1");
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(9),
                "{status:?}"
            );
            assert!(
                server
                    .stdout_lines()
                    .iter()
                    .any(|l| l.starts_with("wijklog crash point mail.accepted@1: kill")),
                "no kill line"
            );
        }
    }
    let got = sink.messages();
    assert_eq!(got.len(), 1, "more than the first message was sent");
    let first = got[0].message_id.clone();
    assert!(queued.contains(&first));

    // Restart both; everything arrives, the interrupted one again with its Message-ID.
    sink.restart(&[]);
    let server = serve(&data).envs(&env).start();
    let got = sink.wait_for(4, Duration::from_secs(30)).await;
    let ids: Vec<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(
        got.len(),
        4,
        "expected the 3 messages plus one resend: {ids:?}"
    );
    for q in &queued {
        assert!(ids.contains(&q.as_str()), "message {q} was lost: {ids:?}");
    }
    assert_eq!(ids.iter().filter(|i| **i == first).count(), 2, "{ids:?}");
    let copies: Vec<_> = got.iter().filter(|m| m.message_id == first).collect();
    assert_eq!(copies[0].body, copies[1].body);
    assert_eq!(copies[0].envelope_to, copies[1].envelope_to);

    // And the outbox knows they were all sent.
    let token = login(&server.base, "coco", PASSWORD).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut res = awc::Client::default()
            .get(format!(
                "{}/api/v1/items/{doc}/{item}/messages",
                server.base
            ))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .expect("messages");
        let body: Value = res.json().await.expect("json");
        let list = body["messages"].as_array().cloned().unwrap_or_default();
        if list.len() == 3 && list.iter().all(|m| m["status"] == "sent") {
            break;
        }
        assert!(Instant::now() < deadline, "not all sent: {body}");
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
}
