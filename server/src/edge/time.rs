//! [`time_param`]: the one rule for a time in a query parameter (`from`, `to`,
//! `before` of the audit log, the documents list's `from`) — whole
//! milliseconds since 1970-01-01 UTC, from 0 up to the end of the year 9999 —
//! and the one sentence for anything else (400 `invalid_parameter`, naming the
//! parameter). The bound keeps every later sum and difference of two times
//! (a period's length, the previous period before it) far inside `i64`, so a
//! hostile `from`/`to` cannot overflow arithmetic downstream.

use super::ApiError;

/// The last millisecond of the year 9999 (`9999-12-31T23:59:59.999Z`).
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// The one sentence for a time parameter that is not one.
pub const TIME_SENTENCE: &str = "A time must be a whole number of milliseconds since 1970-01-01 UTC, from 0 to 253402300799999.";

/// A time query parameter: a whole number from 0 to [`MAX_TIME_MS`], or 400
/// `invalid_parameter` on `name` with [`TIME_SENTENCE`].
pub fn time_param(name: &'static str, v: &str) -> Result<i64, ApiError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|ms| (0..=MAX_TIME_MS).contains(ms))
        .ok_or(ApiError::param(name, TIME_SENTENCE))
}

#[cfg(test)]
mod tests {
    use super::{MAX_TIME_MS, TIME_SENTENCE, time_param};

    #[test]
    fn a_time_is_whole_ms_from_zero_to_the_end_of_9999_with_one_sentence() {
        assert_eq!(time_param("from", "0").ok(), Some(0));
        assert_eq!(
            time_param("to", " 1765152000000 ").ok(),
            Some(1_765_152_000_000)
        );
        assert_eq!(time_param("to", "253402300799999").ok(), Some(MAX_TIME_MS));
        // 2,932,897 days from 1970-01-01 to 10000-01-01: the bound is the
        // last millisecond before the year 10000.
        assert_eq!(MAX_TIME_MS, 2_932_897 * 86_400_000 - 1);
        for bad in [
            "-1",
            "253402300800000",
            "9223372036854775807",
            "-9223372036854775808",
            "99999999999999999999",
            "1.5",
            "",
            "gisteren",
        ] {
            let e = time_param("from", bad).expect_err(bad);
            assert_eq!(e.code(), "invalid_parameter", "{bad:?}");
            assert_eq!(e.message(), TIME_SENTENCE, "{bad:?}");
        }
        // The extremes cannot overflow what callers compute from two times.
        let (from, to) = (0_i64, MAX_TIME_MS);
        assert!(from.checked_sub(to - from).is_some());
    }
}
