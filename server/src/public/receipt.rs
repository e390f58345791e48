//! Receipt codes: what a resident gets back for a point, to look up its
//! status and to read out over the phone.
//!
//! A code is 12 characters of Crockford's base32 (digits and capitals
//! without I, L, O and U), shown in three groups of four: `K7M2-9QXD-4T0B`.
//! It carries 60 random bits from the system's random generator (about
//! 1.15 × 10^18 codes), so guessing one, even with a million points stored
//! and every guess allowed by the rate limits, is hopeless. Reading it back
//! forgives what people get wrong: lower case, spaces or no dashes, `O` for
//! `0`, `I`/`L` for `1`.

use std::fmt;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (without the dashes).
pub const LEN: usize = 12;
/// Random bits in a code.
pub const BITS: u32 = 60;

/// A receipt code in its canonical form (12 characters, no dashes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Receipt(String);

impl Receipt {
    /// A fresh random code; `None` only when the system RNG fails.
    pub fn random() -> Option<Self> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).ok()?;
        Some(Self::from_bits(u64::from_be_bytes(bytes) >> 4))
    }

    /// The code of the low 60 bits of `bits`.
    pub fn from_bits(bits: u64) -> Self {
        let mut s = String::with_capacity(LEN);
        for i in (0..LEN).rev() {
            let v = ((bits >> (5 * i)) & 31) as usize;
            s.push(ALPHABET[v] as char);
        }
        Self(s)
    }

    /// Reads a code as typed: case, spaces and dashes do not matter, `O`
    /// reads as `0` and `I`/`L` as `1`. `None` when it is not a code.
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 40 {
            return None;
        }
        let mut s = String::with_capacity(LEN);
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                ' ' | '-' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            s.push(c);
        }
        (s.len() == LEN).then_some(Self(s))
    }

    /// The canonical form (as stored).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form shown to people: three groups of four, with dashes.
    pub fn display(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..8], &self.0[8..12])
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twelve_crockford_characters_in_groups_of_four() {
        assert_eq!(Receipt::from_bits(0).display(), "0000-0000-0000");
        // 2^60 - 1: every bit set is twelve times the last symbol.
        assert_eq!(
            Receipt::from_bits((1 << 60) - 1).display(),
            "ZZZZ-ZZZZ-ZZZZ"
        );
        // 32^11 * 10 + 31 = 'A' first, 'Z' last (10 = A, 31 = Z).
        assert_eq!(
            Receipt::from_bits(10 * 32u64.pow(11) + 31).as_str(),
            "A0000000000Z"
        );
        let r = Receipt::random().expect("rng");
        assert_eq!(r.as_str().len(), 12);
        assert!(r.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(r, Receipt::random().expect("rng"), "two draws differ");
    }

    #[test]
    fn typed_codes_are_read_forgivingly() {
        let want = Receipt::parse("K7M2-9QXD-4T0B").expect("canonical");
        assert_eq!(want.as_str(), "K7M29QXD4T0B");
        for typed in ["k7m2 9qxd 4t0b", "K7M29QXD4TOB", " k7m2-9qxd-4tob "] {
            assert_eq!(Receipt::parse(typed).as_ref(), Some(&want), "{typed}");
        }
        assert_eq!(
            Receipt::parse("IL00-0000-0000").map(|r| r.0),
            Some("110000000000".into())
        );
        for bad in [
            "",
            "K7M2-9QXD-4T0",
            "K7M2-9QXD-4T0BB",
            "U7M2-9QXD-4T0B",
            "K7M2_9QXD_4T0B",
            "é7M2-9QXD-4T0B",
        ] {
            assert_eq!(Receipt::parse(bad), None, "{bad}");
        }
        assert_eq!(Receipt::parse(&"-".repeat(41)), None);
    }
}
