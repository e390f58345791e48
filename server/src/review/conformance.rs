//! The review conformance suite: what the review queries answer, written
//! once against [`ReviewDb`] and run on both backends. A backend runs it
//! with `wijklog_server::review_conformance_tests!(fresh);` in a test module,
//! where `fresh` returns a [`Fixture`] (an empty, migrated store and the
//! review connections to the same database) on each call: that defines one
//! `#[test]` per case. SQLite runs it in `tests/api/review.rs`, PostgreSQL in
//! `tests/postgres/review.rs`.
//!
//! Every case writes the same projection rows through the store (as the
//! sync layer does) and compares the answers with values worked out here,
//! so both backends must give the same items, in the same order, with the
//! same counts. Compiled only for tests (`cfg(test)` or the `testing`
//! feature).

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT};
use serde_json::{Value, json};

use super::callbacks::{Task, WorkFilters};
use super::query::{Cursor, Filters, Kind, ListRequest};
use super::{ReviewDb, Scope, Sort, callbacks, export, history, report, sheet, stats};
use crate::domain::{DocId, DocKind, UserId};
use crate::storage::{DocWrite, NewChange, NewDoc, NewUser, ProjectionRow, StoreInspect};

/// A store and the review layer's connections to the same, fresh database.
pub struct Fixture {
    /// The store (writes the projection rows).
    pub store: Box<dyn StoreInspect>,
    /// The review connections.
    pub db: ReviewDb,
}

/// A fixture factory: each call returns a fresh, empty database.
pub type Factory<'a> = &'a dyn Fn() -> Fixture;

/// Defines one `#[test]` per review conformance case, each on a fresh
/// database from `$factory` (a path to a `fn() -> Fixture`).
#[macro_export]
macro_rules! review_conformance_tests {
    ($factory:path) => {
        $crate::__review_conformance_cases!(
            $factory;
            the_list_pages_both_orders_without_gaps_or_repeats,
            filters_and_scopes_select_the_same_items,
            search_folds_diacritics_matches_prefixes_and_needs_every_word,
            an_item_row_is_found_by_kind_document_and_id,
            open_feedback_is_listed_oldest_first,
            the_work_list_orders_by_due_date_and_filters_assignees,
            statistics_count_the_period_and_the_one_before,
            an_item_history_names_who_sent_each_change,
            exports_write_every_matching_row,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __review_conformance_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::review::conformance::$case(&$factory);
            }
        )*
    };
}

/// A work-list entry as compared: task, item, due, overdue, assignee.
type WorkView = (Task, String, Option<i64>, bool, Option<String>);
/// A history entry as compared: user, name, created, fields.
type HistoryView = (Option<String>, Option<String>, bool, Vec<String>);

/// 2026-01-01T00:00:00Z, a Thursday.
const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

const WALK_NOORD: [u8; 16] = [0x10; 16];
const WALK_ZUID: [u8; 16] = [0x20; 16];
const SESSION_NOORD: [u8; 16] = [0x30; 16];

/// One seeded item.
struct Seed {
    doc: [u8; 16],
    item: &'static str,
    at: Option<i64>,
    wijk: Option<&'static str>,
    category: &'static str,
    severity: &'static str,
    by: &'static str,
    deleted: bool,
    text: &'static str,
    place: Option<&'static str>,
    /// Merged into the row JSON (follow-up, feedback, call back, resident, location).
    extra: Value,
}

impl Seed {
    fn sev_rank(&self) -> i64 {
        match self.severity {
            "urgent" => 4,
            "zorgelijk" => 3,
            "aandacht" => 2,
            "informatief" => 1,
            _ => 0,
        }
    }

    fn row(&self) -> ProjectionRow {
        let mut row = json!({
            "doc_id": DocId::from_bytes(self.doc).to_string(),
            "item_id": self.item,
            "created_at": self.at,
            "created_by": self.by,
            "wijk": self.wijk,
            "category": self.category,
            "severity": self.severity,
            "text": self.text,
            "place": self.place,
            "photos": [],
        });
        if let (Some(obj), Some(extra)) = (row.as_object_mut(), self.extra.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        ProjectionRow {
            item_id: self.item.to_owned(),
            wijk: self.wijk.map(str::to_owned),
            category: Some(self.category.to_owned()),
            severity: Some(self.severity.to_owned()),
            created_at: self.at,
            created_by: Some(self.by.to_owned()),
            deleted: self.deleted,
            text: self.text.to_owned(),
            place: self.place.map(str::to_owned),
            row_json: row.to_string(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn seed(
    doc: [u8; 16],
    item: &'static str,
    at: Option<i64>,
    wijk: Option<&'static str>,
    category: &'static str,
    severity: &'static str,
    by: &'static str,
    text: &'static str,
) -> Seed {
    Seed {
        doc,
        item,
        at,
        wijk,
        category,
        severity,
        by,
        deleted: false,
        text,
        place: None,
        extra: json!({}),
    }
}

/// The items every case starts from: two walks (teams noord and zuid) and a
/// spreekuur session (noord), with ties in time, an item without a time, a
/// deleted one, follow-ups, feedback, call backs and a resident's contact.
fn items() -> Vec<Seed> {
    let c = Some("centrum");
    let o = Some("oost");
    vec![
        Seed {
            place: Some("Marktplein"),
            ..seed(
                WALK_NOORD,
                "a1",
                Some(T0 + HOUR),
                c,
                "zwerfafval",
                "aandacht",
                "u1",
                "Zwerfafval bij Café de Hoek",
            )
        },
        Seed {
            extra: json!({
                "follow_up": {"politie": {"status": "open"}},
                "feedback": {"needed": true},
                "location": {"lat": 52.37, "lon": 5.21, "accuracy_m": 8},
            }),
            ..seed(
                WALK_NOORD,
                "a2",
                Some(T0 + 2 * HOUR),
                c,
                "jeugdoverlast",
                "urgent",
                "u2",
                "Groep jongeren met fietsen",
            )
        },
        seed(
            WALK_NOORD,
            "a3",
            Some(T0 + 2 * HOUR),
            o,
            "positief_signaal",
            "informatief",
            "u1",
            "Nieuwe bankjes geplaatst",
        ),
        Seed {
            deleted: true,
            ..seed(
                WALK_NOORD,
                "a4",
                Some(T0 + 3 * HOUR),
                c,
                "zwerfafval",
                "urgent",
                "u1",
                "Verwijderde fiets",
            )
        },
        seed(
            WALK_NOORD,
            "a5",
            None,
            None,
            "overig",
            "zorgelijk",
            "u1",
            "Zonder tijd",
        ),
        Seed {
            extra: json!({
                "follow_up": {"politie": {"status": "afgerond"}, "woningcorporatie": {"status": "open"}},
                "feedback": {"needed": true, "given_at": T0 + 3 * DAY},
                "location": {"lat": 52.38, "lon": 5.22},
            }),
            ..seed(
                WALK_ZUID,
                "b1",
                Some(T0 + 2 * HOUR),
                o,
                "zwerfafval",
                "zorgelijk",
                "u3",
                "Fietswrak in de sloot",
            )
        },
        seed(
            WALK_ZUID,
            "b2",
            Some(T0 - 10 * DAY),
            o,
            "zwerfafval",
            "aandacht",
            "u3",
            "Volle container",
        ),
        Seed {
            extra: json!({
                "resident": {"name": "Mevrouw Jansen", "phone": "06 1234 5678"},
                "callback": {"requested": true, "due_at": T0 + DAY, "assignee": "u2"},
                "feedback": {"needed": true},
            }),
            ..seed(
                SESSION_NOORD,
                "n1",
                Some(T0 + 4 * HOUR),
                c,
                "eenzaamheid",
                "zorgelijk",
                "u2",
                "Voelt zich alleen",
            )
        },
        Seed {
            extra: json!({"callback": {"requested": true}}),
            ..seed(
                SESSION_NOORD,
                "n2",
                Some(T0 + 5 * HOUR),
                c,
                "overlast",
                "aandacht",
                "u2",
                "Burenruzie",
            )
        },
        Seed {
            extra: json!({"callback": {"requested": true, "due_at": T0, "done_at": T0 + 2 * HOUR}}),
            ..seed(
                SESSION_NOORD,
                "n3",
                Some(T0 + HOUR),
                c,
                "overlast",
                "informatief",
                "u2",
                "Geluid van de buren",
            )
        },
    ]
}

/// Writes [`items`] through the store, one write per document.
fn seeded(factory: Factory<'_>) -> Fixture {
    let fx = factory();
    let all = items();
    for (doc, kind, team) in [
        (WALK_NOORD, DocKind::Walk, "noord"),
        (WALK_ZUID, DocKind::Walk, "zuid"),
        (SESSION_NOORD, DocKind::Spreekuur, "noord"),
    ] {
        let owner = UserId::parse("u1").expect("user id");
        let rows = all.iter().filter(|s| s.doc == doc).map(Seed::row).collect();
        let write = DocWrite {
            epoch: None,
            doc_id: DocId::from_bytes(doc),
            user_id: owner.clone(),
            device_id: None,
            create: Some(NewDoc {
                kind,
                owner,
                team: Some(team.to_owned()),
            }),
            changes: Vec::new(),
            projection: Some(rows),
            schedule: None,
        };
        let out = fx.store.commit(&[write]).expect("commit");
        assert!(out.writes.iter().all(Result::is_ok), "{:?}", out.writes);
    }
    fx
}

/// `doc/item` of a list or export row.
fn key(doc: &[u8; 16], item: &str) -> String {
    format!("{}/{item}", hex::encode(doc))
}

fn row_key(row: &Value) -> String {
    let doc = DocId::parse(row["doc_id"].as_str().expect("doc_id")).expect("doc id");
    key(&doc.as_bytes(), row["item_id"].as_str().expect("item_id"))
}

/// Every page of `req`, followed by its cursors; the keys in order.
fn all_pages(db: &ReviewDb, scope: &Scope, mut req: ListRequest) -> (Vec<String>, usize) {
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let page = super::query::list_items(db, scope, &req).expect("page");
        pages += 1;
        assert!(page.items.len() <= req.limit as usize);
        keys.extend(page.items.iter().map(row_key));
        match page.next_cursor {
            Some(c) => req.cursor = Some(Cursor::decode(&c).expect("cursor")),
            None => return (keys, pages),
        }
        assert!(pages < 100, "the pages do not end");
    }
}

fn request(filters: Filters) -> ListRequest {
    ListRequest {
        filters,
        sort: Sort::CreatedAt,
        limit: 500,
        cursor: None,
    }
}

/// The item ids `filters` selects for `scope` (sorted).
fn selected(db: &ReviewDb, scope: &Scope, filters: Filters) -> Vec<String> {
    let page = super::query::list_items(db, scope, &request(filters)).expect("list");
    let mut ids: Vec<String> = page
        .items
        .iter()
        .map(|r| r["item_id"].as_str().expect("item_id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn ids(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub fn the_list_pages_both_orders_without_gaps_or_repeats(factory: Factory<'_>) {
    let fx = seeded(factory);
    let live: Vec<Seed> = items().into_iter().filter(|s| !s.deleted).collect();
    for sort in [Sort::CreatedAt, Sort::Severity] {
        let mut expected: Vec<&Seed> = live.iter().collect();
        expected.sort_by(|a, b| {
            let k = |s: &Seed| {
                let rank = if sort == Sort::Severity {
                    s.sev_rank()
                } else {
                    0
                };
                (rank, s.at.unwrap_or(0), s.doc, s.item)
            };
            k(b).cmp(&k(a))
        });
        let expected: Vec<String> = expected.iter().map(|s| key(&s.doc, s.item)).collect();
        for limit in [1, 2, 3, 500] {
            let req = ListRequest {
                sort,
                limit,
                ..request(Filters::default())
            };
            let (keys, pages) = all_pages(&fx.db, &Scope::all(), req);
            assert_eq!(keys, expected, "{sort:?}, pages of {limit}");
            assert_eq!(pages, expected.len().div_ceil(limit as usize).max(1));
        }
    }
    // A list row carries no contact details, only whether there are some.
    let page = super::query::list_items(&fx.db, &Scope::all(), &request(Filters::default()))
        .expect("list");
    let n1 = page
        .items
        .iter()
        .find(|r| r["item_id"] == "n1")
        .expect("n1");
    assert!(n1.get("resident").is_none());
    assert_eq!(n1["has_resident_contact"], true);
}

pub fn filters_and_scopes_select_the_same_items(factory: Factory<'_>) {
    let fx = seeded(factory);
    let all = Scope::all();
    let db = &fx.db;
    let f = Filters::default;
    let check = |filters: Filters, want: &[&str]| {
        assert_eq!(
            selected(db, &all, filters.clone()),
            ids(want),
            "{filters:?}"
        );
    };
    check(f(), &["a1", "a2", "a3", "a5", "b1", "b2", "n1", "n2", "n3"]);
    check(
        Filters {
            wijk: strings(&["centrum"]),
            ..f()
        },
        &["a1", "a2", "n1", "n2", "n3"],
    );
    check(
        Filters {
            severity: strings(&["urgent", "zorgelijk"]),
            ..f()
        },
        &["a2", "a5", "b1", "n1"],
    );
    check(
        Filters {
            category: strings(&["zwerfafval"]),
            ..f()
        },
        &["a1", "b1", "b2"],
    );
    check(
        Filters {
            from: Some(T0 + 2 * HOUR),
            to: Some(T0 + 4 * HOUR),
            ..f()
        },
        &["a2", "a3", "b1"],
    );
    check(
        Filters {
            team: strings(&["zuid"]),
            ..f()
        },
        &["b1", "b2"],
    );
    check(
        Filters {
            author: strings(&["u3"]),
            ..f()
        },
        &["b1", "b2"],
    );
    check(
        Filters {
            status: strings(&["open"]),
            ..f()
        },
        &["a2", "b1"],
    );
    check(
        Filters {
            partner: strings(&["politie"]),
            ..f()
        },
        &["a2", "b1"],
    );
    // Partner and status hold for the same follow-up entry.
    check(
        Filters {
            partner: strings(&["politie"]),
            status: strings(&["open"]),
            ..f()
        },
        &["a2"],
    );
    check(
        Filters {
            feedback_outstanding: Some(true),
            ..f()
        },
        &["a2", "n1"],
    );
    check(
        Filters {
            feedback_outstanding: Some(false),
            ..f()
        },
        &["a1", "a3", "a5", "b1", "b2", "n2", "n3"],
    );
    check(
        Filters {
            kind: Some(Kind::Spreekuur),
            ..f()
        },
        &["n1", "n2", "n3"],
    );
    check(
        Filters {
            kind: Some(Kind::Walk),
            wijk: strings(&["oost"]),
            ..f()
        },
        &["a3", "b1", "b2"],
    );
    check(
        Filters {
            with_location: true,
            ..f()
        },
        &["a2", "b1"],
    );
    // Scopes: boa of noord see noord's walks, spreekuur staff noord's
    // sessions, admins nothing.
    let boa = Scope {
        walks: Some(Some("noord".into())),
        notes: None,
    };
    assert_eq!(selected(db, &boa, f()), ids(&["a1", "a2", "a3", "a5"]));
    let staff = Scope {
        walks: None,
        notes: Some(Some("noord".into())),
    };
    assert_eq!(selected(db, &staff, f()), ids(&["n1", "n2", "n3"]));
    let zuid = Scope {
        walks: Some(Some("zuid".into())),
        notes: Some(Some("zuid".into())),
    };
    assert_eq!(selected(db, &zuid, f()), ids(&["b1", "b2"]));
    let admin = Scope {
        walks: None,
        notes: None,
    };
    assert!(selected(db, &admin, f()).is_empty());
}

pub fn search_folds_diacritics_matches_prefixes_and_needs_every_word(factory: Factory<'_>) {
    let fx = seeded(factory);
    let q = |text: &str| {
        selected(
            &fx.db,
            &Scope::all(),
            Filters {
                q: Some(text.to_owned()),
                ..Filters::default()
            },
        )
    };
    assert_eq!(q("cafe"), ids(&["a1"]), "diacritics folded");
    assert_eq!(q("CAFÉ hoek"), ids(&["a1"]), "case and accents");
    assert_eq!(q("markt"), ids(&["a1"]), "the place is searched, by prefix");
    assert_eq!(q("fiets"), ids(&["a2", "b1"]), "prefixes; deleted left out");
    assert_eq!(q("fiets sloot"), ids(&["b1"]), "every word must match");
    assert_eq!(q("fiets onbekendwoord"), ids(&[]));
    assert_eq!(q("-- **"), ids(&[]), "no word: nothing matches");
    assert_eq!(
        q("   "),
        ids(&["a1", "a2", "a3", "a5", "b1", "b2", "n1", "n2", "n3"]),
        "an empty search is no filter"
    );
    // Search syntax of either engine is searched as words, never parsed.
    assert_eq!(q("\"bank OR NEAR("), ids(&[]));
    assert_eq!(q("bankjes"), ids(&["a3"]));
    assert_eq!(q("fiets & !sloot | x:*"), ids(&[]));
    assert_eq!(q("jongeren's"), ids(&[]));
    // With other filters and in a scope.
    let boa = Scope {
        walks: Some(Some("noord".into())),
        notes: None,
    };
    let found = selected(
        &fx.db,
        &boa,
        Filters {
            q: Some("fiets".into()),
            ..Filters::default()
        },
    );
    assert_eq!(found, ids(&["a2"]));
}

pub fn an_item_row_is_found_by_kind_document_and_id(factory: Factory<'_>) {
    let fx = seeded(factory);
    let walk = DocId::from_bytes(WALK_NOORD);
    let session = DocId::from_bytes(SESSION_NOORD);
    let row = report::item_row(&fx.db, DocKind::Walk, walk, "a2")
        .expect("read")
        .expect("found");
    let row: Value = serde_json::from_str(&row).expect("json");
    assert_eq!(row["text"], "Groep jongeren met fietsen");
    let note = report::item_row(&fx.db, DocKind::Spreekuur, session, "n1")
        .expect("read")
        .expect("found");
    assert!(note.contains("Mevrouw Jansen"), "the full row");
    for (kind, doc, item) in [
        (DocKind::Walk, walk, "n1"),
        (DocKind::Spreekuur, walk, "a2"),
        (DocKind::Walk, session, "a2"),
        (DocKind::Walk, walk, "zz"),
        (DocKind::Catalog, walk, "a2"),
    ] {
        assert_eq!(
            report::item_row(&fx.db, kind, doc, item).expect("read"),
            None,
            "{kind:?} {item}"
        );
    }
}

pub fn open_feedback_is_listed_oldest_first(factory: Factory<'_>) {
    let fx = seeded(factory);
    let now = T0 + 5 * DAY;
    let list = report::open_feedback(&fx.db, &Scope::all(), now, 100).expect("list");
    let got: Vec<(&str, String, i64)> = list
        .iter()
        .map(|e| {
            (
                e.kind,
                e.item["item_id"].as_str().expect("id").to_owned(),
                e.age_days,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("walk", "a2".to_owned(), 4),
            ("spreekuur", "n1".to_owned(), 4),
        ]
    );
    assert!(list[1].item.get("resident").is_none());
    let one = report::open_feedback(&fx.db, &Scope::all(), now, 1).expect("list");
    assert_eq!(one.len(), 1);
    let boa = Scope {
        walks: Some(Some("zuid".into())),
        notes: None,
    };
    assert!(
        report::open_feedback(&fx.db, &boa, now, 100)
            .expect("list")
            .is_empty()
    );
}

pub fn the_work_list_orders_by_due_date_and_filters_assignees(factory: Factory<'_>) {
    let fx = seeded(factory);
    let now = T0 + 20 * DAY;
    // Feedback is due 10 working days after the item: 14 days from a Thursday.
    let fb_due = |at: i64| {
        wijklog_shared::add_working_days(wijklog_shared::Timestamp::from_millis(at), 10).as_millis()
    };
    let list = |f: WorkFilters, contacts: bool| {
        callbacks::work_list(&fx.db, &Scope::all(), &f, now, contacts).expect("work list")
    };
    let all = WorkFilters {
        limit: 100,
        ..WorkFilters::default()
    };
    let got = list(all.clone(), true);
    let view: Vec<WorkView> = got
        .iter()
        .map(|w| {
            (
                w.task,
                w.item["item_id"].as_str().expect("id").to_owned(),
                w.due_at,
                w.overdue,
                w.assignee.clone(),
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![
            (
                Task::Callback,
                "n1".into(),
                Some(T0 + DAY),
                true,
                Some("u2".into())
            ),
            (
                Task::Feedback,
                "a2".into(),
                Some(fb_due(T0 + 2 * HOUR)),
                true,
                None
            ),
            (
                Task::Feedback,
                "n1".into(),
                Some(fb_due(T0 + 4 * HOUR)),
                true,
                None
            ),
            (Task::Callback, "n2".into(), None, false, None),
        ]
    );
    assert_eq!(fb_due(T0 + 2 * HOUR), T0 + 2 * HOUR + 14 * DAY);
    let contact = got[0].contact.as_ref().expect("n1's contact");
    assert_eq!(contact.tel.as_deref(), Some("tel:0612345678"));
    assert!(got[0].item.get("resident").is_none());
    assert!(list(all.clone(), false).iter().all(|w| w.contact.is_none()));

    let items = |f: WorkFilters| -> Vec<(Task, String)> {
        list(f, false)
            .iter()
            .map(|w| (w.task, w.item["item_id"].as_str().expect("id").to_owned()))
            .collect()
    };
    assert_eq!(
        items(WorkFilters {
            assignee: strings(&["u2"]),
            ..all.clone()
        }),
        vec![(Task::Callback, "n1".into())]
    );
    assert_eq!(
        items(WorkFilters {
            assignee: strings(&["team"]),
            ..all.clone()
        }),
        vec![
            (Task::Feedback, "a2".into()),
            (Task::Feedback, "n1".into()),
            (Task::Callback, "n2".into()),
        ]
    );
    assert_eq!(
        items(WorkFilters {
            overdue: Some(false),
            ..all.clone()
        }),
        vec![(Task::Callback, "n2".into())]
    );
    assert_eq!(
        items(WorkFilters {
            task: Some(Task::Feedback),
            wijk: strings(&["centrum"]),
            team: strings(&["noord"]),
            ..all.clone()
        }),
        vec![(Task::Feedback, "a2".into()), (Task::Feedback, "n1".into())]
    );
    assert_eq!(
        items(WorkFilters {
            limit: 2,
            ..all.clone()
        })
        .len(),
        2
    );

    let counts = callbacks::counts(&fx.db, &Scope::all(), now).expect("counts");
    assert_eq!(
        counts,
        callbacks::WorkCounts {
            callbacks_open: 2,
            callbacks_overdue: 1,
            feedback_open: 2,
            feedback_overdue: 2,
        }
    );
    let early = callbacks::counts(&fx.db, &Scope::all(), T0).expect("counts");
    assert_eq!(early.callbacks_overdue + early.feedback_overdue, 0);
    let zuid = Scope {
        walks: Some(Some("zuid".into())),
        notes: Some(Some("zuid".into())),
    };
    assert_eq!(
        callbacks::counts(&fx.db, &zuid, now).expect("counts"),
        callbacks::WorkCounts::default()
    );

    // The call-back export's rows: open call backs only, due date first.
    let mut seen = Vec::new();
    callbacks::for_each_callback(&fx.db, &Scope::all(), &all, now, |cb| {
        seen.push((cb.item_id, cb.due_at, cb.assignee));
        Ok(())
    })
    .expect("call backs");
    assert_eq!(
        seen,
        vec![
            ("n1".to_owned(), Some(T0 + DAY), Some("u2".to_owned())),
            ("n2".to_owned(), None, None),
        ]
    );
}

pub fn statistics_count_the_period_and_the_one_before(factory: Factory<'_>) {
    let fx = seeded(factory);
    let positive: BTreeSet<String> = ["positief_signaal".to_owned()].into();
    let s = stats::stats(&fx.db, &Scope::all(), T0, T0 + 10 * DAY, &positive).expect("stats");
    let t = |current, previous| stats::Trend { current, previous };
    assert_eq!(s.previous_from, T0 - 10 * DAY);
    // Current: a1 a2 a3 b1 n1 n2 n3 (a4 deleted, a5 without a time); before: b2.
    assert_eq!(s.problems, t(6, 1));
    assert_eq!(s.positive, t(1, 0));
    assert_eq!(s.by_wijk.get("centrum"), Some(&t(5, 0)));
    assert_eq!(s.by_wijk.get("oost"), Some(&t(1, 1)));
    assert_eq!(s.positive_by_wijk.get("oost"), Some(&t(1, 0)));
    assert_eq!(s.by_category.get("zwerfafval"), Some(&t(2, 1)));
    assert_eq!(s.by_category.get("positief_signaal"), Some(&t(1, 0)));
    assert_eq!(s.by_severity.get("zorgelijk"), Some(&t(2, 0)));
    assert_eq!(s.by_severity.get("aandacht"), Some(&t(2, 1)));
    assert_eq!(s.by_severity.get("urgent"), Some(&t(1, 0)));
    // The series: ten days; everything current is on the first day, and
    // the previous period's item on its first day.
    assert_eq!(s.step_ms, DAY);
    assert_eq!(s.series.len(), 10);
    assert_eq!(s.series[0].start, T0);
    assert_eq!(s.series[0].problems, t(6, 1));
    assert_eq!(s.series[0].positive, t(1, 0));
    assert!(
        s.series[1..]
            .iter()
            .all(|step| step.problems == t(0, 0) && step.positive == t(0, 0))
    );
    let later =
        stats::stats(&fx.db, &Scope::all(), T0 - DAY, T0 + 9 * DAY, &positive).expect("stats");
    assert_eq!(later.series[1].problems.current, 6, "one day later");
    assert_eq!(later.series[1].problems.previous, 1);
    let boa = Scope {
        walks: Some(Some("noord".into())),
        notes: None,
    };
    let s = stats::stats(&fx.db, &boa, T0, T0 + 10 * DAY, &positive).expect("stats");
    assert_eq!(s.problems, t(2, 0));
    assert_eq!(s.positive, t(1, 0));
}

pub fn an_item_history_names_who_sent_each_change(factory: Factory<'_>) {
    let fx = factory();
    let user = |name: &str| {
        fx.store
            .create_user(NewUser {
                username: name.to_owned(),
                display_name: format!("{name} (test)"),
                password_hash: "x".to_owned(),
                roles: vec![crate::domain::Role::Boa],
                team: Some("noord".to_owned()),
            })
            .expect("user")
            .id
    };
    let (anna, bert) = (user("anna"), user("bert"));
    let id = DocId::new_v4();
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(b"actor-anna".as_slice()));
    doc.put(ROOT, "kind", "walk").expect("put");
    let obs = doc
        .put_object(ROOT, "observations", ObjType::Map)
        .expect("map");
    let item = doc.put_object(&obs, "i1", ObjType::Map).expect("item");
    doc.put(&item, "text", "Losliggende tegel").expect("put");
    doc.commit();
    let heads = doc.get_heads();
    let mut bert_doc = doc
        .fork()
        .with_actor(automerge::ActorId::from(b"actor-bert".as_slice()));
    bert_doc.put(&item, "severity", "urgent").expect("put");
    let follow = bert_doc
        .put_object(&item, "follow_up", ObjType::Map)
        .expect("map");
    bert_doc
        .put_object(&follow, "gemeente", ObjType::Map)
        .expect("map");
    bert_doc.commit();
    let second: Vec<NewChange> = bert_doc
        .get_changes(&heads)
        .iter()
        .map(NewChange::from_change)
        .collect();
    let w = DocWrite::creating(id, DocKind::Walk, &anna, Some("noord"), doc.document());
    fx.store.commit(&[w]).expect("first");
    let w2 = DocWrite {
        epoch: None,
        doc_id: id,
        user_id: bert.clone(),
        device_id: None,
        create: None,
        changes: second,
        projection: None,
        schedule: None,
    };
    let out = fx.store.commit(&[w2]).expect("second");
    assert!(out.writes.iter().all(Result::is_ok), "{:?}", out.writes);
    let am = report::load_automerge(fx.store.as_ref(), id).expect("load");
    let entries = history::item_history(&fx.db, id, &am, "observations", "i1").expect("history");
    let view: Vec<HistoryView> = entries
        .iter()
        .map(|e| {
            (
                e.user_id.clone(),
                e.user_name.clone(),
                e.created,
                e.fields.clone(),
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![
            (
                Some(anna.as_str().to_owned()),
                Some("anna (test)".to_owned()),
                true,
                strings(&["text"])
            ),
            (
                Some(bert.as_str().to_owned()),
                Some("bert (test)".to_owned()),
                false,
                strings(&["follow_up", "follow_up.gemeente", "severity"])
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.received_at.is_some()));
    assert!(
        history::item_history(&fx.db, id, &am, "observations", "i2")
            .expect("history")
            .is_empty()
    );
}

/// The rows of a CSV (after its byte order mark), headings first.
fn csv_rows(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    let body = bytes.strip_prefix(export::BOM).expect("byte order mark");
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect()
}

pub fn exports_write_every_matching_row(factory: Factory<'_>) {
    let fx = seeded(factory);
    let all = Scope::all();
    let newest_first = super::query::list_items(&fx.db, &all, &request(Filters::default()))
        .expect("list")
        .items
        .iter()
        .map(|r| r["item_id"].as_str().expect("id").to_owned())
        .collect::<Vec<_>>();

    let (csv, summary) = export::write_csv(&fx.db, &all, &Filters::default(), true).expect("csv");
    let rows = csv_rows(&csv, b',');
    let item_col = rows[0]
        .iter()
        .position(|h| h == "item_id")
        .expect("item_id column");
    let exported: Vec<String> = rows[1..].iter().map(|r| r[item_col].clone()).collect();
    assert_eq!(exported, newest_first, "the list's order");
    assert_eq!(summary.count, newest_first.len());
    assert_eq!(
        summary.personal_items,
        vec![format!("{}/n1", DocId::from_bytes(SESSION_NOORD))]
    );

    let filtered = Filters {
        category: strings(&["zwerfafval"]),
        ..Filters::default()
    };
    let (_, summary) = export::write_csv(&fx.db, &all, &filtered, false).expect("csv");
    assert_eq!(summary.count, 3);
    assert!(summary.personal_items.is_empty());

    let (geo, summary) = export::write_geojson(&fx.db, &all, &Filters::default()).expect("geojson");
    assert_eq!(summary.count, 2);
    assert_eq!(geo["features"].as_array().map(Vec::len), Some(2));

    let labels = sheet::Labels::load(&fx.db, wijklog_shared::Catalog::defaults()).expect("labels");
    let mut out = Vec::new();
    let mut summary = export::ExportSummary::default();
    sheet::write_excel_csv_to(
        &fx.db,
        &all,
        &Filters::default(),
        &labels,
        false,
        &mut out,
        &mut summary,
    )
    .expect("excel csv");
    assert_eq!(csv_rows(&out, b';').len(), newest_first.len() + 1);
    assert_eq!(summary.count, newest_first.len());

    let spool = tempfile::tempfile().expect("spool");
    let mut xlsx = Vec::new();
    let mut summary = export::ExportSummary::default();
    sheet::write_xlsx_to(
        &fx.db,
        &all,
        &Filters::default(),
        &labels,
        false,
        spool,
        &mut xlsx,
        &mut summary,
    )
    .expect("xlsx");
    assert_eq!(summary.count, newest_first.len());
    assert!(xlsx.starts_with(b"PK"), "a zip file");

    let mut out = Vec::new();
    let mut summary = export::ExportSummary::default();
    let filters = WorkFilters {
        limit: 100,
        ..WorkFilters::default()
    };
    sheet::write_callbacks_csv_to(
        &fx.db,
        &all,
        &filters,
        T0 + 20 * DAY,
        &labels,
        false,
        &mut out,
        &mut summary,
    )
    .expect("call backs");
    assert_eq!(summary.count, 2);
    assert_eq!(csv_rows(&out, b',').len(), 3);
    assert_eq!(summary.personal_items.len(), 1);
}
