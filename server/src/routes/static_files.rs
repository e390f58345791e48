//! Serves the built PWA (`--static DIR`, default `pwa/dist`) at `/`.
//!
//! - an existing file is served (ETag, Range, content type by actix-files);
//! - a path without a file extension that is not an API path gets
//!   `index.html` (client-side routes like `/walk/<id>`);
//! - `index.html` and `sw.js` (and the web manifest) are sent with
//!   `Cache-Control: no-cache` so a new version is picked up at once;
//!   files under `assets/` (Vite's content-hashed output) with
//!   `public, max-age=31536000, immutable`; everything else `no-cache`;
//! - a missing directory is logged once at start; the API keeps working
//!   and `/` answers 404.

use std::path::{Component, Path, PathBuf};

use actix_files::NamedFile;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::edge::ErrorBody;

/// Where the PWA is; registered as app data by the startup.
#[derive(Debug, Clone)]
pub struct StaticDir(pub PathBuf);

/// `Cache-Control` for immutable hashed assets.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything that must be revalidated.
pub const NO_CACHE: &str = "no-cache";

/// Logs whether the directory is usable. Called once at startup.
pub fn check_dir(dir: &Path) {
    if dir.join("index.html").is_file() {
        tracing::info!(dir = %dir.display(), "serving the PWA");
    } else {
        tracing::warn!(
            dir = %dir.display(),
            "no built PWA found (index.html missing); the API works, / answers 404. Build it with `make pwa` or pass --static DIR"
        );
    }
}

/// The path below the static dir, or `None` for anything that could escape it.
fn safe_relative(tail: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in Path::new(tail).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn cache_policy(rel: &Path) -> &'static str {
    if rel.starts_with("assets") {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

/// 404 with the JSON error body.
pub async fn not_found() -> HttpResponse {
    not_found_response()
}

fn not_found_response() -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        code: "not_found".into(),
        message: "Nothing here.".into(),
    })
}

async fn send(req: &HttpRequest, path: &Path, policy: &'static str) -> HttpResponse {
    match NamedFile::open_async(path).await {
        Ok(file) => {
            let mut res = file
                .use_etag(true)
                .use_last_modified(true)
                .into_response(req);
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
            res
        }
        Err(_) => not_found_response(),
    }
}

/// `GET /{tail:.*}`: registered last, after every API route.
pub async fn serve(req: HttpRequest, dir: web::Data<StaticDir>) -> HttpResponse {
    let tail = req.match_info().query("tail");
    if tail.starts_with("api/") || tail == "api" {
        return not_found_response();
    }
    let Some(rel) = safe_relative(tail) else {
        return not_found_response();
    };
    let root = &dir.0;
    let candidate = root.join(&rel);
    if !rel.as_os_str().is_empty() && candidate.is_file() {
        return send(&req, &candidate, cache_policy(&rel)).await;
    }
    let looks_like_file = rel.extension().is_some();
    if looks_like_file {
        return not_found_response();
    }
    send(&req, &root.join("index.html"), NO_CACHE).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused_and_assets_are_immutable() {
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("assets/../../x").is_none());
        assert_eq!(
            safe_relative("assets/index-abc123.js"),
            Some(PathBuf::from("assets/index-abc123.js"))
        );
        assert_eq!(cache_policy(Path::new("assets/index-abc123.js")), IMMUTABLE);
        assert_eq!(cache_policy(Path::new("sw.js")), NO_CACHE);
        assert_eq!(cache_policy(Path::new("index.html")), NO_CACHE);
    }
}
