//! The rules for a resident's phone number and e-mail address: one source for
//! the document model's edits (`set_resident_contact`, `correct_resident_contact`)
//! and, through the wasm build, for the forms that check before they write.
//!
//! The rules accept what people really type at a spreekuur and keep it as
//! typed; where one can be derived, the phone number is also stored in
//! E.164 form (`+31612345678`). See docs/data-model.md ("Contact details").

use serde::Serialize;

use crate::error::Error;

/// The longest phone or e-mail field accepted, in characters (a number, a
/// second number and a short remark fit easily).
pub const MAX_CONTACT_CHARS: usize = 100;

/// A number needs at least this many digits; shorter digit groups are part of
/// a remark (`na 17u`).
const MIN_DIGITS: usize = 6;

/// More digits than this in one number is not a number (E.164 has at most 15
/// digits; `00` plus 15 is 17).
const MAX_DIGITS: usize = 17;

/// What the rules made of a phone field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneCheck {
    /// The numbers found, each as its digits (a leading `+` kept), in the
    /// order typed.
    pub numbers: Vec<String>,
    /// The E.164 form of every number that has one, joined by one space
    /// (`"+31355251234 +31612345678"`); `None` when no number has one.
    pub e164: Option<String>,
}

/// One number in a phone field: its digits and whether it started with `+`.
struct Candidate {
    plus: bool,
    digits: String,
}

/// Splits a phone field into digit groups. A group starts at a digit or `+`
/// and runs on over digits and the separators people use inside one number
/// (space, `.`, `-`, `(`, `)`); a `/` also continues it while the group has at
/// most 4 digits (an area code: `035/5251234`) and ends it otherwise (two
/// numbers: `035-5251234 / 06-12345678`). Anything else (letters, `,`, `;`)
/// ends a group.
fn candidates(s: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut cur: Option<Candidate> = None;
    for c in s.chars() {
        match (c, cur.as_mut()) {
            ('0'..='9', Some(k)) => k.digits.push(c),
            ('0'..='9', None) => {
                cur = Some(Candidate {
                    plus: false,
                    digits: c.to_string(),
                })
            }
            ('+', None) => {
                cur = Some(Candidate {
                    plus: true,
                    digits: String::new(),
                })
            }
            (' ' | '.' | '-' | '(' | ')' | '\u{a0}', Some(_)) => {}
            ('/', Some(k)) if k.digits.len() <= 4 => {}
            _ => {
                if let Some(k) = cur.take() {
                    out.push(k);
                }
                // A `+` right after another group starts a new one.
                if c == '+' {
                    cur = Some(Candidate {
                        plus: true,
                        digits: String::new(),
                    });
                }
            }
        }
    }
    out.extend(cur);
    out.retain(|k| !k.digits.is_empty());
    out
}

/// The E.164 form of one number, when it can be derived: Dutch numbers
/// written nationally (`06 1234 5678`, `035-5251234`) or with `+31` / `0031`
/// (a trunk `0` after it, `+31 (0)6`, is dropped), and other countries'
/// numbers written with `+` or `00`.
fn e164(k: &Candidate) -> Option<String> {
    let international = if k.plus {
        Some(k.digits.as_str())
    } else {
        k.digits.strip_prefix("00")
    };
    let nsn = match international {
        Some(intl) => match intl.strip_prefix("31") {
            Some(nl) => nl.strip_prefix('0').unwrap_or(nl),
            None => {
                // Another country: the digits as given (E.164 allows 8-15 with the country code).
                let ok = (8..=15).contains(&intl.len()) && !intl.starts_with('0');
                return ok.then(|| format!("+{intl}"));
            }
        },
        None => k.digits.strip_prefix('0').filter(|n| !n.starts_with('0'))?,
    };
    // Dutch significant numbers have 9 digits; 0800 and 090x numbers 7 to 10.
    let free_or_paid = nsn.starts_with("800") || nsn.starts_with("90");
    let ok = nsn.len() == 9 || (free_or_paid && (7..=10).contains(&nsn.len()));
    (ok && !nsn.starts_with('0')).then(|| format!("+31{nsn}"))
}

fn plain_text(s: &str) -> bool {
    s.chars().count() <= MAX_CONTACT_CHARS && !s.chars().any(char::is_control)
}

/// Checks a phone field (already trimmed, not empty). Accepted: at most
/// [`MAX_CONTACT_CHARS`] characters without control characters, holding at
/// least one number (a group of 6-17 digits, see [`candidates`]) and no
/// group of more than 17 digits; anything else in it (a second number, a
/// remark such as `(na 17u)`) is kept as typed.
pub fn check_phone(s: &str) -> Result<PhoneCheck, Error> {
    if !plain_text(s) {
        return Err(Error::InvalidPhone);
    }
    let groups = candidates(s);
    if groups.iter().any(|k| k.digits.len() > MAX_DIGITS) {
        return Err(Error::InvalidPhone);
    }
    let numbers: Vec<&Candidate> = groups
        .iter()
        .filter(|k| k.digits.len() >= MIN_DIGITS)
        .collect();
    if numbers.is_empty() {
        return Err(Error::InvalidPhone);
    }
    let e164: Vec<String> = numbers.iter().filter_map(|k| e164(k)).collect();
    Ok(PhoneCheck {
        numbers: numbers
            .iter()
            .map(|k| format!("{}{}", if k.plus { "+" } else { "" }, k.digits))
            .collect(),
        e164: (!e164.is_empty()).then(|| e164.join(" ")),
    })
}

/// Checks an e-mail address (already trimmed, not empty) with the
/// `email_address` crate (RFC 5321/5322 syntax, see
/// docs/decisions/0014-contact-validation.md): a local part, one `@`, and a
/// domain of one or more labels or an address literal. A domain without a
/// dot (`jan@example`) is valid, as it is for a mail server on an intranet.
/// A display name (`Jan <jan@example.nl>`) is not an address and is refused.
pub fn check_email(s: &str) -> Result<(), Error> {
    let options = email_address::Options::default().without_display_text();
    if plain_text(s) && email_address::EmailAddress::parse_with_options(s, options).is_ok() {
        Ok(())
    } else {
        Err(Error::InvalidEmail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164_of(s: &str) -> Option<String> {
        check_phone(s).unwrap().e164
    }

    #[test]
    fn what_people_type() {
        assert_eq!(e164_of("06.12.34.56.78").as_deref(), Some("+31612345678"));
        assert_eq!(
            e164_of("06 1234 5678 (na 17u)").as_deref(),
            Some("+31612345678")
        );
        assert_eq!(
            e164_of("035-5251234 / 06-12345678").as_deref(),
            Some("+31355251234 +31612345678")
        );
        assert_eq!(
            e164_of("+31 (0)6 1234 5678").as_deref(),
            Some("+31612345678")
        );
        assert_eq!(e164_of("0031 6 12345678").as_deref(), Some("+31612345678"));
        assert_eq!(e164_of("(035) 525 12 34").as_deref(), Some("+31355251234"));
        assert_eq!(e164_of("035/5251234").as_deref(), Some("+31355251234"));
        assert_eq!(e164_of("0800-1234").as_deref(), Some("+318001234"));
        assert_eq!(
            e164_of("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            check_phone("06 1234 5678 (na 17u)").unwrap().numbers,
            ["0612345678"]
        );
    }

    #[test]
    fn kept_without_e164() {
        // A digit short, or no trunk prefix: valid as typed, no E.164.
        assert_eq!(e164_of("06-1234567"), None);
        assert_eq!(e164_of("612345678"), None);
        assert_eq!(e164_of("bellen: 0612 34567 na vijven"), None);
    }

    #[test]
    fn refused() {
        for s in [
            "geen",
            "12345",
            "06 12 (na 17u)",
            "0612345678 0201234567",
            "0612345678\u{7}",
            &"06 1234 5678 ".repeat(10),
        ] {
            assert!(check_phone(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn email() {
        for ok in [
            "jan@example",
            "jan@example.nl",
            "j.de.vries+wijk@gemeente.nl",
            "\"jan de vries\"@example.nl",
        ] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "jan",
            "jan@",
            "@example.nl",
            "jan@@example.nl",
            "jan @example.nl",
            "Jan <jan@example.nl>",
            "jan@exa mple.nl",
            "jan@.nl",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
