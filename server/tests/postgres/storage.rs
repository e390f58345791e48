//! The storage conformance suite against PostgreSQL (one test per case,
//! each on its own database), and the PostgreSQL-specific parts: migrations
//! and their refusal of a newer database, durability settings, full-text
//! search with Dutch stems and folded diacritics.

use wijklog_server::storage::{PgOptions, PgStore, Store, StoreInspect};
use wijklog_server::testing_pg::PgCluster;

/// An empty, migrated PostgreSQL store on its own database.
fn fresh_pg_store() -> Box<dyn StoreInspect> {
    let url = PgCluster::shared().fresh_migrated_database();
    Box::new(PgStore::connect(&url, PgOptions::default()).expect("connect"))
}

/// The conformance suite against PostgreSQL: one test per case.
mod pg_conformance {
    use super::fresh_pg_store;

    wijklog_server::store_conformance_tests!(fresh_pg_store);
}

use std::sync::{Arc, Barrier};

use wijklog_server::domain::{DocId, DocKind, UserId};
use wijklog_server::storage::{
    DocWrite, MigrationError, NewChange, NewDoc, PG_LATEST_VERSION, ProjectionRow, RefreshOutcome,
    Singleton, StoreError,
};

fn connect(url: &str) -> PgStore {
    PgStore::connect(url, PgOptions::default()).expect("connect")
}

/// The database name at the end of a test URL.
fn db_name(url: &str) -> &str {
    url.rsplit('/').next().expect("database name")
}

#[test]
fn a_new_database_migrates_to_the_latest_version_once() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_database();
    let store = connect(&url);
    assert_eq!(store.schema_version().expect("version"), PG_LATEST_VERSION);
    drop(store);
    // Again: nothing to do, nothing changed.
    let store = connect(&url);
    assert_eq!(store.schema_version().expect("version"), PG_LATEST_VERSION);
    assert_eq!(
        cluster
            .psql(db_name(&url), "SELECT count(*) FROM wijklog_schema")
            .trim(),
        "1"
    );
    store.check_ready().expect("ready");
}

#[test]
fn nodes_starting_together_migrate_the_database_once() {
    let url = PgCluster::shared().fresh_database();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                PgStore::connect(&url, PgOptions::default()).map(|s| s.schema_version())
            })
        })
        .collect();
    for h in handles {
        let version = h
            .join()
            .expect("thread")
            .expect("connect")
            .expect("version");
        assert_eq!(version, PG_LATEST_VERSION);
    }
}

#[test]
fn a_database_newer_than_the_binary_is_refused_untouched() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_migrated_database();
    let db = db_name(&url);
    let newer = PG_LATEST_VERSION + 1;
    cluster.psql(db, &format!("UPDATE wijklog_schema SET version = {newer}"));
    cluster.psql(db, "CREATE TABLE from_the_future (x integer)");
    let err = PgStore::connect(&url, PgOptions::default()).expect_err("refused");
    match err {
        StoreError::Migration(MigrationError::TooNew { found, supported }) => {
            assert_eq!(found, newer);
            assert_eq!(supported, PG_LATEST_VERSION);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let msg = StoreError::Migration(MigrationError::TooNew {
        found: newer,
        supported: PG_LATEST_VERSION,
    })
    .to_string();
    assert!(msg.contains("newer wijklog"), "{msg}");
    assert_eq!(
        cluster
            .psql(db, "SELECT version FROM wijklog_schema")
            .trim(),
        newer.to_string()
    );
    assert_eq!(
        cluster
            .psql(db, "SELECT to_regclass('from_the_future') IS NOT NULL")
            .trim(),
        "t"
    );
}

#[test]
fn commits_wait_for_the_wal_flush_even_when_the_database_default_is_off() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_migrated_database();
    cluster.psql(
        db_name(&url),
        &format!(
            "ALTER DATABASE {} SET synchronous_commit = off",
            db_name(&url)
        ),
    );
    assert_eq!(
        cluster
            .psql(db_name(&url), "SHOW synchronous_commit")
            .trim(),
        "off",
        "a plain session of this database has it off"
    );
    let store = connect(&url);
    assert_eq!(
        store.setting("synchronous_commit").expect("show"),
        "on",
        "the store's sessions have it on"
    );
    store.check_ready().expect("ready");
}

#[test]
fn a_wrong_password_or_unreachable_server_is_a_clear_error_without_the_password() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_migrated_database();
    let wrong = url.replacen(cluster.password(), "not-the-password", 1);
    let err = PgStore::connect(&wrong, PgOptions::default()).expect_err("refused");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("not-the-password"), "{shown}");
    // The password from the options (the environment) when the URL has none.
    let bare = format!(
        "{}/{}",
        cluster
            .url_without_password("x")
            .rsplit_once('/')
            .expect("url")
            .0,
        db_name(&url)
    );
    assert!(PgStore::connect(&bare, PgOptions::default()).is_err());
    let opts = PgOptions {
        password: Some(cluster.password().to_owned()),
        ..PgOptions::default()
    };
    let store = PgStore::connect(&bare, opts).expect("password from the options");
    store.check_ready().expect("ready");
}

fn item(id: &str, text: &str) -> ProjectionRow {
    ProjectionRow {
        item_id: id.to_owned(),
        wijk: None,
        category: None,
        severity: None,
        created_at: Some(1_700_000_000_000),
        created_by: Some("u1".into()),
        deleted: false,
        text: text.to_owned(),
        place: None,
        row_json: serde_json::json!({"item_id": id, "text": text}).to_string(),
    }
}

fn walk_write(doc_id: DocId, user: &str, actor: &[u8], n: i64) -> DocWrite {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new().with_actor(automerge::ActorId::from(actor));
    doc.put(automerge::ROOT, "kind", "walk").expect("put");
    doc.put(automerge::ROOT, "n", n).expect("put");
    doc.commit();
    let user = UserId::parse(user).expect("id");
    DocWrite {
        epoch: None,
        doc_id,
        user_id: user.clone(),
        device_id: None,
        create: Some(NewDoc {
            kind: DocKind::Walk,
            owner: user,
            team: Some("noord".into()),
        }),
        changes: doc
            .get_changes(&[])
            .iter()
            .map(NewChange::from_change)
            .collect(),
        projection: None,
        schedule: None,
    }
}

#[test]
fn dutch_words_are_found_by_their_stem_as_well() {
    let store = connect(&PgCluster::shared().fresh_migrated_database());
    let id = DocId::new_v4();
    let mut w = walk_write(id, "u1", b"stem", 1);
    w.projection = Some(vec![
        item("a", "twee fietsen tegen het hek"),
        item("b", "één fiets op de stoep"),
    ]);
    store.commit(&[w]).expect("commit");
    let mut hits: Vec<String> = store
        .search_items("fietsen", 10)
        .expect("search")
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    hits.sort();
    assert_eq!(
        hits,
        ["a", "b"],
        "the plural finds the singular (Dutch stem)"
    );
}

#[test]
fn two_nodes_writing_the_same_documents_and_actors_at_once_agree() {
    let url = PgCluster::shared().fresh_migrated_database();
    let a = Arc::new(connect(&url));
    let b = Arc::new(connect(&url));
    let docs: Vec<DocId> = (0..20).map(|_| DocId::new_v4()).collect();
    let barrier = Arc::new(Barrier::new(2));
    let run = |store: Arc<PgStore>, docs: Vec<DocId>, barrier: Arc<Barrier>, reverse: bool| {
        std::thread::spawn(move || {
            barrier.wait();
            let mut writes: Vec<DocWrite> = docs
                .iter()
                .enumerate()
                .map(|(i, d)| walk_write(*d, "u1", b"shared-actor", i as i64))
                .collect();
            if reverse {
                writes.reverse();
            }
            // The same writes, the same moment, opposite orders: deadlocks
            // are retried, conflicts read back, nothing is refused.
            store.commit(&writes).expect("commit")
        })
    };
    let ha = run(a.clone(), docs.clone(), barrier.clone(), false);
    let hb = run(b.clone(), docs.clone(), barrier, true);
    let oa = ha.join().expect("node a");
    let ob = hb.join().expect("node b");
    // And one new document at a time, many times: both nodes see no row,
    // both insert, one waits for the other.
    for round in 0..40 {
        let doc = DocId::new_v4();
        let barrier = Arc::new(Barrier::new(2));
        let go = |store: Arc<PgStore>, barrier: Arc<Barrier>| {
            std::thread::spawn(move || {
                let w = walk_write(doc, "u1", b"shared-actor", round);
                barrier.wait();
                store.commit(&[w]).expect("commit")
            })
        };
        let x = go(a.clone(), barrier.clone());
        let y = go(b.clone(), barrier);
        let (x, y) = (x.join().expect("a"), y.join().expect("b"));
        let x = x.writes[0].as_ref().expect("accepted on a");
        let y = y.writes[0].as_ref().expect("accepted on b");
        assert_eq!(usize::from(x.created) + usize::from(y.created), 1);
        assert_eq!(x.inserted + y.inserted, 1);
    }
    let mut created = 0;
    let mut inserted = 0;
    for w in oa.writes.iter().chain(ob.writes.iter()) {
        let applied = w.as_ref().expect("accepted");
        created += usize::from(applied.created);
        inserted += applied.inserted;
    }
    assert_eq!(created, docs.len(), "each document created exactly once");
    assert_eq!(inserted, docs.len(), "each change stored exactly once");
    for d in &docs {
        assert_eq!(a.change_count(*d).expect("count"), 1);
        assert!(b.load_doc(*d).expect("load").is_some());
    }
    // The actor is bound to u1 on both nodes: another user is refused.
    let other = walk_write(DocId::new_v4(), "u2", b"shared-actor", 0);
    assert!(b.commit(&[other]).expect("commit").writes[0].is_err());
}

#[test]
fn a_refresh_token_presented_on_two_nodes_at_once_rotates_once() {
    use wijklog_server::domain::Role;
    use wijklog_server::storage::NewUser;
    let url = PgCluster::shared().fresh_migrated_database();
    let a = Arc::new(connect(&url));
    let b = Arc::new(connect(&url));
    let user = a
        .create_user(NewUser {
            username: "anna".into(),
            display_name: "Anna".into(),
            password_hash: "x".into(),
            roles: vec![Role::Boa],
            team: Some("noord".into()),
        })
        .expect("user");
    // Several rounds: the window between reading and using the token is short.
    for round in 1..=5u8 {
        let far = wijklog_server::domain::now_ms() + 3_600_000;
        let device = a
            .create_device(&user.id, "telefoon", [round; 32], far)
            .expect("device");
        let barrier = Arc::new(Barrier::new(2));
        let present = |store: Arc<PgStore>, barrier: Arc<Barrier>, successor: u8, token: u8| {
            std::thread::spawn(move || {
                barrier.wait();
                // Grace 0: any second use is reuse.
                store
                    .rotate_refresh_token([token; 32], [successor; 32], far, 0)
                    .expect("rotate")
            })
        };
        let ra = present(a.clone(), barrier.clone(), round + 100, round);
        let rb = present(b.clone(), barrier, round + 200, round);
        let outcomes = [ra.join().expect("a"), rb.join().expect("b")];
        let rotated = outcomes
            .iter()
            .filter(|o| matches!(o, RefreshOutcome::Rotated { .. }))
            .count();
        let reused = outcomes
            .iter()
            .filter(|o| matches!(o, RefreshOutcome::Reused { .. }))
            .count();
        assert_eq!((rotated, reused), (1, 1), "{outcomes:?}");
        assert!(
            a.device(&device.id)
                .expect("device")
                .expect("known")
                .revoked_at
                .is_some(),
            "the reuse revoked the family"
        );
    }
}

fn login_limits(
    pair: u32,
    address: u32,
    account: u32,
) -> wijklog_server::config::LoginRateLimitConfig {
    wijklog_server::config::LoginRateLimitConfig {
        window_secs: 600,
        pair_max_failures: pair,
        address_max_failures: address,
        account_max_failures: account,
    }
}

#[test]
fn login_attempts_on_two_nodes_at_once_spend_one_budget_exactly() {
    use wijklog_server::auth::rate_limit::LoginRateLimiter;
    let url = PgCluster::shared().fresh_migrated_database();
    // Two nodes; 40 attempts at once from one address, half on each
    // account, half through each node. Budgets: 5 per (account, address),
    // 8 per address: exactly 8 are let through, at most 5 per account.
    let cfg = login_limits(5, 8, 1000);
    let nodes: Vec<Arc<LoginRateLimiter>> = (0..2)
        .map(|_| {
            let store: Arc<dyn Store> = Arc::new(connect(&url));
            Arc::new(LoginRateLimiter::shared(cfg.clone(), store))
        })
        .collect();
    let addr: std::net::IpAddr = [192, 0, 2, 7].into();
    let now = wijklog_server::domain::now_ms();
    let barrier = Arc::new(Barrier::new(40));
    let threads: Vec<_> = (0..40usize)
        .map(|i| {
            let limiter = nodes[i % 2].clone();
            let barrier = barrier.clone();
            let account = if i % 4 < 2 { "anna" } else { "bert" };
            std::thread::spawn(move || {
                barrier.wait();
                let verdict = limiter.begin(account, addr, None, now).expect("counters");
                (account, verdict.is_ok())
            })
        })
        .collect();
    let outcomes: Vec<(&str, bool)> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let allowed = |who: &str| outcomes.iter().filter(|(a, ok)| *a == who && *ok).count();
    assert_eq!(allowed("anna") + allowed("bert"), 8, "{outcomes:?}");
    assert!(allowed("anna") <= 5 && allowed("bert") <= 5, "{outcomes:?}");
    // The counts are rows in the database, not in either process.
    assert_eq!(
        PgCluster::shared()
            .psql(
                db_name(&url),
                "SELECT failures FROM login_windows WHERE kind = 2"
            )
            .trim(),
        "8"
    );
}

#[test]
fn an_address_that_logged_in_through_one_node_is_trusted_by_the_other() {
    use wijklog_server::auth::rate_limit::LoginRateLimiter;
    let url = PgCluster::shared().fresh_migrated_database();
    // One failure from untrusted clients spends the account's budget.
    let cfg = login_limits(5, 50, 1);
    let a = LoginRateLimiter::shared(cfg.clone(), Arc::new(connect(&url)));
    let b = LoginRateLimiter::shared(cfg, Arc::new(connect(&url)));
    let ip = |n: u8| std::net::IpAddr::from([198, 51, 100, n]);
    let now = wijklog_server::domain::now_ms();
    let ok = a
        .begin("Anna", ip(1), None, now)
        .expect("db")
        .expect("allowed");
    a.succeeded(ok).expect("db");
    let _failed = b
        .begin("anna", ip(2), None, now)
        .expect("db")
        .expect("allowed");
    assert!(
        b.begin("anna", ip(3), None, now).expect("db").is_err(),
        "the account's budget for untrusted clients is spent on every node"
    );
    let again = b.begin("anna", ip(1), None, now).expect("db");
    assert!(again.is_ok(), "node b trusts the address node a saw log in");
    // A cancelled attempt costs nothing, on whichever node it is given back.
    a.cancel(again.expect("allowed")).expect("db");
    assert_eq!(
        PgCluster::shared()
            .psql(
                db_name(&url),
                "SELECT count(*) FROM login_windows WHERE kind = 1 AND key LIKE 'anna%198.51.100.1'"
            )
            .trim(),
        "0",
        "the pair's cleared window is gone"
    );
}

/// Tries `store.try_lead(task)` until it is granted (a released lead is
/// unlocked in the background) or 30 s pass.
fn lead_within(store: &PgStore, task: Singleton) -> Option<wijklog_server::storage::Lead> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(lead) = store.try_lead(task).expect("try_lead") {
            return Some(lead);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_periodic_task_runs_on_one_node_at_a_time_and_a_dead_node_frees_it() {
    use wijklog_server::compaction::run_pass_as_leader;
    let url = PgCluster::shared().fresh_migrated_database();
    let (a, b) = (connect(&url), connect(&url));
    let lead = a
        .try_lead(Singleton::Compaction)
        .expect("try_lead")
        .expect("the first node leads");
    assert!(
        b.try_lead(Singleton::Compaction)
            .expect("try_lead")
            .is_none(),
        "the other node does not while the first leads"
    );
    assert_eq!(
        run_pass_as_leader(&b, 1).expect("pass"),
        None,
        "node b skips its compaction pass"
    );
    let other = b
        .try_lead(Singleton::Retention)
        .expect("try_lead")
        .expect("another task is free");
    drop(other);
    // Released: node b takes it, and its pass runs.
    drop(lead);
    let lead = lead_within(&b, Singleton::Compaction).expect("released to node b");
    assert!(
        a.try_lead(Singleton::Compaction)
            .expect("try_lead")
            .is_none()
    );
    // A dropped lead is released on the store's runtime, a moment later: the
    // pass waits for that state instead of racing it (it lost, under load).
    drop(lead);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let compacted = loop {
        match run_pass_as_leader(&b, 1).expect("pass") {
            Some(done) => break Some(done),
            None if std::time::Instant::now() > deadline => break None,
            None => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    assert!(compacted.is_some(), "node b compacts when nobody else does");

    // A node that dies holding the lead (its connection ends) frees it.
    let c = connect(&url);
    let held = c
        .try_lead(Singleton::Compaction)
        .expect("try_lead")
        .expect("node c leads");
    assert!(
        a.try_lead(Singleton::Compaction)
            .expect("try_lead")
            .is_none()
    );
    let ended = PgCluster::shared().psql(
        db_name(&url),
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks \
         WHERE locktype = 'advisory' AND classid = 2003463020 AND objid = 1",
    );
    assert_eq!(ended.trim(), "1", "one connection held the lock");
    assert!(
        lead_within(&a, Singleton::Compaction).is_some(),
        "node a takes over from the dead node"
    );
    drop(held);
}
