//! The coordinators' review layer: read-only queries over the
//! projection tables (`observations`, `notes`, `item_partners`, migration
//! 0004) — filtered and full-text searched lists with keyset cursors
//! ([`query`]), period statistics ([`stats`]), CSV and GeoJSON exports
//! ([`export`]), an item's change history from the stored automerge changes
//! ([`history`]) and the walk report / document context ([`report`]).
//!
//! Visibility follows [`crate::domain::Principal`]: coordinators see every
//! walk and session, `boa` the walks of their team, `spreekuur` staff the
//! sessions of their team, admins no content ([`Scope`]). Something a caller
//! may not see is reported as not found.
//!
//! The layer reads the server's database through connections of its own
//! ([`ReviewDb`]: SQLite's file, or the PostgreSQL store's pool), so the
//! storage trait stays about documents and accounts. Its queries are
//! written once for both backends ([`db`], ADR 0023); a conformance suite
//! (`conformance`, test builds only) runs them on both. Every method
//! blocks: call it from `spawn_blocking`.

pub mod callbacks;
#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod db;
pub mod export;
pub mod history;
pub mod query;
pub mod report;
pub mod sheet;
pub mod stats;
pub mod wijkbericht;

pub use db::{Dialect, ReviewDb, Row};
pub use query::{Filters, ItemPage, Scope, Sort};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Formats ms since the Unix epoch as ISO 8601 UTC (`2026-01-31T09:05:00Z`),
/// with Howard Hinnant's `civil_from_days` algorithm.
pub fn iso8601(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        // 2026-01-01T00:00:00Z (date -u -d 2026-01-01 +%s → 1767225600)
        assert_eq!(iso8601(1_767_225_600_000), "2026-01-01T00:00:00Z");
        // 2024-02-29T23:59:59Z (leap day) = 1709251199
        assert_eq!(iso8601(1_709_251_199_999), "2024-02-29T23:59:59Z");
        // 2000-03-01T12:34:56Z = 951914096
        assert_eq!(iso8601(951_914_096_000), "2000-03-01T12:34:56Z");
    }
}
