//! Access token negative tests: every forged, altered, expired or
//! revoked token is refused, by the verifier the sync layer uses and over
//! HTTP (`GET /api/v1/auth/me`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wijklog_server::domain::Role;

use crate::helpers::{TestApp, spawn_app};

const PW: &str = "lang-genoeg-wachtwoord";

struct Fixture {
    app: TestApp,
    access: String,
    claims: Value,
    secret: Vec<u8>,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let tokens = app.login("anna", PW).await.expect("login");
    let secret = std::fs::read_to_string(app.data_dir.join("jwt_secret")).expect("secret file");
    let payload = tokens
        .access_token
        .split('.')
        .nth(1)
        .expect("payload")
        .to_owned();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    Fixture {
        app,
        access: tokens.access_token,
        claims,
        secret: secret.trim().as_bytes().to_vec(),
    }
}

fn sign(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret).expect("key"),
    )
    .expect("sign")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

impl Fixture {
    fn with(&self, changes: Value) -> Value {
        let mut c = self.claims.clone();
        for (k, v) in changes.as_object().expect("object") {
            if v.is_null() {
                c.as_object_mut().expect("object").remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    /// Asserts the token is refused both directly and over HTTP.
    async fn refused(&self, token: &str, what: &str) {
        assert!(
            self.app.state.auth.verify_access(token).await.is_err(),
            "{what}: verifier accepted it"
        );
        let res = self
            .app
            .request(
                "GET",
                "/api/v1/auth/me",
                &[("Authorization", &format!("Bearer {token}"))],
                None,
            )
            .await;
        assert_eq!(res.status, 401, "{what}: HTTP status");
        assert!(
            matches!(
                res.json()["code"].as_str(),
                Some("unauthenticated" | "revoked")
            ),
            "{what}: {}",
            res.text()
        );
    }
}

#[actix_web::test]
async fn the_genuine_token_is_accepted() {
    let f = fixture().await;
    assert!(f.app.state.auth.verify_access(&f.access).await.is_ok());
    // Re-signing the same claims with the right key and algorithm is accepted,
    // so every refusal below is caused by the one thing each test changes.
    let same = sign(Algorithm::HS256, &f.secret, &f.claims);
    assert!(f.app.state.auth.verify_access(&same).await.is_ok());
}

#[actix_web::test]
async fn alg_none_is_refused() {
    let f = fixture().await;
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(f.claims.to_string());
    f.refused(&format!("{header}.{payload}."), "alg none").await;
}

#[actix_web::test]
async fn wrong_algorithm_with_the_right_key_is_refused() {
    let f = fixture().await;
    f.refused(&sign(Algorithm::HS512, &f.secret, &f.claims), "HS512")
        .await;
    f.refused(&sign(Algorithm::HS384, &f.secret, &f.claims), "HS384")
        .await;
}

#[actix_web::test]
async fn wrong_key_is_refused() {
    let f = fixture().await;
    f.refused(
        &sign(
            Algorithm::HS256,
            b"another-secret-of-at-least-32-bytes!!",
            &f.claims,
        ),
        "wrong key",
    )
    .await;
}

#[actix_web::test]
async fn wrong_audience_issuer_or_type_is_refused() {
    let f = fixture().await;
    for (what, change) in [
        ("aud", json!({"aud": "someone-else"})),
        ("iss", json!({"iss": "evil"})),
        ("typ", json!({"typ": "refresh"})),
        ("missing aud", json!({"aud": null})),
        ("missing iss", json!({"iss": null})),
        ("missing typ", json!({"typ": null})),
        ("missing sub", json!({"sub": null})),
        ("missing nbf", json!({"nbf": null})),
        ("missing exp", json!({"exp": null})),
        ("unknown role", json!({"roles": ["superuser"]})),
    ] {
        f.refused(&sign(Algorithm::HS256, &f.secret, &f.with(change)), what)
            .await;
    }
}

/// A token's `sub` is a user id by the document model's rule: 1 to 128
/// bytes, no control characters, no spaces at either end. The signature
/// check reads it with that rule; a `sub` it refuses never reaches a handler.
#[actix_web::test]
async fn a_sub_that_is_not_a_valid_user_id_is_refused() {
    let f = fixture().await;
    let keys = f.app.state.auth.keys();
    let longest = "x".repeat(128);
    for good in ["system", "Jan de Vries", longest.as_str()] {
        let token = sign(Algorithm::HS256, &f.secret, &f.with(json!({ "sub": good })));
        let principal = keys.verify(&token).expect(good);
        assert_eq!(principal.user_id.as_str(), good);
    }
    let too_long = "x".repeat(129);
    for bad in [
        "",
        " anna",
        "anna ",
        "an\nna",
        "an\u{1b}na",
        too_long.as_str(),
    ] {
        let token = sign(Algorithm::HS256, &f.secret, &f.with(json!({ "sub": bad })));
        assert!(keys.verify(&token).is_err(), "sub {bad:?}");
        f.refused(&token, &format!("sub {bad:?}")).await;
    }
    // The genuine sub with a space added is another string, not the user.
    let sub = f.claims["sub"].as_str().expect("sub").to_owned();
    let spaced = sign(
        Algorithm::HS256,
        &f.secret,
        &f.with(json!({ "sub": format!("{sub} ") })),
    );
    assert!(keys.verify(&spaced).is_err());
    f.refused(&spaced, "sub with a trailing space").await;
}

#[actix_web::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let f = fixture().await;
    let expired = f.with(json!({"iat": now() - 7200, "nbf": now() - 7200, "exp": now() - 3600}));
    f.refused(&sign(Algorithm::HS256, &f.secret, &expired), "expired")
        .await;
    let future = f.with(json!({"nbf": now() + 3600, "exp": now() + 7200}));
    f.refused(
        &sign(Algorithm::HS256, &f.secret, &future),
        "nbf in the future",
    )
    .await;
}

#[actix_web::test]
async fn tampered_payload_is_refused() {
    let f = fixture().await;
    let mut parts: Vec<String> = f.access.split('.').map(str::to_owned).collect();
    let elevated = f.with(json!({"roles": ["coordinator"]}));
    parts[1] = URL_SAFE_NO_PAD.encode(elevated.to_string());
    f.refused(&parts.join("."), "tampered payload").await;
    f.refused("not.a.jwt", "garbage").await;
    f.refused("", "empty").await;
}

#[actix_web::test]
async fn disabled_user_is_refused() {
    let f = fixture().await;
    f.app
        .store()
        .set_user_disabled("anna", true)
        .expect("disable");
    f.refused(&f.access, "disabled user").await;
}

#[actix_web::test]
async fn revoked_device_is_refused() {
    let f = fixture().await;
    let device = wijklog_server::domain::DeviceId::from_string(
        f.claims["did"].as_str().expect("did").to_owned(),
    );
    f.app.store().revoke_device(&device).expect("revoke");
    f.refused(&f.access, "revoked device").await;
    assert!(
        !f.app
            .state
            .auth
            .session_valid(&f.app.state.auth.keys().verify(&f.access).expect("sig ok"))
            .await
            .expect("query")
    );
}

#[actix_web::test]
async fn missing_or_non_bearer_authorization_is_refused() {
    let f = fixture().await;
    let res = f.app.get("/api/v1/auth/me").await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "unauthenticated");
    let res = f
        .app
        .request(
            "GET",
            "/api/v1/auth/me",
            &[("Authorization", &format!("Basic {}", f.access))],
            None,
        )
        .await;
    assert_eq!(res.status, 401);
}
