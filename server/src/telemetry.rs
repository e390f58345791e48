//! Logging: `tracing` to stdout, human-readable or JSON.
//!
//! HTTP requests get a root span with a request id (tracing-actix-web), so
//! every line logged while serving a request carries it. Personal data and
//! tokens are never logged: handlers skip them in `#[instrument]`, and
//! errors log their cause chain, never request bodies.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Installs the global subscriber (once; later calls are ignored, which
/// lets tests call it freely). `filter` uses `RUST_LOG` syntax; the
/// `RUST_LOG` variable, if set, wins.
pub fn init<W>(format: LogFormat, filter: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Logs an error with its whole `source()` chain (the client only gets the
/// stable code and sentence). tracing-actix-web logs every failed request
/// too, so this adds the cause chain, at `debug` unless `internal` is set.
pub fn log_error_chain(err: &(dyn std::error::Error + 'static)) {
    log_error_chain_at(err, false);
}

/// As [`log_error_chain`]; `internal` logs at `error` level.
pub fn log_error_chain_at(err: &(dyn std::error::Error + 'static), internal: bool) {
    let mut chain = String::new();
    let mut cause = err.source();
    while let Some(c) = cause {
        chain.push_str(": ");
        chain.push_str(&c.to_string());
        cause = c.source();
    }
    if internal {
        tracing::error!(error = %err, cause = %chain, "request failed");
    } else {
        tracing::debug!(error = %err, cause = %chain, "request refused");
    }
}

/// The root span of every HTTP request: a request id, the method and the
/// route *pattern* (never the concrete path or query, the client address,
/// the user agent or error details, which may carry personal data).
/// Ends with one `request finished` line carrying the status.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "http",
            request_id = %request_id,
            method = %request.method(),
            route = %route,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        let _entered = span.enter();
        if status >= 500 {
            tracing::error!(status, "request finished");
        } else {
            tracing::info!(status, "request finished");
        }
    }
}
