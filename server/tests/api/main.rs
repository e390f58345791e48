//! The server's integration tests: one test binary, one module per feature.
//! `helpers` re-exports `wijklog_server::testing` (spawn_app and clients).

mod admin;
mod auth;
mod blob_backend;
mod cli;
mod compression;
mod edge;
mod health;
mod helpers;
mod jwt;
mod review;
mod storage;
