//! The sync scope over the real socket: what `ready` lists, subscribe and
//! unsubscribe, implicit subscribes of older clients, `unscope` when a window
//! passes (the server's scope clock moved forward), subscriptions surviving a
//! restart (a new server on the same database). Real server on loopback,
//! SQLite in a temp dir, the Rust sync client.

#[allow(unused_imports)]
mod sync_support;

use std::time::Duration;

use automerge::AutoCommit;
use uuid::Uuid;
use wijklog_server::domain::Role;
use wijklog_server::testing::{spawn_app, spawn_app_with};

use sync_support::*;

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
    assert_eq!(a.ready["protocol"], 2);
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
    assert!(a.sync_until_acked(id, WAIT).await);
    c.pump_quiet(Duration::from_millis(500)).await;
    assert!(c.docs.is_empty(), "nothing pushed after unscope");
    c.close().await;
    let c = connect(&app, &cora).await;
    assert!(!c.ready_ids().contains(&id));

    // Ann created it: unsubscribing leaves it in her scope, nothing is sent.
    a.unsubscribe(id).await;
    a.pump_quiet(Duration::from_millis(500)).await;
    assert!(a.unscoped.is_empty());
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
