//! Call-back tasks on spreekuur notes: the default due date from the
//! catalog's per-category term in working days, and how concurrent edits of
//! one task merge (attempts logged on several devices at once are all kept).

mod common;

use common::*;
use proptest::prelude::*;
use wijklog_shared::automerge::ActorId;
use wijklog_shared::{
    AttemptOutcome, Callback, CallbackOutcome, CallbackRequest, Catalog, Document, Error,
    NewAttempt, Timestamp, View, add_working_days,
};

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    r.expect_err("expected an error").code()
}

/// ms of a UTC date and time, written out (2026-01-05 is a Monday).
fn utc(day_of_jan_2026: i64, hour: i64) -> Timestamp {
    Timestamp::from_millis(T0 + (day_of_jan_2026 - 1) * 86_400_000 + hour * 3_600_000)
}

fn callback(doc: &Document) -> Callback {
    match doc.view().expect("view") {
        View::Spreekuur(s) => s.notes[&item_id(1).to_string()]
            .callback
            .clone()
            .expect("callback"),
        _ => panic!("not a spreekuur"),
    }
}

fn attempt(n: u8, outcome: AttemptOutcome) -> NewAttempt {
    NewAttempt {
        id: Some(item_id(100 + n)),
        called_at: None,
        outcome,
        note: None,
    }
}

#[test]
fn working_days_skip_weekends() {
    // Friday 9 Jan 10:00 + 1 = Monday 12 Jan; + 2 = Tuesday 13 Jan.
    assert_eq!(add_working_days(utc(9, 10), 1), utc(12, 10));
    assert_eq!(add_working_days(utc(9, 10), 2), utc(13, 10));
    // Monday 5 Jan + 5 = Monday 12 Jan; Wednesday 7 Jan + 5 = Wednesday 14 Jan.
    assert_eq!(add_working_days(utc(5, 9), 5), utc(12, 9));
    assert_eq!(add_working_days(utc(7, 9), 5), utc(14, 9));
    // A weekend start counts like the Friday before: Saturday 10 Jan + 1 =
    // Monday 12 Jan, Sunday 11 Jan + 5 = Friday 16 Jan.
    assert_eq!(add_working_days(utc(10, 8), 1), utc(12, 8));
    assert_eq!(add_working_days(utc(11, 8), 5), utc(16, 8));
    // Thursday 1 Jan + 12 = Monday 19 Jan (two weeks plus two days).
    assert_eq!(add_working_days(utc(1, 0), 12), utc(19, 0));
    assert_eq!(add_working_days(utc(1, 0), 0), utc(1, 0));
    // Huge inputs stay bounded (no loop over billions of days) and do not panic.
    let _ = add_working_days(utc(1, 0), u32::MAX);
}

#[test]
fn the_due_date_defaults_to_the_category_term() {
    let mut catalog_doc = Document::new_catalog_with_defaults(doc_id(9)).unwrap();
    catalog_doc
        .set_category_callback_days(&user("admin-1"), at(0), "drugs", 2)
        .unwrap();
    let catalog = catalog_doc.catalog().unwrap();
    assert_eq!(catalog.callback_days("drugs"), 2);
    assert_eq!(catalog.callback_days("verkeer"), 5);
    assert_eq!(catalog.callback_days("no_such_category"), 5);
    assert_eq!(
        code(catalog_doc.set_category_callback_days(&user("admin-1"), at(0), "drugs", 61)),
        "invalid_callback_days"
    );

    let mut s = spreekuur();
    let friday = utc(9, 10);
    s.add_note(&catalog, &boa(), friday, item(1, "drugs", "Handel"))
        .unwrap();
    s.add_note(&catalog, &boa(), friday, item(2, "verkeer", "Hard rijden"))
        .unwrap();
    s.request_callback(
        &catalog,
        &boa(),
        friday,
        &item_id(1),
        CallbackRequest::default(),
    )
    .unwrap();
    s.request_callback(
        &catalog,
        &boa(),
        friday,
        &item_id(2),
        CallbackRequest::default(),
    )
    .unwrap();
    let c = callback(&s);
    assert_eq!(c.due_at, Some(utc(13, 10).as_millis()));
    assert_eq!(c.assignee, None);
    assert_eq!(c.requested_at, Some(friday.as_millis()));
    assert_eq!(c.requested_by.as_deref(), Some("boa-1"));
    assert!(c.is_open());
    let rows = s.project().unwrap();
    let c2 = rows[1].callback.as_ref().unwrap();
    assert_eq!(c2.due_at, Some(utc(16, 10).as_millis()));
    // A second request keeps the first due date and requester.
    s.request_callback(
        &catalog,
        &user("staff-9"),
        utc(12, 9),
        &item_id(1),
        CallbackRequest::default(),
    )
    .unwrap();
    let c = callback(&s);
    assert_eq!(c.due_at, Some(utc(13, 10).as_millis()));
    assert_eq!(c.requested_by.as_deref(), Some("boa-1"));
}

/// Two replicas of a session with one note whose call back was requested.
fn requested_replicas() -> (Document, Document) {
    let mut s = spreekuur();
    let cat = Catalog::defaults();
    s.add_note(&cat, &boa(), at(1), item(1, "woonoverlast", "Bel terug"))
        .unwrap();
    s.request_callback(&cat, &boa(), at(2), &item_id(1), CallbackRequest::default())
        .unwrap();
    let mut a = s.fork();
    a.set_actor(ActorId::from(vec![0xaa; 16]));
    let mut b = s.fork();
    b.set_actor(ActorId::from(vec![0xbb; 16]));
    (a, b)
}

fn sync(a: &mut Document, b: &mut Document) {
    a.merge(b).unwrap();
    b.merge(a).unwrap();
    assert_eq!(a.heads(), b.heads());
}

#[test]
fn two_staff_logging_attempts_at_once_keep_both() {
    let (mut a, mut b) = requested_replicas();
    a.log_callback_attempt(
        &user("staff-a"),
        at(10),
        &item_id(1),
        attempt(1, AttemptOutcome::Voicemail),
    )
    .unwrap();
    b.log_callback_attempt(
        &user("staff-b"),
        at(11),
        &item_id(1),
        attempt(2, AttemptOutcome::NietBereikt),
    )
    .unwrap();
    sync(&mut a, &mut b);
    for d in [&a, &b] {
        let c = callback(d);
        assert_eq!(c.attempts.len(), 2, "both attempts are kept");
        let one = &c.attempts[&item_id(101).to_string()];
        assert_eq!(one.by.as_deref(), Some("staff-a"));
        assert_eq!(one.outcome, Some(AttemptOutcome::Voicemail));
        let two = &c.attempts[&item_id(102).to_string()];
        assert_eq!(two.by.as_deref(), Some("staff-b"));
        assert_eq!(two.outcome, Some(AttemptOutcome::NietBereikt));
    }
    assert_eq!(a.project().unwrap(), b.project().unwrap());
}

#[test]
fn attempts_in_concurrently_created_requests_are_all_kept() {
    // Both replicas request the call back (two `callback` maps, one loses)
    // and each logs an attempt into its own copy.
    let mut s = spreekuur();
    let cat = Catalog::defaults();
    s.add_note(&cat, &boa(), at(1), item(1, "woonoverlast", "Bel terug"))
        .unwrap();
    let mut a = s.fork();
    a.set_actor(ActorId::from(vec![0xaa; 16]));
    let mut b = s.fork();
    b.set_actor(ActorId::from(vec![0xbb; 16]));
    for (d, n, who) in [(&mut a, 1u8, "staff-a"), (&mut b, 2u8, "staff-b")] {
        d.request_callback(
            &cat,
            &user(who),
            at(5),
            &item_id(1),
            CallbackRequest::default(),
        )
        .unwrap();
        d.log_callback_attempt(
            &user(who),
            at(6),
            &item_id(1),
            attempt(n, AttemptOutcome::Bereikt),
        )
        .unwrap();
    }
    sync(&mut a, &mut b);
    for d in [&a, &b] {
        assert_eq!(callback(d).attempts.len(), 2, "reading unions both copies");
    }
    // A healing edit writes the loser's attempt into the winning object, so
    // the document itself (not only the read) holds all three.
    a.log_callback_attempt(
        &user("staff-a"),
        at(7),
        &item_id(1),
        attempt(3, AttemptOutcome::Voicemail),
    )
    .unwrap();
    sync(&mut a, &mut b);
    for d in [&a, &b] {
        assert_eq!(callback(d).attempts.len(), 3);
    }
    let key = item_id(1).to_string();
    let winner = obj_at(a.automerge(), &["notes", &key, "callback", "attempts"]);
    assert_eq!(
        wijklog_shared::automerge::ReadDoc::keys(a.automerge(), &winner).count(),
        3,
        "the winning attempts map holds every attempt after the healing edit"
    );
}

#[test]
fn a_close_and_a_concurrent_attempt_both_apply() {
    let (mut a, mut b) = requested_replicas();
    a.close_callback(
        &user("coord-1"),
        at(20),
        &item_id(1),
        Some(CallbackOutcome::Gesproken),
    )
    .unwrap();
    b.log_callback_attempt(
        &user("staff-b"),
        at(21),
        &item_id(1),
        attempt(1, AttemptOutcome::Bereikt),
    )
    .unwrap();
    sync(&mut a, &mut b);
    let c = callback(&a);
    assert_eq!(c.done_at, Some(at(20).as_millis()));
    assert_eq!(c.outcome, Some(CallbackOutcome::Gesproken));
    assert_eq!(c.attempts.len(), 1);
    assert!(!c.is_open());
    // Closed now on both: a later attempt is refused.
    assert_eq!(
        code(b.log_callback_attempt(
            &user("staff-b"),
            at(30),
            &item_id(1),
            attempt(2, AttemptOutcome::Bereikt)
        )),
        "callback_closed"
    );
}

#[test]
fn concurrent_reassignment_converges_on_one_assignee() {
    let (mut a, mut b) = requested_replicas();
    a.assign_callback(
        &user("coord-1"),
        at(10),
        &item_id(1),
        Some(&user("staff-a")),
    )
    .unwrap();
    b.assign_callback(
        &user("coord-2"),
        at(10),
        &item_id(1),
        Some(&user("staff-b")),
    )
    .unwrap();
    sync(&mut a, &mut b);
    let (ca, cb) = (callback(&a), callback(&b));
    assert_eq!(ca.assignee, cb.assignee);
    assert!(matches!(
        ca.assignee.as_deref(),
        Some("staff-a" | "staff-b")
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Request,
    Attempt(u8),
    Assign(u8),
    Due(u8),
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Request),
        5 => (0u8..4).prop_map(Op::Attempt),
        1 => (0u8..3).prop_map(Op::Assign),
        1 => (0u8..10).prop_map(Op::Due),
        1 => Just(Op::Close),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Edit(usize, Op),
    Sync(usize, usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0usize..3, op()).prop_map(|(r, o)| Step::Edit(r, o)),
            1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Step::Sync(a, b)),
        ],
        1..40,
    )
}

proptest! {
    /// Three replicas edit one call-back task (request, attempts, assignee,
    /// due date, close) with random partial syncs; once all have synced they
    /// read the same task, and every attempt that was logged is in it.
    #[test]
    fn callback_edits_converge_and_no_attempt_is_lost(steps in steps()) {
        let cat = Catalog::defaults();
        let mut base = spreekuur();
        base.add_note(&cat, &boa(), at(1), item(1, "woonoverlast", "x")).unwrap();
        let mut docs: Vec<Document> = (0..3u8)
            .map(|n| {
                let mut d = base.fork();
                d.set_actor(ActorId::from(vec![n + 1; 16]));
                d
            })
            .collect();
        let mut logged = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let t = at(10 + i as i64);
            match step {
                Step::Edit(r, op) => {
                    let who = user(&format!("staff-{r}"));
                    let d = &mut docs[*r];
                    let res = match op {
                        Op::Request => d.request_callback(&cat, &who, t, &item_id(1), CallbackRequest::default()),
                        Op::Attempt(o) => {
                            let outcome = AttemptOutcome::ALL[usize::from(*o)];
                            let id = wijklog_shared::ItemId::new_v4();
                            let r = d.log_callback_attempt(&who, t, &item_id(1), NewAttempt {
                                id: Some(id), called_at: None, outcome, note: Some(format!("poging {i}")),
                            });
                            if r.is_ok() {
                                logged.push(id.to_string());
                            }
                            r.map(|_| ())
                        }
                        Op::Assign(n) => {
                            let a = (*n > 0).then(|| user(&format!("staff-{n}")));
                            d.assign_callback(&who, t, &item_id(1), a.as_ref())
                        }
                        Op::Due(days) => d.set_callback_due(&who, t, &item_id(1), at(86_400 * i64::from(*days))),
                        Op::Close => d.close_callback(&who, t, &item_id(1), Some(CallbackOutcome::Gesproken)),
                    };
                    if let Err(e) = res {
                        prop_assert!(
                            matches!(e.code(), "callback_not_requested" | "callback_closed" | "callback_already_done"),
                            "unexpected error {}", e.code()
                        );
                    }
                }
                Step::Sync(x, y) if x != y => {
                    let (lo, hi) = if x < y { (*x, *y) } else { (*y, *x) };
                    let (left, right) = docs.split_at_mut(hi);
                    left[lo].merge(&mut right[0]).unwrap();
                    right[0].merge(&mut left[lo]).unwrap();
                }
                Step::Sync(..) => {}
            }
        }
        // Everyone syncs with everyone.
        for _ in 0..2 {
            for x in 0..3 {
                for y in 0..3 {
                    if x < y {
                        let (left, right) = docs.split_at_mut(y);
                        left[x].merge(&mut right[0]).unwrap();
                        right[0].merge(&mut left[x]).unwrap();
                    }
                }
            }
        }
        let rows: Vec<_> = docs.iter().map(|d| d.project().unwrap()).collect();
        prop_assert_eq!(&rows[0], &rows[1]);
        prop_assert_eq!(&rows[1], &rows[2]);
        if let Some(c) = &rows[0][0].callback {
            for id in &logged {
                prop_assert!(c.attempts.contains_key(id), "attempt {} lost", id);
            }
        } else {
            prop_assert!(logged.is_empty());
        }
    }
}
