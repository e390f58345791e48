//! Cross-component test helpers for Wijklog: start a real `wijklog` process on a
//! loopback port, talk to it as a client would. The tests live in `tests/tests/`,
//! the benchmarks in `tests/src/bin/`.

pub mod server_process;
pub mod sim;
pub mod sync_client;
pub mod walks;
