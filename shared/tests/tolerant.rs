//! Tolerant reading: hand-built documents with JS-style values (Text for
//! strings, ints for numbers), wrong types, missing fields and unknown fields
//! read without panics and without dropping items; every problem is reported
//! in `invalid` with the field's path.

mod common;

use common::*;
use wijklog_shared::automerge::transaction::Transactable;
use wijklog_shared::automerge::{AutoCommit, ObjId, ObjType, ROOT, ScalarValue};
use wijklog_shared::{
    Catalog, DocKind, Document, FollowUpStatus, Location, Severity, View, doc_kind, project,
};

fn text(d: &mut AutoCommit, obj: &ObjId, key: &str, s: &str) {
    let t = d.put_object(obj, key, ObjType::Text).unwrap();
    d.splice_text(&t, 0, 0, s).unwrap();
}

const OBS: &str = "7d2c5b1a-0e3f-4a6b-9c8d-1e2f3a4b5c6d";

/// A walk as a JS client on @automerge/automerge 3.x writes it: every string
/// as Text, times as plain numbers, lat/lon whole numbers as ints.
fn js_style_walk() -> AutoCommit {
    let mut d = AutoCommit::new();
    text(&mut d, &ROOT, "kind", "walk");
    d.put(ROOT, "schema", ScalarValue::Uint(1)).unwrap();
    text(&mut d, &ROOT, "title", "Ronde");
    text(&mut d, &ROOT, "wijk", "centrum");
    text(&mut d, &ROOT, "route", "");
    text(&mut d, &ROOT, "team", "t1");
    text(&mut d, &ROOT, "created_by", "boa-9");
    d.put(ROOT, "planned_at", ScalarValue::F64(T0 as f64))
        .unwrap();
    d.put(ROOT, "started_at", ScalarValue::Int(T0)).unwrap();
    text(&mut d, &ROOT, "summary", "");
    d.put_object(ROOT, "participants", ObjType::Map).unwrap();
    let obs = d.put_object(ROOT, "observations", ObjType::Map).unwrap();
    let o = d.put_object(&obs, OBS, ObjType::Map).unwrap();
    d.put(&o, "created_at", ScalarValue::Timestamp(T0)).unwrap();
    text(&mut d, &o, "created_by", "boa-9");
    text(&mut d, &o, "category", "verkeer");
    text(&mut d, &o, "severity", "urgent");
    text(&mut d, &o, "text", "Scooters");
    text(&mut d, &o, "place", "Markt");
    let loc = d.put_object(&o, "location", ObjType::Map).unwrap();
    d.put(&loc, "lat", ScalarValue::Int(52)).unwrap();
    d.put(&loc, "lon", ScalarValue::F64(5.5)).unwrap();
    d.put(&loc, "accuracy_m", ScalarValue::Int(10)).unwrap();
    let photos = d.put_object(&o, "photos", ObjType::List).unwrap();
    let p = d.insert_object(&photos, 0, ObjType::Text).unwrap();
    d.splice_text(&p, 0, 0, &format!("sha256:{}", "0".repeat(64)))
        .unwrap();
    let fu = d.put_object(&o, "follow_up", ObjType::Map).unwrap();
    let pol = d.put_object(&fu, "politie", ObjType::Map).unwrap();
    text(&mut d, &pol, "status", "afgerond");
    text(&mut d, &pol, "note", "klaar");
    d.put(&pol, "updated_at", ScalarValue::Int(T0 + 1)).unwrap();
    text(&mut d, &pol, "updated_by", "coord");
    let fb = d.put_object(&o, "feedback", ObjType::Map).unwrap();
    d.put(&fb, "needed", true).unwrap();
    d.commit();
    d
}

#[test]
fn a_js_style_walk_reads_without_invalid_fields() {
    let d = js_style_walk();
    assert_eq!(doc_kind(&d).unwrap(), DocKind::Walk);
    let View::Walk(w) = View::from_doc(&d).unwrap() else {
        panic!("not a walk")
    };
    assert!(w.invalid.is_empty(), "{:?}", w.invalid);
    assert_eq!(w.schema, Some(1));
    assert_eq!(w.wijk.as_deref(), Some("centrum"));
    assert_eq!(w.planned_at, Some(T0));
    assert_eq!(w.started_at, Some(T0));
    let o = &w.observations[OBS];
    assert!(o.invalid.is_empty(), "{:?}", o.invalid);
    assert_eq!(o.severity, Some(Severity::Urgent));
    assert_eq!(o.category.as_deref(), Some("verkeer"));
    assert_eq!(
        o.location,
        Some(Location {
            lat: 52.0,
            lon: 5.5,
            accuracy_m: Some(10.0)
        })
    );
    assert_eq!(o.photos, vec![format!("sha256:{}", "0".repeat(64))]);
    assert_eq!(
        o.follow_up["politie"].status,
        Some(FollowUpStatus::Afgerond)
    );
    assert_eq!(o.follow_up["politie"].note.as_deref(), Some("klaar"));
    assert_eq!(o.follow_up["politie"].updated_at, Some(T0 + 1));
    assert_eq!(o.feedback.needed, Some(true));
}

#[test]
fn typed_edits_work_on_a_js_style_walk_and_keep_unknown_fields() {
    let mut d = js_style_walk();
    let o = obj_at(&d, &["observations", OBS]);
    d.put(&o, "weather", "rain").unwrap();
    d.put(ROOT, "x_vendor", ScalarValue::Int(7)).unwrap();
    d.commit();
    let mut doc = Document::from_automerge(doc_id(5), d);
    let id = wijklog_shared::ItemId::parse(OBS).unwrap();
    doc.set_severity(&boa(), at(1), &id, Severity::Aandacht)
        .unwrap();
    doc.set_category(&Catalog::defaults(), &boa(), at(1), &id, "drugs")
        .unwrap();
    doc.splice_text(&boa(), at(1), &id, 8, 0, "!").unwrap();
    let w = doc.walk().unwrap();
    let item = &w.observations[OBS];
    assert!(
        item.invalid.is_empty(),
        "unknown fields are not invalid: {:?}",
        item.invalid
    );
    assert_eq!(item.text.as_deref(), Some("Scooters!"));
    assert_eq!(item.severity, Some(Severity::Aandacht));
    let saved = Document::load(doc_id(5), &doc.save()).unwrap();
    assert_eq!(
        stored(saved.automerge(), &["observations", OBS, "weather"]),
        "str:rain"
    );
    assert_eq!(stored(saved.automerge(), &["x_vendor"]), "int:7");
}

#[test]
fn wrong_types_become_invalid_fields_and_null_values() {
    let mut d = js_style_walk();
    let o = obj_at(&d, &["observations", OBS]);
    d.put(&o, "severity", ScalarValue::Int(3)).unwrap();
    d.put(&o, "created_at", "gisteren").unwrap();
    d.put_object(&o, "text", ObjType::Map).unwrap();
    d.put(&o, "category", true).unwrap();
    let loc = obj_at(&d, &["observations", OBS, "location"]);
    d.put(&loc, "lat", "52.1").unwrap();
    let photos = obj_at(&d, &["observations", OBS, "photos"]);
    d.insert(&photos, 1, ScalarValue::Int(4)).unwrap();
    let pol = obj_at(&d, &["observations", OBS, "follow_up", "politie"]);
    d.put(&pol, "status", "gesloten").unwrap();
    let fb = obj_at(&d, &["observations", OBS, "feedback"]);
    d.put(&fb, "needed", "ja").unwrap();
    d.put(&fb, "channel", "duif").unwrap();
    let del = d.put_object(&o, "deleted", ObjType::Map).unwrap();
    d.put(&del, "by", "coord").unwrap();
    d.put(ROOT, "ended_at", ScalarValue::Boolean(false))
        .unwrap();
    d.commit();

    let w = wijklog_shared::Walk::from_doc(&d).unwrap();
    assert_eq!(
        w.invalid.get("ended_at").map(String::as_str),
        Some("expected timestamp, found boolean")
    );
    let item = &w.observations[OBS];
    let expected: Vec<(&str, &str)> = vec![
        ("category", "expected string, found boolean"),
        ("created_at", "expected timestamp, found string"),
        ("deleted.at", "missing"),
        ("feedback.channel", "unknown value"),
        ("feedback.needed", "expected boolean, found string"),
        ("follow_up.politie.status", "unknown value"),
        ("location.lat", "expected number, found string"),
        ("photos.1", "expected string, found int"),
        ("severity", "expected string, found int"),
        ("text", "expected text, found map"),
    ];
    let got: Vec<(&str, &str)> = item
        .invalid
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(item.severity, None);
    assert_eq!(item.created_at, None);
    assert_eq!(item.text, None);
    assert_eq!(item.category, None);
    assert_eq!(item.location, None);
    assert_eq!(item.photos.len(), 1, "the valid photo is kept");
    assert_eq!(item.follow_up["politie"].status, None);
    assert_eq!(item.follow_up["politie"].note.as_deref(), Some("klaar"));
    assert_eq!(item.feedback.needed, None);
    assert_eq!(
        item.deleted.as_ref().and_then(|d| d.by.as_deref()),
        Some("coord")
    );

    // The projection carries the same paths, and the JSON has nulls, not gaps.
    let rows = project(doc_id(5), &d).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].invalid, item.invalid);
    let json = serde_json::to_value(&rows[0]).unwrap();
    assert_eq!(json["severity"], serde_json::Value::Null);
    assert_eq!(json["invalid"]["severity"], "expected string, found int");
}

#[test]
fn missing_fields_and_non_map_items_are_reported_not_dropped() {
    let mut d = AutoCommit::new();
    d.put(ROOT, "kind", "spreekuur").unwrap();
    let notes = d.put_object(ROOT, "notes", ObjType::Map).unwrap();
    d.put_object(&notes, "empty-note", ObjType::Map).unwrap();
    d.put(&notes, "a-string", "oops").unwrap();
    d.put_object(&notes, "a-list", ObjType::List).unwrap();
    let n = d.put_object(&notes, "half", ObjType::Map).unwrap();
    let r = d.put_object(&n, "resident", ObjType::Map).unwrap();
    d.put(&r, "name", "X").unwrap();
    let c = d.put_object(&n, "callback", ObjType::Map).unwrap();
    d.put(&c, "done_at", "morgen").unwrap();
    d.commit();

    let s = wijklog_shared::Spreekuur::from_doc(&d).unwrap();
    let root: Vec<&str> = s.invalid.keys().map(String::as_str).collect();
    assert_eq!(
        root,
        vec![
            "created_by",
            "held_on",
            "location",
            "schema",
            "team",
            "wijk"
        ]
    );
    assert!(s.invalid.values().all(|r| r == "missing"));
    assert_eq!(s.notes.len(), 4, "no note is dropped");
    assert_eq!(
        s.notes["a-string"].invalid["item"],
        "expected map, found string"
    );
    assert_eq!(
        s.notes["a-list"].invalid["item"],
        "expected map, found list"
    );
    let empty: Vec<&str> = s.notes["empty-note"]
        .invalid
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        empty,
        vec!["category", "created_at", "created_by", "severity", "text"]
    );
    assert_eq!(
        s.notes["empty-note"].feedback.needed,
        Some(false),
        "absent feedback reads as not needed"
    );
    let half = &s.notes["half"];
    assert_eq!(half.invalid["resident.consent"], "missing");
    assert_eq!(half.invalid["callback.requested"], "missing");
    assert_eq!(
        half.invalid["callback.done_at"],
        "expected timestamp, found string"
    );
    assert_eq!(
        half.resident.as_ref().and_then(|r| r.name.as_deref()),
        Some("X")
    );

    let rows = project(doc_id(6), &d).unwrap();
    assert_eq!(rows.len(), 4);
    let r = rows.iter().find(|r| r.item_id == "empty-note").unwrap();
    assert_eq!(r.invalid["doc_title"], "missing");
    assert_eq!(r.invalid["wijk"], "missing");
    assert_eq!(r.invalid["team"], "missing");
    assert_eq!(r.doc_kind, DocKind::Spreekuur);
}

#[test]
fn the_root_kind_decides_and_a_missing_kind_is_an_invalid_document() {
    let mut d = AutoCommit::new();
    assert_eq!(doc_kind(&d).unwrap_err().code(), "invalid_document");
    assert_eq!(
        project(doc_id(1), &d).unwrap_err().code(),
        "invalid_document"
    );
    d.put(ROOT, "kind", "wandeling").unwrap();
    assert_eq!(doc_kind(&d).unwrap_err().code(), "invalid_document");
    d.put(ROOT, "kind", ScalarValue::Int(1)).unwrap();
    assert_eq!(doc_kind(&d).unwrap_err().code(), "invalid_document");
    text(&mut d, &ROOT, "kind", "catalog");
    assert_eq!(doc_kind(&d).unwrap(), DocKind::Catalog);
    assert_eq!(
        project(doc_id(1), &d).unwrap(),
        vec![],
        "a catalog has no rows"
    );
    assert_eq!(
        wijklog_shared::Walk::from_doc(&d).unwrap_err().code(),
        "wrong_kind"
    );
}

#[test]
fn collections_of_the_wrong_type_are_reported() {
    let mut d = AutoCommit::new();
    d.put(ROOT, "kind", "walk").unwrap();
    d.put_object(ROOT, "observations", ObjType::List).unwrap();
    d.put(ROOT, "participants", "none").unwrap();
    d.commit();
    let w = wijklog_shared::Walk::from_doc(&d).unwrap();
    assert_eq!(w.invalid["observations"], "expected map, found list");
    assert_eq!(w.invalid["participants"], "expected map, found string");
    assert!(w.observations.is_empty());
    // Edits refuse such a document with a clear error instead of guessing.
    let mut doc = Document::from_automerge(doc_id(1), d);
    let err = doc
        .add_observation(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", ""))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_document");
}

#[test]
fn a_malformed_catalog_reads_with_invalid_entries() {
    let mut d = AutoCommit::new();
    text(&mut d, &ROOT, "kind", "catalog");
    d.put(ROOT, "schema", 1).unwrap();
    let cats = d.put_object(ROOT, "categories", ObjType::Map).unwrap();
    let e = d.put_object(&cats, "drugs", ObjType::Map).unwrap();
    text(&mut d, &e, "label", "Drugs");
    d.put(&e, "color", "red").unwrap();
    d.put(&e, "retired", "nee").unwrap();
    d.put(&cats, "kapot", 5).unwrap();
    let w = d.put_object(ROOT, "wijken", ObjType::Map).unwrap();
    let e = d.put_object(&w, "noord", ObjType::Map).unwrap();
    d.put(&e, "label", "Noord").unwrap();
    let bbox = d.put_object(&e, "bbox", ObjType::List).unwrap();
    d.insert(&bbox, 0, 5.0).unwrap();
    d.put(ROOT, "partners", "geen").unwrap();
    d.commit();
    let c = Catalog::from_doc(&d).unwrap();
    let got: Vec<(&str, &str)> = c
        .invalid
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("categories.drugs.color", "expected #rrggbb"),
            ("categories.drugs.retired", "expected boolean, found string"),
            ("categories.kapot", "expected map, found int"),
            ("partners", "expected map, found string"),
            (
                "wijken.noord.bbox",
                "expected [minLon, minLat, maxLon, maxLat]"
            ),
        ]
    );
    assert_eq!(c.categories.len(), 2);
    assert!(
        c.check_category("drugs").is_ok(),
        "an unreadable retired flag reads as active"
    );
    assert_eq!(c.wijken["noord"].bbox, None);
    assert!(c.partners.is_empty());
}

#[test]
fn edits_refuse_item_parts_of_the_wrong_type_instead_of_overwriting_them() {
    let mut d = js_style_walk();
    let o = obj_at(&d, &["observations", OBS]);
    d.put(&o, "follow_up", "politie").unwrap();
    d.put(&o, "feedback", ScalarValue::Int(1)).unwrap();
    d.put_object(&o, "photos", ObjType::Map).unwrap();
    d.commit();
    let mut doc = Document::from_automerge(doc_id(7), d);
    let id = wijklog_shared::ItemId::parse(OBS).unwrap();
    let c = Catalog::defaults();
    let code = |r: Result<(), wijklog_shared::Error>| r.unwrap_err().code();
    assert_eq!(
        code(doc.set_follow_up(
            &c,
            &boa(),
            at(1),
            &id,
            "politie",
            FollowUpStatus::Open,
            None
        )),
        "invalid_document"
    );
    assert_eq!(
        code(doc.record_feedback_given(
            &boa(),
            at(1),
            &id,
            wijklog_shared::FeedbackChannel::Brief,
            at(0)
        )),
        "invalid_document"
    );
    assert_eq!(
        code(doc.set_feedback_needed(&boa(), at(1), &id, true)),
        "invalid_document"
    );
    let photo = format!("sha256:{}", "1".repeat(64));
    assert_eq!(
        code(doc.add_photo(&boa(), at(1), &id, &photo)),
        "invalid_document"
    );
    let item = &doc.walk().unwrap().observations[OBS];
    assert_eq!(item.invalid["follow_up"], "expected map, found string");
    assert_eq!(item.invalid["feedback"], "expected map, found int");
    assert_eq!(item.invalid["photos"], "expected list, found map");
    assert_eq!(
        item.feedback.needed, None,
        "unreadable feedback is unknown, not 'not needed'"
    );
    // The other fields are still read, and other edits still work.
    assert_eq!(item.text.as_deref(), Some("Scooters"));
    doc.set_severity(&boa(), at(2), &id, Severity::Informatief)
        .unwrap();
}
