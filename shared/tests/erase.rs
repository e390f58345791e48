//! Erasure that reaches the history: after `Document::erase` and
//! `rewrite_history`, marker strings written into contact fields, text,
//! place, location and photo references are in no change of the document
//! (decoded) and in no saved bytes; everything else, actors, sequence
//! numbers and the current state included, is unchanged. A device that was
//! offline during the erasure carries its unsent edits over with
//! `rebase_changes`: they survive, the erased values do not come back, and an
//! offline edit of an erased field is dropped and reported.

mod common;

use std::collections::BTreeSet;

use common::*;
use wijklog_shared::automerge::{ActorId, Automerge, Change, ChangeHash};
use wijklog_shared::erase::{
    EraseBasis, EraseTarget, EraseWhat, rebase_changes, rewrite_history, targets_of,
};
use wijklog_shared::{Catalog, Document, Location, ResidentContact, View};

const NAME: &str = "Markeernaam Qwzx";
const NAME_OLD: &str = "Oudenaam Vbnq";
const PHONE: &str = "06 9182 7364";
const PHONE_DIGITS: &str = "69182736";
const EMAIL: &str = "markeer.qwzx@example.nl";
const TEXT: &str = "Markeertekst Plokj over de buren";
const PLACE: &str = "Markeerplein Yhgt";
const PHOTO: &str = "sha256:7a1c0f5e9b3d2468ace13579bdf02468ace13579bdf02468ace13579bdf0abcd";
const LAT: f64 = 52.123_456_789;
const KEEP: &str = "Blijftstaan Rtzu";
const OFFLINE: &str = "Offlinezin Mnbv";
const OFFLINE_NEW: &str = "Nieuwenotitie Lkjh";

fn coordinator() -> wijklog_shared::UserId {
    user("coord-1")
}

/// Every value of every change, decoded, as one string; and the saved
/// bytes without compression, as text.
fn history_text(doc: &Automerge) -> String {
    let mut out = String::new();
    for c in doc.get_changes(&[]) {
        out.push_str(&format!("{:?}\n", c.decode()));
    }
    out.push_str(&String::from_utf8_lossy(&doc.save_nocompress()));
    out
}

fn contains_marker(hay: &str) -> Vec<&'static str> {
    let lat = format!("{LAT}");
    [
        NAME,
        NAME_OLD,
        PHONE,
        PHONE_DIGITS,
        EMAIL,
        TEXT,
        PLACE,
        PHOTO,
        OFFLINE,
    ]
    .into_iter()
    .filter(|m| hay.contains(m))
    .chain(hay.contains(&lat).then_some("lat"))
    .collect()
}

/// A spreekuur with two notes: note 1 with every kind of marker (its
/// contact corrected once, so an old value is only in the history), note 2
/// with text that must stay.
fn session() -> Document {
    let cat = Catalog::defaults();
    let mut s = spreekuur();
    let mut init = item(1, "woonoverlast", TEXT);
    init.place = Some(PLACE.into());
    init.location = Some(Location {
        lat: LAT,
        lon: 5.2,
        accuracy_m: Some(8.0),
    });
    s.add_note(&cat, &boa(), at(1), init).expect("note 1");
    s.set_resident_contact(
        &boa(),
        at(2),
        &item_id(1),
        ResidentContact {
            name: Some(NAME_OLD.into()),
            phone: Some(PHONE.into()),
            email: Some(EMAIL.into()),
            consent: true,
        },
    )
    .expect("contact");
    s.set_resident_contact(
        &boa(),
        at(3),
        &item_id(1),
        ResidentContact {
            name: Some(NAME.into()),
            phone: Some(PHONE.into()),
            email: Some(EMAIL.into()),
            consent: true,
        },
    )
    .expect("corrected contact");
    s.add_photo(&boa(), at(4), &item_id(1), PHOTO)
        .expect("photo");
    s.add_note(&cat, &boa(), at(5), item(2, "verkeer", KEEP))
        .expect("note 2");
    s
}

fn note(doc: &Document, n: u8) -> wijklog_shared::Item {
    match doc.view().expect("view") {
        View::Spreekuur(s) => s.notes[&item_id(n).to_string()].clone(),
        _ => panic!("not a spreekuur"),
    }
}

fn actor_seqs(doc: &Automerge) -> BTreeSet<(ActorId, u64)> {
    doc.get_changes(&[])
        .iter()
        .map(|c| (c.actor_id().clone(), c.seq()))
        .collect()
}

fn erase(doc: &mut Document, what: EraseWhat) -> Automerge {
    doc.set_actor(ActorId::from([0xee; 16]));
    doc.erase(
        &coordinator(),
        at(100),
        &item_id(1),
        what,
        EraseBasis::Verzoek,
    )
    .expect("erase");
    let before = doc.automerge_mut().document().clone();
    let targets = targets_of(&before);
    assert_eq!(targets, vec![EraseTarget::new(&item_id(1), what)]);
    let rewritten = rewrite_history(&before, &targets).expect("rewrite");
    assert!(rewritten.replaced > 0);
    rewritten.doc
}

#[test]
fn an_item_erasure_leaves_no_marker_in_the_history() {
    let mut s = session();
    let original = s.automerge_mut().document().clone();
    // Positive control: every marker is in the history before.
    let before = contains_marker(&history_text(&original));
    for m in [NAME, NAME_OLD, PHONE, EMAIL, TEXT, PLACE, PHOTO, "lat"] {
        assert!(
            before.contains(&m),
            "{m} missing before erasure: {before:?}"
        );
    }

    let new = erase(&mut s, EraseWhat::Item);
    assert_eq!(contains_marker(&history_text(&new)), Vec::<&str>::new());
    // Also in the compressed saved form and the one-by-one change bytes.
    let saved = new.save();
    let reloaded = Automerge::load(&saved).expect("loads");
    assert_eq!(
        contains_marker(&history_text(&reloaded)),
        Vec::<&str>::new()
    );

    // The other note, and who did what, stay.
    assert!(history_text(&new).contains(KEEP));
    let mut after = Document::load(doc_id(2), &saved).expect("load");
    assert_eq!(note(&after, 2).text.as_deref(), Some(KEEP));
    let erased = note(&after, 1);
    assert_eq!(erased.text.as_deref(), Some(""));
    assert_eq!(erased.place, None);
    assert_eq!(erased.location, None);
    assert!(erased.photos.is_empty());
    assert_eq!(erased.category.as_deref(), Some("woonoverlast"));
    assert_eq!(erased.created_by.as_deref(), Some("boa-1"));
    let r = erased.resident.expect("consent kept");
    assert_eq!((r.name, r.phone, r.email), (None, None, None));
    assert_eq!(r.consent, Some(true));
    let e = erased.erased.expect("recorded").item.expect("item erasure");
    assert_eq!(e.at, Some(T0 + 100_000));
    assert_eq!(e.by.as_deref(), Some("coord-1"));
    assert_eq!(e.basis.as_deref(), Some("verzoek"));
    // Same actors and sequence numbers, one change more (the erasure).
    assert_eq!(actor_seqs(&new).len(), actor_seqs(&original).len() + 1);
    assert!(actor_seqs(&original).is_subset(&actor_seqs(&new)));
    // The row says so too.
    let rows = after.project().expect("rows");
    let json = serde_json::to_string(&rows).expect("json");
    assert!(
        json.contains(r#""erased":{"item":{"at":1767225700000,"by":"coord-1","basis":"verzoek"}}"#),
        "{json}"
    );
    assert_eq!(contains_marker(&json), Vec::<&str>::new());
    // Erased items cannot be edited any more.
    let err = after
        .splice_text(&boa(), at(200), &item_id(1), 0, 0, "x")
        .expect_err("refused");
    assert_eq!(err.code(), "item_erased");
}

#[test]
fn a_contact_erasure_keeps_the_text_and_refuses_new_contact() {
    let mut s = session();
    let new = erase(&mut s, EraseWhat::Contact);
    let hay = history_text(&new);
    let left = contains_marker(&hay);
    assert!(
        left.iter().all(|m| [TEXT, PLACE, PHOTO, "lat"].contains(m)),
        "contact markers left: {left:?}"
    );
    assert!(left.contains(&TEXT) && left.contains(&PLACE), "{left:?}");
    let mut after = Document::load(doc_id(2), &new.save()).expect("load");
    let n = note(&after, 1);
    assert_eq!(n.text.as_deref(), Some(TEXT));
    let r = n.resident.expect("resident");
    assert_eq!((r.name, r.phone, r.email), (None, None, None));
    let err = after
        .set_resident_contact(
            &boa(),
            at(300),
            &item_id(1),
            ResidentContact {
                name: Some("Iemand".into()),
                phone: None,
                email: None,
                consent: true,
            },
        )
        .expect_err("refused");
    assert_eq!(err.code(), "item_erased");
    // The text can still be edited.
    after
        .splice_text(&boa(), at(301), &item_id(1), 0, 0, "Nog: ")
        .expect("text edit");
}

#[test]
fn contact_erasure_is_for_notes_only() {
    let cat = Catalog::defaults();
    let mut w = walk();
    w.add_observation(&cat, &boa(), at(1), item(1, "verkeer", "x"))
        .expect("obs");
    let err = w
        .erase(
            &coordinator(),
            at(2),
            &item_id(1),
            EraseWhat::Contact,
            EraseBasis::Verzoek,
        )
        .expect_err("refused");
    assert_eq!(err.code(), "wrong_kind");
}

fn unsent(doc: &mut Document, since: &[ChangeHash]) -> Vec<Change> {
    doc.automerge_mut().document().get_changes(since)
}

#[test]
fn an_offline_device_keeps_its_new_edits_and_the_erased_values_stay_gone() {
    let cat = Catalog::defaults();
    let mut server = session();
    // The phone synced everything, then went offline.
    let mut phone = server.fork();
    phone.set_actor(ActorId::from([0x77; 16]));
    let synced = phone.heads();
    phone
        .splice_text(&boa(), at(50), &item_id(1), 0, 0, OFFLINE)
        .expect("offline edit of the erased text");
    phone
        .splice_text(&boa(), at(51), &item_id(2), 0, 0, "Ook: ")
        .expect("offline edit of the other note");
    phone
        .add_note(&cat, &boa(), at(52), item(3, "verkeer", OFFLINE_NEW))
        .expect("offline note");
    let unsent_changes = unsent(&mut phone, &synced);
    assert_eq!(unsent_changes.len(), 3);

    let new = erase(&mut server, EraseWhat::Item);

    // The phone learns of the rewrite: it rebases its unsent changes.
    let old = phone.automerge_mut().document().clone();
    let rebased = rebase_changes(&old, &unsent_changes, &new).expect("rebase");
    assert_eq!(rebased.changes.len(), 3);
    assert_eq!(rebased.already_there, 0);
    assert_eq!(rebased.dropped_on, vec![item_id(1).to_string()]);
    let mut fresh = new.clone();
    fresh
        .apply_changes(rebased.changes.clone())
        .expect("rebased changes apply");
    let mut replaced = Document::load(doc_id(2), &fresh.save()).expect("load");
    replaced.set_actor(ActorId::from([0x77; 16]));
    // Running the erasure again writes nothing new that is visible.
    replaced
        .erase(
            &coordinator(),
            at(60),
            &item_id(1),
            EraseWhat::Item,
            EraseBasis::Verzoek,
        )
        .expect("re-erase");

    assert_eq!(
        note(&replaced, 2).text.as_deref(),
        Some(&*format!("Ook: {KEEP}"))
    );
    assert_eq!(note(&replaced, 3).text.as_deref(), Some(OFFLINE_NEW));
    assert_eq!(note(&replaced, 1).text.as_deref(), Some(""));
    let doc = replaced.automerge_mut().document().clone();
    assert_eq!(contains_marker(&history_text(&doc)), Vec::<&str>::new());
    assert!(history_text(&doc).contains(OFFLINE_NEW));

    // The server takes the rebased changes as they are (same bytes, same
    // hashes): the phone and the server converge.
    let mut server_doc = new.clone();
    server_doc
        .apply_changes(rebased.changes)
        .expect("server applies");
    assert_eq!(
        server_doc.hydrate(None),
        fresh.hydrate(None),
        "server and phone agree"
    );
}

#[test]
fn unsent_changes_the_server_already_had_are_recognised() {
    let cat = Catalog::defaults();
    let mut server = session();
    let mut phone = server.fork();
    phone.set_actor(ActorId::from([0x78; 16]));
    let synced = phone.heads();
    phone
        .add_note(&cat, &boa(), at(52), item(3, "verkeer", OFFLINE_NEW))
        .expect("note");
    let sent = unsent(&mut phone, &synced);
    // The server stored it, the ack was lost.
    server
        .automerge_mut()
        .apply_changes(sent.clone())
        .expect("server has it");
    let new = erase(&mut server, EraseWhat::Contact);
    let old = phone.automerge_mut().document().clone();
    let rebased = rebase_changes(&old, &sent, &new).expect("rebase");
    assert_eq!(rebased.already_there, 1);
    assert!(rebased.changes.is_empty());
}

#[test]
fn the_old_history_does_not_merge_into_the_new_one() {
    // A client that ignores the rewrite cannot bring the old history back:
    // its old changes have the same actor and sequence numbers as the
    // rewritten ones, and automerge refuses them.
    let mut server = session();
    let mut stale = server.fork();
    let new = erase(&mut server, EraseWhat::Item);
    let old_changes = stale.automerge_mut().document().get_changes(&[]);
    let mut merged = new.clone();
    assert!(merged.apply_changes(old_changes).is_err());
    assert_eq!(contains_marker(&history_text(&new)), Vec::<&str>::new());
}

#[test]
fn a_rewrite_without_the_erasure_edit_is_refused() {
    let mut s = session();
    let doc = s.automerge_mut().document().clone();
    let err = rewrite_history(&doc, &[EraseTarget::new(&item_id(1), EraseWhat::Item)])
        .expect_err("state would change");
    assert!(matches!(
        err,
        wijklog_shared::erase::RewriteError::StateChanged
    ));
}

#[test]
fn a_device_replaces_its_copy_with_the_rewritten_history_and_keeps_its_own_edits() {
    let cat = Catalog::defaults();
    let mut server = session();
    let mut phone = server.fork();
    let actor = ActorId::from([0x79; 16]);
    phone.set_actor(actor.clone());
    phone
        .splice_text(&boa(), at(50), &item_id(1), 0, 0, OFFLINE)
        .expect("offline edit of the erased text");
    phone
        .add_note(&cat, &boa(), at(52), item(3, "verkeer", OFFLINE_NEW))
        .expect("offline note");
    // Positive control: the phone's copy holds the markers.
    let before = phone.automerge_mut().document().clone();
    assert!(contains_marker(&history_text(&before)).contains(&TEXT));

    let on_server = server.automerge_mut().get_changes(&[]).len();
    let new = erase(&mut server, EraseWhat::Item);
    let done = phone
        .replace_history(&new.save(), &boa(), at(61))
        .expect("replaced");
    assert_eq!(done.carried, 2, "both offline changes carried over");
    assert_eq!(
        done.already_there, on_server,
        "the server's changes are not carried"
    );
    assert_eq!(done.dropped_on, vec![item_id(1).to_string()]);
    assert_eq!(phone.automerge_mut().get_actor(), &actor, "actor kept");
    assert_eq!(note(&phone, 3).text.as_deref(), Some(OFFLINE_NEW));
    assert_eq!(note(&phone, 2).text.as_deref(), Some(KEEP));
    assert_eq!(note(&phone, 1).text.as_deref(), Some(""));
    let doc = phone.automerge_mut().document().clone();
    assert_eq!(contains_marker(&history_text(&doc)), Vec::<&str>::new());
    assert!(history_text(&doc).contains(OFFLINE_NEW));

    // Doing it again (the device fetched the same history twice before it
    // could send) carries the same changes over again: nothing changes.
    let heads = phone.heads();
    phone
        .replace_history(&new.save(), &boa(), at(62))
        .expect("again");
    let mut got = phone.heads();
    got.sort();
    let mut want = heads;
    want.sort();
    assert_eq!(got, want);

    // Bytes that are no document are refused; nothing changes.
    let before = phone.heads();
    assert!(phone.replace_history(&[1, 2, 3], &boa(), at(63)).is_err());
    assert_eq!(phone.heads(), before);
}
