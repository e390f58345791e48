//! Access tokens: HS256 JWTs, algorithm pinned, every claim checked.
//!
//! Claims (docs/api.md): `iss` "wijklog", `aud` "wijklog-api", `sub` user
//! id, `name`, `roles`, `team`, `did` device id, `typ` "access", `iat`,
//! `nbf`, `exp`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::Principal;
use crate::domain::{DeviceId, Role, UserId};

/// Token issuer.
pub const ISSUER: &str = "wijklog";
/// Token audience.
pub const AUDIENCE: &str = "wijklog-api";
/// The `typ` claim of access tokens.
pub const ACCESS_TYP: &str = "access";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Team.
    pub team: Option<String>,
    /// Device id.
    pub did: String,
    /// Token type: "access".
    pub typ: String,
    /// Issued at (s).
    pub iat: u64,
    /// Not before (s).
    pub nbf: u64,
    /// Expiry (s).
    pub exp: u64,
}

/// Why a token was refused. The reason goes to the log, never to the client.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signature, algorithm, format or a standard claim failed.
    #[error("token rejected: {}", describe(.0))]
    Rejected(jsonwebtoken::errors::ErrorKind),
    /// Not an access token.
    #[error("token has the wrong typ")]
    WrongType,
    /// A claim has an unusable value.
    #[error("token claim {0} is malformed")]
    BadClaim(&'static str),
    /// Signing failed.
    #[error("token could not be signed")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// A log-safe description: never a claim value (JSON and base64 errors can
/// quote parts of the token).
fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidToken => "malformed token",
        K::InvalidSignature => "bad signature",
        K::InvalidAlgorithm | K::InvalidAlgorithmName => "algorithm not allowed",
        K::ExpiredSignature => "expired",
        K::ImmatureSignature => "not yet valid (nbf)",
        K::InvalidIssuer => "wrong issuer",
        K::InvalidAudience => "wrong audience",
        K::InvalidSubject => "wrong subject",
        K::MissingRequiredClaim(_) => "missing required claim",
        K::Json(_) | K::Base64(_) | K::Utf8(_) => "malformed header or claims",
        _ => "invalid token",
    }
}

/// Signs and verifies access tokens with one HS256 secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
    /// Signs login-trust tokens ([`super::trust`]).
    trust: super::mac::MacKey,
    /// Derives refresh-token successors ([`super::refresh::successor`]).
    successor: super::mac::MacKey,
    /// Signs the public form tokens.
    public_form: super::mac::MacKey,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl JwtKeys {
    /// Keys from a secret (at least 32 bytes), tokens living `ttl_secs`,
    /// `leeway_secs` of clock skew tolerated.
    pub fn new(secret: &[u8], ttl_secs: u64, leeway_secs: u64) -> Result<Self, TokenError> {
        let encoding = EncodingKey::from_secret(secret).map_err(TokenError::Sign)?;
        let decoding = DecodingKey::from_secret(secret).map_err(TokenError::Sign)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = leeway_secs;
        Ok(Self {
            encoding,
            decoding,
            validation,
            ttl_secs,
            trust: super::mac::MacKey::derive(secret, "login-trust"),
            successor: super::mac::MacKey::derive(secret, "refresh-successor"),
            public_form: super::mac::MacKey::derive(secret, "public-form"),
        })
    }

    /// The key of login-trust tokens.
    pub fn trust_key(&self) -> &super::mac::MacKey {
        &self.trust
    }

    /// The key of the public form tokens (`crate::public::token`).
    pub fn public_form_key(&self) -> &super::mac::MacKey {
        &self.public_form
    }

    /// The key refresh-token successors are derived with.
    pub fn successor_key(&self) -> &super::mac::MacKey {
        &self.successor
    }

    /// Token lifetime in seconds (`expires_in` of the login answer).
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Issues an access token for `who`.
    pub fn issue(&self, who: &Principal) -> Result<String, TokenError> {
        let now = now_secs();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: who.user_id.to_string(),
            name: who.name.clone(),
            roles: who.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            team: who.team.clone(),
            did: who.device_id.to_string(),
            typ: ACCESS_TYP.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl_secs,
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests use it to forge bad tokens with the right key).
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(TokenError::Sign)
    }

    /// Verifies signature, algorithm, `iss`, `aud`, `exp`, `nbf`, `typ` and
    /// claim shapes; returns the principal. Does not look at the database:
    /// see [`super::Authenticator::verify_access`] for the full check.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenError::Rejected(e.into_kind()))?;
        let c = data.claims;
        if c.typ != ACCESS_TYP {
            return Err(TokenError::WrongType);
        }
        let roles = c
            .roles
            .iter()
            .map(|r| Role::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TokenError::BadClaim("roles"))?;
        if roles.is_empty() {
            return Err(TokenError::BadClaim("roles"));
        }
        if c.did.is_empty() {
            return Err(TokenError::BadClaim("did"));
        }
        Ok(Principal {
            user_id: UserId::parse(&c.sub).map_err(|_| TokenError::BadClaim("sub"))?,
            name: c.name,
            roles,
            team: c.team,
            device_id: DeviceId::from_string(c.did),
        })
    }
}
