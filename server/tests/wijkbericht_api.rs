//! The wijkbericht ("u meldde, wij deden") against the real server on
//! 127.0.0.1 with SQLite in a temp directory: a coordinator makes a draft
//! from the merged logs of a wijk and a period, edits and publishes it, and
//! the residents' wijk page (JSON and HTML) shows exactly the approved
//! text — never a draft, never anything from the free text, places, names
//! or contacts of the items and points it counts.
//!
//! The documents are built with wijklog-shared's typed edits and stored the
//! way a sync commit stores them; every free-text field holds a marker
//! string that must appear nowhere in what the wijkbericht endpoints and
//! pages answer.

use serde_json::{Value, json};
use wijklog_server::domain::{DocKind, Role, now_ms};
use wijklog_server::review::iso8601;
use wijklog_server::testing::{Response, TestApp, spawn_app_with};
use wijklog_shared::{
    Catalog, DocId, Document, FeedbackChannel, FollowUpStatus, ItemId, Location, NewItem,
    NewParticipant, NewSpreekuur, NewWalk, ResidentContact, Severity, Timestamp, WalkText,
};
use wijklog_testing::stored::{Person, StoredDoc, person};

const DAY: i64 = 86_400_000;

/// Every free-text value the fixture stores; none may leave the server in
/// a wijkbericht.
const MARKERS: &[&str] = &[
    "MRKOBSTEXT",
    "MRKPLACE",
    "MRKTITLE",
    "MRKROUTE",
    "MRKPARTICIPANT",
    "MRKFUNOTE",
    "MRKNOTETEXT",
    "MRKNAME",
    "mrk@example.nl",
    "0612345678",
    "MRKLOCATION",
    "MRKPOINTTEXT",
    "MRKPOINTPLACE",
    "MRKPOINTNAME",
    "mrkpoint@example.nl",
    "MRKSUMMARY",
];

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn item(s: &str) -> ItemId {
    ItemId::parse(s).expect("item id")
}

fn no_markers(what: &str, text: &str) {
    for m in MARKERS {
        assert!(!text.contains(m), "{m} in {what}: {text}");
    }
}

async fn send(
    app: &TestApp,
    who: &Person,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let auth = format!("Bearer {}", who.token);
    let headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    app.request(
        method,
        path,
        &headers,
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}

fn assert_refused(res: &Response, status: u16, code: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    let body = res.json();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.len() > 5 && m.ends_with('.')),
        "a sentence: {body}"
    );
}

struct World {
    app: TestApp,
    coord: Person,
    boa: Person,
    from: String,
    to: String,
}

fn observation(
    d: &mut StoredDoc,
    catalog: &Catalog,
    who: &Person,
    when: i64,
    category: &str,
    text: &str,
) -> String {
    let uid = who.uid();
    let kind = d.kind;
    let init = NewItem {
        id: None,
        category: category.into(),
        severity: Severity::Aandacht,
        text: text.into(),
        place: Some("Kerkstraat MRKPLACE".into()),
        location: Some(Location {
            lat: 52.37,
            lon: 5.21,
            accuracy_m: Some(5.0),
        }),
        feedback_needed: true,
    };
    let doc = d.as_user(who);
    match kind {
        DocKind::Walk => doc.add_observation(catalog, &uid, at(when), init),
        _ => doc.add_note(catalog, &uid, at(when), init),
    }
    .expect("add item")
    .to_string()
}

/// Oostermeent, in the period (the 20 days up to tomorrow):
/// walk: 2 × jeugdoverlast (one politie afgerond, feedback given), 1 ×
/// vervuiling (woningcorporatie open), 1 × positief_signaal, 1 deleted
/// verkeer; spreekuur: 1 × woonoverlast with a resident's contact
/// (politie open). Outside: 1 × drugs 40 days ago (oostermeent) and 1 ×
/// drugs in centrum. Residents' points: two for oostermeent (one picked up
/// by politie), one for centrum.
async fn world() -> World {
    let app = spawn_app_with(|c| {
        c.public.form_min_secs = 0;
        c.public.schedule_refresh_secs = 0;
    })
    .await;
    let catalog = Catalog::defaults();
    let coord = person(&app, "coord", &[Role::Coordinator], None).await;
    let boa = person(&app, "boa", &[Role::Boa], Some("noord")).await;
    let sp = person(&app, "sp", &[Role::Spreekuur], Some("noord")).await;
    let now = now_ms();

    let mut walk = Document::new_walk(
        DocId::new_v4(),
        &catalog,
        &boa.uid(),
        at(now - 30 * DAY),
        NewWalk {
            title: "Ronde MRKTITLE".into(),
            wijk: "oostermeent".into(),
            route: "Langs MRKROUTE".into(),
            team: "noord".into(),
            planned_at: None,
        },
    )
    .expect("walk");
    walk.set_actor(boa.actor());
    let mut walk = StoredDoc::new(walk, DocKind::Walk, Some("noord"));
    let a = observation(
        &mut walk,
        &catalog,
        &boa,
        now - 3 * DAY,
        "jeugdoverlast",
        "Groep bij MRKOBSTEXT",
    );
    observation(
        &mut walk,
        &catalog,
        &boa,
        now - 3 * DAY + 60_000,
        "jeugdoverlast",
        "Weer MRKOBSTEXT",
    );
    let c = observation(
        &mut walk,
        &catalog,
        &boa,
        now - 2 * DAY,
        "vervuiling",
        "Afval MRKOBSTEXT",
    );
    observation(
        &mut walk,
        &catalog,
        &boa,
        now - 2 * DAY,
        "positief_signaal",
        "Buren MRKOBSTEXT",
    );
    let e = observation(
        &mut walk,
        &catalog,
        &boa,
        now - 2 * DAY,
        "verkeer",
        "Hard MRKOBSTEXT",
    );
    observation(
        &mut walk,
        &catalog,
        &boa,
        now - 40 * DAY,
        "drugs",
        "Oud MRKOBSTEXT",
    );
    {
        let uid = boa.uid();
        let doc = walk.as_user(&boa);
        doc.add_participant(
            &uid,
            at(now - 3 * DAY),
            NewParticipant {
                id: None,
                name: "MRKPARTICIPANT".into(),
                organisation: "Buurtvereniging".into(),
            },
        )
        .expect("participant");
        doc.splice_walk_text(
            &uid,
            at(now - 2 * DAY),
            WalkText::Summary,
            0,
            0,
            "Samenvatting MRKSUMMARY",
        )
        .expect("summary");
        doc.delete_item(&uid, at(now - DAY), &item(&e))
            .expect("delete");
        doc.record_feedback_given(
            &uid,
            at(now - DAY),
            &item(&a),
            FeedbackChannel::Telefoon,
            at(now - DAY),
        )
        .expect("feedback");
    }
    walk.commit(&app, &boa);
    {
        let uid = coord.uid();
        let doc = walk.as_user(&coord);
        doc.set_follow_up(
            &catalog,
            &uid,
            at(now - DAY),
            &item(&a),
            "politie",
            FollowUpStatus::Afgerond,
            Some("Gesprek MRKFUNOTE"),
        )
        .expect("follow-up");
        doc.set_follow_up(
            &catalog,
            &uid,
            at(now - DAY),
            &item(&c),
            "woningcorporatie",
            FollowUpStatus::Open,
            Some("MRKFUNOTE"),
        )
        .expect("follow-up");
    }
    walk.commit(&app, &coord);

    let mut other = Document::new_walk(
        DocId::new_v4(),
        &catalog,
        &boa.uid(),
        at(now - 30 * DAY),
        NewWalk {
            title: "Centrum MRKTITLE".into(),
            wijk: "centrum".into(),
            route: String::new(),
            team: "noord".into(),
            planned_at: None,
        },
    )
    .expect("walk");
    other.set_actor(boa.actor());
    let mut other = StoredDoc::new(other, DocKind::Walk, Some("noord"));
    observation(
        &mut other,
        &catalog,
        &boa,
        now - 2 * DAY,
        "drugs",
        "Centrum MRKOBSTEXT",
    );
    other.commit(&app, &boa);

    let mut session = Document::new_spreekuur(
        DocId::new_v4(),
        &catalog,
        &sp.uid(),
        at(now - 30 * DAY),
        NewSpreekuur {
            location: "Buurthuis MRKLOCATION".into(),
            wijk: "oostermeent".into(),
            held_on: at(now - 4 * DAY),
            team: "noord".into(),
        },
    )
    .expect("spreekuur");
    session.set_actor(sp.actor());
    let mut session = StoredDoc::new(session, DocKind::Spreekuur, Some("noord"));
    let f = observation(
        &mut session,
        &catalog,
        &sp,
        now - 4 * DAY,
        "woonoverlast",
        "Buren MRKNOTETEXT",
    );
    {
        let uid = sp.uid();
        let doc = session.as_user(&sp);
        doc.set_resident_contact(
            &uid,
            at(now - 4 * DAY),
            &item(&f),
            ResidentContact {
                name: Some("MRKNAME".into()),
                phone: Some("0612345678".into()),
                email: Some("mrk@example.nl".into()),
                consent: true,
            },
        )
        .expect("contact");
    }
    session.commit(&app, &sp);
    {
        let uid = coord.uid();
        let doc = session.as_user(&coord);
        doc.set_follow_up(
            &catalog,
            &uid,
            at(now - DAY),
            &item(&f),
            "politie",
            FollowUpStatus::Open,
            None,
        )
        .expect("follow-up");
    }
    session.commit(&app, &coord);

    // Residents' points through the public endpoint.
    let mut ids = Vec::new();
    for wijk in ["oostermeent", "oostermeent", "centrum"] {
        let token = app.get("/api/v1/public/form-token").await.json()["token"].clone();
        let res = app
            .post_json(
                "/api/v1/public/points",
                &json!({
                    "wijk": wijk, "text": "Let op MRKPOINTTEXT", "place": "MRKPOINTPLACE 1",
                    "contact": {"name": "MRKPOINTNAME", "email": "mrkpoint@example.nl", "consent": true},
                    "token": token,
                }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        let list = send(
            &app,
            &coord,
            "GET",
            &format!("/api/v1/resident-points?wijk={wijk}"),
            None,
        )
        .await;
        let newest = list.json()["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| p["id"].as_i64().expect("id"))
            .max()
            .expect("a point");
        ids.push(newest);
    }
    let res = send(
        &app,
        &coord,
        "POST",
        &format!("/api/v1/resident-points/{}", ids[0]),
        Some(json!({"action": "picked_up", "partner": "politie"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());

    World {
        app,
        coord,
        boa,
        from: iso8601(now - 20 * DAY)[..10].to_owned(),
        to: iso8601(now + DAY)[..10].to_owned(),
    }
}

impl World {
    async fn public(&self, wijk: &str) -> (Value, String) {
        let json = self.app.get(&format!("/api/v1/public/wijken/{wijk}")).await;
        assert_eq!(json.status, 200, "{}", json.text());
        let html = self.app.get(&format!("/bewoners/{wijk}")).await;
        assert_eq!(html.status, 200, "{}", html.text());
        (json.json(), html.text())
    }

    async fn create(&self) -> Response {
        send(
            &self.app,
            &self.coord,
            "POST",
            "/api/v1/wijkberichten",
            Some(json!({"wijk": "oostermeent", "from": self.from, "to": self.to})),
        )
        .await
    }
}

#[actix_web::test]
async fn a_draft_counts_structured_fields_only_and_is_public_only_once_published() {
    let w = world().await;
    let (json, html) = w.public("oostermeent").await;
    assert_eq!(json["wijkbericht"], Value::Null);
    assert!(!html.contains("u meldde, wij deden"), "{html}");

    let res = w.create().await;
    assert_eq!(res.status, 201, "{}", res.text());
    no_markers("the draft", &res.text());
    let draft = res.json()["wijkbericht"].clone();
    assert_eq!(draft["status"], "concept");
    assert_eq!(draft["version"], 1);
    assert_eq!(draft["wijk"], "oostermeent");
    let facts = &draft["facts"];
    assert_eq!(facts["walks"], 1, "{facts}");
    assert_eq!(facts["sessions"], 1, "{facts}");
    assert_eq!(facts["problems"], 4, "{facts}");
    assert_eq!(facts["positive"], 1, "{facts}");
    assert_eq!(facts["feedback_given"], 1, "{facts}");
    assert_eq!(facts["resident_points"], 2, "{facts}");
    assert_eq!(facts["resident_points_handled"], 1, "{facts}");
    assert_eq!(
        facts["partners"],
        json!([
            {"id": "politie", "label": "Politie (wijkagent)", "picked_up": 2, "finished": 1},
            {"id": "woningcorporatie", "label": "Woningcorporatie", "picked_up": 1, "finished": 0},
        ])
    );
    let text = draft["text"].as_str().expect("text").to_owned();
    for want in [
        "Tijdens 1 wandeling en 1 spreekuur noteerden we 5 punten.",
        "- Jeugdoverlast: 2 keer\n- Vervuiling / zwerfafval: 1 keer\n- Woonoverlast: 1 keer",
        "- Politie (wijkagent): 2 punten opgepakt, 1 klaar\n- Woningcorporatie: 1 punt opgepakt",
        "Bij 1 punt lieten we de melder weten wat we ermee deden.",
        "Via de bewonerspagina gaven bewoners 2 punten door. Daarvan is er 1 opgepakt of klaar.",
        "We zagen 1 positief signaal.",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(
        !text.contains("Drugs") && !text.contains("Verkeer"),
        "{text}"
    );

    // A draft is not public.
    let (json, html) = w.public("oostermeent").await;
    assert_eq!(json["wijkbericht"], Value::Null);
    assert!(!html.contains("Tijdens 1 wandeling"), "{html}");

    // The coordinator edits; a second edit on the old version is refused
    // and changes nothing.
    let id = draft["id"].as_i64().expect("id");
    let path = format!("/api/v1/wijkberichten/{id}");
    let edited = format!("{text}\n\nDank voor alle meldingen. <b>Tot ziens</b> & groet.");
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        &path,
        Some(json!({"text": edited, "version": 1})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["wijkbericht"]["version"], 2);
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        &path,
        Some(json!({"text": "Weg", "version": 1})),
    )
    .await;
    assert_refused(&res, 409, "stale_version");
    let got = send(&w.app, &w.coord, "GET", &path, None).await.json();
    assert_eq!(got["wijkbericht"]["text"], edited.as_str());

    // A phone number typed in is saved, but not published.
    let with_phone = format!("{edited}\nBel 06 9876 5432.");
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        &path,
        Some(json!({"text": with_phone, "version": 2})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{path}/publish"),
        Some(json!({"version": 3})),
    )
    .await;
    assert_refused(&res, 422, "personal_data");
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        &path,
        Some(json!({"text": edited, "version": 3})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{path}/publish"),
        Some(json!({"version": 3})),
    )
    .await;
    assert_refused(&res, 409, "stale_version");
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{path}/publish"),
        Some(json!({"version": 4})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let published = res.json()["wijkbericht"].clone();
    assert_eq!(published["status"], "gepubliceerd");
    assert_eq!(published["published_by"], w.coord.id());

    // Public: exactly the approved text, escaped, with headings and lists.
    let (json, html) = w.public("oostermeent").await;
    no_markers("the public wijk page", &json.to_string());
    no_markers("the bewoners page", &html);
    assert_eq!(json["wijkbericht"]["text"], edited.as_str());
    assert_eq!(json["wijkbericht"]["from"], w.from.as_str());
    assert!(
        json["wijkbericht"]["period"]
            .as_str()
            .expect("period")
            .contains(" tot en met ")
    );
    assert!(
        html.contains("<h2 id=\"bericht-kop\">Wijkbericht: u meldde, wij deden</h2>"),
        "{html}"
    );
    assert!(html.contains("<h3>Wat zagen we?</h3>"), "{html}");
    assert!(html.contains("<li>Jeugdoverlast: 2 keer</li>"), "{html}");
    assert!(
        html.contains("&lt;b&gt;Tot ziens&lt;/b&gt; &amp; groet."),
        "{html}"
    );
    assert!(!html.contains("<b>Tot ziens"), "{html}");
    let (json, html) = w.public("centrum").await;
    assert_eq!(json["wijkbericht"], Value::Null, "another wijk has none");
    assert!(!html.contains("bericht-kop"));

    // A published one is not edited; withdrawn, it is gone from the page.
    let res = send(
        &w.app,
        &w.coord,
        "PUT",
        &path,
        Some(json!({"text": "Anders", "version": 5})),
    )
    .await;
    assert_refused(&res, 409, "wijkbericht_published");
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{path}/withdraw"),
        Some(json!({"version": 5})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["wijkbericht"]["status"], "concept");
    let (json, html) = w.public("oostermeent").await;
    assert_eq!(json["wijkbericht"], Value::Null);
    assert!(!html.contains("bericht-kop"));
    let res = send(
        &w.app,
        &w.coord,
        "POST",
        &format!("{path}/withdraw"),
        Some(json!({"version": 6})),
    )
    .await;
    assert_refused(&res, 409, "wijkbericht_not_published");

    // Audited: made, published, withdrawn, by the coordinator, no text.
    let audit: Vec<(String, Option<String>, String, String)> = w
        .app
        .state
        .review
        .with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT action, actor, subject, detail FROM audit_log \
                 WHERE action LIKE 'wijkbericht.%' ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "wijkbericht.create",
            "wijkbericht.publish",
            "wijkbericht.withdraw"
        ]
    );
    for (_, actor, subject, detail) in &audit {
        assert_eq!(actor.as_deref(), Some(w.coord.id().as_str()));
        assert_eq!(subject, &format!("wijkbericht/{id}"));
        assert!(!detail.contains("Dank voor"), "{detail}");
    }

    // The list has it.
    let list = send(
        &w.app,
        &w.coord,
        "GET",
        "/api/v1/wijkberichten?wijk=oostermeent",
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(list.json()["wijkberichten"][0]["id"], id);
    let list = send(
        &w.app,
        &w.coord,
        "GET",
        "/api/v1/wijkberichten?wijk=centrum",
        None,
    )
    .await;
    assert_eq!(list.json()["wijkberichten"], json!([]));
}

#[actix_web::test]
async fn only_coordinators_and_every_bad_request_has_its_code() {
    let w = world().await;
    let res = send(
        &w.app,
        &w.boa,
        "POST",
        "/api/v1/wijkberichten",
        Some(json!({"wijk": "oostermeent", "from": w.from, "to": w.to})),
    )
    .await;
    assert_refused(&res, 403, "forbidden");
    assert_refused(
        &send(&w.app, &w.boa, "GET", "/api/v1/wijkberichten", None).await,
        403,
        "forbidden",
    );
    let res = w.app.get("/api/v1/wijkberichten").await;
    assert_eq!(res.status, 401, "{}", res.text());

    for body in [
        json!({"wijk": "atlantis", "from": "2026-01-01", "to": "2026-01-31"}),
        json!({"wijk": "oostermeent", "from": "2026-02-01", "to": "2026-01-31"}),
        json!({"wijk": "oostermeent", "from": "1-1-2026", "to": "2026-01-31"}),
        json!({"wijk": "oostermeent", "from": "2025-01-01", "to": "2026-01-31"}),
        json!({"wijk": "oostermeent", "from": "2026-01-01", "to": "2026-01-31", "extra": 1}),
        json!({"wijk": "oostermeent"}),
    ] {
        let res = send(
            &w.app,
            &w.coord,
            "POST",
            "/api/v1/wijkberichten",
            Some(body.clone()),
        )
        .await;
        assert_refused(&res, 400, "invalid_parameter");
    }
    let res = w.create().await;
    assert_eq!(res.status, 201, "{}", res.text());
    let id = res.json()["wijkbericht"]["id"].as_i64().expect("id");
    let path = format!("/api/v1/wijkberichten/{id}");
    for body in [
        json!({"text": "   ", "version": 1}),
        json!({"text": "x".repeat(20_001), "version": 1}),
        json!({"text": "bel\u{7}", "version": 1}),
        json!({"text": "ok"}),
    ] {
        let res = send(&w.app, &w.coord, "PUT", &path, Some(body)).await;
        assert_refused(&res, 400, "invalid_parameter");
    }
    let got = send(&w.app, &w.coord, "GET", &path, None).await.json();
    assert_eq!(
        got["wijkbericht"]["version"], 1,
        "nothing refused was saved"
    );
    for p in ["/api/v1/wijkberichten/999", "/api/v1/wijkberichten/abc"] {
        assert_refused(
            &send(&w.app, &w.coord, "GET", p, None).await,
            404,
            "not_found",
        );
    }
    assert_refused(
        &send(
            &w.app,
            &w.coord,
            "POST",
            "/api/v1/wijkberichten/999/publish",
            Some(json!({"version": 1})),
        )
        .await,
        404,
        "not_found",
    );
    assert_refused(
        &send(
            &w.app,
            &w.coord,
            "GET",
            "/api/v1/wijkberichten?limit=0",
            None,
        )
        .await,
        400,
        "invalid_parameter",
    );
    assert_refused(
        &send(&w.app, &w.coord, "GET", "/api/v1/wijkberichten?wat=1", None).await,
        400,
        "invalid_parameter",
    );
}
