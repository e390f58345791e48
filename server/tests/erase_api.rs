//! `POST /api/v1/items/{doc}/{id}/erase` against the real server on
//! 127.0.0.1 (port 0) with SQLite in a temp directory. Marker strings go
//! into a note's contact fields (one of them only in the history, after a
//! correction), its text, place, location and photo; a positive control
//! finds each of them in the data directory's files before the erasure.
//! After it: none in any file of the data directory (database, WAL, photo
//! and thumbnail files), in a backup made afterwards, or in the stored
//! history loaded with automerge — while a second note's marker is still
//! there (the search works). The answer codes for bad input and wrong
//! callers are pinned, and the audit entry holds the reason, no values.
//! A device connected during the erasure hears of the new epoch (`doc`),
//! a new connection's `ready` lists it, and `GET /api/v1/docs/{doc}/history`
//! hands the rewritten history (no marker in it) to whoever may see it.

use std::path::Path;
use std::time::Duration;

use image::ImageFormat;
use serde_json::{Value, json};
use wijklog_server::blobs::BlobHash;
use wijklog_server::domain::{DocId as ServerDocId, DocKind, Role};
use wijklog_server::storage::backup_database;
use wijklog_server::testing::{Response, TestApp, spawn_app};
use wijklog_shared::{
    Catalog, DocId, Document, ItemId, Location, NewItem, NewSpreekuur, NewWalk, ResidentContact,
    Severity, Timestamp,
};
use wijklog_testing::images::noise;
use wijklog_testing::stored::{Person, StoredDoc, person};
use wijklog_testing::sync_client::{Incoming, SyncClient};

const T0: i64 = 1_767_225_600_000;

const NAME: &str = "Markeernaam Qwzx";
const NAME_OLD: &str = "Oudenaam Vbnq";
const PHONE: &str = "06 9182 7364";
const EMAIL: &str = "markeer.qwzx@example.nl";
const TEXT: &str = "Markeertekst Plokj over de buren";
const PLACE: &str = "Markeerplein Yhgt";
const KEEP: &str = "Blijftstaan Rtzu";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn jpeg() -> Vec<u8> {
    noise(ImageFormat::Jpeg, 64, 48, 1)
}

/// A new walk of team noord by `boa`, planned for no date, not stored yet.
fn walk(boa: &Person) -> StoredDoc {
    let doc = Document::new_walk(
        DocId::new_v4(),
        &Catalog::defaults(),
        &boa.uid(),
        at(T0),
        NewWalk {
            title: "Ronde".into(),
            wijk: "bovenmaten".into(),
            route: String::new(),
            team: "noord".into(),
            planned_at: None,
        },
    )
    .expect("walk");
    StoredDoc::new(doc, DocKind::Walk, Some("noord"))
}

async fn call(
    app: &TestApp,
    who: &Person,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let auth = format!("Bearer {}", who.token);
    let mut headers = vec![("Authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    app.request(
        method,
        path,
        &headers,
        body.map(|b| serde_json::to_vec(&b).expect("json")),
    )
    .await
}

/// Every file under `dir` (recursively), with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The markers found anywhere in the files, with where.
fn markers_in(files: &[(String, Vec<u8>)], markers: &[(&str, Vec<u8>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, m) in markers {
        for (path, bytes) in files {
            if find(bytes, m) {
                out.push(format!("{name} in {path}"));
            }
        }
    }
    out
}

struct World {
    app: TestApp,
    coord: Person,
    staff: Person,
    session: StoredDoc,
    note: ItemId,
    photo: Vec<u8>,
    photo_hex: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let coord = person(&app, "coord", &[Role::Coordinator], None).await;
    let staff = person(&app, "staff", &[Role::Spreekuur], Some("noord")).await;
    let cat = Catalog::defaults();
    let doc = Document::new_spreekuur(
        DocId::new_v4(),
        &cat,
        &staff.uid(),
        at(T0),
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "bovenmaten".into(),
            held_on: at(T0),
            team: "noord".into(),
        },
    )
    .expect("spreekuur");
    let mut session = StoredDoc {
        doc,
        kind: DocKind::Spreekuur,
        team: Some("noord".into()),
        stored: Vec::new(),
    };
    let item = |text: &str, place: Option<&str>, loc: bool| NewItem {
        id: None,
        category: "woonoverlast".into(),
        severity: Severity::Aandacht,
        text: text.into(),
        place: place.map(str::to_owned),
        location: loc.then_some(Location {
            lat: 52.123_456_789,
            lon: 5.2,
            accuracy_m: Some(8.0),
        }),
        feedback_needed: true,
    };
    let note = session
        .doc
        .add_note(
            &cat,
            &staff.uid(),
            at(T0 + 1000),
            item(TEXT, Some(PLACE), true),
        )
        .expect("note");
    let contact = |name: &str| ResidentContact {
        name: Some(name.into()),
        phone: Some(PHONE.into()),
        email: Some(EMAIL.into()),
        consent: true,
    };
    session
        .doc
        .set_resident_contact(&staff.uid(), at(T0 + 2000), &note, contact(NAME_OLD))
        .expect("contact");
    session.commit_as(&app, &staff);
    session
        .doc
        .set_resident_contact(&staff.uid(), at(T0 + 3000), &note, contact(NAME))
        .expect("corrected");
    let photo = jpeg();
    let photo_hex = BlobHash::of(&photo).to_string();
    session
        .doc
        .add_photo(
            &staff.uid(),
            at(T0 + 4000),
            &note,
            &format!("sha256:{photo_hex}"),
        )
        .expect("photo");
    session
        .doc
        .add_note(&cat, &staff.uid(), at(T0 + 5000), item(KEEP, None, false))
        .expect("note 2");
    session.commit_as(&app, &staff);
    let put = app
        .request(
            "PUT",
            &format!("/api/v1/blobs/{photo_hex}"),
            &[
                ("Authorization", &format!("Bearer {}", staff.token)),
                ("Content-Type", "image/jpeg"),
            ],
            Some(photo.clone()),
        )
        .await;
    assert!(put.status == 201 || put.status == 200, "{put:?}");
    // A feedback mail to the resident waits in the outbox (not due yet).
    let db = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("db");
    db.execute(
        "INSERT INTO mail_outbox (message_id, kind, doc_id, item_id, recipient, subject, body, \
         created_at, next_attempt_at) VALUES ('<erase-test@wijklog>', 'feedback', ?1, ?2, ?3, \
         'Terugkoppeling', ?4, ?5, ?6)",
        rusqlite::params![
            session.id(),
            note.to_string(),
            EMAIL,
            format!("Beste {NAME}, over uw melding."),
            T0,
            i64::MAX / 2
        ],
    )
    .expect("queued mail");
    // A thumbnail, so that the cache has one to remove.
    let thumb = call(
        &app,
        &coord,
        "GET",
        &format!("/api/v1/blobs/{photo_hex}/thumb"),
        None,
    )
    .await;
    assert_eq!(thumb.status, 200, "{}", thumb.text());
    World {
        app,
        coord,
        staff,
        session,
        note,
        photo,
        photo_hex,
    }
}

fn contact_markers() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("name", NAME.as_bytes().to_vec()),
        ("old name", NAME_OLD.as_bytes().to_vec()),
        ("phone", PHONE.as_bytes().to_vec()),
        ("e-mail", EMAIL.as_bytes().to_vec()),
    ]
}

fn item_markers(w: &World) -> Vec<(&'static str, Vec<u8>)> {
    let mut m = contact_markers();
    m.push(("text", "Plokj".as_bytes().to_vec()));
    m.push(("place", PLACE.as_bytes().to_vec()));
    m.push(("photo reference", w.photo_hex.as_bytes().to_vec()));
    m.push(("photo bytes", w.photo[w.photo.len() / 2..][..64].to_vec()));
    m
}

/// The decoded history as text (every value of every change).
fn history(app: &TestApp, doc: &str) -> String {
    let id = ServerDocId::parse(doc).expect("doc id");
    let stored = app.store().load_doc(id).expect("load").expect("exists");
    let am = stored.to_automerge().expect("loads");
    let mut out = String::new();
    for c in am.get_changes(&[]) {
        out.push_str(&format!("{:?}\n", c.decode()));
    }
    out.push_str(&String::from_utf8_lossy(&am.save_nocompress()));
    out
}

#[actix_web::test]
async fn erasing_an_item_leaves_no_marker_in_any_file_backup_or_history() {
    let w = world().await;
    let markers = item_markers(&w);
    // Positive control: each marker is somewhere in the data directory.
    let before = markers_in(&files(&w.app.data_dir), &markers);
    for (name, _) in &markers {
        assert!(
            before.iter().any(|f| f.starts_with(&format!("{name} in"))),
            "{name} not found before the erasure: {before:?}"
        );
    }
    let path = format!("/api/v1/items/{}/{}/erase", w.session.id(), w.note);
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &path,
        Some(json!({"what": "item", "reason": "Verzoek bewoner per brief 2026-12"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["what"], "item");
    assert_eq!(body["epoch"], 1);
    assert_eq!(body["photos_removed"], 1);

    let all = files(&w.app.data_dir);
    assert_eq!(markers_in(&all, &markers), Vec::<String>::new());
    // The search finds what must stay.
    assert!(!markers_in(&all, &[("keep", KEEP.as_bytes().to_vec())]).is_empty());
    let wal = all.iter().find(|(p, _)| p.ends_with("-wal"));
    assert!(wal.is_none_or(|(_, b)| b.is_empty()), "WAL truncated");

    // A backup made now has none of them.
    let backup_dir = tempfile::tempdir().expect("tmp");
    let backup = backup_dir.path().join("backup.db");
    backup_database(&w.app.data_dir.join("wijklog.db"), &backup).expect("backup");
    assert_eq!(
        markers_in(&files(backup_dir.path()), &markers),
        Vec::<String>::new()
    );

    // The stored history, loaded with automerge.
    let h = history(&w.app, &w.session.id());
    for (name, m) in &markers {
        assert!(
            !h.contains(&*String::from_utf8_lossy(m)),
            "{name} in history"
        );
    }
    assert!(h.contains(KEEP));

    // The item says it was erased; the other note is as it was.
    let item = call(
        &w.app,
        &w.coord,
        "GET",
        &format!("/api/v1/items/{}/{}", w.session.id(), w.note),
        None,
    )
    .await;
    assert_eq!(item.status, 200);
    let row = &item.json()["item"];
    assert_eq!(row["erased"]["item"]["basis"], "verzoek", "{row}");
    assert_eq!(row["erased"]["item"]["by"], w.coord.id());
    assert_eq!(row["text"], "");
    assert_eq!(row["category"], "woonoverlast");
    assert_eq!(row["feedback"]["needed"], true);
    let photo = call(
        &w.app,
        &w.coord,
        "GET",
        &format!("/api/v1/blobs/{}", w.photo_hex),
        None,
    )
    .await;
    assert_eq!(photo.status, 404);

    // Audited with the reason, never the values (the file scan above
    // covered the audit table too).
    let audit = w.app.store().audit_entries(10).expect("audit");
    let e = audit
        .iter()
        .find(|r| r.entry.action == "item.erase_item")
        .expect("audit entry");
    assert_eq!(
        e.entry.actor.as_ref().map(|u| u.as_str()),
        Some(&*w.coord.id())
    );
    assert_eq!(
        e.entry.subject.as_deref(),
        Some(&*format!("{}/{}", w.session.id(), w.note))
    );
    assert_eq!(
        e.entry.detail["reason"],
        "Verzoek bewoner per brief 2026-12"
    );
    assert_eq!(e.entry.detail["basis"], "verzoek");

    // Full-text search no longer finds the text, still finds the other note.
    let found = w.app.store().search_items("Plokj", 10).expect("search");
    assert!(found.is_empty());
    assert_eq!(
        w.app
            .store()
            .search_items("Rtzu", 10)
            .expect("search")
            .len(),
        1
    );
}

#[actix_web::test]
async fn erasing_contact_details_keeps_the_text() {
    let w = world().await;
    let path = format!("/api/v1/items/{}/{}/erase", w.session.id(), w.note);
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &path,
        Some(json!({"what": "contact", "reason": "Verzoek bewoner"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // The queued feedback mail lost the address and text; it will not be sent.
    let db = rusqlite::Connection::open(w.app.data_dir.join("wijklog.db")).expect("db");
    let (status, recipient, body, error): (String, String, String, String) = db
        .query_row(
            "SELECT status, recipient, body, last_error FROM mail_outbox \
             WHERE message_id = '<erase-test@wijklog>'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("the mail row");
    assert_eq!(
        (status.as_str(), recipient.as_str(), body.as_str()),
        ("failed", "", "")
    );
    assert_eq!(error, wijklog_server::storage::MAIL_ERASED);
    drop(db);
    let all = files(&w.app.data_dir);
    assert_eq!(markers_in(&all, &contact_markers()), Vec::<String>::new());
    assert!(!markers_in(&all, &[("text", "Plokj".as_bytes().to_vec())]).is_empty());
    let h = history(&w.app, &w.session.id());
    for (name, m) in contact_markers() {
        assert!(
            !h.contains(&*String::from_utf8_lossy(&m)),
            "{name} in history"
        );
    }
    // A second erasure of the same item (now the whole item) works too.
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &path,
        Some(json!({"what": "item", "reason": "Bewaartermijn"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["epoch"], 2);
    assert!(markers_in(&files(&w.app.data_dir), &item_markers(&w)).is_empty());
}

/// The basis the coordinator chose reaches the audit entry and the item's
/// erasure record: `anders` with the coordinator's own words, `verzoek`
/// when the body names none (the API's first version).
#[actix_web::test]
async fn the_chosen_basis_and_reason_reach_the_audit_entry_and_the_item() {
    let w = world().await;
    let path = format!("/api/v1/items/{}/{}/erase", w.session.id(), w.note);
    let reason = "Dubbel ingevoerd bij de balie";
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &path,
        Some(json!({"what": "contact", "basis": "anders", "reason": reason})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["basis"], "anders");
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &path,
        Some(json!({"what": "item", "reason": "Verzoek van de bewoner"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["basis"], "verzoek");

    let item = call(
        &w.app,
        &w.coord,
        "GET",
        &format!("/api/v1/items/{}/{}", w.session.id(), w.note),
        None,
    )
    .await;
    assert_eq!(item.status, 200);
    let row = &item.json()["item"];
    assert_eq!(row["erased"]["contact"]["basis"], "anders", "{row}");
    assert_eq!(row["erased"]["item"]["basis"], "verzoek", "{row}");

    let audit = w.app.store().audit_entries(10).expect("audit");
    let of = |action: &str| {
        audit
            .iter()
            .find(|r| r.entry.action == action)
            .map(|r| r.entry.detail.clone())
            .unwrap_or_else(|| panic!("no {action} entry"))
    };
    let contact = of("item.erase_contact");
    assert_eq!(
        (&contact["basis"], &contact["reason"]),
        (&json!("anders"), &json!(reason))
    );
    let item = of("item.erase_item");
    assert_eq!(
        (&item["basis"], &item["reason"]),
        (&json!("verzoek"), &json!("Verzoek van de bewoner"))
    );
}

#[actix_web::test]
async fn bad_requests_and_wrong_callers_change_nothing() {
    let w = world().await;
    let path = format!("/api/v1/items/{}/{}/erase", w.session.id(), w.note);
    let cases: Vec<(&Person, &str, Option<Value>, u16, &str)> = vec![
        (
            &w.staff,
            &path,
            Some(json!({"what":"item","reason":"x"})),
            403,
            "forbidden",
        ),
        (
            &w.coord,
            &path,
            Some(json!({"what":"alles","reason":"x"})),
            400,
            "invalid_parameter",
        ),
        (
            &w.coord,
            &path,
            Some(json!({"what":"item"})),
            400,
            "invalid_parameter",
        ),
        (
            &w.coord,
            &path,
            Some(json!({"what":"item","reason":"  "})),
            400,
            "invalid_parameter",
        ),
        (
            &w.coord,
            &path,
            Some(json!({"what":"item","reason":"x".repeat(501)})),
            400,
            "invalid_parameter",
        ),
        (
            &w.coord,
            &path,
            Some(json!({"what":"item","reason":"x","extra":1})),
            400,
            "invalid_parameter",
        ),
        (&w.coord, &path, None, 400, "invalid_parameter"),
        (
            &w.coord,
            &path,
            Some(json!({"what":"item","basis":7,"reason":"x"})),
            400,
            "invalid_parameter",
        ),
    ];
    for (who, p, body, status, code) in cases {
        let res = call(&w.app, who, "POST", p, body.clone()).await;
        assert_eq!(
            (res.status, res.json()["code"].as_str()),
            (status, Some(code)),
            "{body:?}"
        );
    }
    // A basis the API does not know, or the retention run's own: the same
    // code and the one sentence that names the two bases it takes.
    for basis in ["onbekend", "bewaartermijn", "Verzoek", ""] {
        let res = call(
            &w.app,
            &w.coord,
            "POST",
            &path,
            Some(json!({"what":"item","basis":basis,"reason":"x"})),
        )
        .await;
        let body = res.json();
        assert_eq!(
            (res.status, body["code"].as_str()),
            (400, Some("invalid_parameter")),
            "{basis:?}"
        );
        assert_eq!(
            body["message"],
            "Say on what basis: \"verzoek\" (the resident asked) or \"anders\" (another reason, given in \"reason\").",
            "{basis:?}"
        );
    }
    let unknown = format!(
        "/api/v1/items/{}/{}/erase",
        w.session.id(),
        ItemId::new_v4()
    );
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &unknown,
        Some(json!({"what":"item","reason":"x"})),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].as_str()),
        (404, Some("not_found"))
    );

    // Contact details of a walk observation: there are none.
    let boa = person(&w.app, "boa", &[Role::Boa], Some("noord")).await;
    let cat = Catalog::defaults();
    let mut walk = walk(&boa);
    let obs = walk
        .doc
        .add_observation(
            &cat,
            &boa.uid(),
            at(T0),
            NewItem {
                id: None,
                category: "woonoverlast".into(),
                severity: Severity::Aandacht,
                text: "x".into(),
                place: None,
                location: None,
                feedback_needed: false,
            },
        )
        .expect("obs");
    walk.commit_as(&w.app, &boa);
    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &format!("/api/v1/items/{}/{}/erase", walk.id(), obs),
        Some(json!({"what":"contact","reason":"x"})),
    )
    .await;
    assert_eq!(
        (res.status, res.json()["code"].as_str()),
        (409, Some("wrong_kind"))
    );

    // Nothing was erased by any of these.
    assert!(
        !markers_in(&files(&w.app.data_dir), &contact_markers()).is_empty(),
        "the contact is still there"
    );
    let audit = w.app.store().audit_entries(50).expect("audit");
    assert!(
        audit
            .iter()
            .all(|r| !r.entry.action.starts_with("item.erase"))
    );
}

#[actix_web::test]
async fn the_walk_report_shows_an_erased_observation_as_erased() {
    let app = spawn_app().await;
    let coord = person(&app, "coord", &[Role::Coordinator], None).await;
    let boa = person(&app, "boa", &[Role::Boa], Some("noord")).await;
    let cat = Catalog::defaults();
    let mut walk = walk(&boa);
    let obs = |text: &str, place: Option<&str>| NewItem {
        id: None,
        category: "woonoverlast".into(),
        severity: Severity::Aandacht,
        text: text.into(),
        place: place.map(str::to_owned),
        location: None,
        feedback_needed: false,
    };
    let erased = walk
        .doc
        .add_observation(&cat, &boa.uid(), at(T0), obs(TEXT, Some(PLACE)))
        .expect("obs");
    let kept = walk
        .doc
        .add_observation(&cat, &boa.uid(), at(T0 + 1000), obs(KEEP, None))
        .expect("obs 2");
    for item in [&erased, &kept] {
        walk.doc
            .set_follow_up(
                &cat,
                &boa.uid(),
                at(T0 + 2000),
                item,
                "politie",
                wijklog_shared::FollowUpStatus::InBehandeling,
                None,
            )
            .expect("follow-up");
    }
    walk.commit_as(&app, &boa);
    let report_path = format!("/api/v1/walks/{}/report", walk.id());
    let report = |res: Response| {
        assert_eq!(res.status, 200, "{}", res.text());
        let r = res.json();
        let items: Vec<Value> = r["categories"]
            .as_array()
            .expect("categories")
            .iter()
            .flat_map(|c| c["items"].as_array().expect("items").clone())
            .collect();
        let actions: Vec<Value> = r["partners"]
            .as_array()
            .expect("partners")
            .iter()
            .flat_map(|p| p["actions"].as_array().expect("actions").clone())
            .collect();
        let of = |list: &[Value], key: &str, id: &ItemId| {
            list.iter()
                .find(|v| v[key] == id.to_string())
                .cloned()
                .unwrap_or_else(|| panic!("{id} in {list:?}"))
        };
        (
            of(&items, "id", &erased),
            of(&actions, "item_id", &erased),
            of(&items, "id", &kept),
            of(&actions, "item_id", &kept),
        )
    };

    // Before: the values are in the report and nothing says erased.
    let (item, action, _, _) = report(call(&app, &coord, "GET", &report_path, None).await);
    assert_eq!(
        (item["text"].as_str(), item["place"].as_str()),
        (Some(TEXT), Some(PLACE))
    );
    assert_eq!(action["text"], TEXT);
    assert!(item.get("erased").is_none() && action.get("erased").is_none());

    let res = call(
        &app,
        &coord,
        "POST",
        &format!("/api/v1/items/{}/{}/erase", walk.id(), erased),
        Some(json!({"what": "item", "reason": "Verzoek van de bewoner"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let erased_at = res.json()["erased_at"].as_i64().expect("erased_at");

    // After: the erased observation and its action say when, by whom and
    // why, without the values; the other observation is as it was.
    let (item, action, other, other_action) =
        report(call(&app, &coord, "GET", &report_path, None).await);
    for v in [&item, &action] {
        assert_eq!(v["erased"]["basis"], "verzoek", "{v}");
        assert_eq!(v["erased"]["at"], erased_at, "{v}");
        assert_eq!(v["erased"]["by"], coord.id(), "{v}");
        assert!(
            !v.to_string().contains("Plokj") && !v.to_string().contains("Yhgt"),
            "{v}"
        );
    }
    assert_eq!(action["status"], "in_behandeling");
    assert_eq!(other["text"], KEEP);
    assert!(other.get("erased").is_none() && other_action.get("erased").is_none());
}

/// Every value of every change of `save()` bytes, decoded, and the bytes
/// saved without compression.
fn decoded(bytes: &[u8]) -> String {
    let doc = automerge::Automerge::load(bytes).expect("automerge bytes");
    let mut text = String::new();
    for c in doc.get_changes(&[]) {
        text.push_str(&format!("{:?}\n", c.decode()));
    }
    text.push_str(&String::from_utf8_lossy(&doc.save_nocompress()));
    text
}

/// The `doc` frame of `id` with `epoch`, pumping everything else as a
/// client does (binary frames of the old history are refused by its copy).
async fn wait_for_epoch(client: &mut SyncClient, id: uuid::Uuid, epoch: i64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let Some(item) = client.next(left).await else {
            return false;
        };
        if let Incoming::Json(v) = &item
            && v["type"] == "doc"
            && v["id"] == id.to_string()
            && v["epoch"] == epoch
        {
            return true;
        }
        if matches!(item, Incoming::Closed(_)) {
            return false;
        }
        client.handle(item).await;
    }
}

#[actix_web::test]
async fn devices_hear_of_the_new_epoch_and_fetch_the_rewritten_history() {
    let w = world().await;
    let id = uuid::Uuid::parse_str(&w.session.id()).expect("uuid");
    // The staff member's device holds the session (subscribed) at epoch 0.
    let mut phone = SyncClient::connect(&w.app.address, &w.staff.token).await;
    assert_eq!(phone.ready["protocol"], 5);
    let listed = |c: &SyncClient| {
        c.ready["docs"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["id"] == id.to_string()).cloned())
    };
    match listed(&phone) {
        // Its creator's device holds it (the scope rule).
        Some(d) => assert_eq!(d["epoch"], 0, "{d}"),
        None => {
            phone.subscribe(id).await;
            assert!(
                wait_for_epoch(&mut phone, id, 0).await,
                "doc frame, epoch 0"
            );
        }
    }
    phone.add_doc(id, automerge::AutoCommit::new());
    assert!(phone.sync_doc(id).await);
    let want = w.session.stored.clone();
    assert!(
        phone
            .pump_until(Duration::from_secs(20), |c| {
                let mut d = c.docs[&id].doc.clone();
                let mut h = d.get_heads();
                h.sort();
                let mut w = want.clone();
                w.sort();
                h == w
            })
            .await,
        "the device holds the session"
    );
    let history_path = format!("/api/v1/docs/{}/history", w.session.id());
    let before = call(&w.app, &w.staff, "GET", &history_path, None).await;
    assert_eq!(before.status, 200, "{}", before.text());
    assert_eq!(before.header("x-wijklog-epoch"), Some("0"));
    // Positive control: the history the device would fetch holds the text.
    assert!(
        decoded(&before.body).contains("Plokj"),
        "marker in the history before"
    );

    let res = call(
        &w.app,
        &w.coord,
        "POST",
        &format!("/api/v1/items/{}/{}/erase", w.session.id(), w.note),
        Some(json!({"what": "item", "reason": "Verzoek bewoner"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // The connected device is told, without asking.
    assert!(
        wait_for_epoch(&mut phone, id, 1).await,
        "no doc frame with epoch 1"
    );

    // The rewritten history: epoch 1, no marker, the other note kept.
    let after = call(&w.app, &w.staff, "GET", &history_path, None).await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(after.header("x-wijklog-epoch"), Some("1"));
    assert_eq!(
        after.header("content-type"),
        Some("application/octet-stream")
    );
    let text = decoded(&after.body);
    for (name, m) in item_markers(&w) {
        assert!(
            !text.contains(&*String::from_utf8_lossy(&m)),
            "{name} in the fetched history"
        );
    }
    assert!(text.contains(KEEP));

    // A new connection lists the document with its epoch.
    phone.close().await;
    let again = SyncClient::connect(&w.app.address, &w.staff.token).await;
    let d = listed(&again).expect("still in the scope");
    assert_eq!(d["epoch"], 1, "{d}");

    // Only for whoever may see the document.
    let other = person(&w.app, "zuid", &[Role::Spreekuur], Some("zuid")).await;
    let refused = call(&w.app, &other, "GET", &history_path, None).await;
    assert_eq!(refused.status, 404);
    let anonymous = w.app.request("GET", &history_path, &[], None).await;
    assert_eq!(anonymous.status, 401);
    let unknown = call(
        &w.app,
        &w.staff,
        "GET",
        &format!("/api/v1/docs/{}/history", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(unknown.status, 404);
}
