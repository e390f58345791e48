//! The storage conformance suite: the behaviour every [`Store`] must have,
//! written once against the trait. A backend runs it with
//! `wijklog_server::store_conformance_tests!(fresh_store);` in a test module,
//! where `fresh_store` returns an empty, migrated store on each call: that
//! defines one `#[test]` per case. Each case panics on a violation.
//!
//! It is compiled only for tests (`cfg(test)` or the `testing` feature), never
//! into the release binary. SQLite runs it in `tests/api/storage.rs`.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};

use super::{
    AuditEntry, DocListQuery, DocListState, DocSchedule, DocWrite, NewChange, NewDoc, NewUser,
    OpenTasks, ProjectionRow, RefreshOutcome, ScopeBounds, SessionState, Store, StoreError,
    StoreInspect, Subscribed, SubscriptionBound, WriteRejected,
};
use crate::domain::{DeviceId, DocId, DocKind, Role, UserId, now_ms};

/// A store factory: each call returns a fresh, empty store.
pub type Factory<'a> = &'a dyn Fn() -> Box<dyn StoreInspect>;

/// Defines one `#[test]` per conformance case, each on a fresh store from
/// `$factory` (a path to a `fn() -> Box<dyn StoreInspect>`), so that one failing
/// case does not hide the others. Every `pub fn` case below is listed here.
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:path) => {
        $crate::__store_conformance_cases!(
            $factory;
            commit_creates_document_and_load_rebuilds_it,
            retried_commit_stores_nothing_new,
            group_commit_writes_many_documents_at_once,
            actor_bound_to_other_user_rejects_only_that_write,
            changes_for_unknown_document_without_create_are_rejected,
            create_of_existing_document_with_other_team_is_rejected,
            scope_candidates_follow_members_dates_and_subscriptions,
            a_device_that_creates_a_document_is_subscribed_and_staff_are_members,
            a_device_holds_at_most_its_bound_of_live_subscriptions,
            lapsed_subscriptions_of_every_device_are_deleted_in_bounded_batches,
            open_call_backs_make_scope_candidates_for_the_assignee_and_the_team,
            documents_without_a_schedule_are_listed_and_backfilled_once,
            documents_are_listed_by_schedule_team_and_member,
            projection_rows_are_replaced_and_searchable,
            search_folds_diacritics_matches_prefixes_and_never_parses_input,
            a_retried_refresh_within_the_grace_window_rotates_without_revoking,
            the_last_accepted_projection_of_a_commit_is_the_one_stored,
            compaction_keeps_uncovered_changes,
            compaction_refuses_garbage_snapshot,
            uncompacted_docs_lists_candidates,
            users_are_unique_and_found_case_insensitively,
            disabling_a_user_ends_their_sessions,
            refresh_tokens_rotate_and_reuse_revokes_the_family,
            expired_and_unknown_refresh_tokens_are_refused,
            logout_revokes_the_device,
            a_password_change_signs_out_every_device_without_revoking,
            touching_a_device_moves_its_last_contact_forward_only,
            audit_log_appends_and_lists_newest_first,
            a_replaced_history_raises_the_epoch_and_refuses_writes_based_on_the_old_one,
            a_replacement_that_does_not_cover_the_stored_changes_changes_nothing,
            audit_entries_past_their_period_are_pruned_and_younger_ones_kept,
            ready_check_passes_on_fresh_store,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::storage::conformance::$case(&$factory);
            }
        )*
    };
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).expect("valid user id")
}

/// A walk document with one change per call of `edit`; returns the doc.
fn walk_doc(actor: &[u8]) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(actor));
    doc.put(ROOT, "kind", "walk").expect("put");
    doc.put(ROOT, "schema", 1).expect("put");
    doc.commit();
    doc
}

fn edit(doc: &mut AutoCommit, key: &str, value: &str) {
    doc.put(ROOT, key, value).expect("put");
    doc.commit();
}

fn all_changes(doc: &mut AutoCommit) -> Vec<NewChange> {
    doc.get_changes(&[])
        .iter()
        .map(NewChange::from_change)
        .collect()
}

fn write(
    doc_id: DocId,
    user: &str,
    kind: DocKind,
    team: Option<&str>,
    changes: Vec<NewChange>,
) -> DocWrite {
    DocWrite {
        epoch: None,
        doc_id,
        user_id: uid(user),
        device_id: None,
        create: Some(NewDoc {
            kind,
            owner: uid(user),
            team: team.map(str::to_owned),
        }),
        changes,
        projection: None,
        schedule: None,
    }
}

pub fn commit_creates_document_and_load_rebuilds_it(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"actor-a");
    edit(&mut doc, "title", "Stad en Lande");
    let out = store
        .commit(&[write(
            id,
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut doc),
        )])
        .expect("commit");
    let applied = out.writes[0].as_ref().expect("applied");
    assert!(applied.created);
    assert_eq!(applied.inserted, 2);
    assert_eq!(applied.duplicates, 0);
    let meta = store.doc_meta(id).expect("meta").expect("exists");
    assert_eq!(meta.kind, DocKind::Walk);
    assert_eq!(meta.owner, uid("u1"));
    assert_eq!(meta.team.as_deref(), Some("noord"));
    let rebuilt = store
        .load_doc(id)
        .expect("load")
        .expect("exists")
        .to_automerge()
        .expect("rebuild");
    assert_eq!(rebuilt.get_heads(), doc.get_heads());
    assert_eq!(
        store.actor_owner(b"actor-a").expect("owner"),
        Some(uid("u1"))
    );
    assert_eq!(store.actor_owner(b"actor-b").expect("owner"), None);
    assert!(store.load_doc(DocId::new_v4()).expect("load").is_none());
    assert!(store.doc_meta(DocId::new_v4()).expect("meta").is_none());
}

pub fn retried_commit_stores_nothing_new(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"actor-a");
    let w = write(
        id,
        "u1",
        DocKind::Walk,
        Some("noord"),
        all_changes(&mut doc),
    );
    store.commit(std::slice::from_ref(&w)).expect("first");
    let again = store.commit(&[w]).expect("retry");
    let applied = again.writes[0].as_ref().expect("applied");
    assert!(!applied.created);
    assert_eq!(applied.inserted, 0);
    assert_eq!(applied.duplicates, 1);
    assert_eq!(store.change_count(id).expect("count"), 1);
}

pub fn group_commit_writes_many_documents_at_once(factory: Factory<'_>) {
    let store = factory();
    let mut writes = Vec::new();
    let mut heads = Vec::new();
    for i in 0..20u8 {
        let mut doc = walk_doc(&[b'g', i]);
        edit(&mut doc, "title", "wandeling");
        heads.push(doc.get_heads());
        writes.push(write(
            DocId::new_v4(),
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut doc),
        ));
    }
    let out = store.commit(&writes).expect("commit");
    assert_eq!(out.writes.len(), 20);
    for (w, h) in writes.iter().zip(heads) {
        let doc = store
            .load_doc(w.doc_id)
            .expect("load")
            .expect("exists")
            .to_automerge()
            .expect("rebuild");
        assert_eq!(doc.get_heads(), h);
    }
}

pub fn actor_bound_to_other_user_rejects_only_that_write(factory: Factory<'_>) {
    let store = factory();
    let shared = DocId::new_v4();
    let mut a = walk_doc(b"actor-a");
    store
        .commit(&[write(
            shared,
            "alice",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut a),
        )])
        .expect("alice");

    // Mallory replays a change under alice's actor, in a batch with a good write.
    let mut forged = a
        .fork()
        .with_actor(automerge::ActorId::from(&b"actor-a"[..]));
    edit(&mut forged, "title", "vervalst");
    let forged_changes = forged
        .get_changes(&a.get_heads())
        .iter()
        .map(NewChange::from_change)
        .collect();
    let good_id = DocId::new_v4();
    let mut good = walk_doc(b"actor-m");
    let out = store
        .commit(&[
            DocWrite {
                epoch: None,
                doc_id: shared,
                user_id: uid("mallory"),
                device_id: None,
                create: None,
                changes: forged_changes,
                projection: None,
                schedule: None,
            },
            write(
                good_id,
                "mallory",
                DocKind::Walk,
                Some("noord"),
                all_changes(&mut good),
            ),
        ])
        .expect("commit");
    assert!(matches!(
        out.writes[0],
        Err(WriteRejected::ActorBoundToOtherUser { .. })
    ));
    assert!(out.writes[1].is_ok(), "the other write must survive");
    assert_eq!(store.change_count(shared).expect("count"), 1);
    assert_eq!(store.change_count(good_id).expect("count"), 1);
    assert_eq!(
        store.actor_owner(b"actor-a").expect("owner"),
        Some(uid("alice"))
    );
}

pub fn changes_for_unknown_document_without_create_are_rejected(factory: Factory<'_>) {
    let store = factory();
    let mut doc = walk_doc(b"actor-x");
    let id = DocId::new_v4();
    let out = store
        .commit(&[DocWrite {
            epoch: None,
            doc_id: id,
            user_id: uid("u1"),
            device_id: None,
            create: None,
            changes: all_changes(&mut doc),
            projection: None,
            schedule: None,
        }])
        .expect("commit");
    assert_eq!(out.writes[0], Err(WriteRejected::UnknownDocument));
    assert!(store.doc_meta(id).expect("meta").is_none());
    // Nothing of the rejected write stayed behind, not even the actor binding.
    assert_eq!(store.actor_owner(b"actor-x").expect("owner"), None);
}

pub fn create_of_existing_document_with_other_team_is_rejected(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut a = walk_doc(b"actor-a");
    store
        .commit(&[write(
            id,
            "a",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut a),
        )])
        .expect("first");
    let mut b = walk_doc(b"actor-b");
    let out = store
        .commit(&[write(
            id,
            "b",
            DocKind::Walk,
            Some("zuid"),
            all_changes(&mut b),
        )])
        .expect("second");
    assert_eq!(out.writes[0], Err(WriteRejected::CreateConflict));
    assert_eq!(
        store
            .doc_meta(id)
            .expect("meta")
            .expect("exists")
            .team
            .as_deref(),
        Some("noord")
    );
    assert_eq!(store.change_count(id).expect("count"), 1);
}

fn row(item: &str, text: &str, place: Option<&str>) -> ProjectionRow {
    ProjectionRow {
        item_id: item.to_owned(),
        wijk: Some("oostermeent".into()),
        category: Some("jeugdoverlast".into()),
        severity: Some("aandacht".into()),
        created_at: Some(1_700_000_000_000),
        created_by: Some("u1".into()),
        deleted: false,
        text: text.to_owned(),
        place: place.map(str::to_owned),
        // The full row, as the sync layer stores it (every column's value is in it).
        row_json: serde_json::json!({"item_id": item, "text": text, "place": place}).to_string(),
    }
}

pub fn projection_rows_are_replaced_and_searchable(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"p");
    let mut w = write(
        id,
        "u1",
        DocKind::Walk,
        Some("noord"),
        all_changes(&mut doc),
    );
    w.projection = Some(vec![
        row(
            "a",
            "groep jongeren bij de bank",
            Some("winkelcentrum Kostmand"),
        ),
        row("b", "zwerfafval", None),
    ]);
    store.commit(&[w]).expect("commit");
    assert_eq!(store.projection_rows(id).expect("rows").len(), 2);
    let hits = store.search_items("jongeren", 10).expect("search");
    assert_eq!(hits, vec![(id, "a".to_owned())]);
    let hits = store.search_items("kostmand", 10).expect("search");
    assert_eq!(
        hits,
        vec![(id, "a".to_owned())],
        "place is searchable, case-insensitively"
    );
    // Input that is FTS5 syntax is searched as words, never parsed.
    assert!(store.search_items("\"bank OR NEAR(", 10).is_ok());
    // One rule for search words (`storage::fts_query`): every word is a
    // prefix, and words without a letter or digit are dropped.
    assert_eq!(
        store.search_items("jonger KOST", 10).expect("search"),
        vec![(id, "a".to_owned())],
        "prefix words, case-insensitive"
    );
    assert!(store.search_items("-- **", 10).expect("search").is_empty());

    let replace = DocWrite {
        epoch: None,
        doc_id: id,
        user_id: uid("u1"),
        device_id: None,
        create: None,
        changes: vec![],
        projection: Some(vec![row("b", "zwerfafval opgeruimd", None)]),
        schedule: None,
    };
    store.commit(&[replace]).expect("replace");
    let rows = store.projection_rows(id).expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text, "zwerfafval opgeruimd");
    assert!(
        store
            .search_items("jongeren", 10)
            .expect("search")
            .is_empty(),
        "old row left the index"
    );
    assert_eq!(
        store.search_items("opgeruimd", 10).expect("search"),
        vec![(id, "b".to_owned())]
    );
}

pub fn search_folds_diacritics_matches_prefixes_and_never_parses_input(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"s");
    let mut w = write(
        id,
        "u1",
        DocKind::Walk,
        Some("noord"),
        all_changes(&mut doc),
    );
    w.projection = Some(vec![
        row(
            "a",
            "Overlast bij het café, één fiets gestolen",
            Some("Kerkstraat"),
        ),
        row("b", "lantaarnpaal kapot", Some("Crêpe-plein")),
        row("c", "de bank is beklad", None),
    ]);
    store.commit(&[w]).expect("commit");
    let find = |q: &str| -> Vec<String> {
        let mut items: Vec<String> = store
            .search_items(q, 10)
            .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"))
            .into_iter()
            .map(|(doc, item)| {
                assert_eq!(doc, id);
                item
            })
            .collect();
        items.sort();
        items
    };
    // Diacritics are folded both ways, case is ignored.
    assert_eq!(find("cafe"), ["a"]);
    assert_eq!(find("CAFÉ"), ["a"]);
    assert_eq!(find("een"), ["a"]);
    assert_eq!(find("crepe"), ["b"]);
    // Every word is a prefix, and every word must match.
    assert_eq!(find("lantaarn"), ["b"]);
    assert_eq!(find("fie gest"), ["a"]);
    assert_eq!(find("fiets kapot"), Vec::<String>::new());
    // Common words are searchable too.
    assert_eq!(find("de bank"), ["c"]);
    // Query syntax of any backend is searched as words, never parsed.
    for hostile in [
        "\"bank OR NEAR(",
        "bank:*",
        "bank & !de",
        "'bank'",
        "ba\\nk",
        "(bank | kapot)",
        "<->",
        "*",
    ] {
        assert!(
            store.search_items(hostile, 10).is_ok(),
            "{hostile:?} is searched, not an error"
        );
    }
    assert_eq!(
        find("bank:*"),
        ["c"],
        "punctuation around a word is ignored"
    );
}

pub fn the_last_accepted_projection_of_a_commit_is_the_one_stored(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"pa");
    let mut first = write(
        id,
        "u1",
        DocKind::Walk,
        Some("noord"),
        all_changes(&mut doc),
    );
    first.projection = Some(vec![row("a", "eerste", None), row("b", "blijft", None)]);
    let before = doc.get_heads();
    edit(&mut doc, "title", "tweede");
    let second_changes: Vec<NewChange> = doc
        .get_changes(&before)
        .iter()
        .map(NewChange::from_change)
        .collect();
    let mut second = DocWrite {
        epoch: None,
        doc_id: id,
        user_id: uid("u1"),
        device_id: None,
        create: None,
        changes: second_changes,
        projection: None,
        schedule: None,
    };
    second.projection = Some(vec![
        row("a", "tweede versie", None),
        row("b", "blijft", None),
        row("c", "nieuw", None),
    ]);
    // A third write to the same document that the store rejects (an actor
    // bound to u1, sent by u2): its projection must not be stored.
    let mut forged = doc.fork().with_actor(automerge::ActorId::from(&b"pa"[..]));
    let forged_base = forged.get_heads();
    edit(&mut forged, "title", "vervalst");
    let third = DocWrite {
        epoch: None,
        doc_id: id,
        user_id: uid("u2"),
        device_id: None,
        create: None,
        changes: forged
            .get_changes(&forged_base)
            .iter()
            .map(NewChange::from_change)
            .collect(),
        projection: Some(vec![row("x", "vervalst", None)]),
        schedule: None,
    };
    let out = store.commit(&[first, second, third]).expect("commit");
    assert!(out.writes[0].is_ok() && out.writes[1].is_ok());
    assert!(out.writes[2].is_err(), "the forged write is rejected");
    let mut rows = store.projection_rows(id).expect("rows");
    rows.sort_by(|x, y| x.item_id.cmp(&y.item_id));
    let texts: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.item_id.as_str(), r.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![("a", "tweede versie"), ("b", "blijft"), ("c", "nieuw")]
    );
    assert_eq!(
        store.search_items("tweede", 10).expect("search"),
        vec![(id, "a".to_owned())]
    );
    assert!(store.search_items("eerste", 10).expect("search").is_empty());
    assert!(
        store
            .search_items("vervalst", 10)
            .expect("search")
            .is_empty()
    );
    // A later commit without item c removes its row and its index entry.
    let drop_c = DocWrite {
        epoch: None,
        doc_id: id,
        user_id: uid("u1"),
        device_id: None,
        create: None,
        changes: vec![],
        projection: Some(vec![row("b", "blijft", None)]),
        schedule: None,
    };
    store.commit(&[drop_c]).expect("commit");
    let rows = store.projection_rows(id).expect("rows");
    assert_eq!(rows.len(), 1);
    assert!(store.search_items("nieuw", 10).expect("search").is_empty());
}

pub fn compaction_keeps_uncovered_changes(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"c1");
    edit(&mut doc, "title", "een");
    store
        .commit(&[write(
            id,
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut doc),
        )])
        .expect("commit");
    // The snapshot is taken now; then a concurrent change arrives that it lacks.
    let snapshot = doc.save();
    let mut other = doc.fork().with_actor(automerge::ActorId::from(&b"c2"[..]));
    edit(&mut other, "route", "langs de Roef");
    let late: Vec<NewChange> = other
        .get_changes(&doc.get_heads())
        .iter()
        .map(NewChange::from_change)
        .collect();
    assert_eq!(late.len(), 1);
    store
        .commit(&[DocWrite {
            epoch: None,
            doc_id: id,
            user_id: uid("u1"),
            device_id: None,
            create: None,
            changes: late,
            projection: None,
            schedule: None,
        }])
        .expect("late");
    let out = store.compact(id, &snapshot).expect("compact");
    assert_eq!(out.covered, 2);
    assert_eq!(out.kept, 1);
    let stored = store.load_doc(id).expect("load").expect("exists");
    assert!(stored.snapshot.is_some());
    assert_eq!(stored.changes.len(), 1);
    let rebuilt = stored.to_automerge().expect("rebuild");
    assert_eq!(rebuilt.get_heads(), other.get_heads(), "nothing was lost");
    // Compaction keeps the history rows; a retried upload is still a no-op.
    assert_eq!(store.change_count(id).expect("count"), 3);
    let retry = store
        .commit(&[write(
            id,
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut doc),
        )])
        .expect("retry");
    assert_eq!(retry.writes[0].as_ref().expect("ok").inserted, 0);
    assert_eq!(
        store
            .load_doc(id)
            .expect("load")
            .expect("exists")
            .changes
            .len(),
        1
    );
    // An older snapshot than the stored one is refused.
    let tiny = walk_doc(b"zz").save();
    assert!(store.compact(id, &tiny).is_err());
    let full = other.save();
    assert_eq!(store.compact(id, &full).expect("compact").covered, 1);
    let rebuilt = store
        .load_doc(id)
        .expect("load")
        .expect("exists")
        .to_automerge()
        .expect("rebuild");
    assert_eq!(rebuilt.get_heads(), other.get_heads());
}

pub fn compaction_refuses_garbage_snapshot(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"g");
    store
        .commit(&[write(
            id,
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut doc),
        )])
        .expect("commit");
    assert!(matches!(
        store.compact(id, b"not automerge"),
        Err(StoreError::InvalidSnapshot(_))
    ));
    assert!(matches!(
        store.compact(DocId::new_v4(), &doc.save()),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store
            .load_doc(id)
            .expect("load")
            .expect("exists")
            .changes
            .len(),
        1
    );
}

pub fn uncompacted_docs_lists_candidates(factory: Factory<'_>) {
    let store = factory();
    let big = DocId::new_v4();
    let mut doc = walk_doc(b"u1");
    for i in 0..4 {
        edit(&mut doc, "title", &format!("titel {i}"));
    }
    store
        .commit(&[write(
            big,
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut doc),
        )])
        .expect("commit");
    let small = DocId::new_v4();
    let mut other = walk_doc(b"u2");
    store
        .commit(&[write(
            small,
            "u1",
            DocKind::Walk,
            Some("noord"),
            all_changes(&mut other),
        )])
        .expect("commit");
    assert_eq!(
        store.uncompacted_docs(1).expect("list"),
        vec![(big, 5), (small, 1)]
    );
    assert_eq!(store.uncompacted_docs(2).expect("list"), vec![(big, 5)]);
    store.compact(big, &doc.save()).expect("compact");
    assert_eq!(store.uncompacted_docs(1).expect("list"), vec![(small, 1)]);
}

fn new_user(name: &str, roles: &[Role], team: Option<&str>) -> NewUser {
    NewUser {
        username: name.to_owned(),
        display_name: format!("{name} display"),
        password_hash: "$argon2id$placeholder-not-checked-by-store".to_owned(),
        roles: roles.to_vec(),
        team: team.map(str::to_owned),
    }
}

pub fn users_are_unique_and_found_case_insensitively(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user(
            "Anna",
            &[Role::Boa, Role::Spreekuur],
            Some("noord"),
        ))
        .expect("create");
    assert_eq!(u.roles, vec![Role::Boa, Role::Spreekuur]);
    assert!(!u.disabled);
    let found = store
        .user_by_username("anna")
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, u.id);
    assert_eq!(
        store
            .user_by_id(&u.id)
            .expect("by id")
            .expect("found")
            .username,
        "Anna"
    );
    assert!(matches!(
        store.create_user(new_user("ANNA", &[Role::Boa], None)),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(store.user_by_username("bert").expect("lookup").is_none());
    store.set_password_hash("anna", "new-hash").expect("set");
    assert_eq!(
        store
            .user_by_id(&u.id)
            .expect("by id")
            .expect("found")
            .password_hash,
        "new-hash"
    );
    assert!(matches!(
        store.set_user_disabled("nobody", true),
        Err(StoreError::NotFound(_))
    ));
}

pub fn disabling_a_user_ends_their_sessions(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user("bert", &[Role::Boa], Some("noord")))
        .expect("create");
    let d = store
        .create_device(&u.id, "telefoon", [1; 32], now_ms() + 60_000)
        .expect("device");
    assert!(store.session_valid(&u.id, &d.id).expect("valid"));
    assert!(
        !store
            .session_valid(&uid("someone-else"), &d.id)
            .expect("valid"),
        "device belongs to bert"
    );
    let disabled = store.set_user_disabled("bert", true).expect("disable");
    assert!(disabled.disabled);
    assert!(!store.session_valid(&u.id, &d.id).expect("valid"));
    assert!(
        store
            .device(&d.id)
            .expect("device")
            .expect("exists")
            .revoked_at
            .is_some()
    );
    assert_eq!(
        store
            .rotate_refresh_token([1; 32], [2; 32], now_ms() + 60_000, 0)
            .expect("rotate"),
        RefreshOutcome::Revoked
    );
    // Re-enabling does not bring the revoked device back.
    store.set_user_disabled("bert", false).expect("enable");
    assert!(!store.session_valid(&u.id, &d.id).expect("valid"));
    let d2 = store
        .create_device(&u.id, "laptop", [3; 32], now_ms() + 60_000)
        .expect("device");
    assert!(store.session_valid(&u.id, &d2.id).expect("valid"));
    assert_eq!(store.devices_of(&u.id).expect("devices").len(), 2);
}

pub fn refresh_tokens_rotate_and_reuse_revokes_the_family(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user("carla", &[Role::Boa], Some("noord")))
        .expect("create");
    let d = store
        .create_device(&u.id, "telefoon", [10; 32], now_ms() + 60_000)
        .expect("device");
    match store
        .rotate_refresh_token([10; 32], [11; 32], now_ms() + 60_000, 0)
        .expect("rotate")
    {
        RefreshOutcome::Rotated { user, device } => {
            assert_eq!(user.id, u.id);
            assert_eq!(device.id, d.id);
        }
        other => panic!("expected rotation, got {other:?}"),
    }
    assert!(matches!(
        store
            .rotate_refresh_token([11; 32], [12; 32], now_ms() + 60_000, 0)
            .expect("rotate"),
        RefreshOutcome::Rotated { .. }
    ));
    // [10] was used: presenting it again revokes the device, and with it [12].
    assert_eq!(
        store
            .rotate_refresh_token([10; 32], [13; 32], now_ms() + 60_000, 0)
            .expect("reuse"),
        RefreshOutcome::Reused {
            device_id: d.id.clone()
        }
    );
    assert!(!store.session_valid(&u.id, &d.id).expect("valid"));
    assert_eq!(
        store
            .rotate_refresh_token([12; 32], [14; 32], now_ms() + 60_000, 0)
            .expect("rotate"),
        RefreshOutcome::Revoked
    );
    assert_eq!(
        store
            .rotate_refresh_token([13; 32], [15; 32], now_ms() + 60_000, 0)
            .expect("rotate"),
        RefreshOutcome::Unknown
    );
}

pub fn a_retried_refresh_within_the_grace_window_rotates_without_revoking(factory: Factory<'_>) {
    let store = factory();
    let grace = 60_000;
    let exp = || now_ms() + 60_000;
    let u = store
        .create_user(new_user("greta", &[Role::Boa], Some("noord")))
        .expect("create");
    let d = store
        .create_device(&u.id, "telefoon", [50; 32], exp())
        .expect("device");
    let rotated = |o: RefreshOutcome| matches!(o, RefreshOutcome::Rotated { .. });
    // [50] -> [51]; the answer is lost, the phone retries [50] twice with
    // the same successor (the server derives it from the token): each retry
    // answers it again, nothing new is stored, the device stays signed in.
    for attempt in ["rotate", "retry", "retry again"] {
        assert!(
            rotated(
                store
                    .rotate_refresh_token([50; 32], [51; 32], exp(), grace)
                    .expect(attempt)
            ),
            "{attempt}"
        );
    }
    assert!(store.session_valid(&u.id, &d.id).expect("valid"));
    // The phone goes on with [51] -> [55]. Now [50]'s successor is used:
    // presenting [50] again (a thief replaying it inside the window) is
    // reuse and revokes the device, the phone's new token included.
    assert!(rotated(
        store
            .rotate_refresh_token([51; 32], [55; 32], exp(), grace)
            .expect("rotate")
    ));
    assert_eq!(
        store
            .rotate_refresh_token([50; 32], [51; 32], exp(), grace)
            .expect("replay"),
        RefreshOutcome::Reused {
            device_id: d.id.clone()
        }
    );
    assert!(!store.session_valid(&u.id, &d.id).expect("valid"));
    assert_eq!(
        store
            .rotate_refresh_token([55; 32], [57; 32], exp(), grace)
            .expect("after"),
        RefreshOutcome::Revoked
    );

    // A retry naming another successor than the one stored is reuse too:
    // one token never yields two live sessions.
    let d2 = store
        .create_device(&u.id, "laptop", [60; 32], exp())
        .expect("device");
    assert!(rotated(
        store
            .rotate_refresh_token([60; 32], [61; 32], exp(), grace)
            .expect("rotate")
    ));
    assert_eq!(
        store
            .rotate_refresh_token([60; 32], [62; 32], exp(), grace)
            .expect("other successor"),
        RefreshOutcome::Reused {
            device_id: d2.id.clone()
        }
    );
    assert!(!store.session_valid(&u.id, &d2.id).expect("valid"));

    // Outside the window (grace 0 here: the use is already past it), a
    // retry of the immediately previous token revokes as before.
    let d3 = store
        .create_device(&u.id, "tablet", [70; 32], exp())
        .expect("device");
    assert!(rotated(
        store
            .rotate_refresh_token([70; 32], [71; 32], exp(), grace)
            .expect("rotate")
    ));
    assert_eq!(
        store
            .rotate_refresh_token([70; 32], [71; 32], exp(), 0)
            .expect("late"),
        RefreshOutcome::Reused {
            device_id: d3.id.clone()
        }
    );
    assert!(!store.session_valid(&u.id, &d3.id).expect("valid"));
}

pub fn expired_and_unknown_refresh_tokens_are_refused(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user("dirk", &[Role::Boa], Some("noord")))
        .expect("create");
    store
        .create_device(&u.id, "telefoon", [20; 32], now_ms() - 1)
        .expect("device");
    assert_eq!(
        store
            .rotate_refresh_token([20; 32], [21; 32], now_ms() + 60_000, 0)
            .expect("rotate"),
        RefreshOutcome::Expired
    );
    assert_eq!(
        store
            .rotate_refresh_token([99; 32], [22; 32], now_ms() + 60_000, 0)
            .expect("rotate"),
        RefreshOutcome::Unknown
    );
}

pub fn logout_revokes_the_device(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user("eva", &[Role::Spreekuur], Some("noord")))
        .expect("create");
    let d = store
        .create_device(&u.id, "laptop", [30; 32], now_ms() + 60_000)
        .expect("device");
    assert_eq!(
        store.revoke_by_refresh_token([30; 32]).expect("logout"),
        Some(d.id.clone())
    );
    assert!(!store.session_valid(&u.id, &d.id).expect("valid"));
    assert_eq!(
        store.revoke_by_refresh_token([31; 32]).expect("logout"),
        None
    );
    assert!(matches!(
        store.revoke_device(&DeviceId::from_string("nope".into())),
        Err(StoreError::NotFound(_))
    ));
}

pub fn a_password_change_signs_out_every_device_without_revoking(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user("fleur", &[Role::Boa], Some("noord")))
        .expect("create");
    let other = store
        .create_user(new_user("gijs", &[Role::Boa], Some("noord")))
        .expect("create");
    let phone = store
        .create_device(&u.id, "telefoon", [40; 32], now_ms() + 60_000)
        .expect("device");
    let laptop = store
        .create_device(&u.id, "laptop", [41; 32], now_ms() + 60_000)
        .expect("device");
    let lost = store
        .create_device(&u.id, "kwijt", [42; 32], now_ms() + 60_000)
        .expect("device");
    store.revoke_device(&lost.id).expect("revoke");
    let theirs = store
        .create_device(&other.id, "telefoon", [43; 32], now_ms() + 60_000)
        .expect("device");
    assert_eq!(
        store.session_state(&u.id, &phone.id).expect("state"),
        SessionState::Active
    );

    store.set_password_hash("fleur", "new-hash").expect("set");

    assert_eq!(
        store
            .user_by_id(&u.id)
            .expect("user")
            .expect("exists")
            .password_hash,
        "new-hash"
    );
    for d in [&phone, &laptop] {
        assert_eq!(
            store.session_state(&u.id, &d.id).expect("state"),
            SessionState::SignedOut
        );
        let d = store.device(&d.id).expect("device").expect("exists");
        assert!(d.signed_out_at.is_some());
        assert!(d.revoked_at.is_none(), "signed out, not revoked");
    }
    // A revoked device stays revoked; another user's device is untouched.
    assert_eq!(
        store.session_state(&u.id, &lost.id).expect("state"),
        SessionState::Revoked
    );
    assert_eq!(
        store.session_state(&other.id, &theirs.id).expect("state"),
        SessionState::Active
    );
    // The refresh token is refused as signed out, which is not reuse: the
    // device is not revoked by presenting it again.
    for _ in 0..2 {
        assert_eq!(
            store
                .rotate_refresh_token([40; 32], [44; 32], now_ms() + 60_000, 0)
                .expect("rotate"),
            RefreshOutcome::SignedOut
        );
    }
    assert!(
        store
            .device(&phone.id)
            .expect("device")
            .expect("exists")
            .revoked_at
            .is_none()
    );
    // A new login is a new, active device.
    let again = store
        .create_device(&u.id, "telefoon", [45; 32], now_ms() + 60_000)
        .expect("device");
    assert!(store.session_valid(&u.id, &again.id).expect("valid"));
    // end_sessions counts only devices it signed out.
    assert_eq!(store.end_sessions(&u.id).expect("end"), 1);
    assert_eq!(store.end_sessions(&u.id).expect("end"), 0);
    assert!(matches!(
        store.set_password_hash("nobody", "x"),
        Err(StoreError::NotFound(_))
    ));
}

pub fn touching_a_device_moves_its_last_contact_forward_only(factory: Factory<'_>) {
    let store = factory();
    let u = store
        .create_user(new_user("hanna", &[Role::Boa], Some("noord")))
        .expect("create");
    let d = store
        .create_device(&u.id, "telefoon", [50; 32], now_ms() + 60_000)
        .expect("device");
    let seen = |store: &dyn Store| {
        store
            .device(&d.id)
            .expect("device")
            .expect("exists")
            .last_seen_at
    };
    let later = d.last_seen_at + 90_000;
    store.touch_device(&d.id, later).expect("touch");
    assert_eq!(seen(store.as_ref()), later);
    store
        .touch_device(&d.id, later - 30_000)
        .expect("an older touch");
    assert_eq!(seen(store.as_ref()), later, "never backwards");
    store
        .touch_device(&DeviceId::from_string("unknown".into()), later)
        .expect("unknown devices are ignored");
}

pub fn audit_log_appends_and_lists_newest_first(factory: Factory<'_>) {
    let store = factory();
    for action in ["user.add", "user.disable"] {
        store
            .append_audit(AuditEntry {
                actor: None,
                action: action.into(),
                subject: Some("u1".into()),
                detail: serde_json::json!({"via": "cli"}),
            })
            .expect("append");
    }
    let entries = store.audit_entries(10).expect("list");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].entry.action, "user.disable");
    assert_eq!(entries[1].entry.action, "user.add");
    assert_eq!(entries[1].entry.detail, serde_json::json!({"via": "cli"}));
    assert!(entries[0].id > entries[1].id);
    assert_eq!(store.audit_entries(1).expect("list").len(), 1);
}

/// A walk stored with a secret in its history and in its projection (two
/// changes by `u1`), and a "rewritten" history of as many changes without
/// it: the map from the stored hashes to the new ones and its snapshot.
fn stored_secret_and_its_rewrite(
    store: &dyn StoreInspect,
    id: DocId,
) -> (
    std::collections::HashMap<automerge::ChangeHash, automerge::ChangeHash>,
    AutoCommit,
) {
    let mut doc = walk_doc(b"secret-writer");
    edit(&mut doc, "title", "Geheimnaam Wqpz");
    let mut w = write(
        id,
        "u1",
        DocKind::Walk,
        Some("noord"),
        all_changes(&mut doc),
    );
    w.projection = Some(vec![row("a", "Geheimnaam Wqpz belt", None)]);
    store.commit(&[w]).expect("commit");
    let mut new = walk_doc(b"secret-writer");
    edit(&mut new, "title", "");
    let hashes = doc
        .get_changes(&[])
        .iter()
        .zip(new.get_changes(&[]))
        .map(|(old, new)| (old.hash(), new.hash()))
        .collect();
    (hashes, new)
}

fn replaced(
    hashes: std::collections::HashMap<automerge::ChangeHash, automerge::ChangeHash>,
    new: &mut AutoCommit,
) -> super::ReplacedHistory {
    super::ReplacedHistory {
        hashes,
        added: Vec::new(),
        added_by: uid("coord"),
        snapshot: new.save(),
        projection: Some(vec![row("a", "gewist", None)]),
        audit: AuditEntry {
            actor: Some(uid("coord")),
            action: "item.erase_contact".into(),
            subject: Some("doc/a".into()),
            detail: serde_json::json!({"what": "contact"}),
        },
        scrub_mail: None,
    }
}

/// Every value of every stored change, decoded.
fn stored_history(store: &dyn StoreInspect, id: DocId) -> (String, i64) {
    let stored = store.load_doc(id).expect("load").expect("exists");
    let doc = stored.to_automerge().expect("loads");
    let text = doc
        .get_changes(&[])
        .iter()
        .map(|c| format!("{:?}", c.decode()))
        .collect::<Vec<_>>()
        .join("\n");
    (text, stored.epoch)
}

pub fn a_replaced_history_raises_the_epoch_and_refuses_writes_based_on_the_old_one(
    factory: Factory<'_>,
) {
    let store = factory();
    let id = DocId::new_v4();
    let (hashes, mut new) = stored_secret_and_its_rewrite(store.as_ref(), id);
    // Positive controls: the secret is in the stored history and the index.
    let (before, epoch) = stored_history(store.as_ref(), id);
    assert!(before.contains("Geheimnaam Wqpz"), "{before}");
    assert_eq!(epoch, 0);
    assert_eq!(store.search_items("Wqpz", 10).expect("search").len(), 1);

    let epoch = store
        .replace_history(id, &replaced(hashes, &mut new))
        .expect("replace");
    assert_eq!(epoch, 1);
    let (after, stored_epoch) = stored_history(store.as_ref(), id);
    assert_eq!(stored_epoch, 1);
    assert!(!after.contains("Geheimnaam"), "{after}");
    let mut heads = store
        .load_doc(id)
        .expect("load")
        .expect("exists")
        .to_automerge()
        .expect("loads")
        .get_heads();
    heads.sort();
    let mut want = new.get_heads();
    want.sort();
    assert_eq!(heads, want, "the stored history is the rewritten one");
    assert_eq!(store.change_count(id).expect("count"), 2);
    assert!(store.search_items("Wqpz", 10).expect("search").is_empty());
    assert_eq!(store.projection_rows(id).expect("rows")[0].text, "gewist");
    let audit = store.audit_entries(1).expect("audit");
    assert_eq!(audit[0].entry.action, "item.erase_contact");
    assert_eq!(audit[0].entry.subject.as_deref(), Some("doc/a"));

    // A change applied to a copy of the old history (epoch 0) is refused,
    // and nothing of its write is stored.
    let mut old_copy = walk_doc(b"secret-writer");
    edit(&mut old_copy, "title", "Geheimnaam Wqpz");
    edit(&mut old_copy, "title", "Geheimnaam Wqpz opnieuw");
    let late = old_copy.get_last_local_change().expect("change").clone();
    let based_on = |epoch: i64, change: &automerge::Change| DocWrite {
        epoch: Some(epoch),
        doc_id: id,
        user_id: uid("u1"),
        device_id: None,
        create: None,
        changes: vec![NewChange::from_change(change)],
        projection: Some(vec![row("a", "Geheimnaam Wqpz terug", None)]),
        schedule: None,
    };
    let out = store.commit(&[based_on(0, &late)]).expect("commit");
    assert_eq!(out.writes[0], Err(WriteRejected::Rewritten));
    assert_eq!(store.change_count(id).expect("count"), 2);
    assert!(store.search_items("Wqpz", 10).expect("search").is_empty());
    let (still, _) = stored_history(store.as_ref(), id);
    assert!(!still.contains("Geheimnaam"), "{still}");

    // One based on the new epoch is stored.
    edit(&mut new, "title", "Nieuwe titel");
    let next = new.get_last_local_change().expect("change").clone();
    let mut ok = based_on(1, &next);
    ok.projection = Some(vec![row("a", "nieuwe tekst", None)]);
    let out = store.commit(&[ok]).expect("commit");
    assert_eq!(out.writes[0].as_ref().expect("accepted").inserted, 1);
    assert_eq!(store.change_count(id).expect("count"), 3);
}

pub fn a_replacement_that_does_not_cover_the_stored_changes_changes_nothing(factory: Factory<'_>) {
    let store = factory();
    let id = DocId::new_v4();
    let (hashes, mut new) = stored_secret_and_its_rewrite(store.as_ref(), id);
    let audit_before = store.audit_entries(100).expect("audit").len();
    let unchanged = |store: &dyn StoreInspect| {
        let (history, epoch) = stored_history(store, id);
        assert!(history.contains("Geheimnaam Wqpz"), "{history}");
        assert_eq!(epoch, 0);
        assert_eq!(store.change_count(id).expect("count"), 2);
        assert_eq!(store.search_items("Wqpz", 10).expect("search").len(), 1);
        assert_eq!(store.audit_entries(100).expect("audit").len(), audit_before);
    };
    // One stored change missing from the map.
    let mut short = hashes.clone();
    let dropped = *short.keys().next().expect("a change");
    short.remove(&dropped);
    let e = store
        .replace_history(id, &replaced(short, &mut new))
        .expect_err("refused");
    assert!(matches!(e, StoreError::HistoryChanged), "{e:?}");
    unchanged(store.as_ref());
    // As many entries, but one of them is not a stored change.
    let mut wrong = hashes.clone();
    let target = wrong.remove(&dropped).expect("entry");
    wrong.insert(automerge::ChangeHash([7; 32]), target);
    let e = store
        .replace_history(id, &replaced(wrong, &mut new))
        .expect_err("refused");
    assert!(matches!(e, StoreError::HistoryChanged), "{e:?}");
    unchanged(store.as_ref());
    // An unknown document.
    let e = store
        .replace_history(DocId::new_v4(), &replaced(hashes, &mut new))
        .expect_err("refused");
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
    unchanged(store.as_ref());
}

pub fn audit_entries_past_their_period_are_pruned_and_younger_ones_kept(factory: Factory<'_>) {
    let store = factory();
    let entry = |action: &str| AuditEntry {
        actor: None,
        action: action.into(),
        subject: None,
        detail: serde_json::json!({}),
    };
    store.append_audit(entry("old")).expect("append");
    let old_at = store.audit_entries(1).expect("audit")[0].at;
    // The next entry is written in a later millisecond.
    while now_ms() <= old_at {
        std::thread::yield_now();
    }
    store.append_audit(entry("young")).expect("append");
    let young_at = store.audit_entries(1).expect("audit")[0].at;
    assert!(young_at > old_at);
    assert_eq!(store.audit_count_before(young_at).expect("count"), 1);
    assert_eq!(store.audit_count_before(old_at).expect("count"), 0);
    assert_eq!(store.prune_audit(young_at).expect("prune"), 1);
    let left: Vec<String> = store
        .audit_entries(10)
        .expect("audit")
        .into_iter()
        .map(|r| r.entry.action)
        .collect();
    assert_eq!(left, vec!["young".to_owned()]);
    assert_eq!(store.audit_count_before(young_at).expect("count"), 0);
    // Appending still works after a prune (the cutoff was reset).
    store.append_audit(entry("later")).expect("append");
    assert_eq!(store.audit_entries(10).expect("audit").len(), 2);
}

pub fn ready_check_passes_on_fresh_store(factory: Factory<'_>) {
    let store = factory();
    store.check_ready().expect("ready");
    store.check_ready().expect("ready twice");
}

const DAY: i64 = 24 * 60 * 60 * 1000;

fn schedule(planned: Option<i64>, started: bool, running: bool, last: Option<i64>) -> DocSchedule {
    DocSchedule {
        planned_at: planned,
        started,
        running,
        last_at: last,
        staff: Vec::new(),
    }
}

pub fn scope_candidates_follow_members_dates_and_subscriptions(factory: Factory<'_>) {
    let store = factory();
    let now = now_ms();
    let bounds = ScopeBounds {
        past: now - 14 * DAY,
        future: now + 14 * DAY,
        subscribed_since: now - 14 * DAY,
    };
    let mut actor = 0u8;
    let mut mk = |by: &str, kind, sched: Option<DocSchedule>| {
        actor += 1;
        let id = DocId::new_v4();
        let mut doc = walk_doc(&[b'w', actor]);
        let mut w = write(id, by, kind, Some("noord"), all_changes(&mut doc));
        w.schedule = sched;
        assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
        (id, doc)
    };
    let (ended_long_ago, _) = mk(
        "anna",
        DocKind::Walk,
        Some(schedule(None, true, false, Some(now - 30 * DAY))),
    );
    let (running_of_bert, _) = mk(
        "bert",
        DocKind::Walk,
        Some(schedule(None, true, true, Some(now - DAY))),
    );
    let (planned_of_bert, _) = mk(
        "bert",
        DocKind::Walk,
        Some(schedule(
            Some(now + 3 * DAY),
            false,
            false,
            Some(now + 3 * DAY),
        )),
    );
    let (planned_far_ahead, _) = mk(
        "bert",
        DocKind::Walk,
        Some(schedule(
            Some(now + 30 * DAY),
            false,
            false,
            Some(now + 30 * DAY),
        )),
    );
    let (joined, mut joined_doc) = mk(
        "bert",
        DocKind::Walk,
        Some(schedule(None, true, true, Some(now - 2 * DAY))),
    );
    let (old_of_bert, _) = mk(
        "bert",
        DocKind::Walk,
        Some(schedule(None, true, false, Some(now - 40 * DAY))),
    );
    let (catalog, _) = mk("admin", DocKind::Catalog, None);
    // Anna writes to Bert's running walk: she becomes a member.
    let mut mine = joined_doc
        .fork()
        .with_actor(automerge::ActorId::from(&b"anna-1"[..]));
    edit(&mut mine, "summary", "meegelopen");
    let heads = joined_doc.get_heads();
    let mut w = write(
        joined,
        "anna",
        DocKind::Walk,
        Some("noord"),
        mine.get_changes(&heads)
            .iter()
            .map(NewChange::from_change)
            .collect(),
    );
    w.create = None;
    w.schedule = Some(schedule(None, true, true, Some(now - 2 * DAY)));
    assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
    // A retry of Bert's changes by Anna stores nothing and makes her no member.
    let mut retry = write(
        running_of_bert,
        "anna",
        DocKind::Walk,
        Some("noord"),
        Vec::new(),
    );
    retry.create = None;
    assert!(store.commit(&[retry]).expect("commit").writes[0].is_ok());

    let device = DeviceId::from_string("dev-anna".into());
    let roomy = SubscriptionBound {
        live_since: now - 14 * DAY,
        max: 100,
    };
    assert_eq!(
        store
            .subscribe(&device, old_of_bert, now - DAY, roomy)
            .expect("subscribe"),
        Subscribed::Recorded
    );
    store
        .subscribe(&device, old_of_bert, now - 5 * DAY, roomy)
        .expect("an earlier open keeps the later");
    assert!(matches!(
        store.subscribe(&device, DocId::new_v4(), now, roomy),
        Err(StoreError::NotFound(_))
    ));

    let found = store
        .scope_candidates(&uid("anna"), &device, bounds, None)
        .expect("candidates");
    let ids: Vec<DocId> = found.iter().map(|c| c.meta.id).collect();
    let mut expected = vec![planned_of_bert, joined, old_of_bert, catalog];
    let mut got = ids.clone();
    got.sort();
    expected.sort();
    assert_eq!(
        got, expected,
        "ended_long_ago, running_of_bert and planned_far_ahead are no candidates"
    );
    for c in &found {
        let id = c.meta.id;
        assert_eq!(c.member, id == joined, "member flag of {id}");
        assert_eq!(c.subscribed_at, (id == old_of_bert).then_some(now - DAY));
        if id == planned_of_bert {
            assert_eq!(
                c.schedule,
                Some(schedule(
                    Some(now + 3 * DAY),
                    false,
                    false,
                    Some(now + 3 * DAY)
                ))
            );
        }
        if id == catalog {
            assert_eq!(c.schedule, None);
        }
    }
    // One document: answered whatever its dates, with the same facts.
    let one = store
        .scope_candidates(&uid("anna"), &device, bounds, Some(ended_long_ago))
        .expect("one");
    assert_eq!(one.len(), 1);
    assert!(one[0].member);
    assert_eq!(
        one[0].schedule,
        Some(schedule(None, true, false, Some(now - 30 * DAY)))
    );
    let _ = planned_far_ahead;

    assert!(
        store
            .unsubscribe(&device, old_of_bert)
            .expect("unsubscribe")
    );
    assert!(!store.unsubscribe(&device, old_of_bert).expect("again"));
    let after = store
        .scope_candidates(&uid("anna"), &device, bounds, None)
        .expect("candidates");
    assert!(after.iter().all(|c| c.meta.id != old_of_bert));
    // Lapsed subscriptions are no candidates.
    store
        .subscribe(&device, old_of_bert, now - 20 * DAY, roomy)
        .expect("subscribe");
    let lapsed = store
        .scope_candidates(&uid("anna"), &device, bounds, None)
        .expect("candidates");
    assert!(lapsed.iter().all(|c| c.meta.id != old_of_bert));
}

pub fn a_device_holds_at_most_its_bound_of_live_subscriptions(factory: Factory<'_>) {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let store = factory();
    let now = now_ms();
    let docs: Vec<DocId> = (0..5u8)
        .map(|i| {
            let id = DocId::new_v4();
            let w = write(
                id,
                "bert",
                DocKind::Walk,
                Some("noord"),
                all_changes(&mut walk_doc(&[b'b', i])),
            );
            assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
            id
        })
        .collect();
    let device = DeviceId::from_string("dev-cora".into());
    let other = DeviceId::from_string("dev-dirk".into());
    let bound = SubscriptionBound {
        live_since: now - 14 * DAY,
        max: 2,
    };
    let sub =
        |d: &DeviceId, doc: DocId, at: i64| store.subscribe(d, doc, at, bound).expect("subscribe");
    // One lapsed subscription: it counts for nothing and is dropped.
    assert_eq!(sub(&device, docs[0], now - 20 * DAY), Subscribed::Recorded);
    assert_eq!(sub(&device, docs[1], now), Subscribed::Recorded);
    assert_eq!(sub(&device, docs[2], now), Subscribed::Recorded);
    assert_eq!(
        sub(&device, docs[3], now),
        Subscribed::Full,
        "a third live subscription passes the bound"
    );
    // Renewing one it holds is never refused; another device has its own bound.
    assert_eq!(sub(&device, docs[1], now + 1), Subscribed::Recorded);
    assert_eq!(sub(&other, docs[3], now), Subscribed::Recorded);
    let bounds = ScopeBounds {
        past: now - 14 * DAY,
        future: now + 14 * DAY,
        subscribed_since: now - 14 * DAY,
    };
    let subscribed = |d: &DeviceId| -> Vec<DocId> {
        let mut ids: Vec<DocId> = store
            .scope_candidates(&uid("cora"), d, bounds, None)
            .expect("candidates")
            .into_iter()
            .filter(|c| c.subscribed_at.is_some())
            .map(|c| c.meta.id)
            .collect();
        ids.sort();
        ids
    };
    let mut expected = vec![docs[1], docs[2]];
    expected.sort();
    assert_eq!(
        subscribed(&device),
        expected,
        "nothing stored for the refused one"
    );
    // An unsubscribe makes room again.
    assert!(store.unsubscribe(&device, docs[2]).expect("unsubscribe"));
    assert_eq!(sub(&device, docs[4], now), Subscribed::Recorded);
    let mut expected = vec![docs[1], docs[4]];
    expected.sort();
    assert_eq!(subscribed(&device), expected);
    // A lapsed subscription is deleted, not just ignored: renewing it later
    // is a new subscription, which the bound refuses.
    let later = SubscriptionBound {
        live_since: now + 20 * DAY - 14 * DAY,
        max: 1,
    };
    assert_eq!(
        store
            .subscribe(&device, docs[0], now + 20 * DAY, later)
            .expect("subscribe"),
        Subscribed::Recorded,
        "the device's others lapsed and were dropped: room for one"
    );
}

pub fn lapsed_subscriptions_of_every_device_are_deleted_in_bounded_batches(factory: Factory<'_>) {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let store = factory();
    let now = now_ms();
    let docs: Vec<DocId> = (0..3u8)
        .map(|i| {
            let id = DocId::new_v4();
            let w = write(
                id,
                "bert",
                DocKind::Walk,
                Some("noord"),
                all_changes(&mut walk_doc(&[b'l', i])),
            );
            assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
            id
        })
        .collect();
    let bound = SubscriptionBound {
        live_since: now - 100 * DAY,
        max: 10,
    };
    let devices: Vec<DeviceId> = ["dev-a", "dev-b", "dev-c"]
        .iter()
        .map(|d| DeviceId::from_string((*d).into()))
        .collect();
    // Lapsed at `now - 14 days`: three rows of three devices; live: two.
    for (device, doc, age) in [
        (&devices[0], docs[0], 20),
        (&devices[1], docs[1], 30),
        (&devices[2], docs[2], 15),
        (&devices[0], docs[1], 1),
        (&devices[2], docs[0], 14),
    ] {
        assert_eq!(
            store
                .subscribe(device, doc, now - age * DAY, bound)
                .expect("subscribe"),
            Subscribed::Recorded
        );
    }
    let held = |device: &DeviceId| -> Vec<DocId> {
        let everything = ScopeBounds {
            past: now,
            future: now,
            subscribed_since: 0,
        };
        let mut ids: Vec<DocId> = store
            .scope_candidates(&uid("zoe"), device, everything, None)
            .expect("candidates")
            .into_iter()
            .filter(|c| c.subscribed_at.is_some())
            .map(|c| c.meta.id)
            .collect();
        ids.sort();
        ids
    };
    let cutoff = now - 14 * DAY;
    assert_eq!(
        store
            .delete_lapsed_subscriptions(cutoff, 2)
            .expect("first batch"),
        2,
        "at most the batch"
    );
    assert_eq!(
        store
            .delete_lapsed_subscriptions(cutoff, 2)
            .expect("second batch"),
        1
    );
    assert_eq!(
        store
            .delete_lapsed_subscriptions(cutoff, 2)
            .expect("nothing left"),
        0
    );
    assert_eq!(held(&devices[0]), vec![docs[1]], "the live one stays");
    assert_eq!(held(&devices[1]), Vec::<DocId>::new());
    assert_eq!(
        held(&devices[2]),
        vec![docs[0]],
        "opened exactly at the cutoff is live"
    );
}

pub fn a_device_that_creates_a_document_is_subscribed_and_staff_are_members(factory: Factory<'_>) {
    let store = factory();
    let user = store
        .create_user(new_user("carla", &[Role::Coordinator], None))
        .expect("user");
    let device = store
        .create_device(&user.id, "laptop", [9; 32], now_ms() + 60_000)
        .expect("device");
    let id = DocId::new_v4();
    let mut doc = walk_doc(b"carla-1");
    let mut w = write(
        id,
        user.id.as_str(),
        DocKind::Spreekuur,
        Some("noord"),
        all_changes(&mut doc),
    );
    w.device_id = Some(device.id.clone());
    let mut sched = schedule(Some(now_ms()), false, false, Some(now_ms()));
    sched.staff = vec!["staff-1".into()];
    w.schedule = Some(sched);
    assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
    let bounds = ScopeBounds {
        past: now_ms() - DAY,
        future: now_ms() + DAY,
        subscribed_since: now_ms() - DAY,
    };
    let mine = store
        .scope_candidates(&user.id, &device.id, bounds, Some(id))
        .expect("candidates");
    assert!(
        mine[0].subscribed_at.is_some(),
        "the creating device is subscribed"
    );
    assert!(mine[0].member, "the creator is a member");
    let staff = store
        .scope_candidates(
            &uid("staff-1"),
            &DeviceId::from_string("other".into()),
            bounds,
            Some(id),
        )
        .expect("candidates");
    assert!(staff[0].member, "staff are members");
    assert_eq!(staff[0].subscribed_at, None);
}

/// A note's projection row with a call back (`callback` as the document model
/// projects it).
fn note_row(item: &str, callback: serde_json::Value, deleted: bool) -> ProjectionRow {
    let mut r = row(item, "bel terug", None);
    r.deleted = deleted;
    r.row_json =
        serde_json::json!({"item_id": item, "text": "bel terug", "callback": callback}).to_string();
    r
}

pub fn open_call_backs_make_scope_candidates_for_the_assignee_and_the_team(factory: Factory<'_>) {
    let store = factory();
    let now = now_ms();
    let bounds = ScopeBounds {
        past: now - 14 * DAY,
        future: now + 14 * DAY,
        subscribed_since: now - 14 * DAY,
    };
    let held = now - 60 * DAY;
    let mut n = 0u8;
    let mut session = |callback: serde_json::Value, deleted: bool| {
        n += 1;
        let id = DocId::new_v4();
        let mut doc = walk_doc(&[b's', n]);
        let mut w = write(
            id,
            "sam",
            DocKind::Spreekuur,
            Some("noord"),
            all_changes(&mut doc),
        );
        w.schedule = Some(schedule(Some(held), true, false, Some(held)));
        w.projection = Some(vec![
            note_row("a", serde_json::json!({"requested": false}), false),
            note_row("b", callback, deleted),
        ]);
        assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
        id
    };
    let team = session(serde_json::json!({"requested": true, "due_at": now}), false);
    let anna = session(
        serde_json::json!({"requested": true, "assignee": "anna", "done_at": null}),
        false,
    );
    let bert = session(
        serde_json::json!({"requested": true, "assignee": "bert"}),
        false,
    );
    let done = session(
        serde_json::json!({"requested": true, "done_at": now - DAY}),
        false,
    );
    let deleted = session(serde_json::json!({"requested": true}), true);
    let device = DeviceId::from_string("dev-anna".into());
    let found = store
        .scope_candidates(&uid("anna"), &device, bounds, None)
        .expect("candidates");
    let mut got: Vec<(DocId, OpenTasks)> = found.iter().map(|c| (c.meta.id, c.tasks)).collect();
    got.sort_by_key(|(id, _)| *id);
    let mut expected = vec![
        (
            team,
            OpenTasks {
                mine: false,
                team: true,
            },
        ),
        (
            anna,
            OpenTasks {
                mine: true,
                team: false,
            },
        ),
    ];
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got, expected,
        "bert's, the closed and the deleted call back make no candidates"
    );
    for id in [bert, done, deleted] {
        let one = store
            .scope_candidates(&uid("anna"), &device, bounds, Some(id))
            .expect("one");
        assert_eq!(one[0].tasks, OpenTasks::default(), "{id}");
    }
    // Bert sees his own and the team's.
    let berts = store
        .scope_candidates(&uid("bert"), &device, bounds, None)
        .expect("candidates");
    let mut ids: Vec<DocId> = berts.iter().map(|c| c.meta.id).collect();
    ids.sort();
    let mut want = vec![team, bert];
    want.sort();
    assert_eq!(ids, want);
}

pub fn documents_without_a_schedule_are_listed_and_backfilled_once(factory: Factory<'_>) {
    let store = factory();
    let now = now_ms();
    let mut n = 0u8;
    let mut mk = |kind, sched: Option<DocSchedule>| {
        n += 1;
        let id = DocId::new_v4();
        let mut doc = walk_doc(&[b'b', n]);
        let mut w = write(id, "anna", kind, Some("noord"), all_changes(&mut doc));
        w.schedule = sched;
        assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
        id
    };
    let walk = mk(DocKind::Walk, None);
    let session = mk(DocKind::Spreekuur, None);
    let _scheduled = mk(
        DocKind::Walk,
        Some(schedule(Some(now), false, false, Some(now))),
    );
    let _catalog = mk(DocKind::Catalog, None);
    let mut expected = vec![walk, session];
    expected.sort();
    let all: Vec<DocId> = store
        .docs_without_schedule(None, 10)
        .expect("list")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all, expected, "walks and sessions without one, by id");
    let first = store.docs_without_schedule(None, 1).expect("page");
    assert_eq!(first.len(), 1);
    let rest = store
        .docs_without_schedule(Some(first[0].id), 10)
        .expect("page");
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), expected[1..]);

    let planned = schedule(Some(now + DAY), false, false, Some(now + DAY));
    assert!(store.backfill_schedule(walk, &planned).expect("backfill"));
    assert!(
        !store
            .backfill_schedule(walk, &schedule(None, true, true, Some(now)))
            .expect("again"),
        "a stored schedule is never replaced"
    );
    let mut staffed = schedule(Some(now - DAY), true, false, Some(now - DAY));
    staffed.staff = vec!["sam".into()];
    assert!(
        store
            .backfill_schedule(session, &staffed)
            .expect("backfill")
    );
    assert!(matches!(
        store.backfill_schedule(DocId::new_v4(), &planned),
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .docs_without_schedule(None, 10)
            .expect("list")
            .is_empty()
    );

    let bounds = ScopeBounds {
        past: now - 14 * DAY,
        future: now + 14 * DAY,
        subscribed_since: now - 14 * DAY,
    };
    let device = DeviceId::from_string("d".into());
    let w = store
        .scope_candidates(&uid("anna"), &device, bounds, Some(walk))
        .expect("walk");
    assert_eq!(w[0].schedule, Some(planned));
    let s = store
        .scope_candidates(&uid("sam"), &device, bounds, Some(session))
        .expect("session");
    assert!(s[0].member, "staff of a backfilled session are members");
}

pub fn documents_are_listed_by_schedule_team_and_member(factory: Factory<'_>) {
    let store = factory();
    let now = now_ms();
    let mut n = 0u8;
    let mut mk = |by: &str, team: &str, sched: DocSchedule| {
        n += 1;
        let id = DocId::new_v4();
        let mut doc = walk_doc(&[b'l', n]);
        let mut w = write(id, by, DocKind::Walk, Some(team), all_changes(&mut doc));
        w.schedule = Some(sched);
        assert!(store.commit(&[w]).expect("commit").writes[0].is_ok());
        id
    };
    let running = mk("bert", "noord", schedule(None, true, true, Some(now - DAY)));
    let planned = mk(
        "anna",
        "noord",
        schedule(Some(now + 2 * DAY), false, false, Some(now + 2 * DAY)),
    );
    let zuid = mk(
        "zeno",
        "zuid",
        schedule(Some(now + 3 * DAY), false, false, Some(now + 3 * DAY)),
    );
    let old1 = mk(
        "anna",
        "noord",
        schedule(None, true, false, Some(now - 40 * DAY)),
    );
    let old2 = mk(
        "anna",
        "noord",
        schedule(None, true, false, Some(now - 30 * DAY)),
    );
    let q = |team: Option<&str>, state, mine_only, limit| DocListQuery {
        kind: DocKind::Walk,
        team: team.map(str::to_owned),
        state,
        user: uid("anna"),
        mine_only,
        limit,
    };
    let ids = |v: Vec<super::ListedDoc>| v.into_iter().map(|d| d.meta.id).collect::<Vec<_>>();
    let soon = DocListState::Planned { from: now };
    assert_eq!(
        ids(store
            .list_documents(&q(Some("noord"), soon, false, 10))
            .expect("planned")),
        vec![planned]
    );
    assert_eq!(
        ids(store
            .list_documents(&q(None, soon, false, 10))
            .expect("planned")),
        vec![planned, zuid],
        "soonest first, every team"
    );
    let run = store
        .list_documents(&q(Some("noord"), DocListState::Running, false, 10))
        .expect("running");
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].meta.id, running);
    assert!(!run[0].member, "anna is no member of bert's walk");
    let max = DocId::from_bytes([0xff; 16]);
    let past = |before| DocListState::Past {
        before: Some(before),
    };
    let mine = store
        .list_documents(&q(Some("noord"), past((now, max)), true, 10))
        .expect("past");
    assert_eq!(
        mine.iter().map(|d| d.meta.id).collect::<Vec<_>>(),
        vec![old2, old1],
        "newest first; running and planned are not past"
    );
    assert!(mine.iter().all(|d| d.member));
    assert_eq!(mine[0].at, now - 30 * DAY);
    let page = ids(store
        .list_documents(&q(Some("noord"), past((mine[0].at, old2)), true, 1))
        .expect("page"));
    assert_eq!(page, vec![old1], "strictly after the previous page's key");
    assert!(
        store
            .list_documents(&q(Some("noord"), past((now, max)), true, 10))
            .expect("past")
            .iter()
            .all(|d| d.meta.id != running)
    );
    assert!(
        ids(store
            .list_documents(&q(
                Some("noord"),
                DocListState::Past { before: None },
                false,
                10
            ))
            .expect("unbounded"))
        .contains(&planned),
        "without a key every document that is not running"
    );
}
