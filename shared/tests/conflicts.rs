//! Two offline replicas create the same sub-map of an item (a follow-up entry,
//! a resident contact, a call-back request): after sync nothing either of them
//! typed is lost, in the read models, in the projection and (after an edit
//! heals the entry) in the document's winning object.

mod common;

use common::*;
use wijklog_shared::automerge::{ActorId, ObjType, ReadDoc, Value};
use wijklog_shared::{
    CallbackRequest, Catalog, Document, Error, FeedbackChannel, FollowUpStatus, Item,
    ResidentContact, UserId, View,
};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    r.expect_err("expected an error").code()
}

/// Two replicas of `doc` with fixed, different actors.
fn replicas(doc: &mut Document) -> (Document, Document) {
    let mut a = doc.fork();
    a.set_actor(ActorId::from(vec![0xaa; 16]));
    let mut b = doc.fork();
    b.set_actor(ActorId::from(vec![0xbb; 16]));
    (a, b)
}

fn sync(a: &mut Document, b: &mut Document) {
    a.merge(b).expect("merge b into a");
    b.merge(a).expect("merge a into b");
    assert_eq!(a.heads(), b.heads());
}

fn the_item(doc: &Document) -> Item {
    let key = item_id(1).to_string();
    match doc.view().expect("view") {
        View::Walk(w) => w.observations[&key].clone(),
        View::Spreekuur(s) => s.notes[&key].clone(),
        View::Catalog(_) => panic!("catalog"),
    }
}

/// How many values the document holds at `path` (2 = a conflict).
fn values_at(doc: &Document, path: &[&str]) -> usize {
    let (last, parents) = path.split_last().expect("path");
    let obj = obj_at(doc.automerge(), parents);
    doc.automerge().get_all(&obj, *last).expect("get_all").len()
}

fn coordinator() -> UserId {
    user("coord-1")
}

const NOTE_A: &str = "Wijkagent ingelicht";
const NOTE_B: &str = "Bewoner gesproken, komt terug";

/// A walk with one observation, forked into two replicas that both create
/// `follow_up.politie` with their own status and note, then sync.
fn conflicting_follow_up() -> (Document, Document) {
    let cat = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&cat, &boa(), at(1), item(1, "drugs", "Handel bij de bank"))
        .unwrap();
    let (mut a, mut b) = replicas(&mut w);
    let id = item_id(1);
    a.set_follow_up(
        &cat,
        &coordinator(),
        at(10),
        &id,
        "politie",
        FollowUpStatus::Open,
        Some(NOTE_A),
    )
    .unwrap();
    b.set_follow_up(
        &cat,
        &boa(),
        at(11),
        &id,
        "politie",
        FollowUpStatus::InBehandeling,
        Some(NOTE_B),
    )
    .unwrap();
    sync(&mut a, &mut b);
    (a, b)
}

#[test]
fn concurrent_follow_up_entries_show_both_notes_everywhere() {
    let (a, b) = conflicting_follow_up();
    let k = item_id(1).to_string();
    assert_eq!(
        values_at(&a, &["observations", &k, "follow_up", "politie"]),
        2
    );

    let item = the_item(&a);
    assert_eq!(item, the_item(&b), "both replicas read the same merge");
    let fu = &item.follow_up["politie"];
    let note = fu.note.clone().expect("note");
    // Winner first, the other note on its own line; which one wins is
    // automerge's choice, the same on every replica.
    let (winner_status, loser_status) = if note == format!("{NOTE_A}\n{NOTE_B}") {
        ("open", "in_behandeling")
    } else {
        assert_eq!(note, format!("{NOTE_B}\n{NOTE_A}"));
        ("in_behandeling", "open")
    };
    assert_eq!(fu.status.map(|s| s.as_str()), Some(winner_status));
    // The losing status is visible, the stamps are not listed.
    assert_eq!(item.conflicts.len(), 1, "{:?}", item.conflicts);
    assert_eq!(
        item.conflicts["follow_up.politie.status"],
        vec![loser_status.to_owned()]
    );

    let rows_a = a.project().unwrap();
    assert_eq!(rows_a, b.project().unwrap());
    assert_eq!(
        rows_a[0].follow_up["politie"].note.as_deref(),
        Some(note.as_str())
    );
    assert_eq!(rows_a[0].conflicts, item.conflicts);
    let json = serde_json::to_value(&rows_a[0]).unwrap();
    assert_eq!(
        json["conflicts"]["follow_up.politie.status"][0].as_str(),
        Some(loser_status)
    );
}

#[test]
fn an_edit_heals_the_entry_into_the_winning_text() {
    let (mut a, mut b) = conflicting_follow_up();
    let k = item_id(1).to_string();
    let merged = the_item(&a).follow_up["politie"].note.clone().unwrap();
    let end = merged.chars().count();
    // Positions count in the note as read (winner + loser text).
    a.splice_follow_up_note(
        &coordinator(),
        at(20),
        &item_id(1),
        "politie",
        end,
        0,
        " (gezien)",
    )
    .unwrap();
    let winner_note = stored(
        a.automerge(),
        &["observations", &k, "follow_up", "politie", "note"],
    );
    assert_eq!(winner_note, format!("text:{merged} (gezien)"));
    sync(&mut a, &mut b);
    for r in [&a, &b] {
        let note = the_item(r).follow_up["politie"].note.clone().unwrap();
        assert_eq!(note, format!("{merged} (gezien)"), "nothing appended twice");
    }
    // Out of range of the merged note: refused, nothing written.
    let heads = a.heads();
    assert_eq!(
        code(a.splice_follow_up_note(
            &coordinator(),
            at(21),
            &item_id(1),
            "politie",
            end + 99,
            0,
            "x"
        )),
        "text_out_of_range"
    );
    assert_eq!(a.heads(), heads);
}

#[test]
fn concurrent_heals_converge_without_loss() {
    let (mut a, mut b) = conflicting_follow_up();
    let k = item_id(1).to_string();
    let cat = Catalog::defaults();
    let id = item_id(1);
    // Both replicas heal concurrently with different edits.
    a.set_follow_up(
        &cat,
        &coordinator(),
        at(30),
        &id,
        "politie",
        FollowUpStatus::Afgerond,
        None,
    )
    .unwrap();
    b.splice_follow_up_note(&boa(), at(31), &id, "politie", 0, 0, "Update: ")
        .unwrap();
    sync(&mut a, &mut b);
    assert_eq!(the_item(&a), the_item(&b));
    assert_eq!(a.project().unwrap(), b.project().unwrap());
    let winner_note = stored(
        a.automerge(),
        &["observations", &k, "follow_up", "politie", "note"],
    );
    assert_eq!(
        winner_note,
        stored(
            b.automerge(),
            &["observations", &k, "follow_up", "politie", "note"]
        )
    );
    for text in [NOTE_A, NOTE_B, "Update: "] {
        assert!(
            winner_note.contains(text),
            "{text:?} lost from {winner_note:?}"
        );
        let read = the_item(&a).follow_up["politie"].note.clone().unwrap();
        assert!(read.contains(text), "{text:?} lost from the view");
    }
}

fn two_phones() -> (Document, Document) {
    let cat = Catalog::defaults();
    let mut s = spreekuur();
    s.add_note(
        &cat,
        &boa(),
        at(1),
        item(1, "woonoverlast", "Geluidsoverlast"),
    )
    .unwrap();
    let (mut a, mut b) = replicas(&mut s);
    let id = item_id(1);
    a.set_resident_contact(
        &boa(),
        at(10),
        &id,
        ResidentContact {
            name: Some("J. Jansen".into()),
            phone: Some("06 1111 1111".into()),
            email: None,
            consent: true,
        },
    )
    .unwrap();
    b.set_resident_contact(
        &user("staff-2"),
        at(11),
        &id,
        ResidentContact {
            name: None,
            phone: Some("06 2222 2222".into()),
            email: Some("jansen@example.nl".into()),
            consent: true,
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    (a, b)
}

#[test]
fn concurrent_resident_contacts_keep_both_phones_visible() {
    let (a, b) = two_phones();
    let k = item_id(1).to_string();
    assert_eq!(values_at(&a, &["notes", &k, "resident"]), 2);
    let item = the_item(&a);
    assert_eq!(item, the_item(&b));
    let r = item.resident.clone().expect("resident");
    // Fields only one of them typed are filled in from the other.
    assert_eq!(r.name.as_deref(), Some("J. Jansen"));
    assert_eq!(r.email.as_deref(), Some("jansen@example.nl"));
    assert_eq!(r.consent, Some(true));
    let shown = r.phone.clone().expect("phone");
    let other = if shown == "06 1111 1111" {
        "06 2222 2222"
    } else {
        "06 1111 1111"
    };
    assert!(shown == "06 2222 2222" || shown == "06 1111 1111");
    assert_eq!(item.conflicts["resident.phone"], vec![other.to_owned()]);
    assert_eq!(a.project().unwrap(), b.project().unwrap());
    assert_eq!(
        a.project().unwrap()[0].conflicts["resident.phone"],
        vec![other.to_owned()]
    );
}

#[test]
fn resident_edits_after_the_conflict_remove_from_every_copy() {
    let (mut a, mut b) = two_phones();
    let id = item_id(1);
    let shown = the_item(&a).resident.unwrap().phone.unwrap();
    // Setting the contact again without e-mail removes the e-mail everywhere:
    // it does not come back from the losing copy.
    a.set_resident_contact(
        &boa(),
        at(20),
        &id,
        ResidentContact {
            name: Some("J. Jansen".into()),
            phone: Some(shown.clone()),
            email: None,
            consent: true,
        },
    )
    .unwrap();
    sync(&mut a, &mut b);
    let item = the_item(&b);
    let r = item.resident.clone().unwrap();
    assert_eq!(r.email, None);
    assert_eq!(r.phone.as_deref(), Some(shown.as_str()));
    assert_eq!(
        item.conflicts.get("resident.phone").map(Vec::len),
        Some(1),
        "other phone still visible"
    );

    // Retention: clearing removes name, phone and e-mail from both copies.
    b.clear_resident_contact(&boa(), at(30), &id).unwrap();
    sync(&mut a, &mut b);
    for d in [&a, &b] {
        let item = the_item(d);
        let r = item.resident.unwrap();
        assert_eq!((r.name, r.phone, r.email), (None, None, None));
        assert!(item.conflicts.is_empty(), "{:?}", item.conflicts);
        let json = serde_json::to_string(&d.project().unwrap()).unwrap();
        assert!(!json.contains("06 1111") && !json.contains("06 2222"));
    }
}

#[test]
fn concurrent_callbacks_merge_and_the_done_mark_is_not_lost() {
    let mut s = spreekuur();
    s.add_note(
        &Catalog::defaults(),
        &boa(),
        at(1),
        item(1, "woonoverlast", "Bel terug"),
    )
    .unwrap();
    let (mut a, mut b) = replicas(&mut s);
    let id = item_id(1);
    // `a` (the lower actor) loses the conflict: its done mark is in the loser.
    a.request_callback(
        &Catalog::defaults(),
        &user("staff-2"),
        at(10),
        &id,
        CallbackRequest::default(),
    )
    .unwrap();
    a.complete_callback(&user("staff-2"), at(12), &id).unwrap();
    b.request_callback(
        &Catalog::defaults(),
        &boa(),
        at(11),
        &id,
        CallbackRequest::default(),
    )
    .unwrap();
    sync(&mut a, &mut b);
    let k = item_id(1).to_string();
    assert_eq!(values_at(&a, &["notes", &k, "callback"]), 2);
    for d in [&a, &b] {
        let c = the_item(d).callback.unwrap();
        assert_eq!(c.requested, Some(true));
        assert_eq!(c.done_at, Some(at(12).as_millis()));
        assert_eq!(c.by.as_deref(), Some("staff-2"));
    }
    assert_eq!(a.project().unwrap(), b.project().unwrap());
    // The edit sees the merged entry too: already done, on either replica.
    assert_eq!(
        code(a.complete_callback(&boa(), at(20), &id)),
        "callback_already_done"
    );
    assert_eq!(
        code(b.complete_callback(&boa(), at(20), &id)),
        "callback_already_done"
    );
    // A healing edit folds the done mark into the winning object.
    assert_eq!(
        stored(b.automerge(), &["notes", &k, "callback", "by"]),
        "absent"
    );
    b.request_callback(
        &Catalog::defaults(),
        &boa(),
        at(21),
        &id,
        CallbackRequest::default(),
    )
    .unwrap();
    assert_eq!(
        stored(b.automerge(), &["notes", &k, "callback", "by"]),
        "str:staff-2"
    );
}

#[test]
fn a_follow_up_container_created_twice_keeps_every_partner() {
    // Documents written by other clients may lack `follow_up`; two replicas
    // then create it concurrently, each with another partner.
    let cat = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&cat, &boa(), at(1), item(1, "drugs", "x"))
        .unwrap();
    let k = item_id(1).to_string();
    let obs = obj_at(w.automerge(), &["observations", &k]);
    {
        use wijklog_shared::automerge::transaction::Transactable;
        w.automerge_mut().delete(&obs, "follow_up").unwrap();
    }
    let (mut a, mut b) = replicas(&mut w);
    let id = item_id(1);
    a.set_follow_up(
        &cat,
        &coordinator(),
        at(10),
        &id,
        "politie",
        FollowUpStatus::Open,
        Some("p"),
    )
    .unwrap();
    b.set_follow_up(
        &cat,
        &boa(),
        at(11),
        &id,
        "school",
        FollowUpStatus::Open,
        Some("s"),
    )
    .unwrap();
    sync(&mut a, &mut b);
    assert!(matches!(
        a.automerge().get(&obs, "follow_up").unwrap(),
        Some((Value::Object(ObjType::Map), _))
    ));
    for d in [&a, &b] {
        let fu = the_item(d).follow_up;
        assert_eq!(fu.keys().collect::<Vec<_>>(), ["politie", "school"]);
        assert_eq!(fu["politie"].note.as_deref(), Some("p"));
        assert_eq!(fu["school"].note.as_deref(), Some("s"));
    }
}

#[test]
fn concurrent_feedback_maps_keep_the_given_record() {
    // Documents written by other clients may lack `feedback`; two replicas
    // then create it concurrently.
    let cat = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&cat, &boa(), at(1), item(1, "drugs", "x"))
        .unwrap();
    let k = item_id(1).to_string();
    let obs = obj_at(w.automerge(), &["observations", &k]);
    {
        use wijklog_shared::automerge::transaction::Transactable;
        w.automerge_mut().delete(&obs, "feedback").unwrap();
    }
    let (mut a, mut b) = replicas(&mut w);
    let id = item_id(1);
    // The lower actor `a` loses: its record is in the losing copy.
    a.record_feedback_given(&boa(), at(10), &id, FeedbackChannel::Telefoon, at(9))
        .unwrap();
    b.set_feedback_needed(&coordinator(), at(11), &id, true)
        .unwrap();
    sync(&mut a, &mut b);
    assert_eq!(values_at(&a, &["observations", &k, "feedback"]), 2);
    for d in [&a, &b] {
        let fb = the_item(d).feedback;
        assert_eq!(fb.needed, Some(true));
        assert_eq!(fb.given_at, Some(at(9).as_millis()));
        assert_eq!(fb.channel, Some(FeedbackChannel::Telefoon));
        assert_eq!(fb.by.as_deref(), Some("boa-1"));
    }
    assert_eq!(
        stored(b.automerge(), &["observations", &k, "feedback", "channel"]),
        "absent"
    );
    b.set_feedback_needed(&coordinator(), at(20), &id, true)
        .unwrap();
    assert_eq!(
        stored(b.automerge(), &["observations", &k, "feedback", "channel"]),
        "str:telefoon"
    );
}

#[test]
fn js_written_text_fields_are_compared_not_concatenated() {
    // `@automerge/automerge` stores plain strings as Text: a phone typed on two
    // JS replicas is two Text objects. Only `note` is free text to append.
    use wijklog_shared::automerge::transaction::Transactable;
    let cat = Catalog::defaults();
    let mut s = spreekuur();
    s.add_note(&cat, &boa(), at(1), item(1, "woonoverlast", "x"))
        .unwrap();
    let k = item_id(1).to_string();
    let note = obj_at(s.automerge(), &["notes", &k]);
    let (mut a, mut b) = replicas(&mut s);
    for (d, phone) in [(&mut a, "06 1111 1111"), (&mut b, "06 2222 2222")] {
        let am = d.automerge_mut();
        let r = am.put_object(&note, "resident", ObjType::Map).unwrap();
        let t = am.put_object(&r, "phone", ObjType::Text).unwrap();
        am.splice_text(&t, 0, 0, phone).unwrap();
        am.put(&r, "consent", true).unwrap();
        am.commit();
    }
    sync(&mut a, &mut b);
    let item = the_item(&a);
    assert_eq!(item, the_item(&b));
    // `b` (the higher actor) wins.
    assert_eq!(
        item.resident.unwrap().phone.as_deref(),
        Some("06 2222 2222")
    );
    assert_eq!(
        item.conflicts["resident.phone"],
        vec!["06 1111 1111".to_owned()]
    );
}
