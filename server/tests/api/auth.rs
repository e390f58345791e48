//! REST auth: login, refresh rotation and reuse detection, logout, rate
//! limiting, and the error bodies.

use wijklog_server::domain::Role;

use crate::helpers::{ApiError, spawn_app, spawn_app_with};

const PW: &str = "lang-genoeg-wachtwoord";

#[actix_web::test]
async fn login_with_the_right_password_returns_tokens_and_the_user() {
    let app = spawn_app().await;
    let user = app.add_user("anna", PW, &[Role::Boa, Role::Spreekuur], Some("noord"));

    let tokens = app.login("anna", PW).await.expect("login");

    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(tokens.user.id, user.id.to_string());
    assert_eq!(tokens.user.roles, vec!["boa", "spreekuur"]);
    assert_eq!(tokens.user.team.as_deref(), Some("noord"));
    assert_eq!(tokens.refresh_token.len(), 43, "32 bytes, base64url");
    let who = app
        .state
        .auth
        .verify_access(&tokens.access_token)
        .await
        .expect("valid access token");
    assert_eq!(who.user_id, user.id);
    assert_eq!(who.device_id.to_string(), tokens.device_id);
    let me = app
        .request(
            "GET",
            "/api/v1/auth/me",
            &[("Authorization", &format!("Bearer {}", tokens.access_token))],
            None,
        )
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["user"]["id"], user.id.to_string());
}

#[actix_web::test]
async fn login_is_case_insensitive_on_the_username() {
    let app = spawn_app().await;
    app.add_user("Bert", PW, &[Role::Coordinator], None);
    assert!(app.login("bert", PW).await.is_ok());
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));

    let wrong = app
        .login("anna", "niet-het-wachtwoord")
        .await
        .expect_err("refused");
    let unknown = app.login("niemand", PW).await.expect_err("refused");

    assert_eq!(
        wrong,
        ApiError {
            status: 401,
            code: "invalid_credentials".into()
        }
    );
    assert_eq!(unknown, wrong);
    let metrics = app.metrics().await.text();
    assert!(
        metrics.contains("wijklog_login_failures_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wijklog_errors_total{code=\"invalid_credentials\"} 2"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn disabled_user_cannot_log_in() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    app.store()
        .set_user_disabled("anna", true)
        .expect("disable");

    let err = app.login("anna", PW).await.expect_err("refused");

    assert_eq!(
        err,
        ApiError {
            status: 403,
            code: "account_disabled".into()
        }
    );
}

#[actix_web::test]
async fn malformed_bodies_get_invalid_request() {
    let app = spawn_app().await;
    let res = app
        .request(
            "POST",
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "invalid_request");
    assert!(res.json()["message"].is_string());
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "", "password": "x"}),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "invalid_request");
}

#[actix_web::test]
async fn refresh_rotates_the_token_and_the_old_one_dies() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let first = app.login("anna", PW).await.expect("login");

    let second = app.refresh(&first.refresh_token).await.expect("refresh");

    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.device_id, first.device_id, "same family");
    assert!(
        app.state
            .auth
            .verify_access(&second.access_token)
            .await
            .is_ok()
    );
    let third = app
        .refresh(&second.refresh_token)
        .await
        .expect("refresh again");
    assert_ne!(third.refresh_token, second.refresh_token);
}

#[actix_web::test]
async fn reusing_an_old_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let first = app.login("anna", PW).await.expect("login");
    let second = app.refresh(&first.refresh_token).await.expect("refresh");
    let second = app.refresh(&second.refresh_token).await.expect("refresh");

    // An attacker replays the stolen first token: not the just-used one, so
    // even inside the retry grace window it is reuse.
    let reuse = app
        .refresh(&first.refresh_token)
        .await
        .expect_err("reuse refused");

    assert_eq!(
        reuse,
        ApiError {
            status: 401,
            code: "token_reused".into()
        }
    );
    // The legitimate holder's newer token is dead too, and so is the access token.
    let after = app
        .refresh(&second.refresh_token)
        .await
        .expect_err("family revoked");
    assert_eq!(
        after,
        ApiError {
            status: 401,
            code: "revoked".into()
        }
    );
    assert!(
        app.state
            .auth
            .verify_access(&second.access_token)
            .await
            .is_err()
    );
    // Another login (a new device) still works.
    assert!(app.login("anna", PW).await.is_ok());
    let audit = app.store().audit_entries(10).expect("audit");
    assert!(audit.iter().any(|a| a.entry.action == "auth.refresh_reuse"));
}

#[actix_web::test]
async fn a_refresh_retried_after_a_lost_answer_gets_the_same_successor_and_keeps_the_device() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let first = app.login("anna", PW).await.expect("login");
    // The answer to this refresh never reaches the phone...
    let lost = app.refresh(&first.refresh_token).await.expect("refresh");
    // ...so it retries with the token it still has, and gets the same
    // successor again (idempotent), with a valid access token.
    let retried = app
        .refresh(&first.refresh_token)
        .await
        .expect("the retry is not reuse");
    assert_eq!(retried.device_id, first.device_id, "same device");
    assert_eq!(retried.refresh_token, lost.refresh_token, "same successor");
    assert!(
        app.state
            .auth
            .verify_access(&retried.access_token)
            .await
            .is_ok()
    );
    // The phone carries on with the successor.
    let next = app.refresh(&retried.refresh_token).await.expect("refresh");
    assert_eq!(next.device_id, first.device_id);
    let audit = app.store().audit_entries(50).expect("audit");
    assert!(!audit.iter().any(|a| a.entry.action == "auth.refresh_reuse"));
    // Once the successor is used, the first token again is reuse (a thief
    // replaying it): the device is revoked and that is audited.
    assert_eq!(
        app.refresh(&first.refresh_token)
            .await
            .expect_err("replay after the successor was used"),
        ApiError {
            status: 401,
            code: "token_reused".into()
        }
    );
    assert_eq!(
        app.refresh(&next.refresh_token)
            .await
            .expect_err("the family is revoked"),
        ApiError {
            status: 401,
            code: "revoked".into()
        }
    );
    let audit = app.store().audit_entries(50).expect("audit");
    assert!(audit.iter().any(|a| a.entry.action == "auth.refresh_reuse"));
}

#[actix_web::test]
async fn a_retry_outside_the_grace_window_is_reuse_and_revokes_the_device() {
    let app = spawn_app_with(|c| c.auth.refresh_reuse_grace_secs = 0).await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let first = app.login("anna", PW).await.expect("login");
    let second = app.refresh(&first.refresh_token).await.expect("refresh");
    assert_eq!(
        app.refresh(&first.refresh_token).await.expect_err("reuse"),
        ApiError {
            status: 401,
            code: "token_reused".into()
        }
    );
    assert_eq!(
        app.refresh(&second.refresh_token)
            .await
            .expect_err("revoked"),
        ApiError {
            status: 401,
            code: "revoked".into()
        }
    );
}

#[actix_web::test]
async fn unknown_or_garbage_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let err = app
        .refresh("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .expect_err("unknown");
    assert_eq!(
        err,
        ApiError {
            status: 401,
            code: "invalid_refresh_token".into()
        }
    );
    let err = app.refresh("not a token").await.expect_err("garbage");
    assert_eq!(err.code, "invalid_refresh_token");
}

#[actix_web::test]
async fn logout_revokes_the_device() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let tokens = app.login("anna", PW).await.expect("login");
    let other_device = app.login("anna", PW).await.expect("second login");

    assert_eq!(app.logout(&tokens.refresh_token).await, 204);

    assert_eq!(
        app.refresh(&tokens.refresh_token)
            .await
            .expect_err("dead")
            .code,
        "revoked"
    );
    let err = app
        .state
        .auth
        .verify_access(&tokens.access_token)
        .await
        .expect_err("revoked device");
    assert_eq!(err.code(), "revoked");
    // Only that device: the other login is unaffected.
    assert!(
        app.state
            .auth
            .verify_access(&other_device.access_token)
            .await
            .is_ok()
    );
    assert_eq!(
        app.logout("unknown-token").await,
        204,
        "idempotent, reveals nothing"
    );
}

#[actix_web::test]
async fn repeated_failures_are_rate_limited_per_account_and_address() {
    let app = spawn_app_with(|c| {
        c.login_rate_limit.pair_max_failures = 3;
        c.login_rate_limit.address_max_failures = 100;
    })
    .await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    app.add_user("bert", PW, &[Role::Boa], Some("noord"));
    for _ in 0..3 {
        assert_eq!(
            app.login("anna", "fout-wachtwoord")
                .await
                .expect_err("wrong")
                .code,
            "invalid_credentials"
        );
    }

    // Even the right password is refused from this address for this account now...
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": "anna", "password": PW}),
        )
        .await;
    assert_eq!(res.status, 429);
    assert_eq!(res.json()["code"], "rate_limited");
    let retry: u64 = res
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= 900);
    // ...but another account from the same address is not locked out.
    assert!(app.login("bert", PW).await.is_ok());
}

#[actix_web::test]
async fn address_budget_stops_password_spraying() {
    let app = spawn_app_with(|c| {
        c.login_rate_limit.pair_max_failures = 100;
        c.login_rate_limit.address_max_failures = 4;
    })
    .await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    for i in 0..4 {
        assert_eq!(
            app.login(&format!("user{i}"), PW)
                .await
                .expect_err("unknown")
                .code,
            "invalid_credentials"
        );
    }
    assert_eq!(
        app.login("anna", PW).await.expect_err("limited").code,
        "rate_limited"
    );
}
