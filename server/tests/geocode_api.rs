//! The address lookups (`GET /api/v1/geocode/reverse` and `/search`) against
//! a FAKE Locatieserver on loopback, started here (an actix server that
//! answers the way PDOK's Locatieserver 3.1 does, or slowly, or with
//! garbage, or with an error status, or not at all): what goes out (the
//! rounded position and the search words, nothing about the user), the
//! answers, the cache, the error codes, the bounds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use wijklog_server::config::Config;
use wijklog_server::domain::Role;
use wijklog_server::testing::{Response, TestApp, spawn_app_with};
use wijklog_testing::stored::{Person, person};

/// How the fake service answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Like the Locatieserver.
    Up,
    /// Waits until released (or 30 s), then answers like `Up`.
    Held,
    /// HTML instead of JSON.
    Garbage,
    /// 500.
    Failing,
}

/// One request the fake service received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<String>,
    user_agent: String,
}

struct FakeState {
    mode: Mutex<Mode>,
    seen: Mutex<Vec<Seen>>,
    release: tokio::sync::Semaphore,
}

struct FakePdok {
    url: String,
    state: Arc<FakeState>,
    _server: actix_web::dev::ServerHandle,
}

impl FakePdok {
    async fn start(mode: Mode) -> Self {
        let state = Arc::new(FakeState {
            mode: Mutex::new(mode),
            seen: Mutex::new(Vec::new()),
            release: tokio::sync::Semaphore::new(0),
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(fake_answer))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind the fake service");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        FakePdok {
            url: format!("http://127.0.0.1:{port}/bzk/locatieserver/search/v3_1"),
            state,
            _server: handle,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen").clone()
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().expect("mode") = mode;
    }
}

async fn fake_answer(req: HttpRequest, state: web::Data<FakeState>) -> HttpResponse {
    let query: Vec<(String, String)> =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
    let mut headers: Vec<String> = req
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    headers.sort();
    state.seen.lock().expect("seen").push(Seen {
        path: req.path().to_owned(),
        query: query.clone(),
        headers,
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    });
    let mode = *state.mode.lock().expect("mode");
    match mode {
        Mode::Garbage => return HttpResponse::Ok().body("<html>Onderhoud</html>"),
        Mode::Failing => return HttpResponse::InternalServerError().body("{}"),
        Mode::Held => {
            let _ = tokio::time::timeout(Duration::from_secs(30), state.release.acquire()).await;
        }
        Mode::Up => {}
    }
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let docs = if req.path().ends_with("/reverse") {
        match get("lat").as_str() {
            // In the North Sea: nothing near.
            "53.50000" => json!([]),
            // A farm track: the nearest address is 250 m away.
            "52.20000" => json!([{"type": "adres", "weergavenaam": "Hoefweg 9, 3817AA Amersfoort",
                "centroide_ll": "POINT(5.39 52.2022)", "afstand": 250.0}]),
            _ => json!([{"type": "adres", "weergavenaam": "Stationsplein 1, 3818LE Amersfoort",
                "centroide_ll": "POINT(5.37474 52.15306)", "afstand": 4.2}]),
        }
    } else if req.path().ends_with("/free") {
        json!([
            {"type": "adres", "weergavenaam": format!("{} 1, 3811AA Amersfoort", get("q")),
             "centroide_ll": "POINT(5.3872 52.1561)", "score": 9.1},
            {"type": "weg", "weergavenaam": "Kampstraat, Amersfoort",
             "centroide_ll": "POINT(5.39 52.157)", "score": 7.0},
            {"type": "woonplaats", "weergavenaam": "Zonder punt"}
        ])
    } else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok().json(json!({"response": {"numFound": 1, "start": 0, "docs": docs}}))
}

fn geocoding_on(url: &str) -> impl FnOnce(&mut Config) + use<> {
    let url = url.to_owned();
    move |c| {
        c.geocoding.enabled = true;
        c.geocoding.url = url;
        c.geocoding.timeout_ms = 5000;
    }
}

async fn get(app: &TestApp, who: &Person, path: &str) -> Response {
    let auth = format!("Bearer {}", who.token);
    app.request("GET", path, &[("authorization", auth.as_str())], None)
        .await
}

fn code(res: &Response) -> String {
    res.json()["code"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn the_nearest_address_comes_from_the_service_with_only_the_rounded_position_sent() {
    let fake = FakePdok::start(Mode::Up).await;
    let app = spawn_app_with(geocoding_on(&fake.url)).await;
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;

    let res = get(
        &app,
        &boa,
        "/api/v1/geocode/reverse?lat=52.1530612345&lon=5.3747398",
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("private, no-store"));
    assert_eq!(
        res.json(),
        json!({"address": {"label": "Stationsplein 1, 3818LE Amersfoort", "type": "adres",
            "lat": 52.15306, "lon": 5.37474, "distance_m": 4.2}})
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/bzk/locatieserver/search/v3_1/reverse");
    let sent: Vec<(&str, &str)> = seen[0]
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            ("lat", "52.15306"),
            ("lon", "5.37474"),
            ("type", "adres"),
            ("rows", "1"),
            ("distance", "100"),
            ("fl", "weergavenaam,type,centroide_ll,afstand"),
        ],
        "only the rounded position and the service's own parameters go out"
    );
    for h in &seen[0].headers {
        assert!(
            [
                "host",
                "user-agent",
                "accept",
                "accept-encoding",
                "content-length",
                "date"
            ]
            .contains(&h.as_str()),
            "header {h} went out: {:?}",
            seen[0].headers
        );
    }
    assert_eq!(seen[0].user_agent, "Wijklog");

    // The same spot (within the rounding) again, from another account:
    // from the cache, the service is not asked again.
    let coord = person(&app, "coco", &[Role::Coordinator], None).await;
    let again = get(
        &app,
        &coord,
        "/api/v1/geocode/reverse?lat=52.153059&lon=5.374742",
    )
    .await;
    assert_eq!(again.json(), res.json());
    assert_eq!(fake.seen().len(), 1, "answered from the cache");

    // Nothing near, and the nearest address too far away: no address.
    let sea = get(&app, &boa, "/api/v1/geocode/reverse?lat=53.5&lon=4.0").await;
    assert_eq!((sea.status, sea.json()), (200, json!({"address": null})));
    let far = get(&app, &boa, "/api/v1/geocode/reverse?lat=52.2&lon=5.39").await;
    assert_eq!((far.status, far.json()), (200, json!({"address": null})));
    // "No address" is remembered as well.
    let n = fake.seen().len();
    get(&app, &boa, "/api/v1/geocode/reverse?lat=53.5&lon=4.0").await;
    assert_eq!(fake.seen().len(), n);
}

#[actix_web::test]
async fn a_search_answers_places_with_positions() {
    let fake = FakePdok::start(Mode::Up).await;
    let app = spawn_app_with(geocoding_on(&fake.url)).await;
    let coord = person(&app, "coco", &[Role::Coordinator], None).await;
    let res = get(&app, &coord, "/api/v1/geocode/search?q=%20Langestraat%20").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"results": [
            {"label": "Langestraat 1, 3811AA Amersfoort", "type": "adres", "lat": 52.1561, "lon": 5.3872},
            {"label": "Kampstraat, Amersfoort", "type": "weg", "lat": 52.157, "lon": 5.39}
        ]}),
        "a place without a position is left out"
    );
    let seen = fake.seen();
    assert_eq!(seen[0].path, "/bzk/locatieserver/search/v3_1/free");
    let q: Vec<&str> = seen[0].query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(q, ["q", "rows", "fq", "fl"]);
    assert_eq!(seen[0].query[0].1, "Langestraat", "trimmed");
    // The same words in other capitals: from the cache.
    get(&app, &coord, "/api/v1/geocode/search?q=langestraat").await;
    assert_eq!(fake.seen().len(), 1);
}

#[actix_web::test]
async fn bad_requests_are_refused_before_the_service_is_asked() {
    let fake = FakePdok::start(Mode::Up).await;
    let app = spawn_app_with(geocoding_on(&fake.url)).await;
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;
    let anonymous = app.get("/api/v1/geocode/reverse?lat=52.1&lon=5.1").await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(app.get("/api/v1/geocode/search?q=Kamp").await.status, 401);
    for (path, param) in [
        ("/api/v1/geocode/reverse?lat=52.1", "lon"),
        ("/api/v1/geocode/reverse?lat=abc&lon=5.1", "lat"),
        ("/api/v1/geocode/reverse?lat=95&lon=5.1", "lat"),
        ("/api/v1/geocode/reverse?lat=52&lon=-181", "lon"),
        ("/api/v1/geocode/reverse?lat=NaN&lon=5", "lat"),
        ("/api/v1/geocode/reverse?lat=52&lon=5&naam=jan", "query"),
        ("/api/v1/geocode/search", "q"),
        ("/api/v1/geocode/search?q=%20a%20", "q"),
        ("/api/v1/geocode/search?q=Kamp&x=1", "query"),
        ("/api/v1/geocode/search?q=Kamp%00straat", "query"),
    ] {
        let res = get(&app, &boa, path).await;
        assert_eq!(
            (res.status, code(&res).as_str()),
            (400, "invalid_parameter"),
            "{path}: {}",
            res.text()
        );
        let body: Value = res.json();
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(param)),
            "{path}: {body}"
        );
    }
    let long = "a".repeat(101);
    let res = get(&app, &boa, &format!("/api/v1/geocode/search?q={long}")).await;
    assert_eq!(res.status, 400);
    assert!(fake.seen().is_empty(), "the service was not asked");
}

#[actix_web::test]
async fn switched_off_the_server_answers_geocoding_off_and_asks_nobody() {
    let fake = FakePdok::start(Mode::Up).await;
    let url = fake.url.clone();
    let app = spawn_app_with(move |c| c.geocoding.url = url).await;
    assert!(
        !Config::default().geocoding.enabled,
        "off unless switched on"
    );
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;
    for path in [
        "/api/v1/geocode/reverse?lat=52.1&lon=5.1",
        "/api/v1/geocode/search?q=Kampstraat",
    ] {
        let res = get(&app, &boa, path).await;
        assert_eq!((res.status, code(&res).as_str()), (503, "geocoding_off"));
    }
    assert!(fake.seen().is_empty());
}

#[actix_web::test]
async fn a_service_that_is_down_slow_failing_or_unreadable_is_a_clear_503_and_not_remembered() {
    // Down: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let app = spawn_app_with(geocoding_on(&format!("http://127.0.0.1:{port}/v3_1"))).await;
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;
    let res = get(&app, &boa, "/api/v1/geocode/reverse?lat=52.1&lon=5.1").await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (503, "geocoding_unavailable"),
        "{}",
        res.text()
    );

    // Slow: the answer does not come within timeout_ms.
    let fake = FakePdok::start(Mode::Held).await;
    let url = fake.url.clone();
    let app = spawn_app_with(move |c| {
        geocoding_on(&url)(c);
        c.geocoding.timeout_ms = 300;
    })
    .await;
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;
    let res = get(&app, &boa, "/api/v1/geocode/reverse?lat=52.1&lon=5.1").await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (503, "geocoding_unavailable")
    );
    let res = get(&app, &boa, "/api/v1/geocode/search?q=Kampstraat").await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (503, "geocoding_unavailable")
    );
    fake.state.release.add_permits(100);

    // Failing (500), then unreadable: nothing of it is cached; once the
    // service is back the same position gets its address.
    let fake = FakePdok::start(Mode::Failing).await;
    let app = spawn_app_with(geocoding_on(&fake.url)).await;
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;
    let path = "/api/v1/geocode/reverse?lat=52.1&lon=5.1";
    let res = get(&app, &boa, path).await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (503, "geocoding_unavailable")
    );
    fake.set_mode(Mode::Garbage);
    let res = get(&app, &boa, path).await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (503, "geocoding_bad_answer")
    );
    assert!(
        res.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("coordinates"))
    );
    fake.set_mode(Mode::Up);
    let res = get(&app, &boa, path).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["address"]["label"],
        "Stationsplein 1, 3818LE Amersfoort"
    );
    assert_eq!(fake.seen().len(), 3, "each try asked the service");
}

#[actix_web::test]
async fn lookups_are_bounded_per_account_and_under_way_at_once() {
    let fake = FakePdok::start(Mode::Up).await;
    let url = fake.url.clone();
    let app = spawn_app_with(move |c| {
        geocoding_on(&url)(c);
        c.geocoding.per_user_per_minute = 3;
        c.geocoding.max_concurrent = 1;
        c.geocoding.timeout_ms = 30_000;
    })
    .await;
    let boa = person(&app, "bram", &[Role::Boa], Some("noord")).await;
    let other = person(&app, "bea", &[Role::Boa], Some("noord")).await;
    for i in 0..3 {
        let res = get(
            &app,
            &boa,
            &format!("/api/v1/geocode/reverse?lat=52.1{i}&lon=5.1"),
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.text());
    }
    let res = get(&app, &boa, "/api/v1/geocode/reverse?lat=52.1&lon=5.1").await;
    assert_eq!(
        (res.status, code(&res).as_str()),
        (429, "geocoding_rate_limited")
    );
    let retry: u64 = res
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");

    // One lookup under way holds the only place: a second is `busy` at once.
    fake.set_mode(Mode::Held);
    let app = Arc::new(app);
    let first = {
        let (app, other) = (app.clone(), other.token.clone());
        actix_web::rt::spawn(async move {
            let auth = format!("Bearer {other}");
            app.request(
                "GET",
                "/api/v1/geocode/reverse?lat=51.9&lon=5.1",
                &[("authorization", auth.as_str())],
                None,
            )
            .await
        })
    };
    let n = fake.seen().len();
    while fake.seen().len() == n {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let res = get(&app, &other, "/api/v1/geocode/search?q=Kampstraat").await;
    assert_eq!((res.status, code(&res).as_str()), (503, "busy"));
    assert_eq!(res.header("retry-after"), Some("2"));
    fake.state.release.add_permits(100);
    let first = first.await.expect("first lookup");
    assert_eq!(first.status, 200, "{}", first.text());
}
