//! Every typed edit: what it writes (checked at the automerge level, against the
//! contract in docs/data-model.md) and every error it can return.

mod common;

use common::*;
use wijklog_shared::automerge::sync;
use wijklog_shared::automerge::transaction::Transactable;
use wijklog_shared::automerge::{ROOT, ReadDoc};
use wijklog_shared::{
    Address, CallbackRequest, Catalog, DocKind, Document, Error, FeedbackChannel, FollowUpStatus,
    Location, NewCategory, NewParticipant, NewSpreekuur, NewWalk, ResidentContact, Severity,
    Timestamp, WalkText,
};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    r.expect_err("expected an error").code()
}

fn obs_key(n: u8) -> String {
    item_id(n).to_string()
}

fn catalog_with_retired() -> Catalog {
    let mut c = Document::new_catalog_with_defaults(doc_id(9)).unwrap();
    c.retire_category(&boa(), at(0), "drugs").unwrap();
    c.retire_partner(&boa(), at(0), "school").unwrap();
    c.retire_wijk(&boa(), at(0), "centrum").unwrap();
    c.catalog().unwrap()
}

// ---------- creating documents ----------

#[test]
fn new_walk_writes_the_contract_shape() {
    let w = walk();
    let d = w.automerge();
    assert_eq!(stored(d, &["kind"]), "str:walk");
    assert_eq!(stored(d, &["schema"]), "int:1");
    assert_eq!(stored(d, &["title"]), "text:Avondronde");
    assert_eq!(stored(d, &["wijk"]), "str:oostermeent");
    assert_eq!(stored(d, &["route"]), "text:Kostmand - de Roef");
    assert_eq!(stored(d, &["planned_at"]), format!("ts:{}", T0 - 3_600_000));
    assert_eq!(stored(d, &["started_at"]), "absent");
    assert_eq!(stored(d, &["ended_at"]), "absent");
    assert_eq!(stored(d, &["team"]), "str:team-oost");
    assert_eq!(stored(d, &["created_by"]), "str:boa-1");
    assert_eq!(stored(d, &["participants"]), "map");
    assert_eq!(stored(d, &["observations"]), "map");
    assert_eq!(stored(d, &["summary"]), "text:");
    assert_eq!(w.kind().unwrap(), DocKind::Walk);
    let view = w.walk().unwrap();
    assert!(view.invalid.is_empty(), "{:?}", view.invalid);
    assert_eq!(view.title.as_deref(), Some("Avondronde"));
}

#[test]
fn new_walk_refuses_bad_arguments() {
    let c = Catalog::defaults();
    let mk = |f: fn(&mut NewWalk)| {
        let mut init = new_walk_init();
        f(&mut init);
        Document::new_walk(doc_id(1), &c, &boa(), at(0), init)
    };
    assert_eq!(code(mk(|i| i.title = "  ".into())), "empty_field");
    assert_eq!(code(mk(|i| i.team = String::new())), "empty_field");
    assert_eq!(code(mk(|i| i.wijk = "atlantis".into())), "unknown_wijk");
    assert_eq!(
        code(mk(|i| i.planned_at = Some(Timestamp::from_millis(-1)))),
        "invalid_timestamp"
    );
    let mut init = new_walk_init();
    init.wijk = "centrum".into();
    assert_eq!(
        code(Document::new_walk(
            doc_id(1),
            &catalog_with_retired(),
            &boa(),
            at(0),
            init
        )),
        "retired_wijk"
    );
    assert_eq!(
        code(Document::new_walk(
            doc_id(1),
            &c,
            &boa(),
            Timestamp::from_millis(-5),
            new_walk_init()
        )),
        "invalid_timestamp"
    );
}

#[test]
fn new_spreekuur_writes_the_contract_shape() {
    let s = spreekuur();
    let d = s.automerge();
    assert_eq!(stored(d, &["kind"]), "str:spreekuur");
    assert_eq!(stored(d, &["schema"]), "int:1");
    assert_eq!(stored(d, &["location"]), "str:Buurthuis de Roef");
    assert_eq!(stored(d, &["wijk"]), "str:bovenmaten");
    assert_eq!(stored(d, &["held_on"]), format!("ts:{T0}"));
    assert_eq!(stored(d, &["team"]), "str:team-oost");
    assert_eq!(stored(d, &["created_by"]), "str:boa-1");
    assert_eq!(stored(d, &["staff"]), "map");
    assert_eq!(stored(d, &["notes"]), "map");
    assert!(s.spreekuur().unwrap().invalid.is_empty());
}

#[test]
fn new_spreekuur_refuses_bad_arguments() {
    let c = Catalog::defaults();
    let init = |location: &str, wijk: &str, held_on: i64| NewSpreekuur {
        location: location.into(),
        wijk: wijk.into(),
        held_on: Timestamp::from_millis(held_on),
        team: "t".into(),
    };
    assert_eq!(
        code(Document::new_spreekuur(
            doc_id(2),
            &c,
            &boa(),
            at(0),
            init("", "centrum", T0)
        )),
        "empty_field"
    );
    assert_eq!(
        code(Document::new_spreekuur(
            doc_id(2),
            &c,
            &boa(),
            at(0),
            init("x", "nergens", T0)
        )),
        "unknown_wijk"
    );
    assert_eq!(
        code(Document::new_spreekuur(
            doc_id(2),
            &c,
            &boa(),
            at(0),
            init("x", "centrum", -1)
        )),
        "invalid_timestamp"
    );
}

#[test]
fn new_catalog_holds_the_domain_defaults() {
    let c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    let cat = c.catalog().unwrap();
    assert_eq!(cat, Catalog::defaults());
    assert_eq!(cat.categories.len(), 12);
    assert_eq!(cat.severities.len(), 4);
    assert_eq!(cat.partners.len(), 10);
    assert_eq!(cat.wijken.len(), 5);
    assert!(cat.categories["positief_signaal"].positive);
    assert!(!cat.categories["verkeer"].positive);
    assert_eq!(cat.categories["positief_signaal"].order, Some(11));
    assert_eq!(
        cat.wijken["stad_en_lande"].label.as_deref(),
        Some("Stad en Lande")
    );
    for s in ["informatief", "aandacht", "zorgelijk", "urgent"] {
        assert!(cat.severities.contains_key(s), "{s}");
    }
    let d = c.automerge();
    assert_eq!(stored(d, &["kind"]), "str:catalog");
    assert_eq!(stored(d, &["categories", "drugs", "color"]), "str:#862e9c");
    assert_eq!(stored(d, &["categories", "drugs", "retired"]), "bool:false");
    assert_eq!(stored(d, &["wijken", "centrum", "bbox"]), "absent");
}

// ---------- observations and notes ----------

#[test]
fn add_observation_writes_every_field_and_returns_the_id() {
    let mut w = walk();
    let mut init = item(1, "verkeer", "Hard rijden");
    init.severity = Severity::Zorgelijk;
    init.place = Some("  Kostmand ".into());
    init.location = Some(Location {
        lat: 52.1,
        lon: 5.2,
        accuracy_m: Some(8.0),
    });
    init.feedback_needed = true;
    let id = w
        .add_observation(&Catalog::defaults(), &user("boa-2"), at(60), init)
        .unwrap();
    assert_eq!(id, item_id(1));
    let k = obs_key(1);
    let d = w.automerge();
    let p = |f: &[&str]| {
        let mut v = vec!["observations", k.as_str()];
        v.extend_from_slice(f);
        stored(d, &v)
    };
    assert_eq!(p(&["created_at"]), format!("ts:{}", T0 + 60_000));
    assert_eq!(p(&["created_by"]), "str:boa-2");
    assert_eq!(p(&["category"]), "str:verkeer");
    assert_eq!(p(&["severity"]), "str:zorgelijk");
    assert_eq!(p(&["text"]), "text:Hard rijden");
    assert_eq!(p(&["place"]), "str:Kostmand");
    assert_eq!(p(&["location", "lat"]), "f64:52.1");
    assert_eq!(p(&["location", "lon"]), "f64:5.2");
    assert_eq!(p(&["location", "accuracy_m"]), "f64:8");
    assert_eq!(p(&["photos"]), "list:0");
    assert_eq!(p(&["follow_up"]), "map");
    assert_eq!(p(&["feedback", "needed"]), "bool:true");
    assert_eq!(p(&["deleted"]), "absent");
}

#[test]
fn add_observation_without_id_generates_a_v4_uuid() {
    let mut w = walk();
    let mut init = item(0, "drugs", "");
    init.id = None;
    let a = w
        .add_observation(&Catalog::defaults(), &boa(), at(1), init.clone())
        .unwrap();
    let b = w
        .add_observation(&Catalog::defaults(), &boa(), at(2), init)
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(a.as_uuid().get_version_num(), 4);
    assert_eq!(w.walk().unwrap().observations.len(), 2);
}

#[test]
fn add_observation_errors() {
    let c = Catalog::defaults();
    let mut w = walk();
    assert_eq!(
        code(w.add_observation(&c, &boa(), at(1), item(1, "graffiti", ""))),
        "unknown_category"
    );
    assert_eq!(
        code(w.add_observation(&catalog_with_retired(), &boa(), at(1), item(1, "drugs", ""))),
        "retired_category"
    );
    let mut bad = item(1, "drugs", "");
    bad.location = Some(Location {
        lat: 91.0,
        lon: 0.0,
        accuracy_m: None,
    });
    assert_eq!(
        code(w.add_observation(&c, &boa(), at(1), bad)),
        "invalid_location"
    );
    let mut bad = item(1, "drugs", "");
    bad.location = Some(Location {
        lat: 1.0,
        lon: 1.0,
        accuracy_m: Some(-1.0),
    });
    assert_eq!(
        code(w.add_observation(&c, &boa(), at(1), bad)),
        "invalid_location"
    );
    w.add_observation(&c, &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    assert_eq!(
        code(w.add_observation(&c, &boa(), at(2), item(1, "drugs", ""))),
        "item_exists"
    );
    assert_eq!(
        code(w.add_note(&c, &boa(), at(2), item(2, "drugs", ""))),
        "wrong_kind"
    );
    let mut s = spreekuur();
    assert_eq!(
        code(s.add_observation(&c, &boa(), at(2), item(2, "drugs", ""))),
        "wrong_kind"
    );
    let mut cat = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    assert_eq!(
        code(cat.add_observation(&c, &boa(), at(2), item(2, "drugs", ""))),
        "wrong_kind"
    );
}

#[test]
fn add_note_writes_a_note_in_notes() {
    let mut s = spreekuur();
    let id = s
        .add_note(
            &Catalog::defaults(),
            &boa(),
            at(5),
            item(7, "woonoverlast", "Buren"),
        )
        .unwrap();
    assert_eq!(
        stored(s.automerge(), &["notes", &id.to_string(), "text"]),
        "text:Buren"
    );
    let view = s.spreekuur().unwrap();
    let note = &view.notes[&id.to_string()];
    assert_eq!(note.category.as_deref(), Some("woonoverlast"));
    assert_eq!(note.resident, None);
    assert_eq!(note.callback, None);
}

#[test]
fn splice_text_edits_in_code_points_natively() {
    let mut w = walk();
    w.add_observation(
        &Catalog::defaults(),
        &boa(),
        at(1),
        item(1, "drugs", "café dicht"),
    )
    .unwrap();
    // "café" is 4 code points: replace "dicht" (pos 5, 5 units) with "open".
    w.splice_text(&boa(), at(2), &item_id(1), 5, 5, "open")
        .unwrap();
    w.splice_text(&boa(), at(3), &item_id(1), 0, 0, "Het ")
        .unwrap();
    assert_eq!(
        stored(w.automerge(), &["observations", &obs_key(1), "text"]),
        "text:Het café open"
    );
}

#[test]
fn splice_text_errors() {
    let mut w = walk();
    w.add_observation(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", "abc"))
        .unwrap();
    assert_eq!(
        code(w.splice_text(&boa(), at(2), &item_id(1), 4, 0, "x")),
        "text_out_of_range"
    );
    assert_eq!(
        code(w.splice_text(&boa(), at(2), &item_id(1), 2, 2, "x")),
        "text_out_of_range"
    );
    assert_eq!(
        code(w.splice_text(&boa(), at(2), &item_id(9), 0, 0, "x")),
        "item_not_found"
    );
    // Text stored as a plain string (an ImmutableString from JS) cannot be spliced.
    let obj = obj_at(w.automerge(), &["observations", &obs_key(1)]);
    w.automerge_mut().put(&obj, "text", "vast").unwrap();
    assert_eq!(
        code(w.splice_text(&boa(), at(2), &item_id(1), 0, 0, "x")),
        "not_text"
    );
    w.delete_item(&boa(), at(3), &item_id(1)).unwrap();
    assert_eq!(
        code(w.splice_text(&boa(), at(4), &item_id(1), 0, 0, "x")),
        "item_deleted"
    );
}

#[test]
fn splice_walk_text_edits_title_route_and_summary() {
    let mut w = walk();
    w.splice_walk_text(&boa(), at(1), WalkText::Title, 0, 0, "Late ")
        .unwrap();
    w.splice_walk_text(&boa(), at(1), WalkText::Route, 0, 8, "Centrum")
        .unwrap();
    w.splice_walk_text(&boa(), at(1), WalkText::Summary, 0, 0, "Rustig")
        .unwrap();
    let d = w.automerge();
    assert_eq!(stored(d, &["title"]), "text:Late Avondronde");
    assert_eq!(stored(d, &["route"]), "text:Centrum - de Roef");
    assert_eq!(stored(d, &["summary"]), "text:Rustig");
    assert_eq!(
        code(w.splice_walk_text(&boa(), at(1), WalkText::Summary, 7, 0, "x")),
        "text_out_of_range"
    );
    w.automerge_mut().put(ROOT, "summary", "plain").unwrap();
    assert_eq!(
        code(w.splice_walk_text(&boa(), at(1), WalkText::Summary, 0, 0, "x")),
        "not_text"
    );
    assert_eq!(
        code(spreekuur().splice_walk_text(&boa(), at(1), WalkText::Title, 0, 0, "x")),
        "wrong_kind"
    );
}

#[test]
fn the_nearest_address_is_stored_with_its_position_and_shown_only_for_that_position() {
    let c = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&c, &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let id = item_id(1);
    let k = obs_key(1);
    let here = Location {
        lat: 52.153061,
        lon: 5.374739,
        accuracy_m: Some(8.0),
    };
    let address = |label: &str, l: &Location| Address {
        label: label.into(),
        lat: l.lat,
        lon: l.lon,
    };
    w.set_location(&boa(), at(2), &id, Some(here)).unwrap();
    w.set_address(
        &boa(),
        at(3),
        &id,
        Some(address("  Stationsplein 1, 3818LE Amersfoort ", &here)),
    )
    .unwrap();
    let d = w.automerge();
    assert_eq!(
        stored(d, &["observations", &k, "address", "label"]),
        "str:Stationsplein 1, 3818LE Amersfoort"
    );
    assert_eq!(
        stored(d, &["observations", &k, "address", "lat"]),
        "f64:52.153061"
    );
    let row = &w.project().unwrap()[0];
    assert_eq!(
        row.address.as_deref(),
        Some("Stationsplein 1, 3818LE Amersfoort")
    );
    // It survives a save and load (it syncs like any field).
    let loaded = Document::load(w.id(), &w.save()).unwrap();
    assert_eq!(loaded.project().unwrap()[0].address, row.address);

    // The position moves (the pin was dragged): the old address no longer
    // describes it, until the address of the new position is stored.
    let there = Location {
        lat: 52.1541,
        lon: 5.3751,
        accuracy_m: None,
    };
    w.set_location(&boa(), at(4), &id, Some(there)).unwrap();
    assert_eq!(w.project().unwrap()[0].address, None);
    w.set_address(&boa(), at(5), &id, Some(address("Stationsplein 5", &there)))
        .unwrap();
    assert_eq!(
        w.project().unwrap()[0].address.as_deref(),
        Some("Stationsplein 5")
    );
    w.set_location(&boa(), at(6), &id, None).unwrap();
    assert_eq!(
        w.project().unwrap()[0].address,
        None,
        "no position, no address"
    );

    assert_eq!(
        code(w.set_address(&boa(), at(7), &id, Some(address("  ", &there)))),
        "empty_field"
    );
    assert_eq!(
        code(w.set_address(&boa(), at(7), &id, Some(address(&"x".repeat(201), &there)))),
        "field_too_long"
    );
    assert_eq!(
        code(w.set_address(&boa(), at(7), &id, Some(address("a\u{7}b", &there)))),
        "field_too_long"
    );
    let mut far = address("Nergens", &there);
    far.lat = 91.0;
    assert_eq!(
        code(w.set_address(&boa(), at(7), &id, Some(far))),
        "invalid_location"
    );
    w.set_address(&boa(), at(8), &id, None).unwrap();
    assert_eq!(
        stored(w.automerge(), &["observations", &k, "address"]),
        "absent"
    );
}

#[test]
fn set_category_severity_location_place() {
    let c = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&c, &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let id = item_id(1);
    let k = obs_key(1);
    w.set_category(&c, &boa(), at(2), &id, "positief_signaal")
        .unwrap();
    w.set_severity(&boa(), at(2), &id, Severity::Urgent)
        .unwrap();
    w.set_location(
        &boa(),
        at(2),
        &id,
        Some(Location {
            lat: -1.5,
            lon: 179.0,
            accuracy_m: None,
        }),
    )
    .unwrap();
    w.set_place(&boa(), at(2), &id, Some("de Roef")).unwrap();
    let d = w.automerge();
    assert_eq!(
        stored(d, &["observations", &k, "category"]),
        "str:positief_signaal"
    );
    assert_eq!(stored(d, &["observations", &k, "severity"]), "str:urgent");
    assert_eq!(
        stored(d, &["observations", &k, "location", "lat"]),
        "f64:-1.5"
    );
    assert_eq!(
        stored(d, &["observations", &k, "location", "accuracy_m"]),
        "absent"
    );
    assert_eq!(stored(d, &["observations", &k, "place"]), "str:de Roef");

    w.set_location(&boa(), at(3), &id, None).unwrap();
    w.set_place(&boa(), at(3), &id, Some("   ")).unwrap();
    let d = w.automerge();
    assert_eq!(stored(d, &["observations", &k, "location"]), "absent");
    assert_eq!(stored(d, &["observations", &k, "place"]), "absent");
    w.set_place(&boa(), at(3), &id, Some("x")).unwrap();
    w.set_place(&boa(), at(3), &id, None).unwrap();
    assert_eq!(
        stored(w.automerge(), &["observations", &k, "place"]),
        "absent"
    );

    assert_eq!(
        code(w.set_category(&c, &boa(), at(4), &id, "onbekend")),
        "unknown_category"
    );
    assert_eq!(
        code(w.set_category(&catalog_with_retired(), &boa(), at(4), &id, "drugs")),
        "retired_category"
    );
    assert_eq!(
        code(w.set_location(
            &boa(),
            at(4),
            &id,
            Some(Location {
                lat: 0.0,
                lon: 181.0,
                accuracy_m: None
            })
        )),
        "invalid_location"
    );
    assert_eq!(
        code(w.set_location(
            &boa(),
            at(4),
            &id,
            Some(Location {
                lat: f64::NAN,
                lon: 0.0,
                accuracy_m: None
            })
        )),
        "invalid_location"
    );
    assert_eq!(
        code(w.set_severity(&boa(), at(4), &item_id(2), Severity::Urgent)),
        "item_not_found"
    );
}

#[test]
fn add_photo_appends_once_and_checks_the_reference() {
    let mut w = walk();
    w.add_observation(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let a = format!("sha256:{}", "ab".repeat(32));
    let b = format!("sha256:{}", "01".repeat(32));
    w.add_photo(&boa(), at(2), &item_id(1), &a).unwrap();
    w.add_photo(&boa(), at(2), &item_id(1), &b).unwrap();
    w.add_photo(&boa(), at(2), &item_id(1), &a).unwrap();
    let v = w.walk().unwrap();
    assert_eq!(v.observations[&obs_key(1)].photos, vec![a.clone(), b]);
    for bad in [
        "sha256:abc",
        "md5:00",
        &format!("sha256:{}", "AB".repeat(32)),
    ] {
        assert_eq!(
            code(w.add_photo(&boa(), at(2), &item_id(1), bad)),
            "invalid_photo",
            "{bad}"
        );
    }
}

#[test]
fn delete_writes_a_tombstone_and_keeps_the_content() {
    let mut w = walk();
    w.add_observation(
        &Catalog::defaults(),
        &boa(),
        at(1),
        item(1, "drugs", "spuiten gevonden"),
    )
    .unwrap();
    w.delete_item(&user("coord-1"), at(10), &item_id(1))
        .unwrap();
    let k = obs_key(1);
    let d = w.automerge();
    assert_eq!(
        stored(d, &["observations", &k, "deleted", "at"]),
        format!("ts:{}", T0 + 10_000)
    );
    assert_eq!(
        stored(d, &["observations", &k, "deleted", "by"]),
        "str:coord-1"
    );
    assert_eq!(
        stored(d, &["observations", &k, "text"]),
        "text:spuiten gevonden"
    );
    let rows = w.project().unwrap();
    assert_eq!(rows.len(), 1, "deleted items stay in the projection");
    assert_eq!(
        rows[0].deleted.as_ref().and_then(|d| d.by.as_deref()),
        Some("coord-1")
    );

    assert_eq!(
        code(w.delete_item(&boa(), at(11), &item_id(1))),
        "item_deleted"
    );
    assert_eq!(
        code(w.set_severity(&boa(), at(11), &item_id(1), Severity::Urgent)),
        "item_deleted"
    );
    w.undelete_item(&boa(), at(12), &item_id(1)).unwrap();
    assert_eq!(
        stored(w.automerge(), &["observations", &k, "deleted"]),
        "absent"
    );
    assert_eq!(
        code(w.undelete_item(&boa(), at(13), &item_id(1))),
        "not_deleted"
    );
    assert_eq!(
        code(w.undelete_item(&boa(), at(13), &item_id(5))),
        "item_not_found"
    );
}

#[test]
fn follow_up_is_set_updated_and_spliced() {
    let c = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&c, &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let id = item_id(1);
    let k = obs_key(1);
    w.set_follow_up(
        &c,
        &user("coord-1"),
        at(2),
        &id,
        "politie",
        FollowUpStatus::Open,
        None,
    )
    .unwrap();
    let d = w.automerge();
    assert_eq!(
        stored(d, &["observations", &k, "follow_up", "politie", "status"]),
        "str:open"
    );
    assert_eq!(
        stored(d, &["observations", &k, "follow_up", "politie", "note"]),
        "text:"
    );
    assert_eq!(
        stored(
            d,
            &["observations", &k, "follow_up", "politie", "updated_by"]
        ),
        "str:coord-1"
    );
    w.set_follow_up(
        &c,
        &boa(),
        at(3),
        &id,
        "politie",
        FollowUpStatus::InBehandeling,
        Some("Wijkagent belt"),
    )
    .unwrap();
    w.set_follow_up(
        &c,
        &boa(),
        at(4),
        &id,
        "politie",
        FollowUpStatus::InBehandeling,
        None,
    )
    .unwrap();
    w.splice_follow_up_note(&user("coord-2"), at(5), &id, "politie", 10, 4, "gaat langs")
        .unwrap();
    let d = w.automerge();
    assert_eq!(
        stored(d, &["observations", &k, "follow_up", "politie", "status"]),
        "str:in_behandeling"
    );
    assert_eq!(
        stored(d, &["observations", &k, "follow_up", "politie", "note"]),
        "text:Wijkagent gaat langs"
    );
    assert_eq!(
        stored(
            d,
            &["observations", &k, "follow_up", "politie", "updated_at"]
        ),
        format!("ts:{}", T0 + 5000)
    );
    assert_eq!(
        stored(
            d,
            &["observations", &k, "follow_up", "politie", "updated_by"]
        ),
        "str:coord-2"
    );

    assert_eq!(
        code(w.set_follow_up(
            &c,
            &boa(),
            at(6),
            &id,
            "brandweer",
            FollowUpStatus::Open,
            None
        )),
        "unknown_partner"
    );
    assert_eq!(
        code(w.splice_follow_up_note(&boa(), at(6), &id, "school", 0, 0, "x")),
        "unknown_partner"
    );
    assert_eq!(
        code(w.splice_follow_up_note(&boa(), at(6), &id, "politie", 99, 0, "x")),
        "text_out_of_range"
    );
    // A partner retired later: existing entries can still be closed, new ones not.
    let retired = catalog_with_retired();
    w.set_follow_up(&c, &boa(), at(7), &id, "school", FollowUpStatus::Open, None)
        .unwrap();
    w.set_follow_up(
        &retired,
        &boa(),
        at(8),
        &id,
        "school",
        FollowUpStatus::Afgerond,
        None,
    )
    .unwrap();
    let mut w2 = walk();
    w2.add_observation(&c, &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    assert_eq!(
        code(w2.set_follow_up(
            &retired,
            &boa(),
            at(8),
            &id,
            "school",
            FollowUpStatus::Open,
            None
        )),
        "retired_partner"
    );
}

#[test]
fn feedback_needed_and_given() {
    let mut w = walk();
    w.add_observation(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let id = item_id(1);
    let k = obs_key(1);
    w.set_feedback_needed(&boa(), at(2), &id, true).unwrap();
    assert_eq!(
        stored(w.automerge(), &["observations", &k, "feedback", "needed"]),
        "bool:true"
    );
    w.set_feedback_needed(&boa(), at(2), &id, false).unwrap();
    assert_eq!(
        stored(w.automerge(), &["observations", &k, "feedback", "needed"]),
        "bool:false"
    );
    w.record_feedback_given(
        &user("coord-1"),
        at(3),
        &id,
        FeedbackChannel::EMail,
        at(-60),
    )
    .unwrap();
    let d = w.automerge();
    assert_eq!(
        stored(d, &["observations", &k, "feedback", "needed"]),
        "bool:true"
    );
    assert_eq!(
        stored(d, &["observations", &k, "feedback", "given_at"]),
        format!("ts:{}", T0 - 60_000)
    );
    assert_eq!(
        stored(d, &["observations", &k, "feedback", "channel"]),
        "str:e-mail"
    );
    assert_eq!(
        stored(d, &["observations", &k, "feedback", "by"]),
        "str:coord-1"
    );
    assert_eq!(
        code(w.record_feedback_given(
            &boa(),
            at(3),
            &id,
            FeedbackChannel::Brief,
            Timestamp::from_millis(-1)
        )),
        "invalid_timestamp"
    );
}

#[test]
fn start_and_end_walk() {
    let mut w = walk();
    assert_eq!(code(w.end_walk(&boa(), at(1))), "walk_not_started");
    w.start_walk(&boa(), at(1)).unwrap();
    assert_eq!(
        stored(w.automerge(), &["started_at"]),
        format!("ts:{}", T0 + 1000)
    );
    assert_eq!(code(w.start_walk(&boa(), at(2))), "walk_already_started");
    w.end_walk(&boa(), at(3)).unwrap();
    assert_eq!(
        stored(w.automerge(), &["ended_at"]),
        format!("ts:{}", T0 + 3000)
    );
    assert_eq!(code(w.end_walk(&boa(), at(4))), "walk_already_ended");
    assert_eq!(code(spreekuur().start_walk(&boa(), at(1))), "wrong_kind");
    assert_eq!(code(spreekuur().end_walk(&boa(), at(1))), "wrong_kind");
}

#[test]
fn reopen_walk_clears_the_end_and_records_who_and_when() {
    let mut w = walk();
    assert_eq!(code(w.reopen_walk(&boa(), at(1))), "walk_not_ended");
    w.start_walk(&boa(), at(1)).unwrap();
    assert_eq!(code(w.reopen_walk(&boa(), at(2))), "walk_not_ended");
    w.end_walk(&boa(), at(3)).unwrap();
    w.reopen_walk(&user("coord-1"), at(4)).unwrap();
    let view = w.walk().unwrap();
    assert_eq!(view.ended_at, None);
    assert_eq!(view.started_at, Some(T0 + 1000));
    assert_eq!(view.reopened_at, Some(T0 + 4000));
    assert_eq!(view.reopened_by.as_deref(), Some("coord-1"));
    // It can end again, and the history keeps every end and reopen, named.
    w.end_walk(&boa(), at(5)).unwrap();
    assert_eq!(w.walk().unwrap().ended_at, Some(T0 + 5000));
    let names: Vec<String> = w
        .automerge_mut()
        .get_changes(&[])
        .iter()
        .filter_map(|c| c.message().map(str::to_owned))
        .collect();
    assert_eq!(
        names,
        [
            "new_walk",
            "start_walk",
            "end_walk",
            "reopen_walk",
            "end_walk"
        ]
    );
    assert_eq!(code(spreekuur().reopen_walk(&boa(), at(1))), "wrong_kind");
}

#[test]
fn add_participant() {
    let mut w = walk();
    let init = NewParticipant {
        id: Some(item_id(3)),
        name: "Wethouder".into(),
        organisation: "Gemeente".into(),
    };
    let id = w.add_participant(&boa(), at(1), init.clone()).unwrap();
    assert_eq!(id, item_id(3));
    let k = id.to_string();
    assert_eq!(
        stored(w.automerge(), &["participants", &k, "name"]),
        "str:Wethouder"
    );
    assert_eq!(
        stored(w.automerge(), &["participants", &k, "organisation"]),
        "str:Gemeente"
    );
    assert_eq!(code(w.add_participant(&boa(), at(1), init)), "item_exists");
    let nameless = NewParticipant {
        id: None,
        name: " ".into(),
        organisation: String::new(),
    };
    assert_eq!(
        code(w.add_participant(&boa(), at(1), nameless.clone())),
        "empty_field"
    );
    assert_eq!(
        code(spreekuur().add_participant(&boa(), at(1), nameless)),
        "wrong_kind"
    );
}

#[test]
fn staff_is_keyed_by_user_id() {
    let mut s = spreekuur();
    s.add_staff(&boa(), at(1), &user("oov-3"), "Beleidsmedewerker")
        .unwrap();
    assert_eq!(
        stored(s.automerge(), &["staff", "oov-3", "name"]),
        "str:Beleidsmedewerker"
    );
    assert_eq!(
        code(s.add_staff(&boa(), at(1), &user("oov-3"), "x")),
        "staff_exists"
    );
    assert_eq!(
        code(s.add_staff(&boa(), at(1), &user("oov-4"), "")),
        "empty_field"
    );
    assert_eq!(
        code(walk().add_staff(&boa(), at(1), &user("oov-4"), "x")),
        "wrong_kind"
    );
}

fn contact(consent: bool) -> ResidentContact {
    ResidentContact {
        name: Some("J. Jansen".into()),
        phone: Some("+31 6 1234 5678".into()),
        email: Some("j@example.nl".into()),
        consent,
    }
}

#[test]
fn resident_contact_needs_consent_and_can_be_cleared() {
    let mut s = spreekuur();
    s.add_note(
        &Catalog::defaults(),
        &boa(),
        at(1),
        item(1, "woonoverlast", ""),
    )
    .unwrap();
    let id = item_id(1);
    let k = obs_key(1);
    assert_eq!(
        code(s.set_resident_contact(&boa(), at(2), &id, contact(false))),
        "consent_required"
    );
    assert_eq!(stored(s.automerge(), &["notes", &k, "resident"]), "absent");
    s.set_resident_contact(&boa(), at(2), &id, contact(true))
        .unwrap();
    let d = s.automerge();
    assert_eq!(
        stored(d, &["notes", &k, "resident", "name"]),
        "str:J. Jansen"
    );
    assert_eq!(
        stored(d, &["notes", &k, "resident", "phone"]),
        "str:+31 6 1234 5678"
    );
    assert_eq!(
        stored(d, &["notes", &k, "resident", "email"]),
        "str:j@example.nl"
    );
    assert_eq!(
        stored(d, &["notes", &k, "resident", "consent"]),
        "bool:true"
    );
    assert_eq!(
        stored(d, &["notes", &k, "resident", "consent_at"]),
        format!("ts:{}", T0 + 2000)
    );
    // Setting again with fewer fields removes the ones left out.
    let mut less = contact(true);
    less.email = Some("  ".into());
    s.set_resident_contact(&boa(), at(3), &id, less).unwrap();
    assert_eq!(
        stored(s.automerge(), &["notes", &k, "resident", "email"]),
        "absent"
    );

    let heads_with_contact = s.heads();
    s.delete_item(&boa(), at(4), &id).unwrap();
    s.clear_resident_contact(&boa(), at(5), &id).unwrap();
    let d = s.automerge();
    for f in ["name", "phone", "email"] {
        assert_eq!(stored(d, &["notes", &k, "resident", f]), "absent", "{f}");
    }
    assert_eq!(
        stored(d, &["notes", &k, "resident", "consent"]),
        "bool:true"
    );
    // Known limitation (docs/data-model.md): history still holds the old value.
    let r = obj_at(d, &["notes", &k, "resident"]);
    assert!(d.get_at(&r, "name", &heads_with_contact).unwrap().is_some());

    let mut bad = contact(true);
    bad.phone = Some("bel me".into());
    s.undelete_item(&boa(), at(6), &id).unwrap();
    assert_eq!(
        code(s.set_resident_contact(&boa(), at(6), &id, bad)),
        "invalid_phone"
    );
    let mut bad = contact(true);
    bad.email = Some("geen-at.nl".into());
    assert_eq!(
        code(s.set_resident_contact(&boa(), at(6), &id, bad)),
        "invalid_email"
    );
    let mut w = walk();
    w.add_observation(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    assert_eq!(
        code(w.set_resident_contact(&boa(), at(2), &id, contact(true))),
        "wrong_kind"
    );
    assert_eq!(
        code(w.clear_resident_contact(&boa(), at(2), &id)),
        "wrong_kind"
    );
}

#[test]
fn callback_request_and_completion() {
    let mut s = spreekuur();
    s.add_note(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let id = item_id(1);
    let k = obs_key(1);
    assert_eq!(
        code(s.complete_callback(&boa(), at(2), &id)),
        "callback_not_requested"
    );
    s.request_callback(
        &Catalog::defaults(),
        &boa(),
        at(2),
        &id,
        CallbackRequest::default(),
    )
    .unwrap();
    assert_eq!(
        stored(s.automerge(), &["notes", &k, "callback", "requested"]),
        "bool:true"
    );
    assert_eq!(
        stored(s.automerge(), &["notes", &k, "callback", "done_at"]),
        "absent"
    );
    s.complete_callback(&user("oov-3"), at(3), &id).unwrap();
    assert_eq!(
        stored(s.automerge(), &["notes", &k, "callback", "done_at"]),
        format!("ts:{}", T0 + 3000)
    );
    assert_eq!(
        stored(s.automerge(), &["notes", &k, "callback", "by"]),
        "str:oov-3"
    );
    assert_eq!(
        code(s.complete_callback(&boa(), at(4), &id)),
        "callback_already_done"
    );
    assert_eq!(
        code(walk().request_callback(
            &Catalog::defaults(),
            &boa(),
            at(4),
            &id,
            CallbackRequest::default()
        )),
        "wrong_kind"
    );
}

// ---------- catalog edits ----------

#[test]
fn catalog_categories_are_added_renamed_recoloured_and_retired() {
    let mut c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    let new = NewCategory {
        id: "graffiti".into(),
        label: "Graffiti".into(),
        color: "#123abc".into(),
        positive: false,
    };
    c.add_category(&boa(), at(1), new.clone()).unwrap();
    let d = c.automerge();
    assert_eq!(
        stored(d, &["categories", "graffiti", "label"]),
        "str:Graffiti"
    );
    assert_eq!(
        stored(d, &["categories", "graffiti", "color"]),
        "str:#123abc"
    );
    assert_eq!(
        stored(d, &["categories", "graffiti", "positive"]),
        "bool:false"
    );
    assert_eq!(stored(d, &["categories", "graffiti", "order"]), "int:12");
    assert_eq!(
        stored(d, &["categories", "graffiti", "retired"]),
        "bool:false"
    );
    c.rename_category(&boa(), at(2), "graffiti", "Graffiti / tags")
        .unwrap();
    c.set_category_color(&boa(), at(2), "graffiti", "#000000")
        .unwrap();
    c.retire_category(&boa(), at(3), "graffiti").unwrap();
    let cat = c.catalog().unwrap();
    let g = &cat.categories["graffiti"];
    assert_eq!(
        (g.label.as_deref(), g.color.as_deref(), g.retired),
        (Some("Graffiti / tags"), Some("#000000"), true)
    );
    assert_eq!(code(cat.check_category("graffiti")), "retired_category");

    assert_eq!(
        code(c.add_category(&boa(), at(4), new.clone())),
        "catalog_entry_exists"
    );
    assert_eq!(
        code(c.add_category(
            &boa(),
            at(4),
            NewCategory {
                id: "Graf".into(),
                ..new.clone()
            }
        )),
        "invalid_slug"
    );
    assert_eq!(
        code(c.add_category(
            &boa(),
            at(4),
            NewCategory {
                id: "x".into(),
                color: "#FFF".into(),
                ..new.clone()
            }
        )),
        "invalid_color"
    );
    assert_eq!(
        code(c.add_category(
            &boa(),
            at(4),
            NewCategory {
                id: "x".into(),
                label: "".into(),
                ..new
            }
        )),
        "empty_field"
    );
    assert_eq!(
        code(c.rename_category(&boa(), at(4), "nope", "x")),
        "unknown_category"
    );
    assert_eq!(
        code(c.set_category_color(&boa(), at(4), "drugs", "red")),
        "invalid_color"
    );
    assert_eq!(
        code(c.retire_category(&boa(), at(4), "graffiti")),
        "retired_category"
    );
    assert_eq!(
        code(walk().retire_category(&boa(), at(4), "drugs")),
        "wrong_kind"
    );
}

#[test]
fn partner_contact_fields_are_set_replaced_and_cleared() {
    let mut c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    c.set_partner_contact(
        &boa(),
        at(1),
        "politie",
        &wijklog_shared::PartnerContact {
            email: Some(" wijkagent@politie.example ".into()),
            phone: Some("0900-8844 (wijkagent)".into()),
            contact: Some("Mevrouw De Vries".into()),
        },
    )
    .unwrap();
    let p = &c.catalog().unwrap().partners["politie"];
    assert_eq!(p.email.as_deref(), Some("wijkagent@politie.example"));
    assert_eq!(p.phone.as_deref(), Some("0900-8844 (wijkagent)"));
    assert_eq!(p.contact.as_deref(), Some("Mevrouw De Vries"));
    assert_eq!(p.label, Catalog::defaults().partners["politie"].label);
    // Absent or blank fields are removed; the others replaced.
    c.set_partner_contact(
        &boa(),
        at(2),
        "politie",
        &wijklog_shared::PartnerContact {
            email: Some("team@politie.example".into()),
            phone: Some("  ".into()),
            contact: None,
        },
    )
    .unwrap();
    let cat = c.catalog().unwrap();
    let p = &cat.partners["politie"];
    assert_eq!(p.email.as_deref(), Some("team@politie.example"));
    assert_eq!((p.phone.as_deref(), p.contact.as_deref()), (None, None));
    assert!(cat.invalid.is_empty(), "{:?}", cat.invalid);
    // Bad input is refused and changes nothing.
    let heads = c.heads();
    let bad = |email: &str, phone: &str| wijklog_shared::PartnerContact {
        email: Some(email.into()),
        phone: Some(phone.into()),
        contact: None,
    };
    assert_eq!(
        code(c.set_partner_contact(&boa(), at(3), "politie", &bad("geen adres", ""))),
        "invalid_email"
    );
    assert_eq!(
        code(c.set_partner_contact(&boa(), at(3), "politie", &bad("", &"1".repeat(201)))),
        "field_too_long"
    );
    assert_eq!(
        code(c.set_partner_contact(&boa(), at(3), "politie", &bad("", "06\u{7}"))),
        "field_too_long"
    );
    assert_eq!(
        code(c.set_partner_contact(&boa(), at(3), "bestaat_niet", &bad("", ""))),
        "unknown_partner"
    );
    assert_eq!(c.heads(), heads);
}

#[test]
fn catalog_partners_and_wijken() {
    let mut c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    c.add_partner(&boa(), at(1), "brandweer", "Brandweer")
        .unwrap();
    c.rename_partner(&boa(), at(1), "brandweer", "Veiligheidsregio")
        .unwrap();
    c.retire_partner(&boa(), at(1), "brandweer").unwrap();
    c.add_wijk(
        &boa(),
        at(1),
        "noord",
        "Noord",
        Some([5.0, 52.0, 5.1, 52.1]),
    )
    .unwrap();
    c.rename_wijk(&boa(), at(1), "noord", "Noorderkwartier")
        .unwrap();
    c.add_wijk(&boa(), at(1), "zuid", "Zuid", None).unwrap();
    c.retire_wijk(&boa(), at(1), "zuid").unwrap();
    let d = c.automerge();
    assert_eq!(stored(d, &["partners", "brandweer", "order"]), "int:10");
    assert_eq!(stored(d, &["wijken", "noord", "bbox"]), "list:4");
    let cat = c.catalog().unwrap();
    assert!(cat.invalid.is_empty(), "{:?}", cat.invalid);
    assert_eq!(
        cat.partners["brandweer"].label.as_deref(),
        Some("Veiligheidsregio")
    );
    assert!(cat.partners["brandweer"].retired);
    assert_eq!(cat.wijken["noord"].bbox, Some([5.0, 52.0, 5.1, 52.1]));
    assert_eq!(
        cat.wijken["noord"].label.as_deref(),
        Some("Noorderkwartier")
    );
    assert_eq!(cat.wijken["noord"].order, Some(5));
    assert!(cat.wijken["zuid"].retired);
    assert_eq!(code(cat.check_partner("brandweer")), "retired_partner");
    assert_eq!(code(cat.check_wijk("zuid")), "retired_wijk");

    assert_eq!(
        code(c.add_partner(&boa(), at(2), "politie", "Politie")),
        "catalog_entry_exists"
    );
    assert_eq!(
        code(c.add_partner(&boa(), at(2), "a b", "x")),
        "invalid_slug"
    );
    assert_eq!(
        code(c.rename_partner(&boa(), at(2), "nope", "x")),
        "unknown_partner"
    );
    assert_eq!(
        code(c.retire_partner(&boa(), at(2), "brandweer")),
        "retired_partner"
    );
    assert_eq!(
        code(c.add_wijk(&boa(), at(2), "w", "W", Some([5.1, 52.0, 5.0, 52.1]))),
        "invalid_bbox"
    );
    assert_eq!(
        code(c.add_wijk(&boa(), at(2), "w", "W", Some([5.0, 95.0, 5.1, 96.0]))),
        "invalid_bbox"
    );
    assert_eq!(
        code(c.rename_wijk(&boa(), at(2), "nope", "x")),
        "unknown_wijk"
    );
    assert_eq!(code(c.retire_wijk(&boa(), at(2), "zuid")), "retired_wijk");
    assert_eq!(
        code(c.rename_wijk(&boa(), at(2), "noord", " ")),
        "empty_field"
    );
}

// ---------- changes, persistence and sync ----------

#[test]
fn each_edit_is_one_change_named_after_it_with_the_given_time() {
    let mut w = walk();
    let before = w.heads();
    w.add_observation(
        &Catalog::defaults(),
        &boa(),
        Timestamp::from_millis(T0 + 61_999),
        item(1, "drugs", ""),
    )
    .unwrap();
    let changes = w.automerge_mut().get_changes(&before);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].message(), Some("add_observation"));
    assert_eq!(changes[0].timestamp(), (T0 + 61_999) / 1000);
}

#[test]
fn a_refused_edit_changes_nothing() {
    let mut w = walk();
    w.add_observation(&Catalog::defaults(), &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    let before = w.save();
    let heads = w.heads();
    let _ = w.set_category(&Catalog::defaults(), &boa(), at(2), &item_id(1), "nope");
    let _ = w.splice_text(&boa(), at(2), &item_id(1), 5, 0, "x");
    assert_eq!(w.heads(), heads);
    assert_eq!(w.save(), before);
}

#[test]
fn save_load_incremental_and_merge() {
    let c = Catalog::defaults();
    let mut a = walk();
    let bytes = a.save();
    let mut b = Document::load(a.id(), &bytes).unwrap();
    assert_eq!(b.project().unwrap(), a.project().unwrap());
    assert!(a.save_incremental().is_empty(), "nothing new since save");
    a.add_observation(&c, &boa(), at(1), item(1, "drugs", "a"))
        .unwrap();
    let inc = a.save_incremental();
    assert!(!inc.is_empty());
    b.load_incremental(&inc).unwrap();
    assert_eq!(b.heads(), a.heads());
    b.add_observation(&c, &boa(), at(2), item(2, "verkeer", "b"))
        .unwrap();
    a.merge(&mut b).unwrap();
    assert_eq!(a.walk().unwrap().observations.len(), 2);
    assert_eq!(a.heads_hex().len(), 1);
    assert_eq!(a.heads_hex()[0].len(), 64);
    assert_eq!(
        code(Document::load(a.id(), b"not automerge")),
        "invalid_bytes"
    );
    // Like automerge itself, a torn or corrupt tail is skipped (crash recovery
    // of append-only files): nothing of it is applied.
    b.add_observation(&c, &boa(), at(3), item(3, "verkeer", "c"))
        .unwrap();
    let mut corrupt = b.save_incremental();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let heads = a.heads();
    assert_eq!(a.load_incremental(&corrupt).unwrap(), 0);
    assert_eq!(a.heads(), heads);
}

#[test]
fn sync_messages_bring_two_replicas_together() {
    let c = Catalog::defaults();
    let mut a = walk();
    let mut b = Document::load(a.id(), &a.save()).unwrap();
    a.add_observation(&c, &boa(), at(1), item(1, "drugs", "a"))
        .unwrap();
    b.add_observation(&c, &boa(), at(1), item(2, "drugs", "b"))
        .unwrap();
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    for _ in 0..10 {
        let m1 = a.generate_sync_message(&mut sa);
        if let Some(m) = &m1 {
            b.receive_sync_message(&mut sb, m).unwrap();
        }
        let m2 = b.generate_sync_message(&mut sb);
        if let Some(m) = &m2 {
            a.receive_sync_message(&mut sa, m).unwrap();
        }
        if m1.is_none() && m2.is_none() {
            break;
        }
    }
    assert_eq!(a.heads(), b.heads());
    assert_eq!(a.project().unwrap().len(), 2);
    assert_eq!(
        code(a.receive_sync_message(&mut sa, b"\x00junk")),
        "invalid_sync_message"
    );
}

#[test]
fn pending_changes_counts_own_changes_not_covered_by_acked_heads() {
    let c = Catalog::defaults();
    let mut w = walk();
    let acked = w.heads();
    assert_eq!(w.pending_changes(&acked), 0);
    assert_eq!(w.pending_changes(&[]), 1, "the creating change");
    w.add_observation(&c, &boa(), at(1), item(1, "drugs", ""))
        .unwrap();
    w.splice_text(&boa(), at(2), &item_id(1), 0, 0, "x")
        .unwrap();
    assert_eq!(w.pending_changes(&acked), 2);
    let mut other = w.fork();
    other
        .add_observation(&c, &boa(), at(3), item(2, "drugs", ""))
        .unwrap();
    w.merge(&mut other).unwrap();
    assert_eq!(
        w.pending_changes(&acked),
        2,
        "changes of other actors are not ours"
    );
    let now = w.heads();
    assert_eq!(w.pending_changes(&now), 0);
}

#[test]
fn every_error_code_is_distinct() {
    use wijklog_shared::CatalogSection::*;
    let errors = vec![
        Error::InvalidDocId,
        Error::InvalidItemId,
        Error::InvalidUserId,
        Error::InvalidDocKind,
        Error::InvalidSeverity,
        Error::InvalidFollowUpStatus,
        Error::InvalidFeedbackChannel,
        Error::InvalidSlug,
        Error::InvalidColor,
        Error::InvalidLocation,
        Error::InvalidBbox,
        Error::InvalidPhoto,
        Error::InvalidEmail,
        Error::InvalidPhone,
        Error::EmptyField("x"),
        Error::InvalidDocument("x"),
        Error::WrongKind {
            expected: DocKind::Walk,
            found: DocKind::Catalog,
        },
        Error::NotInCatalog {
            section: Category,
            id: "x".into(),
        },
        Error::NotInCatalog {
            section: Partner,
            id: "x".into(),
        },
        Error::NotInCatalog {
            section: Wijk,
            id: "x".into(),
        },
        Error::Retired {
            section: Category,
            id: "x".into(),
        },
        Error::Retired {
            section: Partner,
            id: "x".into(),
        },
        Error::Retired {
            section: Wijk,
            id: "x".into(),
        },
        Error::CatalogEntryExists {
            section: Wijk,
            id: "x".into(),
        },
        Error::ItemNotFound(item_id(1)),
        Error::ItemExists(item_id(1)),
        Error::ItemDeleted(item_id(1)),
        Error::NotDeleted(item_id(1)),
        Error::WalkAlreadyStarted,
        Error::WalkNotStarted,
        Error::WalkAlreadyEnded,
        Error::ConsentRequired,
        Error::CallbackNotRequested,
        Error::CallbackAlreadyDone,
        Error::StaffExists,
        Error::TextOutOfRange { len: 1 },
        Error::NotText("x"),
        Error::InvalidTimestamp,
        Error::InvalidSyncMessage,
    ];
    let mut codes: Vec<&str> = errors.iter().map(Error::code).collect();
    let n = codes.len();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), n);
    for e in &errors {
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(
        Error::NotInCatalog {
            section: Category,
            id: "graffiti".into()
        }
        .to_string(),
        "unknown category 'graffiti'"
    );
}

// ---------- teams and English labels ----------

#[test]
fn catalog_teams_are_added_renamed_and_retired() {
    let mut c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    assert!(c.catalog().unwrap().teams.is_empty());
    assert_eq!(stored(c.automerge(), &["teams"]), "map");
    c.add_team(&boa(), at(1), "team-oost", "Team Oost").unwrap();
    c.add_team(&boa(), at(1), "team-west", " Team West ")
        .unwrap();
    c.rename_team(&boa(), at(2), "team-oost", "Team Oost (Bovenmaten)")
        .unwrap();
    c.retire_team(&boa(), at(3), "team-west").unwrap();
    let d = c.automerge();
    assert_eq!(stored(d, &["teams", "team-west", "label"]), "str:Team West");
    assert_eq!(stored(d, &["teams", "team-west", "order"]), "int:1");
    let cat = c.catalog().unwrap();
    assert!(cat.invalid.is_empty(), "{:?}", cat.invalid);
    assert_eq!(
        cat.teams["team-oost"].label.as_deref(),
        Some("Team Oost (Bovenmaten)")
    );
    assert!(cat.teams["team-west"].retired);
    assert!(cat.check_team("team-oost").is_ok());
    assert_eq!(code(cat.check_team("team-west")), "retired_team");
    assert_eq!(code(cat.check_team("Team Oost")), "unknown_team");
    assert_eq!(
        code(c.add_team(&boa(), at(4), "Team Oost", "Team Oost")),
        "invalid_slug"
    );
    assert_eq!(
        code(c.add_team(&boa(), at(4), "team-oost", "Nog een")),
        "catalog_entry_exists"
    );
    assert_eq!(
        code(c.add_team(&boa(), at(4), "team-noord", "  ")),
        "empty_field"
    );
    assert_eq!(
        code(c.rename_team(&boa(), at(4), "team-zuid", "Zuid")),
        "unknown_team"
    );
    assert_eq!(
        code(c.retire_team(&boa(), at(4), "team-west")),
        "retired_team"
    );
}

#[test]
fn a_catalog_made_before_teams_gets_its_team_list_with_the_first_team() {
    let mut c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    c.automerge_mut().delete(ROOT, "teams").unwrap();
    c.automerge_mut().commit();
    let cat = c.catalog().unwrap();
    assert!(cat.teams.is_empty());
    assert!(cat.invalid.is_empty(), "{:?}", cat.invalid);
    assert_eq!(
        code(c.rename_team(&boa(), at(1), "team-oost", "x")),
        "unknown_team"
    );
    c.add_team(&boa(), at(1), "team-oost", "Team Oost").unwrap();
    c.add_team(&boa(), at(1), "team-west", "Team West").unwrap();
    let cat = c.catalog().unwrap();
    assert_eq!(cat.teams.len(), 2);
    assert_eq!(cat.teams["team-oost"].order, Some(0));
    assert_eq!(cat.teams["team-west"].order, Some(1));
}

#[test]
fn english_labels_are_set_cleared_and_only_for_words() {
    use wijklog_shared::CatalogSection;
    let mut c = Document::new_catalog_with_defaults(doc_id(3)).unwrap();
    let cat = c.catalog().unwrap();
    assert_eq!(
        cat.categories["woonoverlast"].label_en.as_deref(),
        Some("Housing nuisance")
    );
    assert_eq!(
        cat.severities["zorgelijk"].label_en.as_deref(),
        Some("Worrying")
    );
    assert_eq!(
        cat.partners["politie"].label_en.as_deref(),
        Some("Police (community officer)")
    );
    c.add_partner(&boa(), at(1), "brandweer", "Brandweer")
        .unwrap();
    assert_eq!(c.catalog().unwrap().partners["brandweer"].label_en, None);
    c.set_label_en(
        &boa(),
        at(2),
        CatalogSection::Partner,
        "brandweer",
        " Fire brigade ",
    )
    .unwrap();
    c.set_label_en(&boa(), at(2), CatalogSection::Severity, "urgent", "Urgent!")
        .unwrap();
    c.set_label_en(&boa(), at(2), CatalogSection::Category, "drugs", "")
        .unwrap();
    let d = c.automerge();
    assert_eq!(
        stored(d, &["partners", "brandweer", "label_en"]),
        "str:Fire brigade"
    );
    assert_eq!(stored(d, &["categories", "drugs", "label_en"]), "absent");
    let cat = c.catalog().unwrap();
    assert_eq!(
        cat.severities["urgent"].label_en.as_deref(),
        Some("Urgent!")
    );
    assert_eq!(cat.categories["drugs"].label_en, None);
    assert_eq!(cat.categories["drugs"].label.as_deref(), Some("Drugs"));
    assert_eq!(
        code(c.set_label_en(&boa(), at(3), CatalogSection::Category, "nope", "x")),
        "unknown_category"
    );
    assert_eq!(
        code(c.set_label_en(&boa(), at(3), CatalogSection::Wijk, "centrum", "Centre")),
        "invalid_document"
    );
    assert_eq!(
        code(c.set_label_en(
            &boa(),
            at(3),
            CatalogSection::Partner,
            "politie",
            &"x".repeat(201)
        )),
        "field_too_long"
    );
}
