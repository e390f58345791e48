//! A flood of residents' submissions while a boa's phone syncs a walk, on
//! the real server on loopback: 150 points from one address (127.0.0.2)
//! and one point each from 150 other loopback addresses (127.0.0.10 …),
//! all at once. Counted, never timed: every observation the phone sends
//! meanwhile is acked; the one address stores at most its budget; all
//! addresses together at most the global budget; every answer is 201, 429
//! `rate_limited` or 503 `busy`; exactly the points answered 201 are
//! stored; and afterwards the one address can still store the rest of its
//! budget, because a `busy` answer costs none of it.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;
use wijklog_server::domain::Role;
use wijklog_server::testing::{TestApp, spawn_app_with};
use wijklog_testing::users::{connect, observe, user};
use wijklog_testing::walks::walk;

const PER_ADDRESS: u32 = 3;
const GLOBAL: u32 = 60;
const FROM_ONE: usize = 150;
const FROM_MANY: usize = 150;
const OBSERVATIONS: usize = 8;

/// One `POST /api/v1/public/points` sent from `from` (a loopback address of
/// its own); the answer's status and body.
async fn post_from(from: Ipv4Addr, port: u16, body: String) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback address");
    let mut stream = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .expect("connect");
    let request = format!(
        "POST /api/v1/public/points HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

async fn token(app: &TestApp) -> String {
    let res = app.get("/api/v1/public/form-token").await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["token"].as_str().expect("token").to_owned()
}

#[actix_web::test]
async fn a_flood_of_submissions_stays_within_its_budgets_and_the_field_app_keeps_syncing() {
    let app = spawn_app_with(|c| {
        c.public.form_min_secs = 0;
        c.public.submits_per_address = PER_ADDRESS;
        c.public.submits_global = GLOBAL;
        // The tokens are fetched from 127.0.0.1 beforehand: reads are not what this test floods.
        c.public.reads_per_address = 10_000;
        c.public.reads_global = 100_000;
    })
    .await;
    let boa = user(&app, "boa", &[Role::Boa], Some("noord")).await;
    let mut phone = connect(&app, &boa).await;
    let id = Uuid::new_v4();
    phone.add_doc(id, walk(id, &boa.id, "noord", 1));
    assert!(phone.sync_until_acked(id, Duration::from_secs(10)).await);

    let mut bodies = Vec::new();
    for i in 0..FROM_ONE + FROM_MANY {
        let t = token(&app).await;
        bodies.push(
            json!({"wijk": "centrum", "text": format!("Punt nummer {i}"), "token": t}).to_string(),
        );
    }
    let port = app.port;
    let mut flood = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let from = if i < FROM_ONE {
            Ipv4Addr::new(127, 0, 0, 2)
        } else {
            let n = u8::try_from(10 + i - FROM_ONE).expect("address");
            Ipv4Addr::new(127, 0, 0, n)
        };
        flood.push((i < FROM_ONE, tokio::spawn(post_from(from, port, body))));
    }

    // Meanwhile the phone logs observations and syncs each one.
    let mut acked = 0;
    for i in 2..2 + OBSERVATIONS {
        observe(&mut phone, id, &boa.id, i);
        if phone.sync_until_acked(id, Duration::from_secs(30)).await {
            acked += 1;
        }
    }

    let (mut ok_one, mut ok_many, mut limited, mut busy) = (0, 0, 0, 0);
    for (one, task) in flood {
        let (status, text) = task.await.expect("request task");
        match status {
            201 if one => ok_one += 1,
            201 => ok_many += 1,
            429 => {
                assert!(text.contains("rate_limited"), "{text}");
                limited += 1;
            }
            503 => {
                assert!(text.contains("busy"), "{text}");
                busy += 1;
            }
            other => panic!("unexpected answer {other}: {text}"),
        }
    }
    println!(
        "flood: {ok_one} stored from one address, {ok_many} from {FROM_MANY} addresses, \
         {limited} rate limited, {busy} busy; phone: {acked}/{OBSERVATIONS} acked"
    );
    assert_eq!(
        acked, OBSERVATIONS,
        "every sync write of the phone was acked"
    );
    assert!(ok_one <= PER_ADDRESS, "one address stored {ok_one}");
    assert!(
        ok_one + ok_many <= GLOBAL,
        "all addresses stored {}",
        ok_one + ok_many
    );
    assert!(ok_one + ok_many > 0, "some points got through");
    assert!(limited > 0, "the budgets refused some");
    let stored: u32 = app
        .state
        .review
        .with_conn(|c| c.query_row("SELECT count(*) FROM resident_points", [], |r| r.get(0)))
        .expect("count");
    assert_eq!(
        stored,
        ok_one + ok_many,
        "exactly the points answered 201 are stored"
    );

    // Only stored points count: what the flood got `busy` for is given
    // back, so the one address can now hand in the rest of its budget,
    // one after another, and then no more. (Checked while the global
    // budget has room for it, which it had in every run.)
    if ok_one + ok_many + PER_ADDRESS <= GLOBAL {
        let mut more = 0;
        loop {
            let body =
                json!({"wijk": "centrum", "text": "Nog een punt", "token": token(&app).await})
                    .to_string();
            let (status, text) = post_from(Ipv4Addr::new(127, 0, 0, 2), port, body).await;
            if status == 429 {
                assert!(text.contains("rate_limited"), "{text}");
                break;
            }
            assert_eq!(status, 201, "{text}");
            more += 1;
            assert!(more <= PER_ADDRESS, "stored beyond the budget");
        }
        println!("after the flood: {more} more from the one address");
        assert_eq!(
            ok_one + more,
            PER_ADDRESS,
            "the one address stores exactly its budget over the flood and after it"
        );
    }
}
