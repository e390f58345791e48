//! Erasure and retention on PostgreSQL, with the assertions of the SQLite
//! tests (`erase_api.rs`, `retention.rs`): the erased values are gone from
//! the stored history (every change decoded), the projection and the audit
//! entry (which names the item, the basis and the reason, never a value);
//! everything else stays; a rewrite that fails half-way changes nothing; a
//! dry run changes nothing and a second run finds nothing left. Then two
//! `wijklog serve` nodes on one database: an erasure through one reaches the
//! device connected to the other (a `doc` frame with the new epoch), the
//! other node serves only the rewritten history, and the device's old copy
//! is refused with `document_rewritten`. The database's own guards refuse
//! deleting changes of the current epoch, storing a change at an old one,
//! and deleting audit entries younger than a retention run's cutoff.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::ChangeHash;
use serde_json::{Value, json};
use wijklog_server::blobs::BlobStore;
use wijklog_server::domain::DocKind;
use wijklog_server::erasure::Eraser;
use wijklog_server::retention::{Rules, due, run};
use wijklog_server::storage::{
    DocMeta, DocWrite, NewChange, NewDoc, PgOptions, PgStore, Store, StoreInspect,
};
use wijklog_server::testing_pg::PgCluster;
use wijklog_shared::{
    Catalog, DocId, Document, ItemId, NewItem, NewSpreekuur, ResidentContact, Severity, Timestamp,
    UserId,
};
use wijklog_testing::cli::{self, text};
use wijklog_testing::server::{Serve, ServerProcess};
use wijklog_testing::sync_client::{Incoming, SyncClient, login};

const DAY: i64 = 86_400_000;
/// The test's "now": 2027-06-01T00:00:00Z.
const NOW: i64 = 1_811_808_000_000;

const NAME: &str = "Markeernaam Qwzx";
const NAME_OLD: &str = "Oudenaam Vbnq";
const PHONE: &str = "06 9182 7364";
const EMAIL: &str = "markeer.qwzx@example.nl";
const KEEP_NAME: &str = "Blijfnaam Rtzu";
const TEXT: &str = "Tekst Plokj over de buren";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn contact(name: &str) -> ResidentContact {
    ResidentContact {
        name: Some(name.into()),
        phone: Some(PHONE.into()),
        email: Some(EMAIL.into()),
        consent: true,
    }
}

fn note(text: &str) -> NewItem {
    NewItem {
        id: None,
        category: "woonoverlast".into(),
        severity: Severity::Aandacht,
        text: text.into(),
        place: Some("Plein".into()),
        location: None,
        feedback_needed: false,
    }
}

/// A spreekuur session held at `held`, by `staff`: note A (written at
/// `held`) holds the marker contact details, one of them only in the
/// history (corrected later); note B (written `b_at`) holds a contact
/// that must stay.
fn session(staff: &UserId, held: i64, b_at: i64) -> (Document, ItemId, ItemId) {
    let cat = Catalog::defaults();
    let mut doc = Document::new_spreekuur(
        DocId::new_v4(),
        &cat,
        staff,
        at(held),
        NewSpreekuur {
            location: "Buurthuis".into(),
            wijk: "bovenmaten".into(),
            held_on: at(held),
            team: "noord".into(),
        },
    )
    .expect("spreekuur");
    let a = doc
        .add_note(&cat, staff, at(held + 1000), note(TEXT))
        .expect("note a");
    doc.set_resident_contact(staff, at(held + 2000), &a, contact(NAME_OLD))
        .expect("contact");
    doc.set_resident_contact(staff, at(held + 3000), &a, contact(NAME))
        .expect("corrected");
    let b = doc
        .add_note(&cat, staff, at(b_at), note("Andere melding"))
        .expect("note b");
    let mut keep = contact(KEEP_NAME);
    keep.phone = Some("06 1111 2222".into());
    keep.email = Some("blijft@example.nl".into());
    doc.set_resident_contact(staff, at(b_at + 1000), &b, keep)
        .expect("contact b");
    (doc, a, b)
}

/// Stores all of `doc`'s changes as a new spreekuur session of `owner`,
/// with the projection the sync layer computes (every change by `owner`).
fn store_new(store: &dyn Store, doc: &mut Document, owner: &UserId) {
    let id = doc.id();
    let am = doc.automerge_mut();
    am.commit();
    let changes: Vec<NewChange> = am
        .get_changes(&[])
        .iter()
        .map(NewChange::from_change)
        .collect();
    let meta = DocMeta {
        id,
        kind: DocKind::Spreekuur,
        owner: owner.clone(),
        team: Some("noord".into()),
        created_at: 0,
    };
    let rows = wijklog_server::sync::projection::rows(&meta, am.document(), &mut |_| {
        Some(owner.as_str().to_owned())
    });
    assert!(rows.is_some(), "the session projects");
    let out = store
        .commit(&[DocWrite {
            doc_id: id,
            user_id: owner.clone(),
            device_id: None,
            create: Some(NewDoc {
                kind: DocKind::Spreekuur,
                owner: owner.clone(),
                team: Some("noord".into()),
            }),
            changes,
            projection: rows,
            schedule: None,
            epoch: None,
        }])
        .expect("commit");
    out.writes[0].as_ref().expect("write accepted");
}

/// Every value of every stored change, decoded, and the stored epoch.
fn stored_history(store: &dyn Store, id: DocId) -> (String, i64) {
    let stored = store.load_doc(id).expect("load").expect("exists");
    let doc = stored.to_automerge().expect("loads");
    let mut text = String::new();
    for c in doc.get_changes(&[]) {
        text.push_str(&format!("{:?}\n", c.decode()));
    }
    text.push_str(&String::from_utf8_lossy(&doc.save_nocompress()));
    (text, stored.epoch)
}

/// Every value of every change of `save()` bytes, decoded.
fn decoded(bytes: &[u8]) -> String {
    let doc = automerge::Automerge::load(bytes).expect("automerge bytes");
    let mut text = String::new();
    for c in doc.get_changes(&[]) {
        text.push_str(&format!("{:?}\n", c.decode()));
    }
    text.push_str(&String::from_utf8_lossy(&doc.save_nocompress()));
    text
}

const DOC_TABLES: [&str; 5] = ["documents", "changes", "snapshots", "actors", "notes"];

const ERASED: [&str; 4] = [NAME, NAME_OLD, PHONE, EMAIL];

/// The markers of `ERASED` found in `text`.
fn found(text: &str) -> Vec<&'static str> {
    ERASED.into_iter().filter(|m| text.contains(m)).collect()
}

/// What the database holds in `tables`, as one digest per table (through
/// `psql`).
fn dump(cluster: &PgCluster, db: &str, tables: &[&str]) -> String {
    let mut out = String::new();
    for table in tables {
        out.push_str(&cluster.psql(
            db,
            &format!(
                "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            ),
        ));
    }
    out
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().expect("database name")
}

/// The projection row of `item`, as JSON.
fn row(store: &dyn Store, id: DocId, item: &ItemId) -> Value {
    let rows = store.projection_rows(id).expect("rows");
    let r = rows
        .iter()
        .find(|r| r.item_id == item.to_string())
        .expect("the item's row");
    serde_json::from_str(&r.row_json).expect("row json")
}

#[test]
fn retention_on_postgres_erases_exactly_what_is_due_from_the_stored_history() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_migrated_database();
    let db = db_name(&url).to_owned();
    let store = Arc::new(PgStore::connect(&url, PgOptions::default()).expect("connect"));
    let staff = UserId::parse("staff-1").expect("user");
    // Note A was written 400 days before now (contact details due after
    // 365 days when never closed); note B 10 days before (not due).
    let (mut doc, a, b) = session(&staff, NOW - 400 * DAY, NOW - 10 * DAY);
    let id = doc.id();
    store_new(store.as_ref(), &mut doc, &staff);
    let rules = Rules {
        contact_closed: Some(90 * DAY),
        contact_open: Some(365 * DAY),
        content: None,
        audit: None,
        max_erasures: 100,
    };

    // Positive controls: every marker is in the stored history.
    let (before, epoch) = stored_history(store.as_ref(), id);
    assert_eq!(found(&before), ERASED.to_vec());
    assert!(before.contains(KEEP_NAME));
    assert_eq!(epoch, 0);

    // The dry run lists exactly note A's contact details and changes nothing.
    let all_tables = [&DOC_TABLES[..], &["audit_log"]].concat();
    let dumped = dump(cluster, &db, &all_tables);
    let listed = due(store.as_ref(), &rules, NOW).expect("due");
    let items: Vec<(String, &str)> = listed
        .items
        .iter()
        .map(|d| (format!("{}/{}", d.doc, d.item), d.what.as_str()))
        .collect();
    assert_eq!(items, vec![(format!("{id}/{a}"), "contact")]);
    assert_eq!(
        dump(cluster, &db, &all_tables),
        dumped,
        "a dry run changes nothing"
    );

    // An erasure that fails at its last statement (the audit entry)
    // changes nothing: one transaction.
    cluster.psql(
        &db,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON audit_log FOR EACH ROW \
         WHEN (NEW.action LIKE 'item.erase%') EXECUTE FUNCTION refuse();",
    );
    let dumped = dump(cluster, &db, &DOC_TABLES);
    let blobs_dir = tempfile::tempdir().expect("tempdir");
    let blobs = BlobStore::new(blobs_dir.path(), Default::default());
    let failed = run(
        &Eraser::standalone(store.clone()),
        &blobs,
        &rules,
        NOW,
        "test",
    )
    .expect("run");
    assert_eq!((failed.contact, failed.failed), (0, 1), "{failed:?}");
    assert_eq!(
        dump(cluster, &db, &DOC_TABLES),
        dumped,
        "the failed erasure changed nothing"
    );
    let (history, epoch) = stored_history(store.as_ref(), id);
    assert_eq!(found(&history), ERASED.to_vec(), "nothing erased");
    assert_eq!(epoch, 0);
    // Only the run's own audit entry was added.
    let audit = store.audit_entries(1).expect("audit");
    assert_eq!(audit[0].entry.action, "retention.run");
    assert_eq!(audit[0].entry.detail["failed"], 1);
    cluster.psql(&db, "DROP TRIGGER refuse ON audit_log");

    // The run erases it: gone from the stored history and the projection,
    // note B and note A's text kept.
    let report = run(
        &Eraser::standalone(store.clone()),
        &blobs,
        &rules,
        NOW,
        "test",
    )
    .expect("run");
    assert_eq!((report.contact, report.content, report.failed), (1, 0, 0));
    let (after, epoch) = stored_history(store.as_ref(), id);
    assert_eq!(found(&after), Vec::<&str>::new(), "{after}");
    assert!(after.contains(KEEP_NAME), "note B's contact stays");
    assert!(after.contains("Plokj"), "note A's text stays");
    assert_eq!(epoch, 1);
    let erased = row(store.as_ref(), id, &a);
    assert_eq!(erased["erased"]["contact"]["basis"], "bewaartermijn");
    assert_eq!(erased["erased"]["contact"]["by"], "system");
    assert!(erased["erased"]["item"].is_null());
    assert!(row(store.as_ref(), id, &b)["erased"]["contact"].is_null());
    let notes = cluster.psql(&db, "SELECT string_agg(row_json || text, '|') FROM notes");
    assert_eq!(found(&notes), Vec::<&str>::new(), "{notes}");
    assert!(notes.contains(KEEP_NAME));

    // Audited: the erasure (item, basis, reason, no value) and the run.
    let audit = store.audit_entries(2).expect("audit");
    assert_eq!(audit[0].entry.action, "retention.run");
    assert_eq!(audit[0].entry.detail["contact"], 1);
    let erase = &audit[1].entry;
    assert_eq!(erase.action, "item.erase_contact");
    assert_eq!(erase.subject.as_deref(), Some(format!("{id}/{a}").as_str()));
    assert_eq!(erase.detail["basis"], "bewaartermijn");
    assert_eq!(erase.detail["reason"], "bewaartermijn");
    let all_audit = cluster.psql(
        &db,
        "SELECT string_agg(detail || coalesce(subject, ''), '|') FROM audit_log",
    );
    assert_eq!(found(&all_audit), Vec::<&str>::new(), "{all_audit}");

    // A second run at the same moment finds nothing left.
    let again = run(
        &Eraser::standalone(store.clone()),
        &blobs,
        &rules,
        NOW,
        "test",
    )
    .expect("run");
    assert_eq!((again.contact, again.failed), (0, 0));
    assert_eq!(stored_history(store.as_ref(), id).1, 1);
}

/// Runs one SQL statement on its own connection (a runtime of its own:
/// the store's calls block, so this test is not async).
fn sql(url: &str, statement: &str) -> Result<u64, tokio_postgres::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let out = client.execute(statement, &[]).await;
        drop(client);
        let _ = driver.await;
        out
    })
}

/// `statement` is refused by the database's guards.
fn refused(url: &str, statement: &str, what: &str) {
    let e = sql(url, statement).expect_err(what);
    let message = e
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    assert!(
        message.contains("append-only") || message.contains("rewritten"),
        "{what}: {message}"
    );
}

#[test]
fn the_database_keeps_changes_append_only_within_an_epoch_and_the_audit_log_within_its_period() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh_migrated_database();
    let store = Arc::new(PgStore::connect(&url, PgOptions::default()).expect("connect"));
    let staff = UserId::parse("staff-1").expect("user");
    let (mut doc, a, _) = session(&staff, NOW - 400 * DAY, NOW - 10 * DAY);
    let id = doc.id();
    store_new(store.as_ref(), &mut doc, &staff);
    store
        .append_audit(wijklog_server::storage::AuditEntry {
            actor: None,
            action: "user.add".into(),
            subject: None,
            detail: json!({}),
        })
        .expect("audit");
    let hex_id = hex::encode(id.as_bytes());
    let delete_changes = format!("DELETE FROM changes WHERE doc_id = '\\x{hex_id}'");
    refused(
        &url,
        &delete_changes,
        "deleting changes of the current epoch",
    );
    refused(
        &url,
        "DELETE FROM audit_log",
        "deleting young audit entries",
    );
    refused(
        &url,
        "UPDATE audit_log SET action = 'x'",
        "changing audit entries",
    );

    // After an erasure the document is at epoch 1: a change stored at
    // epoch 0 is refused by the database itself.
    let blobs_dir = tempfile::tempdir().expect("tempdir");
    let blobs = BlobStore::new(blobs_dir.path(), Default::default());
    let report = wijklog_server::erasure::erase_with(
        &Eraser::standalone(store.clone()),
        &blobs,
        &wijklog_server::erasure::EraseRequest {
            doc: id,
            item: a,
            what: wijklog_shared::erase::EraseWhat::Contact,
            basis: wijklog_shared::erase::EraseBasis::Verzoek,
            by: UserId::parse("coord").expect("user"),
            reason: Some("Verzoek bewoner".into()),
        },
    )
    .expect("erase");
    assert_eq!(report.epoch, 1);
    assert_eq!(report.photos_removed, 0);
    refused(
        &url,
        &format!(
            "INSERT INTO changes (doc_id, hash, bytes, user_id, actor, received_at, epoch) \
             VALUES ('\\x{hex_id}', '\\x{}', '\\x00', 'staff-1', '\\x00', 0, 0)",
            "ab".repeat(32)
        ),
        "storing a change at the old epoch",
    );
    refused(&url, &delete_changes, "deleting changes of the new epoch");
    // The rewritten rows carry the new epoch.
    let epochs = cluster.psql(
        db_name(&url),
        &format!(
            "SELECT min(epoch) || '-' || max(epoch) FROM changes WHERE doc_id = '\\x{hex_id}'"
        ),
    );
    assert_eq!(epochs.trim(), "1-1");
}

/// Runs `wijklog` with the cluster's password in the environment.
fn wijklog(args: &[&str], password: &str, stdin: Option<&str>) -> std::process::Output {
    cli::run(
        Path::new(env!("CARGO_BIN_EXE_wijklog")),
        args,
        &[("WIJKLOG_DATABASE_PASSWORD", password)],
        &["WIJKLOG_DATABASE_URL"],
        stdin,
    )
}

const PASSWORD: &str = "een-goed-wachtwoord-voor-pg";
const SECRET: &str = "a-secret-all-nodes-share-0123456789abcdef";

fn add_user(url: &str, password: &str, data: &Path, name: &str, role: &str) {
    let data = data.to_str().expect("utf-8");
    let out = wijklog(
        &[
            "user",
            "add",
            "--username",
            name,
            "--team",
            "noord",
            "--role",
            role,
            "--database",
            url,
            "--data",
            data,
        ],
        password,
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out));
}

fn node(url: &str, password: &str, data: &Path) -> ServerProcess {
    Serve::new(env!("CARGO_BIN_EXE_wijklog"), data)
        .database(url)
        .env("WIJKLOG_DATABASE_PASSWORD", password)
        .env("WIJKLOG_AUTH_JWT_SECRET", SECRET)
        .start()
}

/// The `doc` frame of `id` with `epoch`, handling everything else as a
/// client does.
async fn wait_for_epoch(client: &mut SyncClient, id: uuid::Uuid, epoch: i64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let Some(item) = client.next(left).await else {
            return false;
        };
        if let Incoming::Json(v) = &item
            && v["type"] == "doc"
            && v["id"] == id.to_string()
            && v["epoch"] == epoch
        {
            return true;
        }
        if matches!(item, Incoming::Closed(_)) {
            return false;
        }
        client.handle(item).await;
    }
}

#[actix_web::test]
async fn an_erasure_through_one_node_reaches_the_devices_and_the_copy_of_the_other() {
    let cluster = PgCluster::shared();
    let pw = cluster.password().to_owned();
    let name = db_name(&cluster.fresh_database()).to_owned();
    let url = cluster.url_without_password(&name);
    let dir1 = tempfile::tempdir().expect("tempdir");
    let dir2 = tempfile::tempdir().expect("tempdir");
    add_user(&url, &pw, dir1.path(), "coco", "coordinator");
    add_user(&url, &pw, dir1.path(), "staff", "spreekuur");
    let node1 = node(&url, &pw, dir1.path());
    let node2 = node(&url, &pw, dir2.path());

    // The staff member's phone, on node 2, writes the session.
    let staff = login(&node2.base, "staff", PASSWORD).await;
    let staff_token = staff["access_token"].as_str().expect("token").to_owned();
    let staff_id = UserId::parse(staff["user"]["id"].as_str().expect("user id")).expect("id");
    let (mut doc, a, _) = session(&staff_id, NOW - 10 * DAY, NOW - 9 * DAY);
    let id = uuid::Uuid::parse_str(&doc.id().to_string()).expect("uuid");
    let mut phone = SyncClient::connect(&node2.base, &staff_token).await;
    doc.automerge_mut().commit();
    let written = doc.automerge_mut().clone();
    phone.add_doc(id, written.clone());
    assert!(
        phone.sync_until_acked(id, Duration::from_secs(30)).await,
        "the session is stored through node 2"
    );
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let history_path = format!("/api/v1/docs/{id}/history");
    let mut before = http
        .get(format!("{}{history_path}", node2.base))
        .bearer_auth(&staff_token)
        .send()
        .await
        .expect("history");
    assert_eq!(before.status().as_u16(), 200);
    let body = before.body().await.expect("body");
    assert_eq!(found(&decoded(&body)), ERASED.to_vec(), "positive control");

    // The coordinator erases the contact details through node 1.
    let coco = login(&node1.base, "coco", PASSWORD).await;
    let coco_token = coco["access_token"].as_str().expect("token");
    let mut res = http
        .post(format!("{}/api/v1/items/{id}/{a}/erase", node1.base))
        .bearer_auth(coco_token)
        .send_json(&json!({"what": "contact", "reason": "Verzoek bewoner"}))
        .await
        .expect("erase");
    let answer: Value = res.json().await.expect("json");
    assert_eq!(res.status().as_u16(), 200, "{answer}");
    assert_eq!(answer["epoch"], 1);

    // Node 2 dropped its copy of the old history and told the phone.
    assert!(
        wait_for_epoch(&mut phone, id, 1).await,
        "no doc frame with epoch 1 on node 2"
    );
    let mut after = http
        .get(format!("{}{history_path}", node2.base))
        .bearer_auth(&staff_token)
        .send()
        .await
        .expect("history");
    assert_eq!(after.status().as_u16(), 200);
    assert_eq!(
        after
            .headers()
            .get("x-wijklog-epoch")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let served = decoded(&after.body().await.expect("body"));
    assert_eq!(
        found(&served),
        Vec::<&str>::new(),
        "node 2 serves only the new history"
    );
    assert!(served.contains(KEEP_NAME));

    // The old copy, with a new edit, sent in full to node 2: refused as
    // document_rewritten, and nothing of it is stored.
    let mut stale = written.clone();
    use automerge::sync::SyncDoc;
    {
        use automerge::transaction::Transactable;
        stale
            .put(automerge::ROOT, "location", "Ander buurthuis")
            .expect("edit");
        stale.commit();
    }
    let mut old_phone = SyncClient::connect(&node2.base, &staff_token).await;
    let mut msg = stale
        .sync()
        .generate_sync_message(&mut automerge::sync::State::new())
        .expect("message");
    let chunks: Vec<Vec<u8>> = stale
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    msg.changes = automerge::sync::ChunkList::from(chunks);
    old_phone.send_sync(id, &msg.encode()).await;
    assert!(
        old_phone
            .pump_until(Duration::from_secs(20), |c| c
                .errors
                .iter()
                .any(|e| e.doc == Some(id) && e.code == "document_rewritten"))
            .await,
        "errors: {:?}",
        old_phone.errors
    );
    let full_url = cluster.url(&name);
    let doc_id = doc.id();
    let (history, epoch) = std::thread::spawn(move || {
        let store = PgStore::connect(&full_url, PgOptions::default()).expect("connect");
        stored_history(&store, doc_id)
    })
    .join()
    .expect("read the store");
    assert_eq!(epoch, 1);
    assert_eq!(found(&history), Vec::<&str>::new());
    assert!(
        !history.contains("Ander buurthuis"),
        "nothing of the old copy is stored"
    );
    let stale_hash: ChangeHash = stale.get_heads()[0];
    assert!(
        !history.contains(&stale_hash.to_string()),
        "the stale change is not stored"
    );

    // `wijklog retention run` works on PostgreSQL beside the serving nodes.
    let out = wijklog(
        &[
            "retention",
            "run",
            "--database",
            &url,
            "--data",
            dir1.path().to_str().expect("utf-8"),
        ],
        &pw,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("erased 0 contact details"),
        "{}",
        text(&out)
    );
    drop(node1);
    drop(node2);
}
