//! `GET /api/v1/client-config` (public): settings the PWA reads at start,
//! from the `[map]` and `[theme]` sections of the configuration. Nothing in
//! it is secret.
//!
//! `GET /api/v1/theme/logo` (public): the `[theme]` logo file, 404 without one.
//!
//! `GET /manifest.webmanifest` (public): the built PWA's web manifest with
//! the theme's name, short name and colour put in, so an installed app is
//! called and coloured as the configuration says.
//!
//! `GET /api/v1/people` (coordinators): id, display name and team of every
//! account, so that the coordinator views can show and filter authors by
//! name. No usernames, roles or account state.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::items::json_ok;
use crate::edge::{ApiError, RequireCoordinator};
use crate::state::{AppState, blocking};

/// Registers both routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/client-config", web::get().to(client_config))
        .route("/api/v1/theme/logo", web::get().to(logo))
        .route("/manifest.webmanifest", web::get().to(manifest))
        .route("/api/v1/people", web::get().to(people));
}

#[derive(Serialize)]
struct ThemeView<'a> {
    name: &'a str,
    municipality: &'a str,
    color: &'a str,
    logo_url: Option<&'static str>,
}

#[derive(Serialize)]
struct MapView<'a> {
    tile_url: &'a str,
    attribution: &'a str,
    max_zoom: u8,
}

#[derive(Serialize)]
struct ClientConfig<'a> {
    map: MapView<'a>,
    theme: ThemeView<'a>,
}

/// `GET /api/v1/client-config`.
#[tracing::instrument(name = "client_config.get", skip_all)]
async fn client_config(state: web::Data<AppState>) -> HttpResponse {
    let map = &state.config.map;
    let theme = &state.config.theme;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(ClientConfig {
            map: MapView {
                tile_url: &map.tile_url,
                attribution: &map.attribution,
                max_zoom: map.max_zoom,
            },
            theme: ThemeView {
                name: theme.name.trim(),
                municipality: theme.municipality.trim(),
                color: &theme.color,
                logo_url: theme.logo.as_ref().map(|_| "/api/v1/theme/logo"),
            },
        })
}

/// `GET /api/v1/theme/logo`: the configured logo (checked at start: type and
/// size), read again from disk so that replacing the file needs no restart;
/// a file that grew beyond the limit since is not served.
#[tracing::instrument(name = "theme.logo", skip_all)]
async fn logo(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let theme = &state.config.theme;
    let (Some(path), Some(kind)) = (theme.logo.clone(), theme.logo_type()) else {
        return Err(ApiError::NotFound);
    };
    let bytes = blocking(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| {
                f.take(crate::config::MAX_LOGO_BYTES + 1)
                    .read_to_end(&mut buf)
            })
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("reading the logo")))?;
        Ok::<_, ApiError>(buf)
    })
    .await?;
    if bytes.len() as u64 > crate::config::MAX_LOGO_BYTES {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(bytes))
}

/// Largest web manifest read from the static directory.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// `GET /manifest.webmanifest`: the built manifest with the theme's name,
/// short name and colour. 404 when the PWA is not built.
#[tracing::instrument(name = "theme.manifest", skip_all)]
async fn manifest(
    state: web::Data<AppState>,
    dir: web::Data<super::static_files::StaticDir>,
) -> Result<HttpResponse, ApiError> {
    let path = dir.0.join("manifest.webmanifest");
    let built = blocking(move || {
        use std::io::Read;
        let mut buf = Vec::new();
        match std::fs::File::open(&path) {
            Ok(f) => f
                .take(MAX_MANIFEST_BYTES)
                .read_to_end(&mut buf)
                .map(|_| Some(buf))
                .map_err(|e| {
                    ApiError::Internal(anyhow::Error::new(e).context("reading the manifest"))
                }),
            Err(_) => Ok(None),
        }
    })
    .await?;
    let Some(built) = built else {
        return Err(ApiError::NotFound);
    };
    let mut value: serde_json::Value = serde_json::from_slice(&built)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("the built web manifest")))?;
    themed_manifest(&mut value, &state.config.theme);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/manifest+json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(value))
}

/// Puts the theme into a web manifest: `name` (with the municipality),
/// `short_name`, `theme_color`.
fn themed_manifest(manifest: &mut serde_json::Value, theme: &crate::config::ThemeConfig) {
    if let Some(m) = manifest.as_object_mut() {
        m.insert("name".into(), theme.full_name().trim().into());
        m.insert("short_name".into(), theme.name.trim().into());
        m.insert("theme_color".into(), theme.color.as_str().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_takes_the_theme_and_keeps_the_rest() {
        let mut m = serde_json::json!({
            "name": "Wijklog", "short_name": "Wijklog", "theme_color": "#0b3d91",
            "icons": [{"src": "icon-192.png"}], "id": "/"
        });
        let theme = crate::config::ThemeConfig {
            name: "Buurtlog".into(),
            municipality: "Gemeente Eemdal".into(),
            color: "#a61e4d".into(),
            logo: None,
        };
        themed_manifest(&mut m, &theme);
        assert_eq!(m["name"], "Buurtlog — Gemeente Eemdal");
        assert_eq!(m["short_name"], "Buurtlog");
        assert_eq!(m["theme_color"], "#a61e4d");
        assert_eq!(m["icons"][0]["src"], "icon-192.png");
        assert_eq!(m["id"], "/");
    }
}

#[derive(Serialize)]
struct Person {
    id: String,
    name: String,
    team: Option<String>,
}

#[derive(Serialize)]
struct People {
    people: Vec<Person>,
}

/// `GET /api/v1/people`.
#[tracing::instrument(name = "people.list", skip_all)]
async fn people(
    _: RequireCoordinator,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let db = state.review.clone();
    let people = blocking(move || {
        db.with_conn(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, display_name, team FROM users ORDER BY display_name COLLATE NOCASE, id",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Person {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        team: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, ApiError>(rows)
        })
    })
    .await?;
    Ok(json_ok(&People { people }))
}
