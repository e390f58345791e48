//! Cross-component test helpers for Wijklog: start a real `wijklog` process on a
//! loopback port, talk to it as a client would. The tests live in `tests/tests/`,
//! the benchmarks in `tests/src/bin/`. The sync client and the test walks are
//! the support crate's (`wijklog-testing`), re-exported here.

pub mod server_process;
pub mod sim;

pub use wijklog_testing::{sync_client, walks};
