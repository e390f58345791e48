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
