//! Test support, shared by this crate's integration tests and the sync
//! layer's tests (`tests/api/sync_*.rs`).
//!
//! [`spawn_app`] starts the real server on 127.0.0.1, port 0, with a fresh
//! SQLite database in a temporary directory and returns a [`TestApp`] with
//! typed client methods. Use it from `#[actix_web::test]` tests:
//!
//! ```no_run
//! # async fn demo() {
//! use wijklog_server::domain::Role;
//! let app = wijklog_server::testing::spawn_app().await;
//! app.add_user("anna", "geheim-wachtwoord", &[Role::Boa], Some("noord"));
//! let tokens = app.login("anna", "geheim-wachtwoord").await.expect("login");
//! // ws URL for the sync layer: app.ws_url("/api/v1/sync")
//! # }
//! ```
//!
//! Not part of the server's API: only tests use it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::password::hash_password;
use crate::config::Config;
use crate::domain::Role;
use crate::routes::auth::TokenResponse;
use crate::startup::Application;
use crate::state::AppState;
use crate::storage::{NewUser, SqliteStore, StoreInspect, User};

/// A running test server.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// The server's shared state (store, metrics, shutdown).
    pub state: AppState,
    /// The data directory (deleted when the `TestApp` is dropped).
    pub data_dir: PathBuf,
    /// The same store as `state.store`, with the reads only tests make.
    store: Arc<dyn StoreInspect>,
    _tmp: tempfile::TempDir,
}

/// A response read completely.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The `/metrics` token of test servers ([`TestApp::metrics`] sends it).
pub const TEST_METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A configuration for tests: port 0, the given data dir, tight limits off.
pub fn test_config(data_dir: PathBuf) -> Config {
    let mut config = Config {
        bind: "127.0.0.1:0".into(),
        static_dir: data_dir.join("static"),
        data_dir,
        ..Config::default()
    };
    config.http.metrics_token = Some(crate::config::Secret::new(TEST_METRICS_TOKEN.into()));
    // Tests erase on their own clock (`crate::retention::run`); no timer
    // erases their documents behind their backs.
    config.retention.interval_secs = 0;
    config
}

/// Starts a server with default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after letting `adjust` change the configuration
/// (limits, rate limits, ...). `data_dir`/`bind` are set already.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    crate::telemetry::init(crate::config::LogFormat::Text, "warn", std::io::stderr);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(tmp.path().to_owned());
    adjust(&mut config);
    let data_dir = config.data_dir.clone();
    let store = Arc::new(SqliteStore::open_in_dir(&data_dir).expect("open store"));
    let app = Application::build_with_store(config, store.clone())
        .await
        .expect("build app");
    let port = app.port();
    let state = app.state().clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        state,
        data_dir,
        store,
        _tmp: tmp,
    }
}

/// Login failures as seen by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `code` of the JSON body.
    pub code: String,
}

impl TestApp {
    /// The store (blocking calls are fine in tests), with the reads only
    /// tests make ([`StoreInspect`]).
    pub fn store(&self) -> &dyn StoreInspect {
        self.store.as_ref()
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }

    /// Creates an account directly in the store.
    pub fn add_user(
        &self,
        username: &str,
        password: &str,
        roles: &[Role],
        team: Option<&str>,
    ) -> User {
        self.store()
            .create_user(NewUser {
                username: username.into(),
                display_name: format!("{username} (test)"),
                password_hash: hash_password(password).expect("hash"),
                roles: roles.to_vec(),
                team: team.map(str::to_owned),
            })
            .expect("create user")
    }

    /// Sends a request and reads the whole answer.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Response {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .finish();
        let mut req = client.request(method, format!("{}{}", self.address, path));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .expect("http request");
        let body = res
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .expect("body")
            .to_vec();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        Response {
            status: res.status().as_u16(),
            headers,
            body,
        }
    }

    /// POSTs JSON.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], None).await
    }

    /// `GET /metrics` with the test token.
    pub async fn metrics(&self) -> Response {
        let auth = format!("Bearer {TEST_METRICS_TOKEN}");
        self.request("GET", "/metrics", &[("authorization", auth.as_str())], None)
            .await
    }

    fn token_result(res: Response) -> Result<TokenResponse, ApiError> {
        if res.status == 200 {
            serde_json::from_slice(&res.body).map_err(|_| ApiError {
                status: 200,
                code: "bad_body".into(),
            })
        } else {
            Err(ApiError {
                status: res.status,
                code: res.json()["code"].as_str().unwrap_or_default().to_owned(),
            })
        }
    }

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenResponse, ApiError> {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"username": username, "password": password, "device_name": "test"}),
            )
            .await;
        Self::token_result(res)
    }

    /// `POST /api/v1/auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, ApiError> {
        let res = self
            .post_json(
                "/api/v1/auth/refresh",
                &serde_json::json!({"refresh_token": refresh_token}),
            )
            .await;
        Self::token_result(res)
    }

    /// `POST /api/v1/auth/logout`; returns the status.
    pub async fn logout(&self, refresh_token: &str) -> u16 {
        self.post_json(
            "/api/v1/auth/logout",
            &serde_json::json!({"refresh_token": refresh_token}),
        )
        .await
        .status
    }
}
