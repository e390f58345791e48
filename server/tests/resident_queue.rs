//! The coordinators' queue of residents' points against the real server on
//! 127.0.0.1 with a real SMTP server (aiosmtpd) on loopback: every status
//! transition as the public status answer shows it, merges, refusals, the
//! audited read of contact details, and status mails only to residents who
//! gave an e-mail address and consent — never with the text of the point.

use std::time::Duration;

use serde_json::{Value, json};
use wijklog_server::config::TlsMode;
use wijklog_server::domain::{Role, now_ms};
use wijklog_server::testing::{Response, TestApp, spawn_app_with};
use wijklog_server::testing_smtp::SmtpSink;
use wijklog_shared::{Catalog, DocId, Document, NewWalk, Timestamp, UserId};
use wijklog_testing::stored::store_bare_walk;

const PASSWORD: &str = "een-lang-test-wachtwoord";
const DAY: i64 = 86_400_000;

struct World {
    app: TestApp,
    sink: SmtpSink,
    token: String,
    boa: String,
}

async fn world() -> World {
    let sink = SmtpSink::start();
    let port = sink.port();
    let app = spawn_app_with(move |c| {
        c.public.form_min_secs = 0;
        c.public.schedule_refresh_secs = 0;
        c.mail.host = "127.0.0.1".into();
        c.mail.port = port;
        c.mail.tls = TlsMode::None;
        c.mail.from = "Wijkteam <wijkteam@gemeente.example>".into();
        c.mail.poll_ms = 100;
        c.mail.timeout_secs = 5;
    })
    .await;
    app.add_user("coord", PASSWORD, &[Role::Coordinator], None);
    let boa = app.add_user("boa", PASSWORD, &[Role::Boa], Some("noord"));
    let token = app
        .login("coord", PASSWORD)
        .await
        .expect("login")
        .access_token;
    World {
        app,
        sink,
        token,
        boa: boa.id.to_string(),
    }
}

impl World {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let auth = format!("Bearer {}", self.token);
        self.app
            .request(
                method,
                path,
                &[
                    ("Authorization", auth.as_str()),
                    ("Content-Type", "application/json"),
                ],
                body.map(|b| b.to_string().into_bytes()),
            )
            .await
    }

    async fn hand_in(&self, text: &str, email: Option<&str>) -> (String, i64) {
        let token = self.app.get("/api/v1/public/form-token").await.json()["token"].clone();
        let mut body = json!({"wijk": "centrum", "text": text, "token": token});
        if let Some(e) = email {
            body["contact"] = json!({"email": e, "consent": true});
        }
        let res = self.app.post_json("/api/v1/public/points", &body).await;
        assert_eq!(res.status, 201, "{}", res.text());
        let receipt = res.json()["receipt"].as_str().expect("receipt").to_owned();
        let list = self
            .call(
                "GET",
                "/api/v1/resident-points?wijk=centrum&limit=500",
                None,
            )
            .await;
        let id = list.json()["points"]
            .as_array()
            .expect("points")
            .iter()
            .find(|p| p["receipt"] == receipt.as_str())
            .expect("in the queue")["id"]
            .as_i64()
            .expect("id");
        (receipt, id)
    }

    async fn act(&self, id: i64, body: Value) -> Response {
        self.call("POST", &format!("/api/v1/resident-points/{id}"), Some(body))
            .await
    }

    async fn public_status(&self, receipt: &str) -> Value {
        let res = self
            .app
            .get(&format!("/api/v1/public/points/{receipt}"))
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }

    fn planned_walk(&self, wijk: &str, at: i64) -> String {
        let uid = UserId::parse(&self.boa).expect("uid");
        let mut doc = Document::new_walk(
            DocId::new_v4(),
            &Catalog::defaults(),
            &uid,
            Timestamp::from_millis(now_ms()),
            NewWalk {
                title: "Ronde".into(),
                wijk: wijk.into(),
                route: String::new(),
                team: "noord".into(),
                planned_at: Some(Timestamp::from_millis(at)),
            },
        )
        .expect("walk");
        let id = doc.id();
        store_bare_walk(&self.app, id, &uid, "noord", doc.automerge_mut());
        id.to_string()
    }
}

fn local_date(ms: i64) -> String {
    // The walk is planned at 10:00 UTC: the same day in Amsterdam.
    wijklog_server::review::iso8601(ms)[..10].to_owned()
}

#[actix_web::test]
async fn a_point_travels_from_handed_in_to_done_and_the_status_page_follows_each_step() {
    let w = world().await;
    let (receipt, id) = w
        .hand_in(
            "Kapotte lantaarn MARKER-TEXT bij de school",
            Some("bewoner@example.nl"),
        )
        .await;
    assert_eq!(w.public_status(&receipt).await["status"], "ontvangen");

    // Onto the agenda of a planned walk in the same wijk.
    let tomorrow_10 = (now_ms() / DAY + 1) * DAY + 10 * 3_600_000;
    let walk = w.planned_walk("centrum", tomorrow_10);
    let elsewhere = w.planned_walk("oostermeent", tomorrow_10);
    let res = w
        .act(id, json!({"action": "agenda", "walk": elsewhere}))
        .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (400, json!("invalid_parameter"))
    );
    let res = w.act(id, json!({"action": "agenda", "walk": walk})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["point"]["walk"], walk.as_str());
    let s = w.public_status(&receipt).await;
    assert_eq!(s["status"], "op_agenda");
    assert_eq!(s["walk_date"], local_date(tomorrow_10));

    // Looked at, linked to an observation.
    let res = w
        .act(
            id,
            json!({"action": "looked_at", "observation": "0d6f7c8e-1111-4222-8333-944455556666"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json()["point"]["observation"],
        "0d6f7c8e-1111-4222-8333-944455556666"
    );
    assert_eq!(w.public_status(&receipt).await["status"], "bekeken");

    // Picked up by a partner: the status page names it in general words.
    let res = w
        .act(
            id,
            json!({"action": "picked_up", "partner": "geen_partner"}),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    let partners = Catalog::defaults().partners;
    let (partner, entry) = partners.iter().next().expect("a partner");
    let res = w
        .act(id, json!({"action": "picked_up", "partner": partner}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let s = w.public_status(&receipt).await;
    assert_eq!(s["status"], "opgepakt");
    assert_eq!(s["partner"], entry.label.clone().expect("label").as_str());

    // Done; after that nothing more changes.
    assert_eq!(w.act(id, json!({"action": "done"})).await.status, 200);
    assert_eq!(w.public_status(&receipt).await["status"], "afgerond");
    let res = w
        .act(id, json!({"action": "decline", "reason": "al_bekend"}))
        .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("wrong_status"))
    );

    // Four status mails reached the resident, none with the text.
    let mut got = Vec::new();
    for _ in 0..100 {
        got = w.sink.messages();
        if got.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 4, "{got:?}");
    for m in &got {
        assert_eq!(m.envelope_to, ["bewoner@example.nl"]);
        assert!(m.body.contains(&receipt), "{}", m.body);
        assert!(
            !m.body.contains("MARKER") && !m.body.contains("lantaarn"),
            "{}",
            m.body
        );
    }
    assert!(
        got[0].body.contains("op de agenda van de wandeling van"),
        "{}",
        got[0].body
    );
    assert!(got[3].body.contains("afgerond"), "{}", got[3].body);

    // The coordinator's read of the contact details is audited.
    let res = w
        .call("GET", &format!("/api/v1/resident-points/{id}"), None)
        .await;
    assert_eq!(res.json()["contact"]["email"], "bewoner@example.nl");
    let audited: i64 = w
        .app
        .state
        .review
        .with_conn(|c| {
            c.query_row(
                "SELECT count(*) FROM audit_log WHERE action = 'resident_point.read_personal'",
                [],
                |r| r.get(0),
            )
        })
        .expect("audit");
    assert_eq!(audited, 1);
}

#[actix_web::test]
async fn duplicates_follow_the_point_they_were_merged_into_and_declines_give_a_general_reason() {
    let w = world().await;
    let (first, a) = w.hand_in("Fietsen op de stoep bij de bakker", None).await;
    let (second, b) = w
        .hand_in("Stoep vol fietsen, bakkerij", Some("tweede@example.nl"))
        .await;
    let res = w.act(b, json!({"action": "merge", "into": b})).await;
    assert_eq!(res.status, 400, "not into itself");
    assert_eq!(
        w.act(b, json!({"action": "merge", "into": a})).await.status,
        200
    );
    let res = w.act(b, json!({"action": "done"})).await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("point_merged"))
    );
    let open = w
        .call("GET", "/api/v1/resident-points?wijk=centrum", None)
        .await
        .json();
    let ids: Vec<i64> = open["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [a], "the duplicate leaves the open queue");
    assert_eq!(open["points"][0]["duplicates"], 1);

    let res = w
        .act(a, json!({"action": "decline", "reason": "iets_anders"}))
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(
        w.act(
            a,
            json!({"action": "decline", "reason": "andere_instantie"})
        )
        .await
        .status,
        200
    );
    for receipt in [&first, &second] {
        let s = w.public_status(receipt).await;
        assert_eq!(s["status"], "afgewezen", "{receipt}");
        assert_eq!(
            s["reason"],
            "Dit hoort bij een andere organisatie. Die kan u beter helpen."
        );
    }
    // The duplicate's resident (with consent) heard about the decline.
    let mut got = Vec::new();
    for _ in 0..100 {
        got = w.sink.messages();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].envelope_to, ["tweede@example.nl"]);
    assert!(
        got[0].body.contains(&second) && got[0].body.contains("andere organisatie"),
        "{}",
        got[0].body
    );

    // Only coordinators reach the queue.
    let boa = w
        .app
        .login("boa", PASSWORD)
        .await
        .expect("login")
        .access_token;
    let auth = format!("Bearer {boa}");
    let res = w
        .app
        .request(
            "GET",
            "/api/v1/resident-points",
            &[("Authorization", auth.as_str())],
            None,
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(w.app.get("/api/v1/resident-points").await.status, 401);
}

/// The agenda of a walk the phone holds: point id -> entry.
fn agenda_of(
    phone: &wijklog_testing::sync_client::SyncClient,
    walk: uuid::Uuid,
) -> std::collections::BTreeMap<String, wijklog_shared::AgendaPoint> {
    phone
        .docs
        .get(&walk)
        .and_then(|d| wijklog_shared::Walk::from_doc(&d.doc).ok())
        .map(|w| w.agenda)
        .unwrap_or_default()
}

/// A point a coordinator puts on a walk is written into the walk document
/// (the coordinator's wording, never the resident's contact details) and
/// reaches the boa's phone by sync; moved to another walk, it leaves the
/// first one. The boa, offline, makes an observation from it (one action:
/// the observation and the "bekeken" mark that links it); once the phone
/// syncs, the server moves the point to `bekeken` with that observation and
/// the resident's status page and status mail follow. (Without the follower
/// the status stays `op_agenda` and the wait for `bekeken` fails.)
#[actix_web::test]
async fn a_point_on_a_walks_agenda_reaches_the_phone_and_its_looked_at_mark_moves_the_status() {
    use wijklog_testing::sync_client::{self, ClientDoc, SyncClient};
    const WAIT: Duration = Duration::from_secs(10);
    let w = world().await;
    let (receipt, id) = w
        .hand_in(
            "Fietswrakken bij het station, al weken",
            Some("geheim-adres@example.nl"),
        )
        .await;
    let tomorrow_10 = (now_ms() / DAY + 1) * DAY + 10 * 3_600_000;
    let first = w.planned_walk("centrum", tomorrow_10);
    let second = w.planned_walk("centrum", tomorrow_10 + DAY);
    let res = w.act(id, json!({"action": "agenda", "walk": first})).await;
    assert_eq!(res.status, 200, "{}", res.text());

    let tokens = sync_client::login(&w.app.address, "boa", PASSWORD).await;
    let mut phone = SyncClient::connect(
        &w.app.address,
        tokens["access_token"].as_str().expect("token"),
    )
    .await;
    let (first_id, second_id) = (
        uuid::Uuid::parse_str(&first).expect("uuid"),
        uuid::Uuid::parse_str(&second).expect("uuid"),
    );
    let key = id.to_string();
    phone.subscribe(first_id).await;
    assert!(
        phone
            .pump_until(WAIT, |c| agenda_of(c, first_id).contains_key(&key))
            .await
    );
    assert_eq!(
        agenda_of(&phone, first_id)[&key].text.as_deref(),
        Some("Fietswrakken bij het station, al weken")
    );

    // Moved to the next walk, in the coordinator's words.
    let res = w
        .act(
            id,
            json!({"action": "agenda", "walk": second, "text": "  Fietswrakken bij het station  "}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = w
        .act(id, json!({"action": "agenda", "walk": second, "text": " "}))
        .await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(
        phone
            .pump_until(WAIT, |c| !agenda_of(c, first_id).contains_key(&key))
            .await,
        "the point left the first walk"
    );
    phone.subscribe(second_id).await;
    assert!(
        phone
            .pump_until(WAIT, |c| agenda_of(c, second_id).contains_key(&key))
            .await
    );
    let entry = agenda_of(&phone, second_id)[&key].clone();
    assert_eq!(entry.text.as_deref(), Some("Fietswrakken bij het station"));
    // The walk goes to phones: the resident's contact details are not in it, not even in its history.
    let bytes = phone.docs.get_mut(&second_id).expect("held").doc.save();
    let raw = String::from_utf8_lossy(&bytes);
    assert!(!raw.contains("geheim-adres"), "contact details in the walk");

    // Offline on the phone: an observation made from the point, marked and linked in one action.
    let held = phone.docs.remove(&second_id).expect("held");
    let mut doc = Document::from_automerge(DocId::parse(&second).expect("doc id"), held.doc);
    let boa = UserId::parse(&w.boa).expect("uid");
    let at = Timestamp::from_millis(now_ms());
    let catalog = Catalog::defaults();
    let obs = doc
        .action(at, |d| {
            let o = d.add_observation(
                &catalog,
                &boa,
                at,
                wijklog_shared::NewItem {
                    id: None,
                    category: "vervuiling".into(),
                    severity: wijklog_shared::Severity::Aandacht,
                    text: "Vijf fietswrakken".into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )?;
            d.mark_agenda_looked_at(&boa, at, id, Some(&o))?;
            Ok(o)
        })
        .expect("action");
    phone.docs.insert(
        second_id,
        ClientDoc {
            doc: doc.automerge().clone(),
            state: held.state,
            acked: held.acked,
        },
    );
    assert_eq!(w.public_status(&receipt).await["status"], "op_agenda");
    assert!(phone.sync_until_acked(second_id, WAIT).await);

    // The server follows the mark: bekeken, linked to the observation (read
    // on the coordinators' side: the public reads have a budget per address).
    let mut point = Value::Null;
    for _ in 0..100 {
        point = w
            .call("GET", &format!("/api/v1/resident-points/{id}"), None)
            .await
            .json()["point"]
            .clone();
        if point["status"] == "bekeken" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(point["status"], "bekeken", "{point}");
    assert_eq!(point["observation"], obs.to_string());
    assert_eq!(w.public_status(&receipt).await["status"], "bekeken");
    // Three status mails: on the agenda (twice: first and second walk) and looked at.
    let mut got = Vec::new();
    for _ in 0..100 {
        got = w.sink.messages();
        if got.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[2].body.contains("bekeken tijdens de wandeling"),
        "{}",
        got[2].body
    );
    // The audit names the boa who marked it, not the coordinator.
    let by: String = w
        .app
        .state
        .review
        .with_conn(|c| {
            c.query_row(
                "SELECT actor FROM audit_log WHERE action = 'resident_point.looked_at'",
                [],
                |r| r.get(0),
            )
        })
        .expect("audit");
    assert_eq!(by, w.boa);
}
