//! The HTTP edge: every authenticated endpoint reads its caller through the
//! one extractor, so the bearer scheme is case-insensitive everywhere
//! (`authorization: bearer …` works for photos exactly as for items), a
//! request without a token is 401 `unauthenticated` everywhere, and a valid
//! token is never answered 401. The list of endpoints is the OpenAPI
//! document's: an endpoint added there is covered here without a change.

use serde_json::Value;
use wijklog_server::blobs::BlobHash;
use wijklog_server::domain::Role;
use wijklog_server::testing::{Response, TEST_METRICS_TOKEN, TestApp, spawn_app};

const PW: &str = "een-lang-test-wachtwoord";

/// Every (method, path) the OpenAPI document marks as needing a bearer
/// token, with its path parameters filled in.
fn authenticated_operations() -> Vec<(String, String)> {
    let spec: Value = serde_json::from_str(include_str!("../../openapi.json")).expect("openapi");
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let bearer = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if bearer {
                let path = path
                    .replace("{sha256}", &"ab".repeat(32))
                    .replace("{doc}", "00000000-0000-4000-8000-000000000000")
                    .replace("{id}", "no-such-id")
                    .replace("{category}", "no-such-category");
                ops.push((method.to_uppercase(), path));
            }
        }
    }
    ops
}

async fn call(app: &TestApp, method: &str, path: &str, auth: Option<&str>) -> Response {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    let body = (method != "GET" && method != "DELETE").then(|| b"{}".to_vec());
    app.request(method, path, &headers, body).await
}

fn code(res: &Response) -> String {
    res.json()["code"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn every_authenticated_endpoint_takes_a_lower_case_bearer_and_refuses_none() {
    let app = spawn_app().await;
    app.add_user("beheer", PW, &[Role::Admin], None);
    app.add_user("coord", PW, &[Role::Coordinator], None);
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let mut tokens = Vec::new();
    for user in ["beheer", "coord", "anna"] {
        tokens.push((user, app.login(user, PW).await.expect("login").access_token));
    }

    let ops = authenticated_operations();
    assert!(
        ops.len() >= 30,
        "the OpenAPI document lists {} authenticated operations",
        ops.len()
    );
    assert!(
        ops.iter()
            .any(|(m, p)| m == "PUT" && p.starts_with("/api/v1/blobs/"))
    );
    for (method, path) in &ops {
        let none = call(&app, method, path, None).await;
        assert_eq!(
            (none.status, code(&none).as_str()),
            (401, "unauthenticated"),
            "{method} {path} without a token"
        );
        let wrong = call(&app, method, path, Some("bearer not-a-token")).await;
        assert_eq!(wrong.status, 401, "{method} {path} with a bad token");
        for (user, token) in &tokens {
            for scheme in ["bearer", "BEARER", "Bearer"] {
                let res = call(&app, method, path, Some(&format!("{scheme} {token}"))).await;
                assert_ne!(
                    res.status,
                    401,
                    "{method} {path} as {user} with `{scheme}`: {}",
                    res.text()
                );
                // Whatever the answer, it is the one error shape or a success.
                if res.status >= 400 {
                    assert!(!code(&res).is_empty(), "{method} {path}: {}", res.text());
                }
            }
        }
    }
}

#[actix_web::test]
async fn a_photo_upload_with_a_lower_case_bearer_is_stored() {
    let app = spawn_app().await;
    app.add_user("anna", PW, &[Role::Boa], Some("noord"));
    let token = app.login("anna", PW).await.expect("login").access_token;
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([x as u8 * 7, y as u8 * 9, 80]))
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .expect("encode");
    let jpeg = jpeg.into_inner();
    let path = format!("/api/v1/blobs/{}", BlobHash::of(&jpeg));
    let auth = format!("bearer {token}");
    let res = app
        .request(
            "PUT",
            &path,
            &[("authorization", &auth), ("content-type", "image/jpeg")],
            Some(jpeg.clone()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let again = app
        .request(
            "PUT",
            &path,
            &[("AUTHORIZATION", &format!("BEARER {token}"))],
            Some(jpeg),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
}

#[actix_web::test]
async fn the_metrics_token_is_read_by_the_same_parser() {
    let app = spawn_app().await;
    let auth = format!("bearer {TEST_METRICS_TOKEN}");
    let res = app
        .request("GET", "/metrics", &[("authorization", &auth)], None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

/// A request body that is not a JSON object of the endpoint's shape gets
/// one answer on every route family that takes a JSON body: 400, the
/// family's stable code (`invalid_request` for sign-in, as documented,
/// `invalid_parameter` elsewhere) and the same sentence. The paths are ones
/// whose handler reads the body before anything else can refuse.
#[actix_web::test]
async fn a_body_of_the_wrong_shape_gets_one_sentence_on_every_route_family() {
    const SENTENCE: &str = "The request body is not a JSON object of the expected shape.";
    let app = spawn_app().await;
    app.add_user("beheer", PW, &[Role::Admin], None);
    app.add_user("coord", PW, &[Role::Coordinator], None);
    let admin = app.login("beheer", PW).await.expect("login").access_token;
    let coord = app.login("coord", PW).await.expect("login").access_token;
    let doc = "00000000-0000-4000-8000-000000000000";
    let families: [(&str, String, Option<&str>, &str); 6] = [
        ("POST", "/api/v1/auth/login".into(), None, "invalid_request"),
        (
            "POST",
            "/api/v1/admin/users".into(),
            Some(&admin),
            "invalid_parameter",
        ),
        (
            "PUT",
            "/api/v1/admin/mail/templates/overlast".into(),
            Some(&admin),
            "invalid_parameter",
        ),
        (
            "POST",
            format!("/api/v1/items/{doc}/item-1/erase"),
            Some(&coord),
            "invalid_parameter",
        ),
        (
            "POST",
            "/api/v1/resident-points/1".into(),
            Some(&coord),
            "invalid_parameter",
        ),
        (
            "POST",
            "/api/v1/public/points".into(),
            None,
            "invalid_parameter",
        ),
    ];
    for (method, path, token, want_code) in &families {
        for body in ["not json", "[1, 2]", "\"text\""] {
            let auth = token.map(|t| format!("Bearer {t}"));
            let mut headers = vec![("content-type", "application/json")];
            if let Some(a) = &auth {
                headers.push(("authorization", a));
            }
            let res = app
                .request(method, path, &headers, Some(body.as_bytes().to_vec()))
                .await;
            assert_eq!(
                (res.status, code(&res).as_str()),
                (400, *want_code),
                "{method} {path} with {body}: {}",
                res.text()
            );
            assert_eq!(
                res.json()["message"],
                SENTENCE,
                "{method} {path} with {body}"
            );
        }
    }
}
