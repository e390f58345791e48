//! Wijklog's sync server.
