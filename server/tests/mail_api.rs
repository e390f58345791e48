//! Messages to residents and partners against a REAL SMTP server
//! (aiosmtpd on loopback, started and stopped here): feedback mails with a
//! filled template to the right resident only, "feedback given by e-mail" in
//! the document after the server accepted the mail, forwarding to a partner
//! with and without resident contact, retries while the SMTP server is down,
//! failure with the reason after the last try, templates, mail switched off.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wijklog_server::config::TlsMode;
use wijklog_server::domain::{DocKind, Role};
use wijklog_server::testing::{Response, TestApp, spawn_app_with};
use wijklog_server::testing_smtp::{ReceivedMail, SmtpSink};
use wijklog_shared::{
    CallbackRequest, Catalog, DocId, Document, NewItem, NewSpreekuur, PartnerContact,
    ResidentContact, Severity, Timestamp,
};
use wijklog_testing::stored::{Person, StoredDoc, person};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const WAIT: Duration = Duration::from_secs(20);

struct World {
    app: TestApp,
    sink: SmtpSink,
    coord: Person,
    admin: Person,
    session: String,
    /// Jan: consent and e-mail.
    jan: String,
    /// Piet: consent, phone and e-mail (another resident).
    piet: String,
    /// No consent recorded.
    anon: String,
}

fn mail_on(sink_port: u16, max_attempts: u32) -> impl FnOnce(&mut wijklog_server::config::Config) {
    move |c| {
        c.mail.host = "127.0.0.1".into();
        c.mail.port = sink_port;
        c.mail.tls = TlsMode::None;
        c.mail.from = "Wijkteam <wijkteam@gemeente.example>".into();
        c.mail.retry_base_ms = 300;
        c.mail.retry_max_ms = 1000;
        c.mail.poll_ms = 100;
        c.mail.timeout_secs = 5;
        c.mail.max_attempts = max_attempts;
    }
}

async fn world(max_attempts: u32) -> World {
    let sink = SmtpSink::start();
    let app = spawn_app_with(mail_on(sink.port(), max_attempts)).await;
    world_on(app, sink).await
}

async fn world_on(app: TestApp, sink: SmtpSink) -> World {
    let coord = person(&app, "coco", &[Role::Coordinator], None).await;
    let admin = person(&app, "adam", &[Role::Admin], None).await;
    let sp = person(&app, "sanne", &[Role::Spreekuur], Some("noord")).await;
    let mut doc = session(&sp);
    let add = |doc: &mut Document, category: &str, text: &str, contact: Option<ResidentContact>| {
        note(doc, &sp, T0 + 3_600_000, category, text, contact)
    };
    let jan = add(
        &mut doc,
        "woonoverlast",
        "Geluidsoverlast van de buren 's nachts",
        Some(ResidentContact {
            name: Some("Jan Jansen".into()),
            phone: None,
            email: Some("jan@example.nl".into()),
            consent: true,
        }),
    );
    let piet = add(
        &mut doc,
        "openbare_ruimte",
        "Lantaarnpaal kapot",
        Some(ResidentContact {
            name: Some("Piet Pietersen".into()),
            phone: Some("06 9876 5432".into()),
            email: Some("piet@voorbeeld.nl".into()),
            consent: true,
        }),
    );
    let anon = add(&mut doc, "openbare_ruimte", "Losse stoeptegel", None);
    let mut session = StoredDoc::new(doc, DocKind::Spreekuur, Some("noord"));
    session.commit(&app, &sp);
    World {
        session: session.id(),
        app,
        sink,
        coord,
        admin,
        jan,
        piet,
        anon,
    }
}

/// A spreekuur session of team noord held at `T0` by `sp`, edited as `sp`.
fn session(sp: &Person) -> Document {
    let mut doc = Document::new_spreekuur(
        DocId::new_v4(),
        &Catalog::defaults(),
        &sp.uid(),
        Timestamp::from_millis(T0),
        NewSpreekuur {
            location: "Buurthuis De Schakel".into(),
            wijk: "oostermeent".into(),
            held_on: Timestamp::from_millis(T0),
            team: "noord".into(),
        },
    )
    .expect("session");
    doc.set_actor(sp.actor());
    doc
}

/// Adds a note written by `sp` at `at` that needs feedback, with the
/// resident's contact details if given; returns its id.
fn note(
    doc: &mut Document,
    sp: &Person,
    at: i64,
    category: &str,
    text: &str,
    contact: Option<ResidentContact>,
) -> String {
    let id = doc
        .add_note(
            &Catalog::defaults(),
            &sp.uid(),
            Timestamp::from_millis(at),
            NewItem {
                id: None,
                category: category.into(),
                severity: Severity::Aandacht,
                text: text.into(),
                place: Some("Marktplein".into()),
                location: None,
                feedback_needed: true,
            },
        )
        .expect("note");
    if let Some(c) = contact {
        doc.set_resident_contact(&sp.uid(), Timestamp::from_millis(at), &id, c)
            .expect("contact");
    }
    id.to_string()
}

async fn send(app: &TestApp, who: &Person, method: &str, path: &str, body: Value) -> Response {
    let auth = format!("Bearer {}", who.token);
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    app.request(method, path, &headers, Some(body.to_string().into_bytes()))
        .await
}

async fn get(app: &TestApp, who: &Person, path: &str) -> Response {
    let auth = format!("Bearer {}", who.token);
    app.request("GET", path, &[("Authorization", auth.as_str())], None)
        .await
}

impl World {
    fn item(&self, id: &str) -> String {
        format!("/api/v1/items/{}/{}", self.session, id)
    }

    /// Polls the item's messages until `pred` holds for message `id`.
    async fn wait_message(&self, item: &str, id: i64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let res = get(
                &self.app,
                &self.coord,
                &format!("{}/messages", self.item(item)),
            )
            .await;
            assert_eq!(res.status, 200, "{}", res.text());
            let list = res.json()["messages"].clone();
            let m = list
                .as_array()
                .expect("messages")
                .iter()
                .find(|m| m["id"] == id)
                .cloned()
                .expect("the message is listed");
            if pred(&m) {
                return m;
            }
            assert!(Instant::now() < deadline, "message never got there: {m}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Gives the partner an e-mail address in the catalog (a typed catalog edit).
    fn partner_email(&self, partner: &str, email: &str) {
        let store = self.app.store();
        let meta = store
            .docs_of_kind(DocKind::Catalog)
            .expect("catalog")
            .into_iter()
            .next()
            .expect("seeded catalog");
        let stored = store.load_doc(meta.id).expect("load").expect("stored");
        let am = stored.to_automerge().expect("automerge");
        let heads = am.get_heads();
        let mut doc =
            Document::load(DocId::from_bytes(meta.id.as_bytes()), &am.save()).expect("doc");
        doc.set_actor(self.admin.actor());
        doc.set_partner_contact(
            &self.admin.uid(),
            Timestamp::from_millis(T0),
            partner,
            &PartnerContact {
                email: Some(email.into()),
                phone: Some("14 035".into()),
                contact: Some("Mevrouw De Vries".into()),
            },
        )
        .expect("partner contact");
        StoredDoc {
            doc,
            kind: DocKind::Catalog,
            team: None,
            stored: heads,
        }
        .commit(&self.app, &self.admin);
    }
}

fn unix(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn assert_no_contact_of_others(m: &ReceivedMail) {
    for other in ["Piet", "piet@voorbeeld.nl", "9876", "06 9876 5432"] {
        assert!(
            !m.body.contains(other),
            "the mail holds {other:?}: {}",
            m.body
        );
        assert!(!m.subject.contains(other));
    }
}

#[actix_web::test]
async fn feedback_mail_reaches_only_the_resident_with_the_template_filled_and_marks_feedback_given()
{
    let w = world(4).await;
    let path = format!("{}/feedback-mail", w.item(&w.jan));
    let done = "We hebben met de buren gepraat. Zij houden het 's nachts stil.";

    // Preview: the default template filled in, nothing queued or sent.
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &path,
        json!({"done": done, "preview": true}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let preview = res.json();
    assert_eq!(preview["to"], "jan@example.nl");
    let body = preview["body"].as_str().expect("body");
    assert!(body.starts_with("Beste Jan Jansen,"), "{body}");
    assert!(body.contains(done));
    assert!(body.contains("1 januari 2026"), "{body}");
    assert!(body.contains("Woonoverlast"), "{body}");
    assert!(!body.contains('{'), "unfilled placeholder: {body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.sink.messages().is_empty(), "a preview sent mail");

    // Send.
    let res = send(&w.app, &w.coord, "POST", &path, json!({"done": done})).await;
    assert_eq!(res.status, 202, "{}", res.text());
    let queued = res.json()["message"].clone();
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["kind"], "feedback");
    let message_id = queued["message_id"]
        .as_str()
        .expect("message id")
        .to_owned();
    assert!(message_id.starts_with('<') && message_id.ends_with("@gemeente.example>"));

    let got = w.sink.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1, "exactly one mail");
    let m = &got[0];
    assert_eq!(m.envelope_to, vec!["jan@example.nl".to_owned()]);
    assert_eq!(m.message_id, message_id);
    assert_eq!(
        m.subject,
        "Wat we gedaan hebben met uw melding over Woonoverlast"
    );
    assert_eq!(unix(&m.body).trim_end(), body.trim_end());
    assert!(m.from.contains("wijkteam@gemeente.example"));
    assert_no_contact_of_others(m);

    // Sent, and the document says feedback was given by e-mail, by the coordinator.
    let id = queued["id"].as_i64().expect("id");
    let sent = w.wait_message(&w.jan, id, |m| m["status"] == "sent").await;
    assert!(sent["sent_at"].as_i64().is_some());
    assert_eq!(sent["attempts"], 1);
    let deadline = Instant::now() + WAIT;
    let fb = loop {
        let res = get(&w.app, &w.coord, &w.item(&w.jan)).await;
        let fb = res.json()["item"]["feedback"].clone();
        if !fb["given_at"].is_null() {
            break fb;
        }
        assert!(
            Instant::now() < deadline,
            "feedback never marked given: {fb}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(fb["channel"], "e-mail");
    assert_eq!(fb["by"], w.coord.id());
    assert_eq!(fb["given_at"], sent["sent_at"]);

    // Audited: who, which item, which template; no address, no text.
    let audit = w.app.store().audit_entries(50).expect("audit");
    let entry = audit
        .iter()
        .find(|a| a.entry.action == "mail.feedback")
        .expect("mail.feedback audited");
    assert_eq!(
        entry.entry.actor.as_ref().map(|a| a.to_string()),
        Some(w.coord.id())
    );
    assert_eq!(entry.entry.detail["item"], w.jan.as_str());
    assert_eq!(entry.entry.detail["template"], "default");
    assert_eq!(entry.entry.detail["message_id"], message_id.as_str());
    let text = entry.entry.detail.to_string();
    assert!(
        !text.contains("jan@example.nl") && !text.contains("Jansen") && !text.contains("buren")
    );
}

#[actix_web::test]
async fn feedback_needs_consent_and_an_address_and_a_text() {
    let w = world(4).await;
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.anon)),
        json!({"done": "Gemaakt"}),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("no_consent"))
    );
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.jan)),
        json!({"done": "  "}),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (400, json!("invalid_parameter"))
    );
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.jan)),
        json!({"done": "x", "extra": 1}),
    )
    .await;
    assert_eq!(res.status, 400);
    // Only coordinators send.
    let res = send(
        &w.app,
        &w.admin,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.jan)),
        json!({"done": "x"}),
    )
    .await;
    assert_eq!(res.status, 403);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.sink.messages().is_empty());
}

#[actix_web::test]
async fn forwarding_sends_a_summary_without_resident_contact_unless_ticked_with_a_reason() {
    let w = world(4).await;
    let path = format!("{}/forward", w.item(&w.jan));

    // A partner without an address cannot be mailed.
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &path,
        json!({"partner": "politie"}),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("partner_no_email"))
    );
    w.partner_email("politie", "wijkagent@politie.example");

    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &path,
        json!({"partner": "politie", "note": "Graag langsgaan bij de buren."}),
    )
    .await;
    assert_eq!(res.status, 202, "{}", res.text());
    let first = res.json()["message"].clone();
    assert_eq!(first["partner"], "politie");
    assert_eq!(first["with_contact"], false);

    // Contact details need a reason.
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &path,
        json!({"partner": "politie", "include_contact": true}),
    )
    .await;
    assert_eq!(res.status, 400, "{}", res.text());
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &path,
        json!({"partner": "politie", "include_contact": true, "reason": "De wijkagent wil de bewoner zelf spreken."}),
    )
    .await;
    assert_eq!(res.status, 202, "{}", res.text());

    let got = w.sink.wait_for(2, WAIT).await;
    assert_eq!(got.len(), 2);
    let (plain, with) = if got[0].message_id == first["message_id"] {
        (&got[0], &got[1])
    } else {
        (&got[1], &got[0])
    };
    for m in [plain, with] {
        assert_eq!(m.envelope_to, vec!["wijkagent@politie.example".to_owned()]);
        assert!(
            m.body.contains("Geluidsoverlast van de buren"),
            "{}",
            m.body
        );
        assert!(m.subject.contains("Woonoverlast"));
        assert_no_contact_of_others(m);
    }
    assert!(plain.body.contains("Graag langsgaan bij de buren."));
    assert!(plain.body.contains("niet meegestuurd"));
    assert!(
        !plain.body.contains("Jan") && !plain.body.contains("jan@example.nl"),
        "{}",
        plain.body
    );
    assert!(with.body.contains("Naam: Jan Jansen"), "{}", with.body);
    assert!(with.body.contains("E-mail: jan@example.nl"));
    assert!(
        with.body
            .contains("De wijkagent wil de bewoner zelf spreken.")
    );

    // Recorded: the item's messages say forwarded to the partner.
    let res = get(&w.app, &w.coord, &format!("{}/messages", w.item(&w.jan))).await;
    let list = res.json()["messages"].clone();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] == "forward" && m["partner"] == "politie")
    );

    // Audited, the contact one with its reason.
    let audit = w.app.store().audit_entries(50).expect("audit");
    let plain_a = audit
        .iter()
        .find(|a| a.entry.action == "mail.forward")
        .expect("audited");
    assert_eq!(plain_a.entry.detail["partner"], "politie");
    assert!(plain_a.entry.detail.get("reason").is_none());
    let with_a = audit
        .iter()
        .find(|a| a.entry.action == "mail.forward_with_contact")
        .expect("audited with contact");
    assert_eq!(
        with_a.entry.detail["reason"],
        "De wijkagent wil de bewoner zelf spreken."
    );
    assert_eq!(with_a.entry.detail["with_contact"], true);
    // Forwarding does not mark feedback as given.
    let res = get(&w.app, &w.coord, &w.item(&w.piet)).await;
    assert!(res.json()["item"]["feedback"]["given_at"].is_null());
}

#[actix_web::test]
async fn a_mail_is_retried_while_the_smtp_server_is_down_and_sent_when_it_is_back() {
    let mut w = world(20).await;
    w.sink.stop();
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.jan)),
        json!({"done": "De lamp is vervangen."}),
    )
    .await;
    assert_eq!(res.status, 202, "{}", res.text());
    let queued = res.json()["message"].clone();
    let id = queued["id"].as_i64().unwrap();
    // At least two tries failed, with the reason; still queued, not given.
    let m = w
        .wait_message(&w.jan, id, |m| m["attempts"].as_i64() >= Some(2))
        .await;
    assert_eq!(m["status"], "queued");
    assert!(
        m["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{m}"
    );
    assert!(m["next_attempt_at"].as_i64().is_some());
    let item = get(&w.app, &w.coord, &w.item(&w.jan)).await.json();
    assert!(
        item["item"]["feedback"]["given_at"].is_null(),
        "marked before it was sent"
    );

    w.sink.restart(&[]);
    let got = w.sink.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, queued["message_id"].as_str().unwrap());
    assert!(got[0].body.contains("De lamp is vervangen."));
    let m = w.wait_message(&w.jan, id, |m| m["status"] == "sent").await;
    assert!(m["attempts"].as_i64() >= Some(3));
}

#[actix_web::test]
async fn after_the_last_try_a_mail_is_failed_with_the_reason_and_feedback_stays_open() {
    let mut w = world(2).await;
    w.sink.restart(&["--refuse-first", "5"]);
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.jan)),
        json!({"done": "Opgelost."}),
    )
    .await;
    assert_eq!(res.status, 202);
    let id = res.json()["message"]["id"].as_i64().unwrap();
    let m = w
        .wait_message(&w.jan, id, |m| m["status"] == "failed")
        .await;
    assert_eq!(m["attempts"], 2);
    let reason = m["last_error"].as_str().expect("reason");
    assert!(reason.contains("451"), "{reason}");
    assert!(w.sink.messages().is_empty());
    let item = get(&w.app, &w.coord, &w.item(&w.jan)).await.json();
    assert!(item["item"]["feedback"]["given_at"].is_null());
}

#[actix_web::test]
async fn admins_edit_templates_per_category_and_unknown_placeholders_are_refused() {
    let w = world(4).await;
    let res = send(
        &w.app,
        &w.admin,
        "PUT",
        "/api/v1/admin/mail/templates/woonoverlast",
        json!({"subject": "Over {categorie}", "body": "Hallo {naam}, {wat_gedan}"}),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].clone()),
        (409, json!("unknown_placeholder"))
    );
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        "/api/v1/admin/mail/templates/woonoverlast",
        json!({"subject": "x", "body": "y"}),
    )
    .await;
    assert_eq!(res.status, 403);
    let res = send(
        &w.app,
        &w.admin,
        "PUT",
        "/api/v1/admin/mail/templates/bestaat_niet",
        json!({"subject": "x", "body": "y"}),
    )
    .await;
    assert_eq!(res.status, 400);
    let res = send(
        &w.app,
        &w.admin,
        "PUT",
        "/api/v1/admin/mail/templates/woonoverlast",
        json!({"subject": "Uw melding over {categorie}", "body": "Hallo {naam},\n\n{wat_gedaan}\n\nGroet"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());

    let res = get(&w.app, &w.coord, "/api/v1/mail/templates").await;
    assert_eq!(res.status, 200);
    let list = res.json();
    assert_eq!(list["templates"].as_array().map(Vec::len), Some(2));
    assert!(
        list["placeholders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "wat_gedaan")
    );

    // Jan's note is woonoverlast: its own template; Piet's uses the default.
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.jan)),
        json!({"done": "Gesprek gevoerd.", "preview": true}),
    )
    .await;
    assert_eq!(
        res.json()["body"],
        "Hallo Jan Jansen,\n\nGesprek gevoerd.\n\nGroet"
    );
    assert_eq!(res.json()["template"], "woonoverlast");
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{}/feedback-mail", w.item(&w.piet)),
        json!({"done": "Lamp vervangen.", "preview": true}),
    )
    .await;
    assert_eq!(res.json()["template"], "default");
    assert!(
        res.json()["body"]
            .as_str()
            .unwrap()
            .starts_with("Beste Piet Pietersen,")
    );

    let audit = w.app.store().audit_entries(50).expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.entry.action == "mail.template.update"
                && a.entry.detail["category"] == "woonoverlast")
    );
    // The default cannot be removed; a category's own can.
    let res = send(
        &w.app,
        &w.admin,
        "DELETE",
        "/api/v1/admin/mail/templates/default",
        json!({}),
    )
    .await;
    assert_eq!(res.status, 409);
    let res = send(
        &w.app,
        &w.admin,
        "DELETE",
        "/api/v1/admin/mail/templates/woonoverlast",
        json!({}),
    )
    .await;
    assert_eq!(res.status, 204);
}

#[actix_web::test]
async fn without_smtp_the_feature_is_off_and_says_so() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|_| {}).await;
    let w = world_on(app, sink).await;
    let res = get(&w.app, &w.coord, "/api/v1/mail/status").await;
    assert_eq!(res.json(), json!({"email": false, "sms": false}));
    for (path, body) in [
        (
            format!("{}/feedback-mail", w.item(&w.jan)),
            json!({"done": "x"}),
        ),
        (
            format!("{}/forward", w.item(&w.jan)),
            json!({"partner": "politie"}),
        ),
    ] {
        let res = send(&w.app, &w.coord, "POST", &path, body).await;
        assert_eq!(res.status, 503, "{}", res.text());
        assert_eq!(res.json()["code"], "mail_disabled");
    }
    let res = get(&w.app, &w.coord, &format!("{}/messages", w.item(&w.jan))).await;
    assert_eq!(res.json()["email"], false);
}

#[actix_web::test]
async fn staff_get_a_daily_digest_of_their_call_backs_and_coordinators_of_open_feedback_without_resident_data()
 {
    let sink = SmtpSink::start();
    let port = sink.port();
    // Digest hour 0: today's digest is due at once.
    let app = spawn_app_with(move |c| {
        mail_on(port, 4)(c);
        c.mail.digest_hour_utc = 0;
    })
    .await;
    let w = world_on(app, sink).await;
    let sp = person(&w.app, "spreekuur2", &[Role::Spreekuur], Some("noord")).await;
    // A call back the team owes a resident, asked on 2026-01-01: due five
    // working days later, so late now; no feedback needed on that note.
    {
        let catalog = Catalog::defaults();
        let mut doc = Document::new_spreekuur(
            DocId::new_v4(),
            &catalog,
            &sp.uid(),
            Timestamp::from_millis(T0),
            NewSpreekuur {
                location: "Buurthuis De Kruising".into(),
                wijk: "centrum".into(),
                held_on: Timestamp::from_millis(T0),
                team: "noord".into(),
            },
        )
        .expect("session");
        doc.set_actor(sp.actor());
        let at = Timestamp::from_millis(T0 + 3_600_000);
        let id = doc
            .add_note(
                &catalog,
                &sp.uid(),
                at,
                NewItem {
                    id: None,
                    category: "vernieling".into(),
                    severity: Severity::Aandacht,
                    text: "Bushokje vernield, bewoonster Klaasje wil teruggebeld worden".into(),
                    place: None,
                    location: None,
                    feedback_needed: false,
                },
            )
            .expect("note");
        doc.set_resident_contact(
            &sp.uid(),
            at,
            &id,
            ResidentContact {
                name: Some("Klaasje Klaver".into()),
                phone: Some("06 5555 1234".into()),
                email: None,
                consent: true,
            },
        )
        .expect("contact");
        doc.request_callback(
            &catalog,
            &sp.uid(),
            at,
            &id,
            CallbackRequest {
                due_at: None,
                assignee: None,
            },
        )
        .expect("call back");
        StoredDoc::new(doc, DocKind::Spreekuur, Some("noord")).commit(&w.app, &sp);
    }
    let path = format!("/api/v1/admin/users/{}/mail-address", w.coord.id());

    // Only admins set addresses; a bad one is refused; each change is audited.
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        &path,
        json!({"email": "cora@gemeente.example"}),
    )
    .await;
    assert_eq!(res.status, 403);
    let res = send(
        &w.app,
        &w.admin,
        "PUT",
        &path,
        json!({"email": "geen adres"}),
    )
    .await;
    assert_eq!(res.status, 400);
    let res = send(
        &w.app,
        &w.admin,
        "PUT",
        &path,
        json!({"email": "cora@gemeente.example"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        get(&w.app, &w.admin, &path).await.json()["email"],
        "cora@gemeente.example"
    );
    // Spreekuur staff: a digest of the call backs the team owes, no feedback list.
    let res = send(
        &w.app,
        &w.admin,
        "PUT",
        &format!("/api/v1/admin/users/{}/mail-address", sp.id()),
        json!({"email": "sp@gemeente.example"}),
    )
    .await;
    assert_eq!(res.status, 200);
    let audit = w.app.store().audit_entries(50).expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.entry.action == "admin.user.mail_address"
                && a.entry.subject.as_deref() == Some(w.coord.id().as_str()))
    );

    let got = w.sink.wait_for(2, WAIT).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let m = got
        .iter()
        .find(|m| m.envelope_to == vec!["cora@gemeente.example".to_owned()])
        .expect("the coordinator's digest");
    assert_eq!(m.subject, "Wijklog: 3 meldingen wachten op terugkoppeling");
    let body = unix(&m.body);
    assert_eq!(body.matches("\n- ").count(), 3, "{body}");
    assert!(body.contains("Woonoverlast in "), "{body}");
    let c = got
        .iter()
        .find(|m| m.envelope_to == vec!["sp@gemeente.example".to_owned()])
        .expect("the spreekuur worker's digest");
    assert_eq!(c.subject, "Wijklog: 1 terugbelverzoek open");
    let calls = unix(&c.body);
    assert_eq!(calls.matches("\n- ").count(), 1, "{calls}");
    assert!(
        calls.contains("- Vernieling in Centrum (spreekuur), TE LAAT, "),
        "{calls}"
    );
    assert!(calls.contains("waarvan 1 te laat"), "{calls}");
    assert!(!calls.contains("terugkoppeling nodig"), "{calls}");
    for (what, body) in [("coordinator", &body), ("spreekuur", &calls)] {
        for private in [
            "Jan",
            "jan@example.nl",
            "Piet",
            "piet@",
            "9876",
            "Geluidsoverlast",
            "Lantaarnpaal",
            "Klaasje",
            "5555",
            "Bushokje",
        ] {
            assert!(
                !body.contains(private),
                "the {what} digest holds {private:?}: {body}"
            );
        }
    }
    // Once a day: later checks queue nothing more.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(w.sink.messages().len(), 2);
}

/// `{datum}` is the day the note was written in Amsterdam, through the
/// route: 23:30 UTC on 2 December is 00:30 on 3 December (CET, +1), and
/// 22:30 UTC on 14 July is 00:30 on 15 July (CEST, +2).
#[actix_web::test]
async fn the_date_in_a_feedback_mail_is_the_day_in_amsterdam_winter_and_summer() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(mail_on(sink.port(), 4)).await;
    let coord = person(&app, "coco", &[Role::Coordinator], None).await;
    let sp = person(&app, "sanne", &[Role::Spreekuur], Some("noord")).await;
    let mut doc = session(&sp);
    let jan = || {
        Some(ResidentContact {
            name: Some("Jan Jansen".into()),
            phone: None,
            email: Some("jan@example.nl".into()),
            consent: true,
        })
    };
    // 2026-12-02T23:30:00Z and 2026-07-14T22:30:00Z.
    let cases = [
        (1_796_254_200_000, "3 december 2026", "2 december 2026"),
        (1_784_068_200_000, "15 juli 2026", "14 juli 2026"),
    ];
    let notes: Vec<String> = cases
        .iter()
        .map(|(at, _, _)| note(&mut doc, &sp, *at, "woonoverlast", "Geluid", jan()))
        .collect();
    let mut stored = StoredDoc::new(doc, DocKind::Spreekuur, Some("noord"));
    stored.commit(&app, &sp);
    for (note, (_, day, utc_day)) in notes.iter().zip(cases) {
        let path = format!("/api/v1/items/{}/{note}/feedback-mail", stored.id());
        let res = send(
            &app,
            &coord,
            "POST",
            &path,
            json!({"done": "Gesproken", "preview": true}),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let body = res.json()["body"].as_str().expect("body").to_owned();
        assert!(body.contains(day), "{day} in: {body}");
        assert!(!body.contains(utc_day), "the UTC day {utc_day} in: {body}");
    }
}
