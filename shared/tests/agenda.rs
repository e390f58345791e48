//! The walk's agenda: residents' points a coordinator put on a walk, and the
//! boa's "bekeken" mark (docs/data-model.md, "agenda").

mod common;

use common::*;
use wijklog_shared::{Catalog, Document, Error, Location, NewAgendaPoint};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    r.expect_err("expected an error").code()
}

fn point(id: i64, text: &str) -> NewAgendaPoint {
    NewAgendaPoint {
        point: id,
        text: text.into(),
        category: Some("openbare_ruimte".into()),
        place: Some(" Kostmand 12 ".into()),
        location: Some(Location {
            lat: 52.3,
            lon: 5.25,
            accuracy_m: None,
        }),
    }
}

fn coordinator() -> wijklog_shared::UserId {
    user("coord-1")
}

#[test]
fn an_agenda_point_is_written_in_the_contract_shape() {
    let mut w = walk();
    let c = Catalog::defaults();
    w.add_agenda_point(
        &c,
        &coordinator(),
        at(10),
        point(7, "  Lamp kapot bij de speeltuin "),
    )
    .unwrap();
    let d = w.automerge();
    assert_eq!(stored(d, &["agenda"]), "map");
    assert_eq!(
        stored(d, &["agenda", "7", "text"]),
        "text:Lamp kapot bij de speeltuin"
    );
    assert_eq!(
        stored(d, &["agenda", "7", "category"]),
        "str:openbare_ruimte"
    );
    assert_eq!(stored(d, &["agenda", "7", "place"]), "str:Kostmand 12");
    assert_eq!(stored(d, &["agenda", "7", "location", "lat"]), "f64:52.3");
    assert_eq!(
        stored(d, &["agenda", "7", "added_at"]),
        format!("ts:{}", T0 + 10_000)
    );
    assert_eq!(stored(d, &["agenda", "7", "added_by"]), "str:coord-1");
    assert_eq!(stored(d, &["agenda", "7", "looked_at"]), "absent");
    let view = w.walk().unwrap();
    let p = &view.agenda["7"];
    assert_eq!(p.text.as_deref(), Some("Lamp kapot bij de speeltuin"));
    assert_eq!(p.place.as_deref(), Some("Kostmand 12"));
    assert_eq!(p.added_by.as_deref(), Some("coord-1"));
    assert!(p.looked_at.is_none());
    assert!(p.invalid.is_empty(), "{:?}", p.invalid);
    // One change, named after the edit.
    let changes = w.automerge_mut().get_changes(&[]);
    assert_eq!(changes.last().unwrap().message(), Some("add_agenda_point"));
}

#[test]
fn a_walk_without_agenda_reads_and_serializes_as_before() {
    let w = walk();
    let view = w.walk().unwrap();
    assert!(view.agenda.is_empty());
    let json = serde_json::to_value(&view).unwrap();
    assert!(json.get("agenda").is_none(), "{json}");
}

#[test]
fn adding_is_refused_for_bad_arguments_twice_and_after_the_end() {
    let c = Catalog::defaults();
    let mut w = walk();
    let by = coordinator();
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(1), point(0, "x"))),
        "invalid_point"
    );
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(1), point(1, "  "))),
        "empty_field"
    );
    let long = "a".repeat(wijklog_shared::MAX_AGENDA_TEXT_CHARS + 1);
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(1), point(1, &long))),
        "field_too_long"
    );
    let mut p = point(1, "x");
    p.category = Some("onbekend".into());
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(1), p)),
        "unknown_category"
    );
    let mut p = point(1, "x");
    p.location = Some(Location {
        lat: 91.0,
        lon: 0.0,
        accuracy_m: None,
    });
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(1), p)),
        "invalid_location"
    );
    // None of the refusals wrote anything.
    assert!(w.walk().unwrap().agenda.is_empty());
    assert_eq!(stored(w.automerge(), &["agenda"]), "absent");

    w.add_agenda_point(&c, &by, at(1), point(1, "x")).unwrap();
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(2), point(1, "y"))),
        "agenda_point_exists"
    );
    w.start_walk(&boa(), at(3)).unwrap();
    w.end_walk(&boa(), at(4)).unwrap();
    assert_eq!(
        code(w.add_agenda_point(&c, &by, at(5), point(2, "z"))),
        "walk_already_ended"
    );
    let mut s = spreekuur();
    assert_eq!(
        code(s.add_agenda_point(&c, &by, at(1), point(3, "z"))),
        "wrong_kind"
    );
}

#[test]
fn looked_at_marks_link_the_observation_and_can_be_undone() {
    let c = Catalog::defaults();
    let mut w = walk();
    w.add_agenda_point(&c, &coordinator(), at(1), point(5, "Fietswrakken"))
        .unwrap();
    assert_eq!(
        code(w.mark_agenda_looked_at(&boa(), at(2), 6, None)),
        "agenda_point_not_found"
    );
    assert_eq!(
        code(w.mark_agenda_looked_at(&boa(), at(2), 5, Some(&item_id(1)))),
        "item_not_found"
    );
    // One action: the observation and the mark that links it, one change.
    let obs = w
        .action(at(3), |d| {
            let id = d.add_observation(&c, &boa(), at(3), item(1, "vervuiling", "Drie wrakken"))?;
            d.mark_agenda_looked_at(&boa(), at(3), 5, Some(&id))?;
            Ok(id)
        })
        .unwrap();
    let changes = w.automerge_mut().get_changes(&[]);
    assert_eq!(
        changes.last().unwrap().message(),
        Some("add_observation,mark_agenda_looked_at")
    );
    let view = w.walk().unwrap();
    let look = view.agenda["5"].looked_at.clone().expect("marked");
    assert_eq!(look.at, Some(T0 + 3_000));
    assert_eq!(look.by.as_deref(), Some("boa-1"));
    assert_eq!(look.observation, Some(obs.to_string()));

    w.unmark_agenda_looked_at(&boa(), at(4), 5).unwrap();
    assert!(w.walk().unwrap().agenda["5"].looked_at.is_none());
    // Unmarking what is not marked writes nothing.
    let heads = w.heads();
    w.unmark_agenda_looked_at(&boa(), at(5), 5).unwrap();
    assert_eq!(w.heads(), heads);
    w.mark_agenda_looked_at(&boa(), at(6), 5, None).unwrap();
    assert_eq!(
        w.walk().unwrap().agenda["5"]
            .looked_at
            .as_ref()
            .unwrap()
            .observation,
        None
    );

    w.remove_agenda_point(&coordinator(), at(7), 5).unwrap();
    assert!(w.walk().unwrap().agenda.is_empty());
    assert_eq!(
        code(w.remove_agenda_point(&coordinator(), at(8), 5)),
        "agenda_point_not_found"
    );
}

/// The server adds a point while a phone, offline, marks another one and
/// logs an observation: after they merge, both are there on both copies.
#[test]
fn a_point_added_on_the_server_and_a_mark_made_offline_both_survive() {
    let c = Catalog::defaults();
    let mut server = walk();
    server
        .add_agenda_point(&c, &coordinator(), at(1), point(1, "Eerste punt"))
        .unwrap();
    let mut phone = Document::load(server.id(), &server.save()).unwrap();
    // Offline on the phone.
    let obs = phone
        .action(at(5), |d| {
            let id = d.add_observation(&c, &boa(), at(5), item(2, "vervuiling", "Gezien"))?;
            d.mark_agenda_looked_at(&boa(), at(5), 1, Some(&id))?;
            Ok(id)
        })
        .unwrap();
    // Meanwhile on the server.
    server
        .add_agenda_point(&c, &coordinator(), at(6), point(2, "Tweede punt"))
        .unwrap();
    server.merge(&mut phone).unwrap();
    phone.merge(&mut server).unwrap();
    for d in [&server, &phone] {
        let v = d.walk().unwrap();
        assert_eq!(v.agenda.len(), 2);
        assert_eq!(
            v.agenda["1"].looked_at.as_ref().unwrap().observation,
            Some(obs.to_string())
        );
        assert!(v.agenda["2"].looked_at.is_none());
        assert!(v.observations.contains_key(&obs.to_string()));
    }
}

#[test]
fn malformed_agenda_entries_are_read_tolerantly() {
    use wijklog_shared::automerge::transaction::Transactable;
    use wijklog_shared::automerge::{ObjType, ROOT};
    let mut w = walk();
    let d = w.automerge_mut();
    let agenda = d.put_object(ROOT, "agenda", ObjType::Map).unwrap();
    d.put(&agenda, "3", "not a map").unwrap();
    let e = d.put_object(&agenda, "4", ObjType::Map).unwrap();
    d.put(&e, "text", "plain string text").unwrap();
    d.put(&e, "added_at", "gisteren").unwrap();
    let l = d.put_object(&e, "looked_at", ObjType::Map).unwrap();
    d.put(&l, "by", "boa-2").unwrap();
    d.commit();
    let v = w.walk().unwrap();
    assert_eq!(v.agenda.len(), 2);
    assert!(v.agenda["3"].text.is_none());
    assert!(
        v.agenda["3"].invalid.contains_key(""),
        "{:?}",
        v.agenda["3"].invalid
    );
    let p = &v.agenda["4"];
    assert_eq!(p.text.as_deref(), Some("plain string text"));
    assert_eq!(p.added_at, None);
    assert!(p.invalid.contains_key("added_at"), "{:?}", p.invalid);
    let look = p.looked_at.as_ref().unwrap();
    assert_eq!(look.by.as_deref(), Some("boa-2"));
    assert!(p.invalid.contains_key("looked_at.at"), "{:?}", p.invalid);
}
