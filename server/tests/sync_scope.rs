//! The sync scope over the real socket: what `ready` lists, subscribe and
//! unsubscribe, implicit subscribes of older clients, `unscope` when a window
//! passes (the server's scope clock moved forward), subscriptions surviving a
//! restart (a new server on the same database), open call backs keeping old
//! sessions on the team's devices, and the schedules of documents stored
//! before schedules were kept, filled in at start-up. Real server on
//! loopback, SQLite in a temp dir, the Rust sync client.

use std::time::Duration;

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_server::domain::{DocId as ServerDocId, Role, UserId as ServerUserId};
use wijklog_server::testing::{TestApp, spawn_app, spawn_app_with};
use wijklog_shared::{
    CallbackRequest, Catalog, DocId, Document, ItemId, NewItem, NewSpreekuur, Severity, Timestamp,
    UserId,
};
use wijklog_testing::stored::store_bare_walk;
use wijklog_testing::sync_client::{ClientDoc, Incoming, SyncClient};
use wijklog_testing::users::{TestUser, connect, observation_texts, observe, user};
use wijklog_testing::walks::{planned_walk, walk, walk_planned};

const WAIT: Duration = Duration::from_secs(10);
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn kind_of(client: &SyncClient, id: Uuid) -> Option<String> {
    client.ready["docs"]
        .as_array()?
        .iter()
        .find(|d| d["id"] == id.to_string())
        .and_then(|d| d["kind"].as_str().map(str::to_owned))
}

#[actix_web::test]
async fn ready_lists_the_scope_not_everything_the_user_may_see() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let (own, planned) = (Uuid::new_v4(), Uuid::new_v4());
    let mut a = connect(&app, &ann).await;
    a.add_doc(own, walk(own, &ann.id, "noord", 1));
    a.add_doc(planned, planned_walk(planned, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(own, WAIT).await);
    assert!(a.sync_until_acked(planned, WAIT).await);
    a.close().await;

    let a = connect(&app, &ann).await;
    let mine = a.ready_ids();
    assert!(mine.contains(&own) && mine.contains(&planned), "{mine:?}");
    assert_eq!(a.ready["protocol"], 5);
    let b = connect(&app, &bob).await;
    let bobs = b.ready_ids();
    assert!(bobs.contains(&planned), "the team's planned walk");
    assert!(!bobs.contains(&own), "a teammate's own walk is not listed");
    let c = connect(&app, &cora).await;
    let coordinators = c.ready_ids();
    assert!(
        !coordinators.contains(&own) && !coordinators.contains(&planned),
        "coordinators hold only what they open"
    );
    // Everyone has the catalog.
    for client in [&a, &b, &c] {
        assert!(
            client
                .ready_ids()
                .iter()
                .any(|id| kind_of(client, *id).as_deref() == Some("catalog")),
            "{:?}",
            client.ready
        );
    }
}

#[actix_web::test]
async fn subscribe_syncs_pushes_live_and_unsubscribe_unscopes() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let zed = user(&app, "zed", &[Role::Boa], Some("zuid")).await;
    let id = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "noord", 2));
    assert!(a.sync_until_acked(id, WAIT).await);

    // Subscribe: `doc`, then the usual sync.
    let mut c = connect(&app, &cora).await;
    c.subscribe(id).await;
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, id).len() == 2)
            .await
    );
    assert_eq!(c.announced, vec![id]);
    // Live: Ann's next observation reaches the coordinator unasked.
    observe(&mut a, id, &ann.id, 7);
    assert!(a.sync_until_acked(id, WAIT).await);
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, id).len() == 3)
            .await
    );

    // Unknown and forbidden documents.
    let unknown = Uuid::new_v4();
    c.subscribe(unknown).await;
    assert!(c.pump_until(WAIT, |c| !c.errors.is_empty()).await);
    assert_eq!(
        (c.errors[0].doc, c.errors[0].code.as_str()),
        (Some(unknown), "not_found")
    );
    let mut z = connect(&app, &zed).await;
    z.subscribe(id).await;
    assert!(z.pump_until(WAIT, |c| !c.errors.is_empty()).await);
    assert_eq!(
        (z.errors[0].doc, z.errors[0].code.as_str()),
        (Some(id), "forbidden")
    );
    assert!(observation_texts(&z, id).is_empty(), "nothing leaked");

    // Reconnecting: the subscription holds.
    c.close().await;
    let mut c = connect(&app, &cora).await;
    assert!(c.ready_ids().contains(&id));

    // Unsubscribe: `unscope`, and no more pushes.
    c.unsubscribe(id).await;
    assert!(c.pump_until(WAIT, |c| c.unscoped == vec![id]).await);
    c.docs.clear();
    observe(&mut a, id, &ann.id, 8);
    assert!(a.sync_until_acked(id, WAIT).await, "ann: {a:?}");
    c.pump_quiet(Duration::from_millis(500)).await;
    assert!(c.docs.is_empty(), "nothing pushed after unscope");
    c.close().await;
    let c = connect(&app, &cora).await;
    assert!(!c.ready_ids().contains(&id));

    // Ann created it: unsubscribing leaves it in her scope, and the server says why (protocol 5).
    a.unsubscribe(id).await;
    assert!(a.pump_until(WAIT, |c| !c.kept.is_empty()).await, "{a:?}");
    assert_eq!(
        a.kept,
        vec![serde_json::json!({"type": "kept", "doc": id.to_string(), "reason": "member"})]
    );
    assert!(a.unscoped.is_empty());
    // It still syncs: Cora's subscription is gone, Ann's next observation is acked and stays hers.
    observe(&mut a, id, &ann.id, 9);
    assert!(a.sync_until_acked(id, WAIT).await, "ann: {a:?}");
    assert!(a.unscoped.is_empty());
}

#[actix_web::test]
async fn unsubscribing_a_planned_walk_of_the_team_is_answered_kept_planned() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let planned = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(planned, planned_walk(planned, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(planned, WAIT).await);

    // Bob's phone holds it because it is planned for his team: unsubscribing changes nothing, and says so.
    let mut b = connect(&app, &bob).await;
    assert!(b.ready_ids().contains(&planned));
    b.subscribe(planned).await;
    b.unsubscribe(planned).await;
    assert!(b.pump_until(WAIT, |c| !c.kept.is_empty()).await, "{b:?}");
    assert_eq!(
        b.kept,
        vec![serde_json::json!({"type": "kept", "doc": planned.to_string(), "reason": "planned"})]
    );
    assert!(b.unscoped.is_empty());
    b.close().await;
    let b = connect(&app, &bob).await;
    assert!(b.ready_ids().contains(&planned), "still in his scope");

    // A document outside every other reason is unscoped, as before.
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let mut c = connect(&app, &cora).await;
    c.subscribe(planned).await;
    c.unsubscribe(planned).await;
    assert!(
        c.pump_until(WAIT, |c| c.unscoped == vec![planned]).await,
        "{c:?}"
    );
    assert!(c.kept.is_empty());
}

#[actix_web::test]
async fn an_old_client_syncing_a_document_outside_its_scope_subscribes_it() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let id = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "noord", 2));
    assert!(a.sync_until_acked(id, WAIT).await);

    let mut b = connect(&app, &bob).await;
    assert!(!b.ready_ids().contains(&id));
    b.add_doc(id, AutoCommit::new());
    b.sync_doc(id).await;
    assert!(
        b.pump_until(WAIT, |c| observation_texts(c, id).len() == 2)
            .await
    );
    assert_eq!(b.announced, vec![id], "the document entered the scope");
    b.close().await;
    let b = connect(&app, &bob).await;
    assert!(b.ready_ids().contains(&id), "subscribed for later");
}

#[actix_web::test]
async fn a_subscribe_flood_is_bounded_and_the_connection_and_other_devices_carry_on() {
    let app = spawn_app_with(|c| c.sync.max_subscriptions_per_device = 3).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let dirk = user(&app, "dirk", &[Role::Coordinator], None).await;
    // Ann's five walks (her device subscribes them by creating them: that
    // is never refused; the user's document quota bounds it).
    let walks: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let mut a = connect(&app, &ann).await;
    for id in &walks {
        a.add_doc(*id, walk(*id, &ann.id, "noord", 1));
        assert!(a.sync_until_acked(*id, WAIT).await);
    }

    // Cora subscribes three: the bound.
    let mut c = connect(&app, &cora).await;
    for id in &walks[..3] {
        c.subscribe(*id).await;
    }
    assert!(
        c.pump_until(WAIT, |c| walks[..3].iter().all(|id| observation_texts(
            c, *id
        )
        .len()
            == 1))
            .await,
        "{c:?}"
    );
    assert_eq!(c.announced, walks[..3].to_vec());
    // A fourth is refused with its code, for that document.
    c.subscribe(walks[3]).await;
    assert!(c.pump_until(WAIT, |c| !c.errors.is_empty()).await);
    assert_eq!(
        (c.errors[0].doc, c.errors[0].code.as_str()),
        (Some(walks[3]), "too_many_subscriptions")
    );
    // So is an implicit subscribe (a sync frame for a document outside the
    // scope), and nothing of the document is sent.
    c.add_doc(walks[4], AutoCommit::new());
    c.sync_doc(walks[4]).await;
    assert!(c.pump_until(WAIT, |c| c.errors.len() == 2).await);
    assert_eq!(
        (c.errors[1].doc, c.errors[1].code.as_str()),
        (Some(walks[4]), "too_many_subscriptions")
    );

    // The flood: a thousand subscribes of documents the device may not add
    // (two walks past the bound, and unknown ids). Every frame is answered
    // with one error (the bound, not_found, or the message budget), nothing
    // enters the scope.
    let flood = 1000;
    for i in 0..flood {
        let id = match i % 3 {
            0 => walks[3],
            1 => walks[4],
            _ => Uuid::new_v4(),
        };
        c.subscribe(id).await;
    }
    assert!(
        c.pump_until(WAIT, |c| c.errors.len() == 2 + flood).await,
        "answers: {}",
        c.errors.len()
    );
    let mut codes: Vec<&str> = c.errors[2..].iter().map(|e| e.code.as_str()).collect();
    codes.sort();
    codes.dedup();
    assert!(codes.contains(&"too_many_subscriptions"), "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| ["too_many_subscriptions", "not_found", "rate_limited"].contains(c)),
        "{codes:?}"
    );
    assert_eq!(c.announced, walks[..3].to_vec(), "nothing more entered");
    assert!(observation_texts(&c, walks[3]).is_empty());
    assert!(observation_texts(&c, walks[4]).is_empty());

    // The connection carries on: Ann's next observation reaches Cora live.
    observe(&mut a, walks[0], &ann.id, 7);
    assert!(a.sync_until_acked(walks[0], WAIT).await, "ann: {a:?}");
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, walks[0]).len() == 2)
            .await,
        "cora: {c:?}"
    );
    // Another device has a bound of its own.
    let mut d = connect(&app, &dirk).await;
    d.subscribe(walks[3]).await;
    assert!(
        d.pump_until(WAIT, |c| observation_texts(c, walks[3]).len() == 1)
            .await,
        "dirk: {d:?}"
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);

    // Stored as bounded: after a reconnect Cora holds the three, and an
    // unsubscribe makes room for another.
    c.close().await;
    let mut c = connect(&app, &cora).await;
    let held: Vec<Uuid> = c
        .ready_ids()
        .into_iter()
        .filter(|id| walks.contains(id))
        .collect();
    let mut expected = walks[..3].to_vec();
    let mut got = held.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    c.unsubscribe(walks[2]).await;
    assert!(c.pump_until(WAIT, |c| c.unscoped == vec![walks[2]]).await);
    c.subscribe(walks[3]).await;
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, walks[3]).len() == 1)
            .await,
        "{c:?}"
    );
    assert!(c.errors.is_empty(), "{:?}", c.errors);
}

#[actix_web::test]
async fn documents_leave_the_scope_when_their_window_passes_and_subscriptions_survive_a_restart() {
    let app = spawn_app_with(|c| c.sync.scope_check_secs = 1).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let id = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(id, WAIT).await);
    let mut c = connect(&app, &cora).await;
    c.subscribe(id).await;
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, id).len() == 1)
            .await
    );

    // A new server on the same database still knows the subscription.
    let second = spawn_app_with(|c| c.data_dir = app.data_dir.clone()).await;
    let c2 = connect(&second, &cora).await;
    assert!(c2.ready_ids().contains(&id), "{:?}", c2.ready);

    // Fifteen days later: the creator's window and the subscription passed.
    app.state.scope_clock.advance_ms(15 * DAY_MS);
    assert!(
        a.pump_until(WAIT, |c| c.unscoped.contains(&id)).await,
        "ann: {a:?}"
    );
    assert!(
        c.pump_until(WAIT, |c| c.unscoped.contains(&id)).await,
        "cora: {c:?}"
    );
    a.close().await;
    let a = connect(&app, &ann).await;
    assert!(!a.ready_ids().contains(&id));
}

#[actix_web::test]
async fn the_periodic_job_deletes_lapsed_subscriptions_of_devices_that_never_come_back() {
    use wijklog_server::domain::DeviceId;
    use wijklog_server::storage::ScopeBounds;
    let app = spawn_app_with(|c| c.sync.lapsed_subscriptions_secs = 1).await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let dirk = user(&app, "dirk", &[Role::Coordinator], None).await;
    let id = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(id, WAIT).await);
    a.close().await;
    let mut c = connect(&app, &cora).await;
    c.subscribe(id).await;
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, id).len() == 1)
            .await
    );
    c.close().await;
    // Rows of the subscriptions stored for a device, lapsed or not.
    let subscribed = |who: &TestUser| -> bool {
        let everything = ScopeBounds {
            past: i64::MAX,
            future: i64::MIN,
            subscribed_since: 0,
        };
        app.state
            .store
            .scope_candidates(
                &ServerUserId::parse(&who.id).expect("user id"),
                &DeviceId::from_string(who.device_id.clone()),
                everything,
                Some(ServerDocId::from_bytes(*id.as_bytes())),
            )
            .expect("candidates")
            .iter()
            .any(|c| c.subscribed_at.is_some())
    };
    assert!(subscribed(&cora) && subscribed(&ann));

    // Fifteen days later cora's and ann's subscriptions have lapsed; dirk
    // opens the walk now. Neither cora's nor ann's device comes back.
    app.state.scope_clock.advance_ms(15 * DAY_MS);
    let mut d = connect(&app, &dirk).await;
    d.subscribe(id).await;
    assert!(
        d.pump_until(WAIT, |c| observation_texts(c, id).len() == 1)
            .await
    );
    let deadline = std::time::Instant::now() + WAIT;
    while (subscribed(&cora) || subscribed(&ann)) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!subscribed(&cora), "cora's lapsed row is deleted");
    assert!(!subscribed(&ann), "the creator's lapsed row is deleted");
    assert!(subscribed(&dirk), "a live subscription stays");
}

/// A spreekuur session of team noord held `held_days_ago` days ago by `by`,
/// with one note whose call back was requested for `assignee` (`None`: the
/// team).
fn old_session(
    id: Uuid,
    by: &str,
    held_days_ago: i64,
    assignee: Option<&str>,
) -> (Document, ItemId) {
    let now = wijklog_server::domain::now_ms();
    let held = now - held_days_ago * DAY_MS;
    let catalog = Catalog::defaults();
    let by = UserId::parse(by).expect("user id");
    let mut doc = Document::new_spreekuur(
        DocId::from_bytes(*id.as_bytes()),
        &catalog,
        &by,
        Timestamp::from_millis(held),
        NewSpreekuur {
            location: "Buurthuis De Kolk".into(),
            wijk: "oostermeent".into(),
            held_on: Timestamp::from_millis(held),
            team: "noord".into(),
        },
    )
    .expect("session");
    let note = doc
        .add_note(
            &catalog,
            &by,
            Timestamp::from_millis(held + 60_000),
            NewItem {
                id: None,
                category: "woonoverlast".into(),
                severity: Severity::Aandacht,
                text: "bewoner wil teruggebeld worden".into(),
                place: None,
                location: None,
                feedback_needed: false,
            },
        )
        .expect("note");
    doc.request_callback(
        &catalog,
        &by,
        Timestamp::from_millis(held + 120_000),
        &note,
        CallbackRequest {
            due_at: None,
            assignee: assignee.map(|a| UserId::parse(a).expect("assignee")),
        },
    )
    .expect("request");
    (doc, note)
}

#[actix_web::test]
async fn open_call_backs_keep_old_sessions_on_the_teams_devices_until_closed() {
    let app = spawn_app().await;
    let sam = user(&app, "sam", &[Role::Spreekuur], Some("noord")).await;
    let tom = user(&app, "tom", &[Role::Spreekuur], Some("noord")).await;
    let uma = user(&app, "uma", &[Role::Spreekuur], Some("noord")).await;
    let bo = user(&app, "bo", &[Role::Boa], Some("noord")).await;
    let zoe = user(&app, "zoe", &[Role::Spreekuur], Some("zuid")).await;
    let (team, toms, old) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (team_doc, team_note) = old_session(team, &sam.id, 60, None);
    let (toms_doc, _) = old_session(toms, &sam.id, 60, Some(&tom.id));
    let mut s = connect(&app, &sam).await;
    s.add_doc(team, team_doc.automerge().clone());
    s.add_doc(toms, toms_doc.automerge().clone());
    // A session just as old whose call back is closed: nothing keeps it.
    let (mut old_doc, old_note) = old_session(old, &sam.id, 60, None);
    old_doc
        .complete_callback(
            &UserId::parse(&sam.id).expect("id"),
            Timestamp::from_millis(wijklog_server::domain::now_ms()),
            &old_note,
        )
        .expect("close");
    s.add_doc(old, old_doc.automerge().clone());
    for id in [team, toms, old] {
        assert!(s.sync_until_acked(id, WAIT).await, "{id}");
    }

    // New devices: the team's open call back is on every spreekuur phone
    // of the team, Tom's only on his; never on a boa's or another team's.
    let ids = |c: &SyncClient| c.ready_ids();
    let u = connect(&app, &uma).await;
    assert!(ids(&u).contains(&team), "{:?}", u.ready);
    assert!(!ids(&u).contains(&toms) && !ids(&u).contains(&old));
    let t = connect(&app, &tom).await;
    assert!(ids(&t).contains(&team) && ids(&t).contains(&toms));
    assert!(!ids(&t).contains(&old));
    s.close().await;
    for other in [&bo, &zoe] {
        let c = connect(&app, other).await;
        assert!(!ids(&c).contains(&team) && !ids(&c).contains(&toms));
    }

    // Uma calls the resident back and closes the task: the session leaves
    // the team's new devices.
    let mut u = connect(&app, &uma).await;
    u.subscribe(team).await;
    assert!(
        u.pump_until(WAIT, |c| observation_texts(c, team).len() == 1)
            .await
    );
    let held = u.docs.remove(&team).expect("held");
    let mut doc = Document::from_automerge(DocId::from_bytes(*team.as_bytes()), held.doc);
    doc.complete_callback(
        &UserId::parse(&uma.id).expect("id"),
        Timestamp::from_millis(wijklog_server::domain::now_ms()),
        &team_note,
    )
    .expect("close");
    u.docs.insert(
        team,
        ClientDoc {
            doc: doc.automerge().clone(),
            state: held.state,
            acked: held.acked,
        },
    );
    assert!(u.sync_until_acked(team, WAIT).await);
    let t = connect(&app, &tom).await;
    assert!(!ids(&t).contains(&team), "closed: {:?}", t.ready);
    assert!(ids(&t).contains(&toms), "Tom's own is still open");
}

#[actix_web::test]
async fn documents_stored_before_schedules_were_kept_get_theirs_at_the_next_start() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let planned = Uuid::new_v4();
    store_bare_walk(
        &app,
        ServerDocId::from_bytes(*planned.as_bytes()),
        &ServerUserId::parse(&ann.id).expect("id"),
        "noord",
        &mut planned_walk(planned, &ann.id, "noord", 1),
    );
    // Without its dates the team rule cannot see the planned walk.
    let b = connect(&app, &bob).await;
    assert!(!b.ready_ids().contains(&planned), "{:?}", b.ready);

    // The next start stores the schedule in the background: tomorrow's walk
    // reaches the team's phones.
    let second = spawn_app_with(|c| c.data_dir = app.data_dir.clone()).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let b = connect(&second, &bob).await;
        if b.ready_ids().contains(&planned) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never listed: {:?}",
            b.ready
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let one = second
        .store()
        .docs_without_schedule(None, 10)
        .expect("list");
    assert!(one.is_empty(), "{one:?}");
}

/// A walk of team noord by `by`, planned `planned_days` from now, started
/// and ended as given (days from now).
fn dated_walk(
    id: Uuid,
    by: &str,
    planned_days: i64,
    started: Option<i64>,
    ended: Option<i64>,
) -> AutoCommit {
    let now = wijklog_server::domain::now_ms();
    let am = walk_planned(id, by, "noord", 1, Some(now + planned_days * DAY_MS));
    let mut doc = Document::from_automerge(DocId::from_bytes(*id.as_bytes()), am);
    let by = UserId::parse(by).expect("user id");
    if let Some(s) = started {
        doc.start_walk(&by, Timestamp::from_millis(now + s * DAY_MS))
            .expect("start");
    }
    if let Some(e) = ended {
        doc.end_walk(&by, Timestamp::from_millis(now + e * DAY_MS))
            .expect("end");
    }
    doc.automerge().clone()
}

async fn documents(app: &TestApp, who: &TestUser, query: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {}", who.token);
    let res = app
        .request(
            "GET",
            &format!("/api/v1/documents?{query}"),
            &[("Authorization", auth.as_str())],
            None,
        )
        .await;
    (res.status, res.json())
}

fn listed(body: &serde_json::Value) -> Vec<Uuid> {
    body["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| Uuid::parse_str(d["id"].as_str().expect("id")).expect("uuid"))
        .collect()
}

#[actix_web::test]
async fn what_a_device_does_not_hold_is_listed_over_rest_by_schedule() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let zed = user(&app, "zed", &[Role::Boa], Some("zuid")).await;
    let (running, planned, old1, old2) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let mut b = connect(&app, &bob).await;
    b.add_doc(running, dated_walk(running, &bob.id, -1, Some(0), None));
    assert!(b.sync_until_acked(running, WAIT).await);
    let mut a = connect(&app, &ann).await;
    a.add_doc(planned, dated_walk(planned, &ann.id, 2, None, None));
    a.add_doc(old1, dated_walk(old1, &ann.id, -40, Some(-40), Some(-40)));
    a.add_doc(old2, dated_walk(old2, &ann.id, -30, Some(-30), Some(-30)));
    for id in [planned, old1, old2] {
        assert!(a.sync_until_acked(id, WAIT).await);
    }

    // Ann's phone does not hold Bob's running walk; she finds it to join.
    assert!(!connect(&app, &ann).await.ready_ids().contains(&running));
    let (status, body) = documents(&app, &ann, "state=running").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), vec![running]);
    assert_eq!(body["documents"][0]["mine"], false);
    assert_eq!(body["documents"][0]["running"], true);
    assert_eq!(body["documents"][0]["context"]["title"], "Avondronde");
    assert_eq!(body["documents"][0]["context"]["observation_count"], 1);
    let (_, body) = documents(&app, &ann, "state=planned").await;
    assert_eq!(listed(&body), vec![planned]);
    assert_eq!(body["documents"][0]["mine"], true);

    // "Meer laden": her older walks, newest first, a page at a time.
    let (_, page1) = documents(&app, &ann, "state=past&mine=true&limit=1").await;
    assert_eq!(listed(&page1), vec![old2]);
    let next = page1["next_before"].as_str().expect("next page").to_owned();
    let (_, page2) = documents(
        &app,
        &ann,
        &format!("state=past&mine=true&limit=1&before={next}"),
    )
    .await;
    assert_eq!(listed(&page2), vec![old1]);
    let next = page2["next_before"].as_str().expect("next page").to_owned();
    let (_, page3) = documents(
        &app,
        &ann,
        &format!("state=past&mine=true&limit=1&before={next}"),
    )
    .await;
    assert_eq!(listed(&page3), Vec::<Uuid>::new());
    assert_eq!(page3["next_before"], serde_json::Value::Null);
    // Without mine: Bob's older walks would be listed too (none here), his
    // running one is not "past".
    let (_, all) = documents(&app, &ann, "state=past").await;
    assert_eq!(listed(&all), vec![old2, old1]);

    // Another team sees nothing of noord; a coordinator sees every team.
    let (_, body) = documents(&app, &zed, "state=running").await;
    assert!(listed(&body).is_empty());
    let (_, body) = documents(&app, &cora, "state=planned").await;
    assert_eq!(listed(&body), vec![planned]);
    let (_, body) = documents(&app, &cora, "state=planned&team=zuid").await;
    assert!(listed(&body).is_empty());

    // Stable codes for what is refused.
    let (status, body) = documents(&app, &ann, "kind=spreekuur").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    for bad in [
        "state=soon",
        "limit=0",
        "limit=51",
        "before=12",
        "kind=catalog",
        "x=1",
    ] {
        let (status, body) = documents(&app, &ann, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "invalid_parameter", "{bad}");
        assert!(body["message"].as_str().is_some_and(|m| m.ends_with('.')));
    }
}

/// The `lists_changed` frames a client got within `quiet` of silence, and
/// whether any binary frame (a document's content) came with them.
async fn lists_changed_frames(
    client: &mut SyncClient,
    first: Duration,
    quiet: Duration,
) -> (usize, bool) {
    let (mut n, mut content) = (0, false);
    let mut wait = first;
    while let Some(item) = client.next(wait).await {
        match item {
            Incoming::Json(v) if v["type"] == "lists_changed" => {
                assert_eq!(
                    v,
                    serde_json::json!({"type": "lists_changed"}),
                    "no other field"
                );
                n += 1;
                wait = quiet;
            }
            Incoming::Binary(..) => content = true,
            Incoming::Json(_) => {}
            Incoming::Closed(reason) => panic!("closed: {reason:?}"),
        }
    }
    (n, content)
}

#[actix_web::test]
async fn coordinators_are_told_that_the_lists_changed_without_content_at_most_once_a_second() {
    let app = spawn_app().await;
    let ann = user(&app, "ann", &[Role::Boa], Some("noord")).await;
    let bob = user(&app, "bob", &[Role::Boa], Some("noord")).await;
    let cora = user(&app, "cora", &[Role::Coordinator], None).await;
    let mut c = connect(&app, &cora).await;
    let mut b = connect(&app, &bob).await;

    // Ann's walk (not planned, so on no other device): the coordinator, who
    // holds only the catalog, is told the lists changed, and nothing of the walk.
    let id = Uuid::new_v4();
    let mut a = connect(&app, &ann).await;
    a.add_doc(id, walk(id, &ann.id, "noord", 1));
    assert!(a.sync_until_acked(id, WAIT).await);
    let (told, content) = lists_changed_frames(&mut c, WAIT, Duration::from_millis(1500)).await;
    assert_eq!(told, 1);
    assert!(!content, "no document content comes with it");
    // A boa of the team is not told (its home screen reads its own lists).
    let (told, _) = lists_changed_frames(&mut b, Duration::from_millis(500), Duration::ZERO).await;
    assert_eq!(told, 0);

    // Twenty writes in a row: told at least once, far fewer than twenty times.
    const WRITES: usize = 20;
    for i in 0..WRITES {
        observe(&mut a, id, &ann.id, 10 + i);
        assert!(a.sync_until_acked(id, WAIT).await);
    }
    let (told, content) = lists_changed_frames(&mut c, WAIT, Duration::from_millis(2500)).await;
    assert!(told >= 1, "the last change is told");
    assert!(told < WRITES, "{told} frames for {WRITES} writes");
    assert!(!content);
    // The coordinator's own write is not told back to the same connection.
    c.subscribe(id).await;
    assert!(
        c.pump_until(WAIT, |c| observation_texts(c, id).len() == WRITES + 1)
            .await
    );
    let _ = lists_changed_frames(
        &mut c,
        Duration::from_millis(1500),
        Duration::from_millis(1500),
    )
    .await;
    observe(&mut c, id, &cora.id, 99);
    assert!(c.sync_until_acked(id, WAIT).await);
    let (told, _) = lists_changed_frames(&mut c, Duration::from_millis(1500), Duration::ZERO).await;
    assert_eq!(told, 0);
}
