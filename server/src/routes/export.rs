//! `GET /api/v1/export.csv` and `GET /api/v1/export.geojson`: the filtered
//! list (the same filters as `GET /api/v1/items`) as a download, for
//! coordinators. `GET /api/v1/export/callbacks.csv`: the open call backs
//! (the work list's filters) with only the resident's name and phone,
//! always with a reason, audited as `export.callbacks`. Every export is audited (`export.csv` / `export.geojson`:
//! the filters, the row count, and with `include_personal=true` the reason
//! and the items whose resident contact details were included). Resident
//! contact columns need `include_personal=true` AND a non-empty `reason`.
//!
//! Both are streamed: the query runs on the blocking pool and writes rows
//! into a bounded channel of 64 KiB chunks, so memory stays small however
//! many rows match (chunks are exactly 64 KiB and each is sent only once a
//! further byte follows it; at most `CHUNKS_IN_FLIGHT` wait for the socket).
//! The audit entry is written when the rows are done (also
//! when the client went away early, with `complete: false`); the last chunk
//! is only sent after it is stored, and if it cannot be stored the download
//! is cut off (the client sees an incomplete transfer, never a silent
//! unaudited export).

use std::io::Write;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use tokio::sync::mpsc;

use super::items::query_pairs;
use crate::edge::{ApiError, RequireCoordinator};
use crate::review::export::ExportSummary;
use crate::review::query::{Filters, check_names};
use crate::review::report::load_catalog;
use crate::review::{Scope, export, sheet};
use crate::state::AppState;
use crate::storage::AuditEntry;

/// Size of the chunks sent to the client.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the query and the socket.
const CHUNKS_IN_FLIGHT: usize = 4;

type Chunk = Result<Bytes, std::io::Error>;

/// A `Write` that sends chunks of exactly 64 KiB into the response stream,
/// and only once more bytes follow them: at least the last byte written (the
/// last 1 byte to 64 KiB) is always held back. Nothing is sent on `flush`;
/// the held part goes out with [`ChannelWriter::finish`], which runs only
/// after the audit entry is stored.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Chunk>) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }

    fn finish(mut self) {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let _ = self.send(rest);
        }
    }

    /// Ends the stream with an error: the client sees an incomplete download.
    fn fail(self) {
        let _ = self
            .tx
            .blocking_send(Err(std::io::Error::other("the export failed")));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        // `>`, not `>=`: a full chunk waits until at least one more byte
        // follows, so the end of the export never leaves before `finish`.
        while self.buf.len() > CHUNK {
            let rest = self.buf.split_off(CHUNK);
            let chunk = std::mem::replace(&mut self.buf, rest);
            self.send(chunk)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `write` on the blocking pool into a streamed body; when it is done,
/// stores the audit entry `action` with the details `detail(summary, complete)`.
fn stream_export(
    state: &AppState,
    who: &crate::domain::Principal,
    action: &'static str,
    write: impl FnOnce(
        &crate::review::ReviewDb,
        &mut ChannelWriter,
        &mut ExportSummary,
    ) -> Result<(), ApiError>
    + Send
    + 'static,
    detail: impl FnOnce(&ExportSummary, bool) -> serde_json::Value + Send + 'static,
) -> impl futures_util::Stream<Item = Chunk> + 'static {
    let (tx, rx) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let db = state.review.clone();
    let store = state.store.clone();
    let actor = who.user_id.clone();
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter::new(tx);
        let mut summary = ExportSummary::default();
        let written = write(&db, &mut writer, &mut summary);
        if let Err(e) = &written {
            tracing::warn!(error = ?e, action, "export stopped");
        }
        let audited = store.append_audit(AuditEntry {
            actor: Some(actor),
            action: action.to_owned(),
            subject: None,
            detail: detail(&summary, written.is_ok()),
        });
        match (written, audited) {
            (Ok(()), Ok(())) => writer.finish(),
            (_, Err(e)) => {
                tracing::error!(error = ?e, action, "export not audited: download cut off");
                writer.fail();
            }
            (Err(_), Ok(())) => writer.fail(),
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// Registers the export routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/export.csv", web::get().to(csv))
        .route("/api/v1/export.xlsx", web::get().to(xlsx))
        .route("/api/v1/export.geojson", web::get().to(geojson))
        .route("/api/v1/export/callbacks.csv", web::get().to(callbacks_csv));
}

/// `GET /api/v1/export/callbacks.csv?reason=&dialect=&assignee=&wijk=&team=&overdue=`:
/// the call-back list for whoever calls back (coordinators). Name and phone
/// are personal data, so a reason is always needed; the audit entry holds
/// the filters, the reason, the count and the items whose name or phone was
/// written. `dialect=excel` for a Dutch Excel, `rfc4180` (default) for machines.
#[tracing::instrument(name = "export.callbacks", skip_all)]
async fn callbacks_csv(
    RequireCoordinator(who): RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut params = query_pairs(&req)?;
    let excel = match take(&mut params, "dialect").as_deref() {
        None | Some("rfc4180") => false,
        Some("excel") => true,
        Some(_) => return Err(ApiError::param("dialect", "Expected rfc4180 or excel.")),
    };
    let reason = checked_reason(take(&mut params, "reason").unwrap_or_default(), true)?;
    if params.iter().any(|(k, _)| k == "task" || k == "limit") {
        return Err(ApiError::unknown_query());
    }
    let filters = crate::review::callbacks::WorkFilters::parse(&params)?;
    let scope = Scope::of(&who);
    let f = filters.clone();
    let store = state.store.clone();
    let now = crate::domain::now_ms();
    let body = stream_export(
        &state,
        &who,
        "export.callbacks",
        move |c, out, summary| {
            let labels = sheet::Labels::load(c, load_catalog(&*store))?;
            sheet::write_callbacks_csv_to(c, &scope, &f, now, &labels, excel, out, summary)
        },
        move |summary, complete| {
            let mut detail = json!({
                "filters": {
                    "assignee": filters.assignee,
                    "wijk": filters.wijk,
                    "team": filters.team,
                    "overdue": filters.overdue,
                },
                "count": summary.count,
                "reason": reason,
                "personal_items": summary.personal_items,
                "format": if excel { "excel" } else { "rfc4180" },
            });
            if !complete {
                detail["complete"] = false.into();
            }
            detail
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            attachment_named("wijklog-terugbellen", "csv"),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// Removes the first `name` from `params` and returns its value.
fn take(params: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let i = params.iter().position(|(k, _)| k == name)?;
    Some(params.remove(i).1)
}

/// Longest accepted reason.
const MAX_REASON: usize = 500;

/// `include_personal` and `reason` of an export request: contact details
/// only with a non-empty reason of at most [`MAX_REASON`] characters.
fn personal_params(params: &[(String, String)]) -> Result<(bool, String), ApiError> {
    let mut include_personal = false;
    let mut reason = String::new();
    for (k, v) in params {
        match k.as_str() {
            "include_personal" => {
                include_personal = match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(ApiError::param(
                            "include_personal",
                            "Expected true or false.",
                        ));
                    }
                }
            }
            "reason" => reason = v.trim().to_owned(),
            _ => {}
        }
    }
    let reason = checked_reason(reason, include_personal)?;
    Ok((include_personal, reason))
}

/// The reason of an export with contact details: trimmed, at most
/// [`MAX_REASON`] characters, and not empty when `needed`.
fn checked_reason(reason: String, needed: bool) -> Result<String, ApiError> {
    let reason = reason.trim().to_owned();
    if needed && reason.is_empty() {
        return Err(ApiError::param(
            "reason",
            "Exporting resident contact details needs a reason.",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ApiError::param("reason", "The reason is too long."));
    }
    Ok(reason)
}

/// The audit details of a list export.
fn list_detail(
    filters: Filters,
    include_personal: bool,
    reason: String,
    format: Option<&'static str>,
) -> impl FnOnce(&ExportSummary, bool) -> serde_json::Value + Send + 'static {
    move |summary, complete| {
        let mut detail = json!({
            "filters": filters,
            "count": summary.count,
            "include_personal": include_personal,
        });
        if let Some(format) = format {
            detail["format"] = format.into();
        }
        if !complete {
            detail["complete"] = false.into();
        }
        if include_personal {
            detail["reason"] = reason.into();
            detail["personal_items"] = summary.personal_items.clone().into();
        }
        detail
    }
}

/// `attachment; filename="wijklog-meldingen-2026-12-07.EXT"`, dated in local
/// (Amsterdam) time, so that a second download does not overwrite the first
/// and the file says when it was made.
fn attachment(ext: &str) -> String {
    attachment_named("wijklog-meldingen", ext)
}

/// `attachment; filename="STEM-2026-12-07.EXT"`, dated in Amsterdam.
fn attachment_named(stem: &str, ext: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let date = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.to_zoned_datetime(sheet::amsterdam()).date().to_string())
        .unwrap_or_default();
    format!("attachment; filename=\"{stem}-{date}.{ext}\"")
}

/// `GET /api/v1/export.csv`: RFC 4180 for machines (codes, ids, UTC), or
/// with `dialect=excel` `;`-separated for a Dutch Excel (words, local time).
#[tracing::instrument(name = "export.csv", skip_all)]
async fn csv(
    RequireCoordinator(who): RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_pairs(&req)?;
    check_names(&params, &["include_personal", "reason", "dialect"])?;
    let filters = Filters::parse(&params)?;
    let (include_personal, reason) = personal_params(&params)?;
    let excel = match params
        .iter()
        .find(|(k, _)| k == "dialect")
        .map(|(_, v)| v.as_str())
    {
        None | Some("rfc4180") => false,
        Some("excel") => true,
        Some(_) => {
            return Err(ApiError::param("dialect", "Expected rfc4180 or excel."));
        }
    };
    let scope = Scope::of(&who);
    let f = filters.clone();
    let store = state.store.clone();
    let body = stream_export(
        &state,
        &who,
        "export.csv",
        move |c, out, summary| {
            if excel {
                let labels = sheet::Labels::load(c, load_catalog(&*store))?;
                sheet::write_excel_csv_to(c, &scope, &f, &labels, include_personal, out, summary)
            } else {
                export::write_csv_to(c, &scope, &f, include_personal, out, summary)
            }
        },
        list_detail(filters, include_personal, reason, excel.then_some("excel")),
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, attachment("csv")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// `GET /api/v1/export.xlsx`: the list as an Excel workbook (words, local
/// time, real dates and numbers).
#[tracing::instrument(name = "export.xlsx", skip_all)]
async fn xlsx(
    RequireCoordinator(who): RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_pairs(&req)?;
    check_names(&params, &["include_personal", "reason"])?;
    let filters = Filters::parse(&params)?;
    let (include_personal, reason) = personal_params(&params)?;
    let scope = Scope::of(&who);
    let f = filters.clone();
    let store = state.store.clone();
    let body = stream_export(
        &state,
        &who,
        "export.xlsx",
        move |c, out, summary| {
            let labels = sheet::Labels::load(c, load_catalog(&*store))?;
            let spool = tempfile::tempfile().map_err(|e| {
                ApiError::Internal(anyhow::Error::new(e).context("a temporary file"))
            })?;
            sheet::write_xlsx_to(
                c,
                &scope,
                &f,
                &labels,
                include_personal,
                spool,
                out,
                summary,
            )
        },
        list_detail(filters, include_personal, reason, None),
    );
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ))
        .insert_header((header::CONTENT_DISPOSITION, attachment("xlsx")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// `GET /api/v1/export.geojson`.
#[tracing::instrument(name = "export.geojson", skip_all)]
async fn geojson(
    RequireCoordinator(who): RequireCoordinator,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_pairs(&req)?;
    check_names(&params, &[])?;
    let filters = Filters::parse(&params)?;
    let scope = Scope::of(&who);
    let f = filters.clone();
    let body = stream_export(
        &state,
        &who,
        "export.geojson",
        move |c, out, summary| export::write_geojson_to(c, &scope, &f, out, summary),
        move |summary, complete| {
            let mut detail =
                json!({"filters": filters, "count": summary.count, "include_personal": false});
            if !complete {
                detail["complete"] = false.into();
            }
            detail
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/geo+json"))
        .insert_header((header::CONTENT_DISPOSITION, attachment("geojson")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_out_in_bounded_chunks_and_the_rest_only_on_finish() {
        let (tx, mut rx) = mpsc::channel::<Chunk>(64);
        let mut w = ChannelWriter::new(tx);
        let row = vec![b'x'; 1000];
        for _ in 0..200 {
            w.write_all(&row).expect("write");
        }
        w.flush().expect("flush");
        let mut sent = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            sent.push(chunk.expect("chunk").len());
        }
        // 200,000 bytes: three full chunks so far, the rest held back.
        assert_eq!(sent, vec![CHUNK; 3]);
        w.finish();
        let last = rx.try_recv().expect("last").expect("chunk").len();
        assert_eq!(sent.iter().sum::<usize>() + last, 200_000);
    }

    #[test]
    fn an_export_of_whole_chunks_still_holds_its_last_chunk_until_finish() {
        let (tx, mut rx) = mpsc::channel::<Chunk>(64);
        let mut w = ChannelWriter::new(tx);
        for _ in 0..3 * CHUNK / 1024 {
            w.write_all(&[b'y'; 1024]).expect("write");
        }
        let mut sent = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            sent.push(chunk.expect("chunk").len());
        }
        assert_eq!(sent, vec![CHUNK; 2], "the third chunk waits for finish");
        w.finish();
        assert_eq!(rx.try_recv().expect("last").expect("chunk").len(), CHUNK);
    }

    #[test]
    fn a_gone_client_stops_the_writer_and_a_failure_ends_the_stream_with_an_error() {
        let (tx, rx) = mpsc::channel::<Chunk>(4);
        drop(rx);
        let mut w = ChannelWriter::new(tx);
        let err = w
            .write_all(&vec![0u8; CHUNK + 1])
            .expect_err("nobody reads");
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);

        let (tx, mut rx) = mpsc::channel::<Chunk>(4);
        let mut w = ChannelWriter::new(tx);
        w.write_all(b"a,b\r\n").expect("write");
        w.fail();
        assert!(
            rx.try_recv().expect("item").is_err(),
            "the held rows are not sent"
        );
    }
}
