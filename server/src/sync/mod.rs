//! The sync server: `GET /api/v1/sync` (WebSocket), automerge sync per
//! document, durable acks after a group commit, live updates between
//! connections. `docs/sync-protocol.md` specifies the wire format.
//!
//! The split (after samod): [`core`] makes every decision without IO;
//! [`handler`] moves bytes between the socket and the core; [`service`]
//! holds what all connections share — the document [`cache`], the live
//! [`hub`] and the group [`committer`] — built once per server.

pub mod cache;
pub mod chunks;
pub mod committer;
pub mod core;
pub mod handler;
pub mod hub;
pub mod limits;
pub mod ops;
pub mod projection;
pub mod protocol;
pub mod rate;
pub mod remote;
pub mod scope;
pub mod service;

pub use handler::configure;
pub use service::{SyncApp, SyncService};
