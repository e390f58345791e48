//! Retention rules (`wijklog_server::retention`) on a real SQLite store,
//! driven by a clock of the test's own (`now` is a parameter): for each
//! rule, one item just inside its boundary (due at exactly the period) and
//! one just outside (1 ms short). Listing what is due changes nothing; a
//! run erases exactly what is due (through the erasure that rewrites the
//! history, basis `bewaartermijn`), deletes exactly the audit entries past
//! their period, empties exactly the residents' points that are due, audits
//! itself with its counts, and a second run at the same moment finds
//! nothing left.

use std::collections::BTreeSet;

use serde_json::Value;
use wijklog_server::domain::{DocId as ServerDocId, DocKind, Role};
use wijklog_server::erasure::Eraser;
use wijklog_server::retention::{Due, Rules, due, run};
use wijklog_server::testing::{TestApp, spawn_app};
use wijklog_shared::{
    CallbackOutcome, CallbackRequest, Catalog, DocId, Document, FeedbackChannel, ItemId, NewItem,
    NewSpreekuur, NewWalk, ResidentContact, Severity, Timestamp,
};
use wijklog_testing::data::dump;
use wijklog_testing::stored::{Person, StoredDoc, person};

const DAY: i64 = 86_400_000;
/// The test's "now": 2027-06-01T00:00:00Z.
const NOW: i64 = 1_811_808_000_000;

fn rules() -> Rules {
    Rules {
        contact_closed: Some(90 * DAY),
        contact_open: Some(365 * DAY),
        content: Some(730 * DAY),
        audit: Some(1825 * DAY),
        max_erasures: 100,
    }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn new_item(text: &str, feedback_needed: bool) -> NewItem {
    NewItem {
        id: None,
        category: "woonoverlast".into(),
        severity: Severity::Aandacht,
        text: text.into(),
        place: Some("Plein".into()),
        location: None,
        feedback_needed,
    }
}

fn contact() -> ResidentContact {
    ResidentContact {
        name: Some("Bewoner Qwzx".into()),
        phone: Some("06 9182 7364".into()),
        email: Some("bewoner@example.nl".into()),
        consent: true,
    }
}

fn spreekuur(staff: &Person, held_on: i64) -> StoredDoc {
    let doc = Document::new_spreekuur(
        DocId::new_v4(),
        &Catalog::defaults(),
        &staff.uid(),
        at(held_on),
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "bovenmaten".into(),
            held_on: at(held_on),
            team: "noord".into(),
        },
    )
    .expect("spreekuur");
    StoredDoc::new(doc, DocKind::Spreekuur, Some("noord"))
}

/// A walk started at `ended - 1 h` and ended at `ended`, with two observations.
fn walk(boa: &Person, ended: i64) -> (StoredDoc, Vec<ItemId>) {
    let cat = Catalog::defaults();
    let start = ended - 3_600_000;
    let mut doc = Document::new_walk(
        DocId::new_v4(),
        &cat,
        &boa.uid(),
        at(start - 1000),
        NewWalk {
            title: "Ronde".into(),
            wijk: "bovenmaten".into(),
            route: String::new(),
            team: "noord".into(),
            planned_at: Some(at(start)),
        },
    )
    .expect("walk");
    doc.start_walk(&boa.uid(), at(start)).expect("start");
    let a = doc
        .add_observation(
            &cat,
            &boa.uid(),
            at(start + 1000),
            new_item("Zwerfafval", false),
        )
        .expect("obs");
    let b = doc
        .add_observation(
            &cat,
            &boa.uid(),
            at(start + 2000),
            new_item("Fietswrak", true),
        )
        .expect("obs");
    doc.end_walk(&boa.uid(), at(ended)).expect("end");
    (
        StoredDoc::new(doc, DocKind::Walk, Some("noord")),
        vec![a, b],
    )
}

/// What of each item is erased, from the stored projection rows:
/// (doc, item) -> (contact erased, item erased).
fn erased(app: &TestApp, docs: &[&StoredDoc]) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for d in docs {
        let id = ServerDocId::parse(&d.id()).expect("id");
        for row in app.store().projection_rows(id).expect("rows") {
            let v: Value = serde_json::from_str(&row.row_json).expect("row json");
            let basis = |what: &str| {
                let e = &v["erased"][what];
                if e.is_null() {
                    return false;
                }
                assert_eq!(e["basis"], "bewaartermijn", "{what} of {}", row.item_id);
                assert_eq!(e["by"], "system", "{what} of {}", row.item_id);
                true
            };
            out.push((
                format!("{}/{}", d.id(), row.item_id),
                basis("contact"),
                basis("item"),
            ));
        }
    }
    out.sort();
    out
}

fn key(d: &StoredDoc, item: &ItemId) -> String {
    format!("{}/{}", d.id(), item)
}

fn listed(due: &Due) -> BTreeSet<(String, &'static str)> {
    due.items
        .iter()
        .map(|d| (format!("{}/{}", d.doc, d.item), d.what.as_str()))
        .collect()
}

/// Everything the store holds of documents and the audit log.
const TABLES: [&str; 8] = [
    "documents",
    "changes",
    "snapshots",
    "actors",
    "observations",
    "notes",
    "audit_log",
    "resident_points",
];

#[actix_web::test]
async fn each_rule_erases_exactly_what_is_due_and_a_dry_run_changes_nothing() {
    let app = spawn_app().await;
    let staff = person(&app, "staff", &[Role::Spreekuur], Some("noord")).await;
    let boa = person(&app, "boa", &[Role::Boa], Some("noord")).await;
    let cat = Catalog::defaults();
    let uid = staff.uid();

    // A recent session (its content is far from due): the contact rules.
    let mut recent = spreekuur(&staff, NOW - 400 * DAY);
    let note = |d: &mut StoredDoc, created: i64, feedback: bool, with_contact: bool| {
        let id = d
            .doc
            .add_note(
                &cat,
                &uid,
                at(created),
                new_item("Geluidsoverlast", feedback),
            )
            .expect("note");
        if with_contact {
            d.doc
                .set_resident_contact(&uid, at(created + 1), &id, contact())
                .expect("contact");
        }
        id
    };
    // Feedback given exactly 90 days ago: due; 1 ms later: not (although
    // written more than 365 days ago: a closed note counts from its closing).
    let fb_in = note(&mut recent, NOW - 400 * DAY, true, true);
    let fb_out = note(&mut recent, NOW - 400 * DAY, true, true);
    for (id, given) in [(fb_in, NOW - 90 * DAY), (fb_out, NOW - 90 * DAY + 1)] {
        recent
            .doc
            .record_feedback_given(&uid, at(given), &id, FeedbackChannel::Telefoon, at(given))
            .expect("feedback");
    }
    // A call back closed exactly 90 days ago (no feedback needed): due; 1 ms
    // later: not.
    let cb_in = note(&mut recent, NOW - 200 * DAY, false, true);
    let cb_out = note(&mut recent, NOW - 200 * DAY, false, true);
    for (id, closed) in [(cb_in, NOW - 90 * DAY), (cb_out, NOW - 90 * DAY + 1)] {
        recent
            .doc
            .request_callback(
                &cat,
                &uid,
                at(NOW - 200 * DAY + 2),
                &id,
                CallbackRequest::default(),
            )
            .expect("request");
        recent
            .doc
            .close_callback(&uid, at(closed), &id, Some(CallbackOutcome::Gesproken))
            .expect("close");
    }
    // Never closed: no task at all, written exactly 365 days ago (due) or
    // 1 ms later (not); a call back still open, written 365 days ago (due).
    let open_in = note(&mut recent, NOW - 365 * DAY, false, true);
    let open_out = note(&mut recent, NOW - 365 * DAY + 1, false, true);
    let task_open = note(&mut recent, NOW - 365 * DAY, false, true);
    recent
        .doc
        .request_callback(
            &cat,
            &uid,
            at(NOW - 365 * DAY + 2),
            &task_open,
            CallbackRequest::default(),
        )
        .expect("request");
    // Feedback still to give, written 365 days ago: never closed, due.
    let fb_open = note(&mut recent, NOW - 365 * DAY, true, true);
    // No contact details: nothing to erase.
    let bare = note(&mut recent, NOW - 390 * DAY, false, false);
    // Content keeps the session's last date recent.
    note(&mut recent, NOW - 10 * DAY, false, false);
    recent.commit_as(&app, &staff);

    // An old session whose last date is exactly 730 days ago: every note's
    // content is due (the contact goes with it, no separate contact erasure).
    let mut old = spreekuur(&staff, NOW - 731 * DAY);
    let old_a = note(&mut old, NOW - 731 * DAY, false, true);
    let old_b = note(&mut old, NOW - 730 * DAY, false, false);
    old.commit_as(&app, &staff);
    // ... and one whose last date is 1 ms later: content not due, but its
    // note's contact is (never closed, far beyond 365 days).
    let mut old_out = spreekuur(&staff, NOW - 731 * DAY);
    let old_out_a = note(&mut old_out, NOW - 730 * DAY + 1, false, true);
    old_out.commit_as(&app, &staff);

    // Walks ended exactly 730 days ago (due) and 1 ms later (not).
    let (mut walk_in, walk_in_items) = walk(&boa, NOW - 730 * DAY);
    walk_in.commit_as(&app, &boa);
    let (mut walk_out, _) = walk(&boa, NOW - 730 * DAY + 1);
    walk_out.commit_as(&app, &boa);

    // Audit entries written exactly 1825 days ago (past) and 1 ms later.
    {
        let conn = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("db");
        for (at, action) in [
            (NOW - 1825 * DAY, "test.old"),
            (NOW - 1825 * DAY + 1, "test.kept"),
        ] {
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, NULL, ?2, NULL, '{}')",
                rusqlite::params![at, action],
            )
            .expect("insert audit");
        }
        // The log stays append-only for what is not past its period.
        let refused = conn.execute("DELETE FROM audit_log WHERE action = 'test.kept'", []);
        assert!(refused.is_err(), "a young audit entry cannot be deleted");
        let refused = conn.execute("DELETE FROM audit_log WHERE action = 'test.old'", []);
        assert!(
            refused.is_err(),
            "nor an old one outside a retention run's transaction"
        );
    }

    // Residents' points: (receipt, status, created, last change), each
    // with contact details.
    let points = [
        ("CLOSEDIN0000", "afgerond", NOW - 400 * DAY, NOW - 90 * DAY),
        (
            "CLOSEDOUT000",
            "afgewezen",
            NOW - 400 * DAY,
            NOW - 90 * DAY + 1,
        ),
        (
            "OPENIN000000",
            "op_agenda",
            NOW - 365 * DAY,
            NOW - 100 * DAY,
        ),
        (
            "OPENOUT00000",
            "ontvangen",
            NOW - 365 * DAY + 1,
            NOW - 365 * DAY + 1,
        ),
        ("CONTENTIN000", "afgerond", NOW - 800 * DAY, NOW - 730 * DAY),
        (
            "CONTENTOUT00",
            "afgerond",
            NOW - 800 * DAY,
            NOW - 730 * DAY + 1,
        ),
    ];
    {
        let conn = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("db");
        for (receipt, status, created, updated) in points {
            conn.execute(
                "INSERT INTO resident_points (receipt, wijk, text, place, lat, lon, contact_name, \
                 contact_email, contact_phone, contact_consent, status, created_at, updated_at) \
                 VALUES (?1, 'bovenmaten', 'Puntentekst Mnbv', 'Puntplein 1', 52.1, 5.2, \
                 'Puntnaam Lkjh', 'punt@example.nl', '06 1111 2222', 1, ?2, ?3, ?4)",
                rusqlite::params![receipt, status, created, updated],
            )
            .expect("insert point");
        }
    }
    let point_id = |receipt: &str| -> i64 {
        let conn = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("db");
        conn.query_row(
            "SELECT id FROM resident_points WHERE receipt = ?1",
            [receipt],
            |r| r.get(0),
        )
        .expect("point id")
    };
    let point = |receipt: &str| -> (String, Option<String>, Option<String>, String) {
        let conn = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("db");
        conn.query_row(
            "SELECT text, place, contact_name, status FROM resident_points WHERE receipt = ?1",
            [receipt],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("point")
    };

    let expected: BTreeSet<(String, &str)> = [
        (key(&recent, &fb_in), "contact"),
        (key(&recent, &cb_in), "contact"),
        (key(&recent, &open_in), "contact"),
        (key(&recent, &task_open), "contact"),
        (key(&recent, &fb_open), "contact"),
        (key(&old_out, &old_out_a), "contact"),
        (key(&old, &old_a), "item"),
        (key(&old, &old_b), "item"),
        (key(&walk_in, &walk_in_items[0]), "item"),
        (key(&walk_in, &walk_in_items[1]), "item"),
    ]
    .into_iter()
    .collect();

    // Listing: exactly the due ones; nothing stored changes.
    let before = dump(&app.data_dir, &TABLES);
    let store = app.state.store.clone();
    let listed_due = due(store.as_ref(), &rules(), NOW).expect("due");
    assert_eq!(listed(&listed_due), expected);
    assert_eq!(listed_due.audit, Some(1));
    let points_due = listed_due.points.clone().expect("points on SQLite");
    let mut contact_ids = points_due.contact.clone();
    contact_ids.sort_unstable();
    let mut want_contact = vec![
        point_id("CLOSEDIN0000"),
        point_id("OPENIN000000"),
        point_id("CONTENTOUT00"),
    ];
    want_contact.sort_unstable();
    assert_eq!(contact_ids, want_contact, "points' contact due");
    assert_eq!(
        points_due.content,
        vec![point_id("CONTENTIN000")],
        "points' content due"
    );
    assert_eq!(listed_due.unreadable, 0);
    assert_eq!(
        dump(&app.data_dir, &TABLES),
        before,
        "listing what is due changed nothing"
    );
    // 1 ms earlier, none of the boundary items is due yet; the old
    // session's notes are, for their contact only (never closed, written
    // long ago), until their content is due too.
    let earlier = due(store.as_ref(), &rules(), NOW - 1).expect("due");
    assert_eq!(
        listed(&earlier),
        [
            (key(&old, &old_a), "contact"),
            (key(&old_out, &old_out_a), "contact"),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(earlier.audit, Some(0));
    let mut earlier_points = earlier.points.clone().expect("points").contact;
    earlier_points.sort_unstable();
    let mut want = vec![point_id("CONTENTIN000"), point_id("CONTENTOUT00")];
    want.sort_unstable();
    assert_eq!(
        earlier_points, want,
        "1 ms earlier: only the long-closed points' contact"
    );
    assert!(earlier.points.expect("points").content.is_empty());

    // The run.
    let eraser = Eraser::standalone(store.clone());
    let report = run(&eraser, &app.state.blobs, &rules(), NOW, "test").expect("run");
    assert_eq!(report.contact, 6, "{report:?}");
    assert_eq!(report.content, 4, "{report:?}");
    assert_eq!(report.audit, 1, "{report:?}");
    assert_eq!((report.failed, report.left, report.unreadable), (0, 0, 0));
    assert_eq!((report.points_contact, report.points_content), (3, 1));
    let full = (
        "Puntentekst Mnbv".to_owned(),
        Some("Puntplein 1".to_owned()),
        Some("Puntnaam Lkjh".to_owned()),
    );
    for (receipt, status, _, _) in points {
        let (text, place, name, kept_status) = point(receipt);
        assert_eq!(kept_status, status, "{receipt}: the status stays");
        let got = (text, place, name);
        let want = match receipt {
            "CLOSEDIN0000" | "OPENIN000000" | "CONTENTOUT00" => (
                "Puntentekst Mnbv".to_owned(),
                Some("Puntplein 1".to_owned()),
                None,
            ),
            "CONTENTIN000" => (String::new(), None, None),
            _ => full.clone(),
        };
        assert_eq!(got, want, "{receipt}");
    }

    let mut want = Vec::new();
    for (d, id) in [
        (&recent, fb_in),
        (&recent, cb_in),
        (&recent, open_in),
        (&recent, task_open),
        (&recent, fb_open),
        (&old_out, old_out_a),
    ] {
        want.push((key(d, &id), true, false));
    }
    for (d, id) in [
        (&recent, fb_out),
        (&recent, cb_out),
        (&recent, open_out),
        (&recent, bare),
    ] {
        want.push((key(d, &id), false, false));
    }
    for (d, id) in [
        (&old, old_a),
        (&old, old_b),
        (&walk_in, walk_in_items[0]),
        (&walk_in, walk_in_items[1]),
    ] {
        want.push((key(d, &id), false, true));
    }
    let got = erased(&app, &[&recent, &old, &old_out, &walk_in, &walk_out]);
    for w in &want {
        assert!(got.contains(w), "{w:?} not in {got:#?}");
    }
    let touched: Vec<_> = got.iter().filter(|(_, c, i)| *c || *i).collect();
    assert_eq!(
        touched.len(),
        10,
        "only the due items are erased: {touched:#?}"
    );

    // The contact of a note outside its boundary is still there.
    let rows = app
        .store()
        .projection_rows(ServerDocId::parse(&recent.id()).expect("id"))
        .expect("rows");
    let row = rows
        .iter()
        .find(|r| r.item_id == fb_out.to_string())
        .expect("row");
    assert!(
        row.row_json.contains("Bewoner Qwzx"),
        "kept: {}",
        row.row_json
    );
    let row = rows
        .iter()
        .find(|r| r.item_id == fb_in.to_string())
        .expect("row");
    assert!(
        !row.row_json.contains("Bewoner Qwzx"),
        "erased: {}",
        row.row_json
    );

    // Audited: each erasure, and the run with its counts; the old entry went.
    let audit = app.store().audit_entries(1000).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.entry.action.as_str()).collect();
    assert!(!actions.contains(&"test.old"), "{actions:?}");
    assert!(actions.contains(&"test.kept"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "item.erase_contact")
            .count(),
        6
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "item.erase_item").count(),
        4
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "resident_point.erase_contact")
            .count(),
        3
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "resident_point.erase_content")
            .count(),
        1
    );
    let erasure = audit
        .iter()
        .find(|a| a.entry.action == "item.erase_contact")
        .expect("erasure entry");
    assert_eq!(erasure.entry.detail["basis"], "bewaartermijn");
    assert_eq!(erasure.entry.detail["reason"], "bewaartermijn");
    let runs: Vec<_> = audit
        .iter()
        .filter(|a| a.entry.action == "retention.run")
        .collect();
    assert_eq!(runs.len(), 1);
    let d = &runs[0].entry.detail;
    assert_eq!(
        (
            &d["contact"],
            &d["content"],
            &d["audit_deleted"],
            &d["failed"],
            &d["left"],
            &d["via"]
        ),
        (
            &Value::from(6),
            &Value::from(4),
            &Value::from(1),
            &Value::from(0),
            &Value::from(0),
            &Value::from("test")
        )
    );
    assert!(runs[0].entry.actor.is_none());

    // Nothing is left at the same moment; a second run erases nothing.
    let again = due(store.as_ref(), &rules(), NOW).expect("due");
    assert!(again.items.is_empty(), "{:?}", listed(&again));
    assert_eq!(again.points, Some(Default::default()));
    let report = run(&eraser, &app.state.blobs, &rules(), NOW, "test").expect("run");
    assert_eq!((report.contact, report.content, report.audit), (0, 0, 0));
}

#[actix_web::test]
async fn a_run_erases_at_most_its_bound_oldest_first_and_leaves_the_rest() {
    let app = spawn_app().await;
    let staff = person(&app, "staff", &[Role::Spreekuur], Some("noord")).await;
    let cat = Catalog::defaults();
    let uid = staff.uid();
    let mut s = spreekuur(&staff, NOW - 10 * DAY);
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = s
            .doc
            .add_note(
                &cat,
                &uid,
                at(NOW - (400 + i) * DAY),
                new_item("Overlast", false),
            )
            .expect("note");
        s.doc
            .set_resident_contact(&uid, at(NOW - (400 + i) * DAY + 1), &id, contact())
            .expect("contact");
        ids.push(id);
    }
    s.commit_as(&app, &staff);
    let rules = Rules {
        max_erasures: 2,
        ..rules()
    };
    let store = app.state.store.clone();
    let report = run(
        &Eraser::standalone(store.clone()),
        &app.state.blobs,
        &rules,
        NOW,
        "test",
    )
    .expect("run");
    assert_eq!((report.contact, report.left), (2, 1), "{report:?}");
    // The oldest two (written 402 and 401 days ago) went; the youngest is next.
    let left = due(store.as_ref(), &rules, NOW).expect("due");
    assert_eq!(
        listed(&left),
        [(key(&s, &ids[0]), "contact")].into_iter().collect()
    );
}

/// `serve`'s timer: with `retention.interval_secs = 1` the server runs the
/// rules itself (on the wall clock) and audits the run as `timer`.
#[actix_web::test]
async fn the_server_runs_retention_on_its_timer() {
    let app = wijklog_server::testing::spawn_app_with(|c| c.retention.interval_secs = 1).await;
    let staff = person(&app, "staff", &[Role::Spreekuur], Some("noord")).await;
    let cat = Catalog::defaults();
    let uid = staff.uid();
    let wall = wijklog_server::domain::now_ms();
    let mut s = spreekuur(&staff, wall - 10 * DAY);
    let old = s
        .doc
        .add_note(
            &cat,
            &uid,
            at(wall - 400 * DAY),
            new_item("Overlast", false),
        )
        .expect("note");
    s.doc
        .set_resident_contact(&uid, at(wall - 400 * DAY + 1), &old, contact())
        .expect("contact");
    let young = s
        .doc
        .add_note(&cat, &uid, at(wall - 20 * DAY), new_item("Overlast", false))
        .expect("note");
    s.doc
        .set_resident_contact(&uid, at(wall - 20 * DAY + 1), &young, contact())
        .expect("contact");
    s.commit_as(&app, &staff);
    // Wait for the run's audit entry (the timer's first run is one
    // interval after the start); the test fails only if it never comes.
    let mut run = None;
    for _ in 0..600 {
        let audit = app.store().audit_entries(100).expect("audit");
        run = audit
            .into_iter()
            .find(|a| a.entry.action == "retention.run" && a.entry.detail["contact"] == 1);
        if run.is_some() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let run = run.expect("the timer ran retention and erased the old contact");
    assert_eq!(run.entry.detail["via"], "timer");
    let got = erased(&app, &[&s]);
    assert!(got.contains(&(key(&s, &old), true, false)), "{got:?}");
    assert!(got.contains(&(key(&s, &young), false, false)), "{got:?}");
}
