//! [`PageLimit`]: the one rule for a list's `limit` query parameter — a
//! whole number from 1 to the list's largest page — and the one sentence
//! for anything else (400 `invalid_parameter`, parameter `limit`). Each
//! list names its bound beside its handler; docs/api.md and
//! `server/openapi.json` document it per list.

use super::ApiError;

/// A list's largest page, with its sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit {
    max: u32,
    sentence: &'static str,
}

/// The [`PageLimit`] of pages of at most `$max` entries; the sentence is
/// made from the same literal, so bound and sentence cannot disagree.
macro_rules! up_to {
    ($max:literal) => {
        PageLimit {
            max: $max,
            sentence: concat!("limit must be a number from 1 to ", $max, "."),
        }
    };
}

impl PageLimit {
    /// Pages of at most 50 (lists that read a document per entry).
    pub const UP_TO_50: PageLimit = up_to!(50);
    /// Pages of at most 500.
    pub const UP_TO_500: PageLimit = up_to!(500);
    /// Pages of at most 1000.
    pub const UP_TO_1000: PageLimit = up_to!(1000);

    /// The largest page.
    pub const fn max(self) -> u32 {
        self.max
    }

    /// A `limit` value: a whole number from 1 to [`PageLimit::max`], or
    /// 400 `invalid_parameter` with the one sentence.
    pub fn parse(self, v: &str) -> Result<u32, ApiError> {
        v.parse::<u32>()
            .ok()
            .filter(|n| (1..=self.max).contains(n))
            .ok_or(ApiError::param("limit", self.sentence))
    }
}

#[cfg(test)]
mod tests {
    use super::PageLimit;

    #[test]
    fn a_limit_is_a_whole_number_from_one_to_the_bound_with_one_sentence() {
        for (limit, max) in [
            (PageLimit::UP_TO_50, "50"),
            (PageLimit::UP_TO_500, "500"),
            (PageLimit::UP_TO_1000, "1000"),
        ] {
            assert_eq!(limit.parse("1").ok(), Some(1));
            assert_eq!(limit.parse(max).ok(), Some(limit.max()));
            assert_eq!(limit.max().to_string(), max);
            let over = (limit.max() + 1).to_string();
            for bad in ["0", "-1", "", " 5", "5.0", "abc", over.as_str()] {
                let e = limit.parse(bad).expect_err(bad);
                assert_eq!(e.code(), "invalid_parameter");
                assert_eq!(
                    e.message(),
                    format!("limit must be a number from 1 to {max}."),
                    "{bad:?}"
                );
            }
        }
    }
}
