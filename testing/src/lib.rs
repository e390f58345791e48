//! Support for Wijklog's integration tests, shared by the server's tests
//! (`server/tests/`) and the cross-component tests and benchmarks
//! (`tests/`): one copy of each helper instead of files included by path
//! and copied builders.
//!
//! - [`sync_client`]: a Rust client of the sync protocol.
//! - [`walks`]: walk documents with n observations, built with the shared
//!   model's typed edits.
//! - [`users`]: accounts on an in-process test server and their sync clients.
//! - [`mutation`]: byte mutations of valid inputs for the fuzz tests.
//! - [`stored`]: documents committed to the store the way a sync commit
//!   stores them, for the tests of the coordinators' side.
//! - [`data`]: a stopped server's data directory read and written
//!   directly (integrity, stored changes, tables as text, a session with
//!   residents' contact details).
//! - [`images`]: test photos of noise.
//! - [`cli`]: the `wijklog` binary run as a command, and its output.
//! - [`server`]: `wijklog serve` as a child process on a loopback port.
//! - [`powerloss`]: the power cut: takes back the writes a killed server
//!   never synced, from its power-loss VFS's journal.

pub mod cli;
pub mod data;
pub mod images;
pub mod mutation;
pub mod powerloss;
pub mod server;
pub mod stored;
pub mod sync_client;
pub mod users;
pub mod walks;
