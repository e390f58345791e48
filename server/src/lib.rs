//! Wijklog's sync server: authenticated automerge sync over WebSocket,
//! durable in SQLite, and the REST API (auth, health, metrics).
//!
//! Layout (zero-to-production style): [`startup::Application`] builds the
//! state and binds the listener; [`routes`] holds the HTTP handlers by
//! feature; [`storage`] is the [`storage::Store`] trait and its SQLite
//! implementation; [`auth`] the tokens, passwords and role rules;
//! [`config`], [`telemetry`] and [`metrics`] the operational parts; [`cli`]
//! the `wijklog` command line (the binary is a thin `main`).

pub mod admin;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod compaction;
pub mod config;
pub mod crashpoint;
pub mod domain;
pub mod edge;
pub mod erasure;
pub mod geocode;
pub mod mail;
pub mod metrics;
pub mod public;
pub mod retention;
pub mod review;
pub mod routes;
pub mod seed;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod storage;
pub mod sync;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "testing")]
pub mod testing_pg;
#[cfg(feature = "testing")]
pub mod testing_smtp;
