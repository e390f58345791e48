//! The residents' public endpoints against the real server on 127.0.0.1
//! (SQLite in a temp directory): handing in a point, its receipt and status
//! answer, the wijk page data, and every refusal (each with its code, none
//! storing anything).

use automerge::ChangeHash;
use serde_json::{Value, json};
use wijklog_server::domain::{DocId as ServerDocId, DocKind, Role, UserId as ServerUserId, now_ms};
use wijklog_server::public::receipt::Receipt;
use wijklog_server::storage::{DocWrite, NewChange, NewDoc};
use wijklog_server::testing::{Response, TestApp, spawn_app_with};
use wijklog_shared::{
    Catalog, DocId, Document, NewParticipant, NewSpreekuur, NewWalk, Timestamp, UserId,
};

const DAY: i64 = 86_400_000;

/// A server whose forms may be sent at once (the minimum fill time is
/// tested on its own).
async fn app() -> TestApp {
    spawn_app_with(|c| {
        c.public.form_min_secs = 0;
        c.public.schedule_refresh_secs = 0;
    })
    .await
}

async fn token(app: &TestApp) -> String {
    let res = app.get("/api/v1/public/form-token").await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["token"].as_str().expect("token").to_owned()
}

async fn submit(app: &TestApp, mut body: Value) -> Response {
    if body.is_object() && body.get("token").is_none() {
        body["token"] = token(app).await.into();
    }
    app.post_json("/api/v1/public/points", &body).await
}

fn stored_points(app: &TestApp) -> i64 {
    app.state
        .review
        .with_conn(|c| c.query_row("SELECT count(*) FROM resident_points", [], |r| r.get(0)))
        .expect("count")
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

#[actix_web::test]
async fn a_point_gets_a_readable_receipt_and_its_status_shows_only_status_and_date() {
    let app = app().await;
    let before = now_ms();
    let res = submit(
        &app,
        json!({
            "wijk": "centrum",
            "text": "Losliggende stoeptegels MARKER-TEXT bij de speeltuin",
            "category": "openbare_ruimte",
            "place": "Kerkstraat 12 MARKER-PLACE",
            "location": {"lat": 52.3, "lon": 5.2},
            "contact": {"name": "MARKER-NAME", "email": "marker@example.nl", "phone": "06 1234 5678", "consent": true},
        }),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    let receipt = body["receipt"].as_str().expect("receipt").to_owned();
    // Three groups of four Crockford base32 characters.
    let groups: Vec<&str> = receipt.split('-').collect();
    assert_eq!(groups.len(), 3, "{receipt}");
    for g in &groups {
        assert_eq!(g.len(), 4, "{receipt}");
        assert!(
            g.chars()
                .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)),
            "{receipt}"
        );
    }
    assert_eq!(body["status_url"], format!("/bewoners/status/{receipt}"));

    let res = app.get(&format!("/api/v1/public/points/{receipt}")).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let status = res.json();
    let keys: Vec<&str> = status
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["status", "updated_at"],
        "only status and date: {status}"
    );
    assert_eq!(status["status"], "ontvangen");
    let updated = status["updated_at"].as_str().expect("date");
    assert!(updated.ends_with('Z') && updated.len() == 20, "{updated}");
    let text = res.text();
    for marker in ["MARKER", "marker@", "1234", "Kerkstraat", "speeltuin"] {
        assert!(!text.contains(marker), "{marker} in {text}");
    }

    // Typed as people read it out: lower case, spaces, O for 0.
    let typed = receipt.to_lowercase().replace('-', " ").replace('0', "o");
    let res = app
        .get(&format!(
            "/api/v1/public/points/{}",
            typed.replace(' ', "%20")
        ))
        .await;
    assert_eq!(res.status, 200, "{typed}: {}", res.text());

    // Stored as given, with consent, and audited without personal data.
    let (text, email, consent, created): (String, String, bool, i64) = app
        .state
        .review
        .with_conn(|c| {
            c.query_row(
                "SELECT text, contact_email, contact_consent, created_at FROM resident_points",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .expect("row");
    assert_eq!(text, "Losliggende stoeptegels MARKER-TEXT bij de speeltuin");
    assert_eq!(email, "marker@example.nl");
    assert!(consent);
    assert!(created >= before);
    let audit: String = app
        .state
        .review
        .with_conn(|c| {
            c.query_row(
                "SELECT detail FROM audit_log WHERE action = 'resident_point.submitted'",
                [],
                |r| r.get(0),
            )
        })
        .expect("audit");
    assert!(
        !audit.contains("MARKER") && !audit.contains("marker@"),
        "{audit}"
    );

    // An unknown receipt is not found, a malformed one too.
    assert_refused(
        &app.get("/api/v1/public/points/0000-0000-0000").await,
        404,
        "not_found",
    );
    assert_refused(
        &app.get("/api/v1/public/points/not-a-code").await,
        404,
        "not_found",
    );
}

#[actix_web::test]
async fn every_bad_submission_gets_its_code_and_stores_nothing() {
    let app = app().await;
    let ok = json!({"wijk": "centrum", "text": "Fietswrakken bij het station"});
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"wijk": "atlantis", "text": "Iets"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "  a "}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "x".repeat(1001)}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Bel\u{7}letje"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "category": "geen_categorie"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "place": "p".repeat(201)}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "location": {"lat": 95.0, "lon": 5.0}}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "contact": {"email": "jan@example.nl"}}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "contact": {"email": "jan@", "consent": true}}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "contact": {"phone": "geen", "consent": true}}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "contact": {"name": "Jan", "consent": true}}),
            400,
            "invalid_parameter",
        ),
        // Wrong types and unknown fields.
        (
            json!({"wijk": 7, "text": "Iets ergs"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": ["Iets"]}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "location": "hier"}),
            400,
            "invalid_parameter",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "admin": true}),
            400,
            "invalid_parameter",
        ),
        (json!(["centrum"]), 400, "invalid_parameter"),
        // The honeypot.
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "website": "http://spam.example"}),
            422,
            "automated",
        ),
        // Tokens.
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "token": "nep"}),
            422,
            "form_token_invalid",
        ),
        (
            json!({"wijk": "centrum", "text": "Iets ergs", "token": null}),
            422,
            "form_token_invalid",
        ),
    ];
    for (body, status, code) in cases {
        let res = submit(&app, body.clone()).await;
        assert_eq!(res.status, status, "{body}: {}", res.text());
        assert_eq!(res.json()["code"], code, "{body}");
    }
    // Not JSON at all.
    let res = app
        .request(
            "POST",
            "/api/v1/public/points",
            &[("Content-Type", "application/json")],
            Some(b"wijk=centrum".to_vec()),
        )
        .await;
    assert_refused(&res, 400, "invalid_parameter");
    // Larger than 16 KiB.
    let big = json!({"wijk": "centrum", "text": "x".repeat(17 * 1024)});
    assert_refused(&submit(&app, big).await, 413, "too_large");
    assert_eq!(stored_points(&app), 0, "nothing refused was stored");

    // A token is good for one point.
    let t = token(&app).await;
    let mut body = ok.clone();
    body["token"] = t.clone().into();
    assert_eq!(submit(&app, body.clone()).await.status, 201);
    assert_refused(&submit(&app, body).await, 422, "form_used");
    assert_eq!(stored_points(&app), 1);
}

#[actix_web::test]
async fn a_form_sent_sooner_than_a_person_fills_it_in_is_refused() {
    let app = spawn_app_with(|c| c.public.form_min_secs = 30).await;
    let t = token(&app).await;
    let res = submit(
        &app,
        json!({"wijk": "centrum", "text": "Iets ergs", "token": t}),
    )
    .await;
    assert_refused(&res, 422, "form_too_fast");
    assert_eq!(stored_points(&app), 0);
}

#[actix_web::test]
async fn one_address_hands_in_at_most_its_budget_and_reads_are_bounded_too() {
    let app = spawn_app_with(|c| {
        c.public.form_min_secs = 0;
        c.public.submits_per_address = 2;
        c.public.reads_per_address = 12;
    })
    .await;
    for i in 0..2 {
        let res = submit(
            &app,
            json!({"wijk": "centrum", "text": format!("Punt nummer {i}")}),
        )
        .await;
        assert_eq!(res.status, 201, "{}", res.text());
    }
    let res = submit(&app, json!({"wijk": "centrum", "text": "Punt nummer 3"})).await;
    assert_refused(&res, 429, "rate_limited");
    let wait: u64 = res
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=600).contains(&wait), "{wait}");
    assert_eq!(stored_points(&app), 2);
    // 2 tokens + 2 posts + 2 (refused: token, post) = 6 reads so far; 6 more, then 429.
    for _ in 0..6 {
        assert_eq!(app.get("/api/v1/public/wijken").await.status, 200);
    }
    assert_refused(&app.get("/api/v1/public/wijken").await, 429, "rate_limited");
    // The authenticated API is not counted against the public budget.
    assert_eq!(app.get("/healthz").await.status, 200);
}

/// A point whose write fails is not stored and costs nothing: the
/// address keeps its whole budget and the form can be sent again. (Before,
/// the budget was counted before the write and kept when it failed.)
#[actix_web::test]
async fn a_failed_write_costs_neither_budget_nor_form() {
    let app = spawn_app_with(|c| {
        c.public.form_min_secs = 0;
        c.public.submits_per_address = 2;
    })
    .await;
    let fail = |sql: &str| {
        app.state
            .review
            .with_conn(|c| c.execute_batch(sql))
            .expect("trigger");
    };
    fail(
        "CREATE TRIGGER refuse_points BEFORE INSERT ON resident_points \
         BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;",
    );
    let mut forms = Vec::new();
    for i in 0..4 {
        let form = token(&app).await;
        let res = submit(
            &app,
            json!({"wijk": "centrum", "text": format!("Punt nummer {i}"), "token": form}),
        )
        .await;
        assert_eq!(res.status, 500, "{}", res.text());
        forms.push(form);
    }
    assert_eq!(stored_points(&app), 0);
    fail("DROP TRIGGER refuse_points;");
    for (i, form) in forms.iter().enumerate().take(2) {
        let res = submit(
            &app,
            json!({"wijk": "centrum", "text": format!("Punt nummer {i}"), "token": form}),
        )
        .await;
        assert_eq!(
            res.status,
            201,
            "the same form, within the budget: {}",
            res.text()
        );
    }
    let res = submit(
        &app,
        json!({"wijk": "centrum", "text": "Punt nummer 2", "token": forms[2]}),
    )
    .await;
    assert_refused(&res, 429, "rate_limited");
    assert_eq!(stored_points(&app), 2);
}

fn commit(
    app: &TestApp,
    doc: &mut Document,
    kind: DocKind,
    owner: &str,
    stored: &mut Vec<ChangeHash>,
) {
    let server_id = ServerDocId::from_bytes(doc.id().as_bytes());
    let am = doc.automerge_mut();
    am.commit();
    let changes: Vec<NewChange> = am
        .get_changes(stored)
        .iter()
        .map(NewChange::from_change)
        .collect();
    let heads = am.get_heads();
    let owner = ServerUserId::parse(owner).expect("id");
    let write = DocWrite {
        epoch: None,
        doc_id: server_id,
        user_id: owner.clone(),
        device_id: None,
        create: stored.is_empty().then(|| NewDoc {
            kind,
            owner,
            team: Some("noord".into()),
        }),
        changes,
        projection: None,
        schedule: None,
    };
    app.store().commit(&[write]).expect("commit").writes[0]
        .as_ref()
        .expect("accepted");
    *stored = heads;
}

#[actix_web::test]
async fn the_wijk_page_lists_coming_walks_and_spreekuren_without_titles_routes_or_names() {
    let app = app().await;
    let user = app.add_user(
        "boa-anna",
        "een-lang-test-wachtwoord",
        &[Role::Boa],
        Some("noord"),
    );
    let uid = UserId::parse(user.id.as_str()).expect("uid");
    let now = now_ms();
    let catalog = Catalog::defaults();
    let walk_at = now + 2 * DAY;
    let mut walk = Document::new_walk(
        DocId::new_v4(),
        &catalog,
        &uid,
        Timestamp::from_millis(now),
        NewWalk {
            title: "Avondronde met Jan Jansen".into(),
            wijk: "centrum".into(),
            route: "Kerkstraat naar het Marktplein".into(),
            team: "noord".into(),
            planned_at: Some(Timestamp::from_millis(walk_at)),
        },
    )
    .expect("walk");
    walk.add_participant(
        &uid,
        Timestamp::from_millis(now),
        NewParticipant {
            id: None,
            name: "Piet de Boa".into(),
            organisation: "Handhaving".into(),
        },
    )
    .expect("participant");
    let mut heads = Vec::new();
    commit(&app, &mut walk, DocKind::Walk, user.id.as_str(), &mut heads);
    let mut spreekuur = Document::new_spreekuur(
        DocId::new_v4(),
        &catalog,
        &uid,
        Timestamp::from_millis(now),
        NewSpreekuur {
            location: "Buurthuis De Kern".into(),
            wijk: "centrum".into(),
            held_on: Timestamp::from_millis(now + DAY),
            team: "noord".into(),
        },
    )
    .expect("spreekuur");
    commit(
        &app,
        &mut spreekuur,
        DocKind::Spreekuur,
        user.id.as_str(),
        &mut Vec::new(),
    );
    // A past walk and one in another wijk are not shown.
    let mut old = Document::new_walk(
        DocId::new_v4(),
        &catalog,
        &uid,
        Timestamp::from_millis(now - 9 * DAY),
        NewWalk {
            title: "Oud".into(),
            wijk: "centrum".into(),
            route: String::new(),
            team: "noord".into(),
            planned_at: Some(Timestamp::from_millis(now - 8 * DAY)),
        },
    )
    .expect("walk");
    commit(
        &app,
        &mut old,
        DocKind::Walk,
        user.id.as_str(),
        &mut Vec::new(),
    );
    let mut elsewhere = Document::new_walk(
        DocId::new_v4(),
        &catalog,
        &uid,
        Timestamp::from_millis(now),
        NewWalk {
            title: "Elders".into(),
            wijk: "oostermeent".into(),
            route: String::new(),
            team: "noord".into(),
            planned_at: Some(Timestamp::from_millis(now + DAY)),
        },
    )
    .expect("walk");
    commit(
        &app,
        &mut elsewhere,
        DocKind::Walk,
        user.id.as_str(),
        &mut Vec::new(),
    );

    let res = app.get("/api/v1/public/wijken/centrum").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let page = res.json();
    assert_eq!(page["wijk"], json!({"id": "centrum", "label": "Centrum"}));
    let coming = page["coming"].as_array().expect("coming");
    assert_eq!(coming.len(), 2, "{page}");
    assert_eq!(coming[0]["kind"], "spreekuur");
    assert_eq!(coming[0]["place"], "Buurthuis De Kern");
    assert_eq!(coming[1]["kind"], "walk");
    assert_eq!(coming[1]["place"], Value::Null);
    assert_eq!(
        coming[1]["starts_at"],
        wijklog_server::review::iso8601(walk_at)
    );
    assert_eq!(
        page["categories"][0],
        json!({"id": "jeugdoverlast", "label": "Jeugdoverlast"})
    );
    assert_eq!(page["wijkbericht"], Value::Null);
    let text = res.text();
    for secret in [
        "Jan Jansen",
        "Avondronde",
        "Kerkstraat",
        "Piet",
        "Handhaving",
        "noord",
        "boa-anna",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    // The walk ends: it leaves the page.
    walk.start_walk(&uid, Timestamp::from_millis(now))
        .expect("start");
    walk.end_walk(&uid, Timestamp::from_millis(now + 1000))
        .expect("end");
    commit(&app, &mut walk, DocKind::Walk, user.id.as_str(), &mut heads);
    let page = app.get("/api/v1/public/wijken/centrum").await.json();
    assert_eq!(page["coming"].as_array().map(Vec::len), Some(1), "{page}");

    assert_refused(
        &app.get("/api/v1/public/wijken/atlantis").await,
        404,
        "not_found",
    );
    let list = app.get("/api/v1/public/wijken").await.json();
    assert_eq!(
        list["wijken"][0],
        json!({"id": "stad_en_lande", "label": "Stad en Lande"})
    );
    assert_eq!(list["wijken"].as_array().map(Vec::len), Some(5));
}

fn form_token_of(html: &str) -> String {
    let at = html.find("name=\"token\" value=\"").expect("token field") + 20;
    html[at..].split('"').next().expect("value").to_owned()
}

fn urlencode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

#[actix_web::test]
async fn the_resident_pages_work_without_javascript_and_give_a_refused_form_back_filled_in() {
    let app = app().await;
    let res = app.get("/bewoners/").await;
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        res.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'self'"))
    );
    let html = res.text();
    assert!(
        html.contains("<html lang=\"nl\">") && html.contains("href=\"/bewoners/centrum\""),
        "{html}"
    );
    assert!(!html.contains("<script"), "no JavaScript");
    assert_eq!(app.get("/bewoners/stijl.css").await.status, 200);

    let page = app.get("/bewoners/centrum").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("<h1>Wijk Centrum</h1>"), "{html}");
    let token = form_token_of(&html);

    // A wrong e-mail address: refused, everything typed comes back, escaped.
    let typed_text = "Auto's <script>alert(1)</script> op de stoep";
    let body = urlencode(&[
        ("token", &token),
        ("text", typed_text),
        ("place", "Markt 1"),
        ("email", "jan@"),
        ("consent", "ja"),
        ("website", ""),
    ]);
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let res = app
        .request("POST", "/bewoners/centrum", &headers, Some(body))
        .await;
    assert_eq!(res.status, 400);
    let html = res.text();
    assert!(html.contains("Dit e-mailadres klopt niet"), "{html}");
    assert!(
        html.contains("Auto&#39;s &lt;script&gt;alert(1)&lt;/script&gt; op de stoep"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "escaped");
    assert!(
        html.contains("value=\"Markt 1\"") && html.contains("value=\"jan@\""),
        "{html}"
    );
    assert_eq!(stored_points(&app), 0);

    // Sent again with the fresh form: 303 to the status page with the code.
    let token = form_token_of(&html);
    let body = urlencode(&[
        ("token", &token),
        ("text", typed_text),
        ("place", "Markt 1"),
        ("website", ""),
    ]);
    let res = app
        .request("POST", "/bewoners/centrum", &headers, Some(body))
        .await;
    // The test client follows the 303 to the status page.
    assert_eq!(res.status, 200, "{}", res.text());
    let html = res.text();
    assert!(html.contains("We hebben uw punt ontvangen."), "{html}");
    let at = html.find("<strong class=\"code\">").expect("code") + 21;
    let code = html[at..at + 14].to_owned();
    assert!(Receipt::parse(&code).is_some(), "{code}");
    assert!(
        !html.contains("stoep") && !html.contains("Markt"),
        "never the text: {html}"
    );
    let res = app.get(&format!("/bewoners/status/{code}")).await;
    assert!(res.text().contains("Code: <span class=\"code\">"));
    let res = app
        .get(&format!("/bewoners/status?code={}", code.to_lowercase()))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        app.get("/bewoners/status?code=0000-0000-0000").await.status,
        404
    );
    assert_eq!(app.get("/bewoners/atlantis").await.status, 404);
    // The honeypot on the form.
    let page = app.get("/bewoners/centrum").await.text();
    let body = urlencode(&[
        ("token", &form_token_of(&page)),
        ("text", "Iets ergs"),
        ("website", "x"),
    ]);
    let res = app
        .request("POST", "/bewoners/centrum", &headers, Some(body))
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(stored_points(&app), 1);
}
