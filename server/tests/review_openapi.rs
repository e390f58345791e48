//! Keeps `server/openapi.json` (served at `GET /api/v1/openapi.json`) in
//! step with the routes the server really registers, both ways:
//!
//! - every documented operation answers on the real server (anything but
//!   the router's fallback "Nothing here." 404 or a 405);
//! - every `/api/v1` path registered in `server/src` (full literals, and
//!   `web::scope("/api/v1/..")` + `.route("/..")`/`web::resource("/..")`)
//!   is probed with every method, and each method that answers is documented;
//! - every list's `limit` answers the bound the document gives it, with the
//!   one sentence.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use wijklog_server::domain::Role;
use wijklog_server::testing::{TestApp, spawn_app};
use wijklog_testing::stored::person;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `{anything}` → `{}`.
fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push_str("{}");
                }
            }
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A concrete URL for a path template.
fn concrete(path: &str) -> String {
    path.replace("{sha256}", &"a".repeat(64))
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c".to_owned()
            } else {
                seg.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the server has a route for `method path` (the fallback answers
/// `{"code":"not_found","message":"Nothing here."}`).
async fn registered(app: &TestApp, method: &str, path: &str) -> bool {
    let res = app
        .request(
            method,
            &concrete(path),
            &[("Content-Type", "application/json")],
            Some(b"{}".to_vec()),
        )
        .await;
    let fallback = res.status == 404 && res.json()["message"] == "Nothing here.";
    !(fallback || res.status == 405)
}

fn string_literals_after(line: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(marker) {
        let after = &rest[i + marker.len()..];
        if let Some(end) = after.find('"') {
            out.push(after[..end].to_owned());
            rest = &after[end..];
        } else {
            break;
        }
    }
    out
}

/// `/api/v1` paths registered in the server's source.
fn source_paths(dir: &Path, out: &mut BTreeSet<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            source_paths(&path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let mut scope: Option<String> = None;
        for line in text.lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for s in string_literals_after(code, "web::scope(\"") {
                scope = s.starts_with("/api/v1").then_some(s);
            }
            if let Some(prefix) = &scope {
                for marker in [".route(\"", "web::resource(\""] {
                    for s in string_literals_after(code, marker) {
                        if s.starts_with('/') && !s.starts_with("/api/") {
                            out.insert(normalize(&format!("{prefix}{s}")));
                        }
                    }
                }
            }
            for s in string_literals_after(code, "\"/api/v1") {
                let full = format!("/api/v1{s}");
                let is_scope = code.contains(&format!("web::scope(\"{full}\""));
                if !is_scope {
                    out.insert(normalize(&full));
                }
            }
        }
    }
}

fn documented(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

#[actix_web::test]
async fn the_openapi_document_is_served_and_matches_the_registered_routes() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status, 200);
    let spec = res.json();
    assert_eq!(spec["openapi"], "3.1.0");
    let ops = documented(&spec);
    assert!(ops.len() > 20, "{ops:?}");

    // Documented → registered.
    for (method, path) in &ops {
        assert!(path.starts_with("/api/v1/"), "{path}");
        assert!(
            registered(&app, method, path).await,
            "{method} {path} is documented but not registered"
        );
    }

    // Registered → documented.
    let mut paths = BTreeSet::new();
    source_paths(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut paths,
    );
    assert!(paths.contains("/api/v1/items/{}/{}/history"), "{paths:?}");
    assert!(paths.contains("/api/v1/auth/login"), "{paths:?}");
    let documented_paths: BTreeSet<(String, String)> =
        ops.iter().map(|(m, p)| (m.clone(), normalize(p))).collect();
    for path in &paths {
        for method in METHODS {
            if registered(&app, method, path).await {
                assert!(
                    documented_paths.contains(&(method.to_string(), path.clone())),
                    "{method} {path} is registered but not in server/openapi.json"
                );
            }
        }
    }
}

#[actix_web::test]
async fn every_operation_documents_its_error_body_and_every_reference_resolves() {
    let app = spawn_app().await;
    let spec = app.get("/api/v1/openapi.json").await.json();
    // Every "$ref" points at something that exists.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        out.push(v.as_str().expect("ref string").to_owned());
                    } else {
                        refs(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').expect("local ref");
        assert!(spec.pointer(pointer).is_some(), "{r} does not resolve");
    }
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            assert!(op["summary"].is_string(), "{method} {path} has a summary");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            if op.get("security").is_some() {
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} documents 401"
                );
            }
        }
    }
}

/// Each list's largest page, as docs/api.md gives it.
const LIST_BOUNDS: &[(&str, u32)] = &[
    ("/api/v1/access-changes", 500),
    ("/api/v1/admin/audit", 1000),
    ("/api/v1/callbacks", 500),
    ("/api/v1/documents", 50),
    ("/api/v1/feedback/open", 1000),
    ("/api/v1/items", 500),
    ("/api/v1/resident-points", 500),
    ("/api/v1/wijkberichten", 500),
];

#[actix_web::test]
async fn every_list_takes_the_limit_it_documents_and_refuses_others_with_one_sentence() {
    let app = spawn_app().await;
    let spec = app.get("/api/v1/openapi.json").await.json();
    let mut documented = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let params = item["get"]["parameters"].as_array().into_iter().flatten();
        for p in params.filter(|p| p["name"] == "limit") {
            let schema = &p["schema"];
            assert_eq!(schema["minimum"], 1, "{path}");
            let max = schema["maximum"].as_u64().expect("maximum");
            documented.push((path.clone(), u32::try_from(max).expect("small")));
        }
    }
    documented.sort();
    let expected: Vec<(String, u32)> = LIST_BOUNDS
        .iter()
        .map(|(p, m)| ((*p).to_owned(), *m))
        .collect();
    assert_eq!(documented, expected, "server/openapi.json's limits");

    let coordinator = person(&app, "coco", &[Role::Coordinator], None).await;
    let admin = person(&app, "adam", &[Role::Admin], None).await;
    for (path, max) in LIST_BOUNDS {
        let who = if path.contains("/admin/") {
            &admin
        } else {
            &coordinator
        };
        let auth = format!("Bearer {}", who.token);
        let sentence = format!("limit must be a number from 1 to {max}.");
        for (limit, ok) in [
            ("1".to_owned(), true),
            (max.to_string(), true),
            ((max + 1).to_string(), false),
            ("0".to_owned(), false),
            ("viel".to_owned(), false),
        ] {
            let url = format!("{path}?limit={limit}");
            let res = app
                .request("GET", &url, &[("Authorization", auth.as_str())], None)
                .await;
            if ok {
                assert_eq!(res.status, 200, "{url}: {}", res.text());
            } else {
                assert_eq!(res.status, 400, "{url}: {}", res.text());
                let body = res.json();
                assert_eq!(body["code"], "invalid_parameter", "{url}");
                assert_eq!(body["message"], sentence.as_str(), "{url}");
            }
        }
    }
}
