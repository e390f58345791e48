//! The middleware of every request ([`guard`]) and the security headers
//! ([`security_headers`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use std::{cell::Cell, future::Future};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web::Bytes;
use actix_web::{Error, HttpResponse, web};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::config::HttpConfig;
use crate::edge::ErrorBody;

/// actix's boxed request body stream.
type BoxedPayload = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// Requests in flight per client address, shared by all workers.
#[derive(Debug)]
pub struct Edge {
    body_idle: Duration,
    body_total: Duration,
    max_per_address: usize,
    in_flight: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One request's place in its address's count; given back on drop.
#[derive(Debug)]
pub struct Slot {
    in_flight: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl Edge {
    /// The edge state for a configuration.
    pub fn new(cfg: &HttpConfig) -> Self {
        Self {
            body_idle: Duration::from_secs(cfg.body_idle_timeout_secs),
            body_total: Duration::from_secs(cfg.body_timeout_secs),
            max_per_address: cfg.max_requests_per_address,
            in_flight: Arc::default(),
        }
    }

    /// A slot for one more request from `ip`, or `None` when the address
    /// has `max_requests_per_address` in flight already.
    pub fn enter(&self, ip: IpAddr) -> Option<Slot> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= self.max_per_address {
            return None;
        }
        *n += 1;
        Some(Slot {
            in_flight: self.in_flight.clone(),
            ip,
        })
    }
}

/// A request body that must keep arriving: an error (and `timed_out` set)
/// when no piece came for `idle`, or the whole body took longer than `total`.
struct TimedBody {
    inner: Payload,
    idle: Duration,
    deadline: Instant,
    sleep: Pin<Box<Sleep>>,
    timed_out: Rc<Cell<bool>>,
    done: bool,
}

impl TimedBody {
    fn new(inner: Payload, idle: Duration, total: Duration, timed_out: Rc<Cell<bool>>) -> Self {
        let now = Instant::now();
        let deadline = now + total;
        Self {
            inner,
            idle,
            deadline,
            sleep: Box::pin(tokio::time::sleep_until((now + idle).min(deadline))),
            timed_out,
            done: false,
        }
    }
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                let next = (Instant::now() + self.idle).min(self.deadline);
                self.sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(other) => {
                if other.is_none() {
                    self.done = true;
                }
                Poll::Ready(other)
            }
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    self.timed_out.set(true);
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body stalled",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

fn error_response(status: actix_web::http::StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status).json(ErrorBody {
        code: code.into(),
        message: message.into(),
    });
    res.head_mut().set_connection_type(ConnectionType::Close);
    res
}

fn is_websocket_upgrade(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Every request: refused with 429 `too_many_requests` when its address has
/// too many in flight; its body (not a WebSocket's stream) bounded in time,
/// a stalled one answered 408 `body_timeout` and the connection closed.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(edge) = req.app_data::<web::Data<Edge>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let _slot = match req.peer_addr().map(|a| a.ip()) {
        Some(ip) => match edge.enter(ip) {
            Some(slot) => Some(slot),
            None => {
                tracing::info!("request refused: too many requests in flight from one address");
                let res = error_response(
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "Too many requests at once from your address; try again shortly.",
                );
                return Ok(req.into_response(res).map_into_right_body());
            }
        },
        None => None,
    };
    let timed_out = Rc::new(Cell::new(false));
    if !is_websocket_upgrade(&req) {
        let (_, payload) = req.parts_mut();
        let inner = std::mem::replace(payload, Payload::None);
        let body = TimedBody::new(inner, edge.body_idle, edge.body_total, timed_out.clone());
        let boxed: BoxedPayload = Box::pin(body);
        req.set_payload(Payload::from(boxed));
    }
    let res = next.call(req).await?;
    if timed_out.get() {
        tracing::info!("request body timed out");
        let (req, _) = res.into_parts();
        let res = error_response(
            actix_web::http::StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "The request body did not arrive in time.",
        );
        return Ok(ServiceResponse::new(req, res).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}

/// The origin (`scheme://host[:port]`) of a tile URL template for the CSP;
/// `{s}` subdomains become `*`. `None` for a relative URL (`'self'` covers it)
/// or one that is not http(s).
pub fn tile_origin(tile_url: &str) -> Option<String> {
    let (scheme, rest) = tile_url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.replace("{s}", "*");
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*' | '[' | ']'))
    {
        return None;
    }
    Some(format!("{scheme}://{host}"))
}

/// The Content-Security-Policy of every response (blob responses set their
/// own, stricter one). The app needs `'wasm-unsafe-eval'` for its wasm
/// document model, `blob:`/`data:` images for photos, and the tile origin.
pub fn content_security_policy(tile_url: &str) -> String {
    let tiles = tile_origin(tile_url)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' blob: data:{tiles}; connect-src 'self'{tiles}; worker-src 'self'; \
         manifest-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The security headers added to every response that has none of its own.
/// `Cache-Control: no-store` on every `/api/` answer that does not set its
/// own caching (errors included: a 401/403/404 of a review or admin route
/// must not be cached either). Routes that want caching (photos,
/// client-config) set the header themselves and keep it.
pub async fn api_no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let api = req.path().starts_with("/api/");
    let mut res = next.call(req).await?;
    if api && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

pub fn security_headers(tile_url: &str) -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(tile_url),
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_origins_are_reduced_to_scheme_and_host() {
        assert_eq!(
            tile_origin("https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png")
                .as_deref(),
            Some("https://service.pdok.nl")
        );
        assert_eq!(
            tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://*.tile.example.org")
        );
        assert_eq!(
            tile_origin("http://127.0.0.1:9000/{z}/{x}/{y}.png").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(tile_origin("/tiles/{z}/{x}/{y}.png"), None);
        assert_eq!(tile_origin("javascript://x/{z}"), None);
        assert_eq!(
            tile_origin("https://evil.example'; script-src *;/{z}"),
            None
        );
    }

    #[test]
    fn the_policy_allows_wasm_and_tiles_and_forbids_framing_and_plugins() {
        let csp = content_security_policy("https://tiles.example.nl/{z}/{x}/{y}.png");
        for part in [
            "script-src 'self' 'wasm-unsafe-eval';",
            "img-src 'self' blob: data: https://tiles.example.nl;",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{part} missing from {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    }

    #[test]
    fn an_address_gets_at_most_its_share_of_slots() {
        let edge = Edge::new(&HttpConfig {
            max_requests_per_address: 2,
            ..HttpConfig::default()
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let s1 = edge.enter(a).expect("first");
        let _s2 = edge.enter(a).expect("second");
        assert!(edge.enter(a).is_none(), "third refused");
        assert!(edge.enter(b).is_some(), "other addresses unaffected");
        drop(s1);
        assert!(edge.enter(a).is_some(), "a finished request frees its slot");
    }

    #[tokio::test]
    async fn a_stalled_body_times_out_and_a_flowing_one_does_not() {
        use futures_util::StreamExt;
        // One piece, then nothing: the client stalls.
        let stalled = futures_util::stream::iter([Ok(Bytes::from_static(b"abc"))])
            .chain(futures_util::stream::pending());
        let boxed: BoxedPayload = Box::pin(stalled);
        let flag = Rc::new(Cell::new(false));
        let mut body = TimedBody::new(
            Payload::from(boxed),
            Duration::from_millis(50),
            Duration::from_secs(60),
            flag.clone(),
        );
        assert_eq!(
            body.next().await.expect("chunk").expect("ok"),
            Bytes::from_static(b"abc")
        );
        assert!(!flag.get());
        // Nothing more arrives: the idle timer fires.
        let err = body.next().await.expect("an item").expect_err("timeout");
        assert!(matches!(err, PayloadError::Io(ref e) if e.kind() == std::io::ErrorKind::TimedOut));
        assert!(flag.get());
        assert!(body.next().await.is_none(), "ends after the timeout");
    }
}
