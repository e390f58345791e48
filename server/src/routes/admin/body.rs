//! The account admin's request bodies, each read in two steps:
//!
//! 1. its *shape*: a JSON object with only the endpoint's fields (a serde
//!    struct with `deny_unknown_fields`); anything else is
//!    `invalid_parameter` `body`;
//! 2. one checking function per body that turns the shape into the typed
//!    value the handler uses ([`NewAccount`], [`AccountChange`],
//!    [`NewPassword`]), checking the fields in a fixed order and reporting
//!    the first bad one with its own sentence (docs/api.md).
//!
//! The shape keeps each field as raw JSON, so that a value of the wrong
//! type gets the field's sentence (not serde's wording), and a field given
//! as `null` stays apart from a field left out (`"team": null` clears the
//! team; `"name": null` is refused).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::auth::password::{WeakPassword, check_new_password};
use crate::domain::Role;
use crate::edge::ApiError;

const USERNAME: &str = "username must be a non-empty text of at most 64 characters.";
const NAME: &str = "name must be a non-empty text of at most 200 characters.";
const ROLES: &str = "roles must be a non-empty list of boa, spreekuur, coordinator, admin.";
const TEAM: &str = "team must be a non-empty text of at most 64 characters, or null.";

/// `POST /api/v1/admin/users`: a new account, every field checked.
#[derive(Debug)]
pub struct NewAccount {
    /// Trimmed, 1 to 64 characters, no whitespace or control characters.
    pub username: String,
    /// The display name: trimmed, 1 to 200 characters, no control characters.
    pub name: String,
    /// At least one role, each once, in the order given.
    pub roles: Vec<Role>,
    /// Trimmed, 1 to 64 characters, or none.
    pub team: Option<String>,
    /// Passes the password policy against the username and the name.
    pub password: NewPassword,
}

/// `PATCH /api/v1/admin/users/{id}`: the fields to change; `None` leaves a
/// field as it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// A new display name.
    pub name: Option<String>,
    /// A new, non-empty set of roles.
    pub roles: Option<Vec<Role>>,
    /// A new team; `Some(None)` takes the account out of every team.
    pub team: Option<Option<String>>,
    /// Disable (`true`) or enable (`false`) the account.
    pub disabled: Option<bool>,
}

impl AccountChange {
    /// The names of the fields the body gave, in alphabetical order (for
    /// the audit log).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("disabled", self.disabled.is_some()),
            ("name", self.name.is_some()),
            ("roles", self.roles.is_some()),
            ("team", self.team.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, given)| given.then_some(f))
        .collect()
    }
}

/// A password that passed the policy. Its `Debug` shows no characters, so
/// it never reaches a log.
#[derive(PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// The password, to be hashed.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// `POST /api/v1/admin/users/{id}/password`, read but not yet checked: the
/// policy needs the account's own words, which the handler reads after it
/// found the account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    #[serde(default, deserialize_with = "given")]
    password: Option<Value>,
}

impl PasswordBody {
    /// The body's shape (`invalid_parameter` `body` otherwise).
    pub fn read(body: &[u8]) -> Result<Self, ApiError> {
        shape(body)
    }

    /// The new password, checked against the policy and the account's
    /// words (username, name).
    pub fn check(self, account_words: &[&str]) -> Result<NewPassword, ApiError> {
        password(self.password.as_ref(), account_words)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccountBody {
    #[serde(default, deserialize_with = "given")]
    username: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    name: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    password: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    roles: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    team: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountChangeBody {
    #[serde(default, deserialize_with = "given")]
    name: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    roles: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    team: Option<Value>,
    #[serde(default, deserialize_with = "given")]
    disabled: Option<Value>,
}

impl NewAccount {
    /// Reads and checks the body: username, name, roles, team, password.
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        let b: NewAccountBody = shape(body)?;
        let null = Value::Null;
        let username = text(
            b.username.as_ref().unwrap_or(&null),
            "username",
            64,
            USERNAME,
        )?;
        if username.chars().any(char::is_whitespace) {
            return Err(ApiError::param(
                "username",
                "username must not contain spaces.",
            ));
        }
        let name = text(b.name.as_ref().unwrap_or(&null), "name", 200, NAME)?;
        let roles = roles(b.roles.as_ref().unwrap_or(&null))?;
        let team = team(b.team.as_ref().unwrap_or(&null))?;
        let password = password(b.password.as_ref(), &[&username, &name])?;
        Ok(Self {
            username,
            name,
            roles,
            team,
            password,
        })
    }
}

impl AccountChange {
    /// Reads and checks the body: name, roles, team, disabled; a field
    /// that is left out is not changed.
    pub fn from_body(body: &[u8]) -> Result<Self, ApiError> {
        let b: AccountChangeBody = shape(body)?;
        Ok(Self {
            name: b.name.map(|v| text(&v, "name", 200, NAME)).transpose()?,
            roles: b.roles.map(|v| roles(&v)).transpose()?,
            team: b.team.map(|v| team(&v)).transpose()?,
            disabled: b
                .disabled
                .map(|v| {
                    v.as_bool().ok_or(ApiError::param(
                        "disabled",
                        "disabled must be true or false.",
                    ))
                })
                .transpose()?,
        })
    }
}

/// A field that is present, `null` included (serde's `Option` would read
/// `null` as absent).
fn given<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A JSON object with only the fields of `T` (the last of a repeated field
/// counts, as everywhere in the API).
fn shape<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let Ok(object @ Value::Object(_)) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::bad_body());
    };
    // Every field accepts any JSON value: an unknown field is the only
    // thing left to refuse.
    serde_json::from_value(object).map_err(|_| {
        ApiError::param(
            "body",
            "The request body has a field this endpoint does not know.",
        )
    })
}

fn text(
    v: &Value,
    param: &'static str,
    max: usize,
    message: &'static str,
) -> Result<String, ApiError> {
    let s = v.as_str().map(str::trim).unwrap_or_default();
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(ApiError::param(param, message));
    }
    Ok(s.to_owned())
}

fn roles(v: &Value) -> Result<Vec<Role>, ApiError> {
    let bad = || ApiError::param("roles", ROLES);
    let list = v.as_array().ok_or_else(bad)?;
    let mut roles = Vec::new();
    for r in list {
        let role = r
            .as_str()
            .and_then(|s| Role::parse(s).ok())
            .ok_or_else(bad)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(bad());
    }
    Ok(roles)
}

fn team(v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        other => text(other, "team", 64, TEAM).map(Some),
    }
}

/// The new password of an account, checked against the password policy
/// (length, common and breached passwords, the account's own words:
/// [`check_new_password`]).
fn password(v: Option<&Value>, account_words: &[&str]) -> Result<NewPassword, ApiError> {
    let p = v.and_then(Value::as_str).unwrap_or_default();
    match check_new_password(p, account_words) {
        Ok(()) => Ok(NewPassword(p.to_owned())),
        Err(WeakPassword::Length) => Err(ApiError::param(
            "password",
            "The password must be 10 to 256 characters long.",
        )),
        Err(WeakPassword::Guessable) => Err(ApiError::Refused {
            code: "weak_password",
            message: "This password is too easy to guess (a common or leaked password, or built from the name); choose a longer phrase.",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "een-lang-test-wachtwoord";

    fn refused<T: std::fmt::Debug>(r: Result<T, ApiError>) -> (&'static str, String) {
        let e = r.expect_err("refused");
        (e.code(), e.message().to_owned())
    }

    #[test]
    fn a_new_account_is_trimmed_and_its_roles_kept_once_in_order() {
        let a = NewAccount::from_body(
            br#"{"username":" nieuw ","name":"  Nieuwe Collega ","password":"een-lang-test-wachtwoord","roles":["coordinator","boa","coordinator"],"team":" noord "}"#,
        )
        .expect("valid");
        assert_eq!(a.username, "nieuw");
        assert_eq!(a.name, "Nieuwe Collega");
        assert_eq!(a.roles, vec![Role::Coordinator, Role::Boa]);
        assert_eq!(a.team.as_deref(), Some("noord"));
        assert_eq!(a.password.into_inner(), PW);
        let b = NewAccount::from_body(
            br#"{"username":"x1","name":"X","password":"een-lang-test-wachtwoord","roles":["admin"],"team":null}"#,
        )
        .expect("valid without team");
        assert_eq!(b.team, None);
    }

    #[test]
    fn a_change_tells_left_out_from_null() {
        assert_eq!(
            AccountChange::from_body(b"{}").expect("empty change"),
            AccountChange::default()
        );
        let c = AccountChange::from_body(br#"{"team":null,"disabled":false}"#).expect("valid");
        assert_eq!(c.team, Some(None));
        assert_eq!(c.disabled, Some(false));
        assert_eq!(c.name, None);
        assert_eq!(c.fields(), vec!["disabled", "team"]);
        assert_eq!(
            refused(AccountChange::from_body(br#"{"name":null}"#)),
            ("invalid_parameter", NAME.to_owned())
        );
    }

    #[test]
    fn the_last_of_a_repeated_field_counts() {
        let c = AccountChange::from_body(br#"{"name":"Eerste","name":"Tweede"}"#).expect("valid");
        assert_eq!(c.name.as_deref(), Some("Tweede"));
    }

    #[test]
    fn a_password_body_is_read_before_and_checked_after_the_account_is_found() {
        assert_eq!(
            refused(PasswordBody::read(br#"{"password":"x","extra":1}"#)),
            (
                "invalid_parameter",
                "The request body has a field this endpoint does not know.".to_owned()
            )
        );
        let body = PasswordBody::read(br#"{"password":"bert-bert-bert"}"#).expect("shape");
        assert_eq!(refused(body.check(&["bert", "Bert"])).0, "weak_password");
        let body =
            PasswordBody::read(br#"{"password":"een-lang-test-wachtwoord"}"#).expect("shape");
        let p = body.check(&["bert", "Bert"]).expect("strong");
        assert_eq!(format!("{p:?}"), "NewPassword(..)");
    }
}
