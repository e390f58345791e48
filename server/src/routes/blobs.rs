//! `PUT /api/v1/blobs/{sha256}`, `GET /api/v1/blobs/{sha256}` and
//! `GET /api/v1/blobs/{sha256}/thumb` (docs/blobs.md, docs/api.md).
//!
//! Every request needs `Authorization: Bearer <access token>`. Uploads are
//! for users who may create content; reads for users who may see a
//! document that references the blob (anything else is 404, never 403, so
//! that the existence of a photo is not revealed). Errors are
//! `{"code","message"}`. A coordinator's full-size read is written to the
//! audit log (`blob.read`: who, which photo, which items reference it).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::blobs::{BlobError, BlobHash, Uploaded, read_body, sniff::ImageType};
use crate::domain::Principal;
use crate::domain::now_ms;
use crate::edge::ApiError;
use crate::state::{AppState, blocking};
use crate::storage::AuditEntry;

/// Registers the blob routes under `/api/v1/blobs`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/blobs")
            .service(
                web::resource("/{sha256}")
                    .route(web::put().to(upload))
                    .route(web::get().to(download)),
            )
            .service(web::resource("/{sha256}/thumb").route(web::get().to(thumbnail))),
    );
}

/// `PUT /api/v1/blobs/{sha256}`: 201 stored, 200 already stored.
#[tracing::instrument(name = "blob_upload", skip_all, fields(blob = %path.as_str()))]
async fn upload(
    who: Principal,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !who.may_upload_photos() {
        return Err(BlobError::Forbidden.into());
    }
    let hash = BlobHash::parse(&path).map_err(BlobError::from)?;
    let blobs = state.blobs.clone();
    let max = blobs.config().max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(BlobError::TooLarge { max }.into());
    }
    let (bytes, actual) = read_body(body, max).await?;
    if actual != hash {
        return Err(BlobError::HashMismatch.into());
    }
    let size = bytes.len();
    let user = who.user_id.clone();
    // Checking the content decodes the image: one decode per core at once.
    let permit = state
        .decode_gate
        .acquire()
        .await
        .map_err(|_| BlobError::Busy)?;
    let outcome = blocking(move || {
        let _permit = permit;
        blobs.store(&hash, &bytes, &user, now_ms())
    })
    .await?;
    let (status, stored) = match outcome {
        Uploaded::Created => (StatusCode::CREATED, "created"),
        Uploaded::AlreadyStored => (StatusCode::OK, "already_stored"),
    };
    tracing::info!(size, outcome = stored, "blob upload");
    Ok(HttpResponse::build(status)
        .insert_header((header::LOCATION, format!("/api/v1/blobs/{hash}")))
        .json(serde_json::json!({ "sha256": hash.to_string(), "size": size, "status": stored })))
}

fn etag(hash: &BlobHash, suffix: &str) -> String {
    format!("\"{hash}{suffix}\"")
}

fn not_modified(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

fn image_response(
    req: &HttpRequest,
    tag: String,
    mime: &'static str,
    bytes: Vec<u8>,
) -> HttpResponse {
    let unchanged = not_modified(req, &tag);
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'"),
        ));
    if unchanged {
        res.finish()
    } else {
        res.content_type(mime).body(bytes)
    }
}

/// `GET /api/v1/blobs/{sha256}`: the bytes, for users who may see a
/// document referencing the blob.
#[tracing::instrument(name = "blob_download", skip_all, fields(blob = %path.as_str()))]
async fn download(
    who: Principal,
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hash = BlobHash::parse(&path).map_err(BlobError::from)?;
    let tag = etag(&hash, "");
    let revalidation = not_modified(&req, &tag);
    let blobs = state.blobs.clone();
    let store = state.store.clone();
    let (record, bytes) = blocking::<_, BlobError>(move || {
        let (record, bytes) = blobs.read(&who, &hash)?;
        // A coordinator reading a photo in full is audited (the photo may
        // show residents); a 304 revalidation serves nothing new.
        if who.is_coordinator() && !revalidation {
            let items: Vec<serde_json::Value> = blobs
                .visible_references(&who, &hash)?
                .into_iter()
                .map(|(doc, item)| serde_json::json!({"doc": doc.to_string(), "item": item}))
                .collect();
            store.append_audit(AuditEntry {
                actor: Some(who.user_id.clone()),
                action: "blob.read".into(),
                subject: Some(hash.to_string()),
                detail: serde_json::json!({ "items": items }),
            })?;
        }
        Ok((record, bytes))
    })
    .await?;
    let mime = ImageType::from_mime(&record.mime)
        .map(|k| k.mime())
        .ok_or(BlobError::NotFound)?;
    Ok(image_response(&req, tag, mime, bytes))
}

/// `GET /api/v1/blobs/{sha256}/thumb`: a JPEG whose longest side is at most
/// `blobs.thumb_px`, same permission as the blob.
#[tracing::instrument(name = "blob_thumbnail", skip_all, fields(blob = %path.as_str()))]
async fn thumbnail(
    who: Principal,
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hash = BlobHash::parse(&path).map_err(BlobError::from)?;
    let blobs = state.blobs.clone();
    let px = blobs.config().thumb_px;
    let permit = state
        .decode_gate
        .acquire()
        .await
        .map_err(|_| BlobError::Busy)?;
    let bytes = blocking(move || {
        let _permit = permit;
        blobs.thumbnail(&who, &hash)
    })
    .await?;
    Ok(image_response(
        &req,
        etag(&hash, &format!("-thumb{px}")),
        "image/jpeg",
        bytes,
    ))
}
