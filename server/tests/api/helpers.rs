//! Test helpers: `spawn_app()` (real server, 127.0.0.1 port 0, temp SQLite)
//! lives in `wijklog_server::testing` so that every test file (the sync
//! layer's too) uses the same one.

#[allow(unused_imports)]
pub use wijklog_server::testing::{ApiError, Response, TestApp, spawn_app, spawn_app_with};
