//! Integration tests of `/api/v1/sync`: the real server (`spawn_app`, port 0,
//! SQLite in a temp dir), real sockets, the Rust sync client.

use std::time::Duration;

use automerge::sync::{ChunkList, Message, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use uuid::Uuid;
use wijklog_server::domain::{DeviceId, DocId, Role};
use wijklog_server::testing::{spawn_app, spawn_app_with};
use wijklog_testing::sync_client::{SyncClient, hex_heads};
use wijklog_testing::users::{TestUser, connect, observation_texts, observe, user};
use wijklog_testing::walks::{planned_walk, walk};

const WAIT: Duration = Duration::from_secs(10);

fn doc_id(id: Uuid) -> DocId {
    DocId::from_bytes(*id.as_bytes())
}

fn codes(client: &SyncClient) -> Vec<(Option<Uuid>, String)> {
    client
        .errors
        .iter()
        .map(|e| (e.doc, e.code.clone()))
        .collect()
}

/// Waits for the next error frame and returns its (doc, code).
async fn next_error(client: &mut SyncClient) -> (Option<Uuid>, String) {
    let before = client.errors.len();
    assert!(
        client.pump_until(WAIT, |c| c.errors.len() > before).await,
        "no error frame arrived; closed: {:?}",
        client.closed
    );
    let e = &client.errors[before];
    (e.doc, e.code.clone())
}

#[actix_web::test]
async fn two_offline_editors_converge_a_live_teammate_gets_both_edits_and_another_team_nothing() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let coordinator = user(&app, "cora", &[Role::Coordinator], None).await;
    let zed = user(&app, "zed", &[Role::Boa], Some("zuid")).await;
    let id = Uuid::new_v4();

    // Ann creates the walk, planned for tomorrow; Bob fetches it.
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, planned_walk(id, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(id, WAIT).await, "{a:?}");
    let mut b = connect(&app, &bob).await;
    assert!(
        b.ready_ids().contains(&id),
        "ready lists the team's planned walk"
    );
    b.add_doc(id, AutoCommit::new());
    b.sync_doc(id).await;
    assert!(
        b.pump_until(WAIT, |c| observation_texts_of(c, id).len() == 1)
            .await
    );

    // Both go offline and each adds an observation.
    a.close().await;
    b.close().await;
    let mut a_doc = a.docs.remove(&id).expect("ann's copy").doc;
    let mut b_doc = b.docs.remove(&id).expect("bob's copy").doc;
    let mut a2 = connect(&app, &ann).await;
    a2.add_doc(id, std::mem::take(&mut a_doc));
    observe(&mut a2, id, &ann.id, 101);
    let mut b2 = connect(&app, &bob).await;
    b2.add_doc(id, std::mem::take(&mut b_doc));
    observe(&mut b2, id, &bob.id, 202);

    // The coordinator (who opened the walk once, then only listens) and
    // another team's boa are connected.
    let mut c = connect(&app, &coordinator).await;
    c.subscribe(id).await;
    assert!(
        c.pump_until(WAIT, |c| observation_texts_of(c, id).len() == 1)
            .await
    );
    let mut z = connect(&app, &zed).await;
    assert!(
        !z.ready_ids().contains(&id),
        "another team's walk is not listed"
    );

    // Back online: both upload.
    assert!(a2.sync_until_acked(id, WAIT).await, "{a2:?}");
    assert!(b2.sync_until_acked(id, WAIT).await, "{b2:?}");
    assert!(
        a2.pump_until(WAIT, |c| observation_texts_of(c, id).len() == 3)
            .await
    );
    assert_eq!(observation_texts(&a2, id), observation_texts(&b2, id));
    assert_eq!(
        hex_heads(&a2.doc(id).expect("a").get_heads()),
        hex_heads(&b2.doc(id).expect("b").get_heads())
    );

    // The coordinator received both edits without asking again.
    assert!(
        c.pump_until(WAIT, |c| observation_texts_of(c, id).len() == 3)
            .await,
        "coordinator got {:?}",
        observation_texts_of(&c, id)
    );
    assert_eq!(
        observation_texts(&c, id),
        vec!["waarneming 0", "waarneming 101", "waarneming 202"]
    );

    // Zed received nothing, and direct access is refused.
    z.pump_quiet(Duration::from_millis(500)).await;
    assert!(z.docs.is_empty() && z.announced.is_empty(), "{z:?}");
    z.add_doc(id, AutoCommit::new());
    z.sync_doc(id).await;
    assert_eq!(next_error(&mut z).await, (Some(id), "forbidden".into()));
    z.pump_quiet(Duration::from_millis(300)).await;
    assert!(
        z.doc(id).expect("held").get_heads().is_empty(),
        "no content leaked"
    );
}

fn observation_texts_of(client: &SyncClient, id: Uuid) -> Vec<String> {
    observation_texts(client, id)
}

#[actix_web::test]
async fn a_new_walk_of_a_teammate_is_announced_and_synced_live() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let mut b = connect(&app, &bob).await;
    let mut a = connect(&app, &ann).await;
    // A walk Ann starts right away is hers; one planned for tomorrow is the team's.
    let running = Uuid::new_v4();
    let mut now_walk = walk(running, &ann.id, "noord", 1);
    now_walk
        .put(
            ROOT,
            "started_at",
            automerge::ScalarValue::Timestamp(wijklog_server::domain::now_ms()),
        )
        .expect("start");
    a.add_doc(running, now_walk);
    assert!(a.sync_until_acked(running, WAIT).await);
    let id = Uuid::new_v4();
    a.add_doc(id, planned_walk(id, &ann.id, "noord", 2));
    assert!(a.sync_until_acked(id, WAIT).await);
    assert!(
        b.pump_until(WAIT, |c| observation_texts_of(c, id).len() == 2)
            .await
    );
    assert_eq!(b.announced, vec![id], "the running walk is not pushed");
    let heads = hex_heads(&a.doc(id).expect("a").get_heads());
    assert_eq!(hex_heads(&b.doc(id).expect("b").get_heads()), heads);
}

#[actix_web::test]
async fn retried_and_duplicated_uploads_store_nothing_new_and_are_acked() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let id = Uuid::new_v4();
    let mut doc = walk(id, &ann.id, "noord", 3);
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, doc.clone());
    assert!(a.sync_until_acked(id, WAIT).await);
    let stored = app.store().change_count(doc_id(id)).expect("count");
    assert_eq!(stored, doc.get_changes(&[]).len() as u64);

    // The same changes again, twice, in one message and on a fresh connection.
    let raw: Vec<Vec<u8>> = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let mut doubled = raw.clone();
    doubled.extend(raw.clone());
    let mut msg = doc
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("message");
    msg.changes = ChunkList::from(doubled);
    let mut again = connect(&app, &ann).await;
    again.send_sync(id, &msg.encode()).await;
    assert!(
        again.pump_until(WAIT, |c| !c.acks.is_empty()).await,
        "{again:?}"
    );
    assert_eq!(again.acks[0].1, hex_heads(&doc.get_heads()));
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(app.store().change_count(doc_id(id)).expect("count"), stored);
}

#[actix_web::test]
async fn an_ack_arrives_only_after_the_changes_are_in_the_database() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    for round in 0..5 {
        let id = Uuid::new_v4();
        let mut doc = walk(id, &ann.id, "noord", 5 + round);
        a.add_doc(id, doc.clone());
        a.sync_doc(id).await;
        let before = a.acks.len();
        assert!(a.pump_until(WAIT, |c| c.acks.len() > before).await);
        // Read the database the moment the ack is in.
        let stored = app
            .store()
            .load_doc(doc_id(id))
            .expect("load")
            .expect("stored");
        let rebuilt = stored.to_automerge().expect("rebuild");
        let acked: Vec<automerge::ChangeHash> = a.acks[before]
            .1
            .iter()
            .map(|h| h.parse().expect("hash"))
            .collect();
        for head in &acked {
            assert!(
                rebuilt.get_change_by_hash(head).is_some(),
                "acked head not stored"
            );
        }
        assert_eq!(hex_heads(&rebuilt.get_heads()), hex_heads(&doc.get_heads()));
    }
}

#[actix_web::test]
async fn the_projection_rows_are_stored_with_the_servers_team() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let id = Uuid::new_v4();
    // The document claims team "zuid"; the server records the token's team.
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "zuid", 4));
    assert!(a.sync_until_acked(id, WAIT).await);
    let rows = app.store().projection_rows(doc_id(id)).expect("rows");
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let json: serde_json::Value = serde_json::from_str(&row.row_json).expect("json");
        assert_eq!(json["team"], "noord");
        assert_eq!(json["category"], "jeugdoverlast");
    }
    let meta = app
        .store()
        .doc_meta(doc_id(id))
        .expect("meta")
        .expect("exists");
    assert_eq!(meta.team.as_deref(), Some("noord"));
    assert_eq!(meta.owner.as_str(), ann.id);
}

#[actix_web::test]
async fn authentication_is_required_refused_tokens_close_with_4001() {
    let app = spawn_app_with(|c| c.limits.auth_timeout_secs = 1).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;

    // A bad token.
    let mut c = SyncClient::connect_unauthenticated(&app.address).await;
    c.send_text(r#"{"type":"auth","token":"not-a-jwt"}"#).await;
    assert_eq!(next_error(&mut c).await, (None, "unauthenticated".into()));
    c.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(c.closed, Some(Some((4001, "unauthenticated".into()))));

    // A binary frame first.
    let mut c = SyncClient::connect_unauthenticated(&app.address).await;
    c.send_sync(Uuid::new_v4(), &[0x42]).await;
    assert_eq!(next_error(&mut c).await, (None, "unauthenticated".into()));
    c.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(c.closed, Some(Some((4001, "unauthenticated".into()))));

    // Nothing within the auth timeout (1 s here): the server closes the
    // socket (without the timeout nothing would close it within WAIT).
    let mut c = SyncClient::connect_unauthenticated(&app.address).await;
    c.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(c.closed, Some(Some((4001, "unauthenticated".into()))));
    assert_eq!(codes(&c), vec![(None, "unauthenticated".into())]);

    // The real token works.
    let c = connect(&app, &ann).await;
    assert_eq!(c.ready["user"]["id"], ann.id.as_str());
    assert_eq!(c.ready["user"]["roles"], serde_json::json!(["boa"]));
}

#[actix_web::test]
async fn malformed_input_gets_invalid_message_and_the_connection_survives() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    let id = Uuid::new_v4();

    a.send_text("{not json").await;
    assert_eq!(next_error(&mut a).await, (None, "invalid_message".into()));
    a.send_binary(vec![1, 2, 3]).await;
    assert_eq!(next_error(&mut a).await, (None, "invalid_message".into()));
    a.send_sync(id, b"certainly not a sync message").await;
    assert_eq!(
        next_error(&mut a).await,
        (Some(id), "invalid_message".into())
    );

    // A sync message whose change is corrupt: invalid_change.
    let mut doc = walk(id, &ann.id, "noord", 1);
    let mut msg = doc
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("message");
    let mut raw = doc.get_changes(&[])[0].raw_bytes().to_vec();
    let last = raw.len() - 1;
    raw[last] ^= 0x55;
    msg.changes = ChunkList::from(vec![raw]);
    a.send_sync(id, &msg.encode()).await;
    assert_eq!(
        next_error(&mut a).await,
        (Some(id), "invalid_change".into())
    );
    assert!(
        app.store().doc_meta(doc_id(id)).expect("meta").is_none(),
        "nothing stored"
    );

    // The same connection still syncs a good document.
    a.add_doc(id, doc);
    assert!(a.sync_until_acked(id, WAIT).await, "{a:?}");
}

#[actix_web::test]
async fn an_unknown_kind_is_invalid_document_and_the_catalog_is_for_admins() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let admin = user(&app, "beheer", &[Role::Admin], None).await;
    let mut a = connect(&app, &ann).await;

    let id = Uuid::new_v4();
    let mut odd = AutoCommit::new();
    odd.put(ROOT, "kind", "boodschappenlijst").expect("put");
    odd.commit();
    a.add_doc(id, odd);
    a.sync_doc(id).await;
    assert_eq!(
        next_error(&mut a).await,
        (Some(id), "invalid_document".into())
    );
    assert!(app.store().doc_meta(doc_id(id)).expect("meta").is_none());

    let cat = Uuid::new_v4();
    let mut catalog = AutoCommit::new();
    catalog.put(ROOT, "kind", "catalog").expect("put");
    catalog.put(ROOT, "schema", 1).expect("put");
    catalog.commit();
    a.add_doc(cat, catalog.clone());
    a.sync_doc(cat).await;
    assert_eq!(next_error(&mut a).await, (Some(cat), "forbidden".into()));

    let mut root = connect(&app, &admin).await;
    root.add_doc(cat, catalog);
    assert!(root.sync_until_acked(cat, WAIT).await, "{root:?}");
    // An admin manages the catalog, not content.
    let w = Uuid::new_v4();
    root.add_doc(w, walk(w, &admin.id, "noord", 1));
    root.sync_doc(w).await;
    assert_eq!(next_error(&mut root).await, (Some(w), "forbidden".into()));
}

#[actix_web::test]
async fn a_change_from_an_actor_bound_to_another_user_is_refused_with_nothing_else_lost() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let id = Uuid::new_v4();
    let ann_doc = walk(id, &ann.id, "noord", 1);
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, ann_doc.clone());
    assert!(a.sync_until_acked(id, WAIT).await);
    let stored = app.store().change_count(doc_id(id)).expect("count");

    // Bob writes with Ann's actor id.
    let mut forged = ann_doc.clone();
    forged.put(ROOT, "summary_note", "vervalst").expect("put");
    forged.commit();
    let mut b = connect(&app, &bob).await;
    b.add_doc(id, forged);
    b.sync_doc(id).await;
    assert!(b.pump_until(WAIT, |c| !c.errors.is_empty()).await);
    assert_eq!(codes(&b), vec![(Some(id), "forbidden".into())]);
    assert_eq!(app.store().change_count(doc_id(id)).expect("count"), stored);

    // Bob's own edits to another walk still work on the same connection.
    let other = Uuid::new_v4();
    b.add_doc(other, walk(other, &bob.id, "noord", 1));
    assert!(b.sync_until_acked(other, WAIT).await, "{b:?}");
}

#[actix_web::test]
async fn limits_answer_too_large_including_a_decompression_bomb() {
    let app = spawn_app_with(|c| {
        c.limits.max_frame_bytes = 64 * 1024;
        c.limits.max_changes_per_message = 10;
        c.limits.max_decompressed_bytes = 1024 * 1024;
    })
    .await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    let id = Uuid::new_v4();

    // A frame over the limit.
    a.send_sync(id, &vec![0x42; 64 * 1024]).await;
    assert_eq!(next_error(&mut a).await, (Some(id), "too_large".into()));

    // Too many changes in one message.
    let mut many = walk(id, &ann.id, "noord", 12);
    a.add_doc(id, many.clone());
    a.sync_doc(id).await;
    a.pump_until(WAIT, |c| !c.errors.is_empty()).await;
    assert_eq!(codes(&a).last(), Some(&(Some(id), "too_large".into())));

    // A compressed change that inflates to 64 MiB (1 MiB allowed).
    let bomb_id = Uuid::new_v4();
    let bomb = deflate_bomb_chunk(64);
    let mut msg = many
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("message");
    msg.changes = ChunkList::from(vec![bomb]);
    a.send_sync(bomb_id, &msg.encode()).await;
    assert_eq!(
        next_error(&mut a).await,
        (Some(bomb_id), "too_large".into())
    );

    // The connection carries on.
    let fine = Uuid::new_v4();
    a.add_doc(fine, walk(fine, &ann.id, "noord", 2));
    assert!(a.sync_until_acked(fine, WAIT).await, "{a:?}");
}

/// The limits the test above leaves out, each produced: a document that
/// would pass its size limit, a bundle chunk (refused as `invalid_change`),
/// and a frame beyond what the WebSocket codec accepts (closed with 1009).
/// Nothing of a refused message is stored; the connection carries on until
/// the frame the codec cannot read.
#[actix_web::test]
async fn document_size_bundle_chunks_and_a_frame_past_the_codec_are_refused() {
    let app = spawn_app_with(|c| {
        c.limits.max_frame_bytes = 64 * 1024;
        c.limits.max_document_bytes = 16 * 1024;
    })
    .await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;

    // A walk well under 16 KiB is stored; observations of 2 KiB each then
    // pass the limit within a few messages, and the one that would is refused.
    let id = Uuid::new_v4();
    a.add_doc(id, walk(id, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(id, WAIT).await, "{a:?}");
    let stored = app.store().change_count(doc_id(id)).expect("count");
    // Text that does not compress (automerge deflates large changes).
    let mut seed = 0x2545_f491_u32;
    let long: String = (0..2 * 1024)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            char::from(b'a' + (seed % 26) as u8)
        })
        .collect();
    let mut refused = false;
    for i in 0..12 {
        let held = a.docs.get_mut(&id).expect("held");
        let mut doc = wijklog_shared::Document::from_automerge(doc_id(id), held.doc.clone());
        doc.add_observation(
            &wijklog_shared::Catalog::defaults(),
            &wijklog_testing::walks::user_id(&ann.id),
            wijklog_shared::Timestamp::from_millis(wijklog_testing::walks::T0 + i),
            wijklog_shared::NewItem {
                text: format!("{i} {long}"),
                ..wijklog_testing::walks::observation(i as usize)
            },
        )
        .expect("add observation");
        held.doc = doc.automerge().clone();
        let (errors, acks) = (a.errors.len(), a.acks.len());
        a.sync_doc(id).await;
        a.pump_until(WAIT, |c| c.errors.len() > errors || c.acks.len() > acks)
            .await;
        if codes(&a).last() == Some(&(Some(id), "too_large".into())) {
            refused = true;
            break;
        }
    }
    assert!(refused, "16 KiB of document never refused: {a:?}");
    let after = app.store().change_count(doc_id(id)).expect("count");
    assert!(after >= stored, "stored changes lost");
    let stored_bytes: usize = app
        .store()
        .load_doc(doc_id(id))
        .expect("load")
        .expect("stored")
        .to_automerge()
        .expect("doc")
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().len())
        .sum();
    assert!(
        stored_bytes <= 16 * 1024,
        "{stored_bytes} bytes stored past the 16 KiB limit"
    );

    // A bundle chunk (type 3) in a sync message: invalid_change.
    let bundle_id = Uuid::new_v4();
    let mut msg = walk(bundle_id, &ann.id, "noord", 1)
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("message");
    let mut bundle = vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 3, 4];
    bundle.extend_from_slice(&[0, 0, 0, 0]);
    msg.changes = ChunkList::from(vec![bundle]);
    a.send_sync(bundle_id, &msg.encode()).await;
    assert_eq!(
        next_error(&mut a).await,
        (Some(bundle_id), "invalid_change".into())
    );
    let sentence = &a.errors.last().expect("error").message;
    assert!(sentence.contains("bundle chunks"), "{sentence}");
    assert!(
        app.store()
            .load_doc(doc_id(bundle_id))
            .expect("load")
            .is_none()
    );

    // The connection still works.
    let fine = Uuid::new_v4();
    a.add_doc(fine, walk(fine, &ann.id, "noord", 2));
    assert!(a.sync_until_acked(fine, WAIT).await, "{a:?}");

    // A frame more than twice the limit: the codec cannot go on, 1009.
    a.send_sync(Uuid::new_v4(), &vec![0x42; 2 * 64 * 1024 + 1])
        .await;
    assert!(
        a.pump_until(WAIT, |c| c.closed.is_some()).await,
        "not closed: {a:?}"
    );
    assert_eq!(a.closed, Some(Some((1009, "too_large".into()))), "{a:?}");
    assert_eq!(codes(&a).last(), Some(&(None, "too_large".into())));
}

/// A compressed automerge change chunk (type 2) whose DEFLATE body
/// inflates to `mib` MiB of zeros.
fn deflate_bomb_chunk(mib: usize) -> Vec<u8> {
    use flate2::{Compression, write::DeflateEncoder};
    use std::io::Write;
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    let block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        enc.write_all(&block).expect("deflate");
    }
    let body = enc.finish().expect("deflate");
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 2];
    let mut len = body.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            chunk.push(byte);
            break;
        }
        chunk.push(byte | 0x80);
    }
    chunk.extend_from_slice(&body);
    chunk
}

#[actix_web::test]
async fn flooding_the_connection_gets_rate_limited() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    for _ in 0..400 {
        a.send_text("{}").await;
    }
    a.pump_until(WAIT, |c| c.errors.len() >= 400).await;
    let limited = a.errors.iter().filter(|e| e.code == "rate_limited").count();
    assert!(
        limited > 0,
        "no rate_limited among {} errors",
        a.errors.len()
    );
    assert!(a.closed.is_none(), "the connection stays open");
}

#[actix_web::test]
async fn the_configured_message_budget_is_what_the_connection_gets() {
    // A burst of 5 and one message per second: frames 6.. of a quick burst are refused.
    let app = spawn_app_with(|c| {
        c.limits.messages_per_second = 1;
        c.limits.message_burst = 5;
    })
    .await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    for _ in 0..20 {
        a.send_text("{}").await;
    }
    a.pump_until(WAIT, |c| c.errors.len() >= 20).await;
    let codes: Vec<&str> = a.errors.iter().map(|e| e.code.as_str()).collect();
    let limited = codes.iter().filter(|c| **c == "rate_limited").count();
    // 5 from the burst, at most one or two refilled while the frames arrive.
    assert!(
        (13..=15).contains(&limited),
        "expected ~15 of 20 rate limited, got {limited}: {codes:?}"
    );
    assert!(
        codes[..5].iter().all(|c| *c == "invalid_message"),
        "{codes:?}"
    );
    assert!(a.closed.is_none(), "the connection stays open");
}

#[actix_web::test]
async fn a_failed_commit_is_internal_for_that_document_and_others_still_work() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let (bad, good) = (Uuid::new_v4(), Uuid::new_v4());
    // A trigger in the real database makes every insert of `bad`'s changes fail.
    let db = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("open db");
    db.execute_batch(&format!(
        "CREATE TRIGGER fail_one_doc BEFORE INSERT ON changes WHEN NEW.doc_id = X'{}' \
         BEGIN SELECT RAISE(ABORT, 'test: disk trouble'); END;",
        hex::encode(bad.as_bytes())
    ))
    .expect("trigger");
    let mut a = connect(&app, &ann).await;
    a.add_doc(bad, walk(bad, &ann.id, "noord", 1));
    a.sync_doc(bad).await;
    assert_eq!(next_error(&mut a).await, (Some(bad), "internal".into()));
    assert!(a.acks.iter().all(|(d, _)| *d != bad), "never acked");

    a.add_doc(good, walk(good, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(good, WAIT).await, "{a:?}");

    // Once the fault is gone, the client's resend of `bad` is stored.
    db.execute_batch("DROP TRIGGER fail_one_doc;")
        .expect("drop trigger");
    assert!(a.sync_until_acked(bad, WAIT).await, "{a:?}");
    assert!(app.store().doc_meta(doc_id(bad)).expect("meta").is_some());
}

#[actix_web::test]
async fn a_revoked_device_is_closed_within_seconds() {
    let app = spawn_app_with(|c| c.auth.session_check_secs = 1).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    // Revoked in the store behind the server's back: only the periodic
    // session check (every second here) can notice, and it closes the socket.
    app.store()
        .revoke_device(&DeviceId::from_string(ann.device_id.clone()))
        .expect("revoke");
    a.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(a.closed, Some(Some((4003, "revoked".into()))));
}

#[actix_web::test]
async fn a_disabled_user_is_closed_within_seconds() {
    let app = spawn_app_with(|c| c.auth.session_check_secs = 1).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    app.store().set_user_disabled("ann", true).expect("disable");
    a.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(a.closed, Some(Some((4003, "revoked".into()))));
}

#[actix_web::test]
async fn shutdown_closes_connections_with_1001() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    let id = Uuid::new_v4();
    a.add_doc(id, walk(id, &ann.id, "noord", 3));
    assert!(a.sync_until_acked(id, WAIT).await);
    app.state.shutdown.trigger();
    a.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(a.closed, Some(Some((1001, "shutting_down".into()))));
}

#[actix_web::test]
async fn metrics_count_connections_commits_and_errors() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    let id = Uuid::new_v4();
    let doc = walk(id, &ann.id, "noord", 2);
    let n = doc.clone().get_changes(&[]).len();
    a.add_doc(id, doc);
    assert!(a.sync_until_acked(id, WAIT).await);
    a.send_text("nope").await;
    next_error(&mut a).await;
    let text = app.metrics().await.text();
    assert!(text.contains("wijklog_sync_connections 1"), "{text}");
    assert!(
        text.contains(&format!("wijklog_changes_committed_total {n}")),
        "{text}"
    );
    assert!(
        text.contains("wijklog_errors_total{code=\"invalid_message\"} 1"),
        "{text}"
    );
    assert!(text.contains("wijklog_commit_batch_size_count"), "{text}");
}

#[actix_web::test]
async fn a_message_without_changes_for_an_unknown_document_creates_nothing() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let mut a = connect(&app, &ann).await;
    let id = Uuid::new_v4();
    let mut empty = AutoCommit::new();
    let msg: Message = empty
        .sync()
        .generate_sync_message(&mut State::new())
        .expect("message");
    a.send_sync(id, &msg.encode()).await;
    a.pump_quiet(Duration::from_millis(300)).await;
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert!(app.store().doc_meta(doc_id(id)).expect("meta").is_none());
}

/// The value of a metric line `name value` from `/metrics`.
async fn metric(app: &wijklog_server::testing::TestApp, name: &str) -> Option<f64> {
    let text = app.metrics().await.text();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn wait_until_no_connections(app: &wijklog_server::testing::TestApp) {
    for _ in 0..200 {
        if metric(app, "wijklog_sync_connections").await == Some(0.0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("connections did not close");
}

#[actix_web::test]
async fn documents_dropped_from_a_full_cache_are_reloaded_and_still_sync() {
    // Room for one idle document: every other one is dropped and reloaded.
    let app = spawn_app_with(|c| c.cache.max_documents = 1).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());

    let mut a = connect(&app, &ann).await;
    a.add_doc(first, planned_walk(first, &ann.id, "noord", 3));
    assert!(a.sync_until_acked(first, WAIT).await, "{:?}", a.errors);
    let ann_copy = a.docs[&first].doc.clone();
    a.close().await;
    wait_until_no_connections(&app).await;

    // A second walk while nobody holds the first: the first is dropped.
    let mut a = connect(&app, &ann).await;
    a.add_doc(second, planned_walk(second, &ann.id, "noord", 2));
    assert!(a.sync_until_acked(second, WAIT).await, "{:?}", a.errors);
    assert_eq!(
        metric(&app, "wijklog_sync_cached_documents").await,
        Some(1.0)
    );
    a.close().await;
    wait_until_no_connections(&app).await;

    // Bob syncs the first walk (reloaded from the database), edits it, and
    // the edit is acked and stored.
    let mut b = connect(&app, &bob).await;
    let ready = b.ready_ids();
    assert!(
        ready.contains(&first) && ready.contains(&second),
        "{ready:?}"
    );
    b.add_doc(first, AutoCommit::new());
    b.sync_doc(first).await;
    assert!(
        b.pump_until(WAIT, |c| observation_texts(c, first).len() == 3)
            .await,
        "bob got {:?}",
        observation_texts(&b, first)
    );
    observe(&mut b, first, &bob.id, 9);
    assert!(b.sync_until_acked(first, WAIT).await, "{:?}", b.errors);
    let bob_heads = b.docs.get_mut(&first).expect("held").doc.get_heads();
    b.close().await;
    wait_until_no_connections(&app).await;

    // Ann comes back with her old copy and a fresh sync state: she gets
    // Bob's edit, from yet another reload.
    let mut a = connect(&app, &ann).await;
    a.add_doc(first, ann_copy);
    a.sync_doc(first).await;
    assert!(
        a.pump_until(WAIT, |c| observation_texts(c, first).len() == 4)
            .await,
        "ann got {:?}",
        observation_texts(&a, first)
    );
    assert_eq!(
        a.docs.get_mut(&first).expect("held").doc.get_heads(),
        bob_heads
    );
    let stored = app
        .store()
        .load_doc(doc_id(first))
        .expect("load")
        .expect("stored")
        .to_automerge()
        .expect("rebuild");
    assert_eq!(stored.get_heads(), bob_heads);
    assert!(a.errors.is_empty() && b.errors.is_empty());
    assert!(metric(&app, "wijklog_sync_cached_documents").await <= Some(2.0));
}

async fn get_as(
    app: &wijklog_server::testing::TestApp,
    who: &TestUser,
    path: &str,
) -> (u16, Vec<u8>) {
    let auth = format!("Bearer {}", who.token);
    let res = app
        .request("GET", path, &[("Authorization", auth.as_str())], None)
        .await;
    (res.status, res.body)
}

#[actix_web::test]
async fn authorship_comes_from_the_sender_never_from_the_document() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;

    // Bob sends a walk whose observation claims Ann wrote it.
    let forged = Uuid::new_v4();
    let mut b = connect(&app, &bob).await;
    b.add_doc(forged, walk(forged, &ann.id, "noord", 1));
    assert!(b.sync_until_acked(forged, WAIT).await, "{b:?}");

    // Ann writes one herself; Bob then rewrites its created_by to himself.
    let real = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(real, walk(real, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(real, WAIT).await, "{a:?}");
    let mut b2 = connect(&app, &bob).await;
    b2.add_doc(real, AutoCommit::new());
    b2.sync_doc(real).await;
    assert!(
        b2.pump_until(WAIT, |c| observation_texts(c, real).len() == 1)
            .await
    );
    {
        let doc = b2.doc(real).expect("held");
        let (_, obs) = doc.get(ROOT, "observations").expect("get").expect("map");
        let item = doc.keys(&obs).next().expect("an item");
        let (_, item_obj) = doc.get(&obs, item.as_str()).expect("get").expect("item");
        doc.put(&item_obj, "created_by", bob.id.as_str())
            .expect("put");
        doc.commit();
    }
    assert!(b2.sync_until_acked(real, WAIT).await, "{b2:?}");

    // The item view, the author filter and the CSV all name the sender.
    let (status, body) = get_as(&app, &cora, "/api/v1/items?limit=100").await;
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let items = list["items"].as_array().expect("items");
    let by_doc = |d: Uuid| {
        items
            .iter()
            .find(|i| i["doc_id"] == d.to_string())
            .unwrap_or_else(|| panic!("item of {d} listed: {list}"))
            .clone()
    };
    assert_eq!(by_doc(forged)["created_by"], bob.id.as_str());
    assert_eq!(by_doc(real)["created_by"], ann.id.as_str());
    let item_id = by_doc(forged)["item_id"].as_str().expect("id").to_owned();
    let (status, body) = get_as(&app, &cora, &format!("/api/v1/items/{forged}/{item_id}")).await;
    assert_eq!(status, 200);
    let view: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(view["item"]["created_by"], bob.id.as_str());

    let (status, body) = get_as(&app, &cora, &format!("/api/v1/items?author={}", ann.id)).await;
    assert_eq!(status, 200);
    let anns: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let docs: Vec<String> = anns["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["doc_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(docs, vec![real.to_string()], "only Ann's own item: {anns}");

    let (status, body) = get_as(&app, &cora, "/api/v1/export.csv").await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(body).expect("utf-8");
    let line = |d: Uuid| {
        csv.lines()
            .find(|l| l.contains(&d.to_string()))
            .unwrap_or_else(|| panic!("a CSV line for {d}: {csv}"))
            .to_owned()
    };
    assert!(line(forged).contains(bob.id.as_str()) && !line(forged).contains(ann.id.as_str()));
    assert!(line(real).contains(ann.id.as_str()) && !line(real).contains(bob.id.as_str()));
}

#[actix_web::test]
async fn no_write_of_a_revoked_device_is_acked_or_stored_after_the_revocation() {
    // The periodic session check is far away: only the commit itself can
    // notice the revocation.
    let app = spawn_app_with(|c| c.auth.session_check_secs = 3600).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let id = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(id, WAIT).await, "{a:?}");
    let stored = app.store().change_count(doc_id(id)).expect("count");

    app.store()
        .revoke_device(&DeviceId::from_string(ann.device_id.clone()))
        .expect("revoke");
    observe(&mut a, id, &ann.id, 7);
    let acks_before = a.acks.len();
    a.sync_doc(id).await;
    assert!(
        a.pump_until(WAIT, |c| c.closed.is_some()).await,
        "the connection is closed; acks {:?}",
        a.acks
    );
    assert_eq!(a.acks.len(), acks_before, "no ack after the revocation");
    assert_eq!(a.closed, Some(Some((4003, "revoked".into()))));
    assert_eq!(
        app.store().change_count(doc_id(id)).expect("count"),
        stored,
        "nothing of the revoked device's write was stored"
    );
}

#[actix_web::test]
async fn a_stored_document_over_the_operation_bound_is_refused_by_review_reads_not_loaded() {
    let app = spawn_app_with(|c| c.limits.max_ops_per_document = 5_000).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    // A walk stored before the bound existed (written to the store directly,
    // as the sync server of that time did): one item, then 50,000 operations.
    let id = Uuid::new_v4();
    let mut doc = walk(id, &ann.id, "noord", 1);
    let list = doc
        .put_object(ROOT, "junk", automerge::ObjType::List)
        .expect("list");
    doc.splice(
        &list,
        0,
        0,
        std::iter::repeat_n(automerge::ScalarValue::Null, 50_000),
    )
    .expect("splice");
    doc.commit();
    let owner = wijklog_server::domain::UserId::parse(&ann.id).expect("id");
    let meta = wijklog_server::storage::DocMeta {
        id: doc_id(id),
        kind: wijklog_server::domain::DocKind::Walk,
        owner: owner.clone(),
        team: Some("noord".into()),
        created_at: 0,
    };
    let rows = wijklog_server::storage::ProjectionRow::all_for(&meta, doc.document())
        .expect("rows")
        .expect("a walk has rows");
    let item = rows[0].item_id.clone();
    let write = wijklog_server::storage::DocWrite {
        epoch: None,
        doc_id: doc_id(id),
        user_id: owner.clone(),
        device_id: None,
        create: Some(wijklog_server::storage::NewDoc {
            kind: wijklog_server::domain::DocKind::Walk,
            owner,
            team: Some("noord".into()),
        }),
        changes: doc
            .get_changes(&[])
            .iter()
            .map(wijklog_server::storage::NewChange::from_change)
            .collect(),
        projection: Some(rows),
        schedule: None,
    };
    app.store().commit(&[write]).expect("commit");

    for path in [
        format!("/api/v1/items/{id}/{item}"),
        format!("/api/v1/items/{id}/{item}/history"),
        format!("/api/v1/walks/{id}/report"),
    ] {
        let (status, body) = get_as(&app, &cora, &path).await;
        assert_eq!(status, 413, "{path}: {}", String::from_utf8_lossy(&body));
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["code"], "document_too_large", "{path}");
    }
    // The list (projection rows) still works.
    let (status, _) = get_as(&app, &cora, "/api/v1/items").await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn a_failing_document_listing_closes_with_1011_internal_and_a_later_connection_works() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    // A real fault in the real database: the documents table is gone while
    // the server runs (as after a broken restore), so listing the user's
    // documents fails.
    let db = rusqlite::Connection::open(app.data_dir.join("wijklog.db")).expect("open db");
    db.execute_batch("ALTER TABLE documents RENAME TO documents_away")
        .expect("hide the table");
    let mut c = SyncClient::connect_unauthenticated(&app.address).await;
    c.send_text(&serde_json::json!({"type": "auth", "token": ann.token}).to_string())
        .await;
    c.pump_until(WAIT, |c| c.closed.is_some()).await;
    assert_eq!(c.closed, Some(Some((1011, "internal".into()))), "{c:?}");
    assert_eq!(codes(&c), vec![(None, "internal".to_owned())]);
    // The fault repaired, the client's reconnect is served as usual.
    db.execute_batch("ALTER TABLE documents_away RENAME TO documents")
        .expect("restore the table");
    let again = connect(&app, &ann).await;
    assert_eq!(again.ready["type"], "ready");
}
