//! A small Rust client of Wijklog's sync protocol (`docs/sync-protocol.md`),
//! used by the server's integration tests, the crash test, the interop
//! check and the sync benchmark. It holds automerge documents with one sync
//! state each, records acks, errors, announcements and the close frame.

use std::collections::HashMap;
use std::time::Duration;

use automerge::sync::{Message, State, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use uuid::Uuid;

/// The two halves of an awc WebSocket connection.
pub struct Conn {
    sink: std::pin::Pin<
        Box<dyn futures_util::Sink<ws::Message, Error = awc::error::WsProtocolError>>,
    >,
    stream: futures_util::stream::LocalBoxStream<
        'static,
        Result<ws::Frame, awc::error::WsProtocolError>,
    >,
}

impl Conn {
    async fn send(&mut self, message: ws::Message) -> Result<(), awc::error::WsProtocolError> {
        self.sink.send(message).await
    }
    async fn next(&mut self) -> Option<Result<ws::Frame, awc::error::WsProtocolError>> {
        self.stream.next().await
    }
}

/// Something the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A JSON text frame.
    Json(Value),
    /// A binary frame: document id and sync message bytes.
    Binary(Uuid, Vec<u8>),
    /// The server closed: code and reason.
    Closed(Option<(u16, String)>),
}

/// An error frame the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFrame {
    /// The document, if any.
    pub doc: Option<Uuid>,
    /// The code.
    pub code: String,
    /// The sentence.
    pub message: String,
}

/// One document on the client side.
#[derive(Debug)]
pub struct ClientDoc {
    /// The document.
    pub doc: AutoCommit,
    /// Its sync state with the server.
    pub state: State,
    /// The heads of the last ack.
    pub acked: Vec<ChangeHash>,
}

/// Frames and bytes a client sent and received (WebSocket payloads: the
/// JSON text or the binary frame with its 16-byte document id; pings and
/// close frames not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Text and binary frames sent.
    pub frames_sent: u64,
    /// Their payload bytes.
    pub bytes_sent: u64,
    /// Text and binary frames received.
    pub frames_received: u64,
    /// Their payload bytes.
    pub bytes_received: u64,
}

/// A connected sync client.
pub struct SyncClient {
    conn: Option<Conn>,
    /// What went over the socket so far, `ready` included.
    pub traffic: Traffic,
    /// The `ready` message.
    pub ready: Value,
    /// Documents by id.
    pub docs: HashMap<Uuid, ClientDoc>,
    /// Every error frame received, in order.
    pub errors: Vec<ErrorFrame>,
    /// Every `doc` announcement received.
    pub announced: Vec<Uuid>,
    /// Every `unscope` received (the document is kept: the caller decides).
    pub unscoped: Vec<Uuid>,
    /// Every `kept` received (the answer to an `unsubscribe` of a document
    /// that stays in the scope), as received.
    pub kept: Vec<Value>,
    /// Every ack received: document and heads (hex).
    pub acks: Vec<(Uuid, Vec<String>)>,
    /// The close frame, once closed.
    pub closed: Option<Option<(u16, String)>>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("docs", &self.docs.len())
            .field("errors", &self.errors)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/login`; the whole JSON answer (panics on failure: test helper).
pub async fn login(base: &str, username: &str, password: &str) -> Value {
    let mut res = awc::Client::default()
        .post(format!("{base}/api/v1/auth/login"))
        .send_json(
            &serde_json::json!({"username": username, "password": password, "device_name": "test"}),
        )
        .await
        .expect("login request");
    let body: Value = res.json().await.expect("login body");
    assert_eq!(res.status().as_u16(), 200, "login failed: {body}");
    body
}

/// Like [`login`], but `None` on any failure (the server may be gone).
pub async fn try_login(base: &str, username: &str, password: &str) -> Option<Value> {
    let mut res = awc::Client::default()
        .post(format!("{base}/api/v1/auth/login"))
        .timeout(Duration::from_secs(5))
        .send_json(
            &serde_json::json!({"username": username, "password": password, "device_name": "test"}),
        )
        .await
        .ok()?;
    if res.status().as_u16() != 200 {
        return None;
    }
    res.json().await.ok()
}

/// Opens a raw WebSocket to `/api/v1/sync` of `base` (`http://host:port`).
pub async fn open_socket(base: &str) -> Conn {
    try_open_socket(base).await.expect("websocket connect")
}

/// Like [`open_socket`], but `None` if the server cannot be reached.
pub async fn try_open_socket(base: &str) -> Option<Conn> {
    let url = format!("{}/api/v1/sync", base.replacen("http", "ws", 1));
    let conn = awc::Client::builder()
        .max_http_version(awc::http::Version::HTTP_11)
        .timeout(Duration::from_secs(5))
        .finish()
        .ws(url)
        .max_frame_size(256 * 1024 * 1024)
        .connect()
        .await
        .ok()?;
    let (sink, stream) = conn.1.split();
    Some(Conn {
        sink: Box::pin(sink),
        stream: stream.boxed_local(),
    })
}

/// The heads of a document as lowercase hex, sorted.
pub fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    let mut v: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    v.sort();
    v
}

impl SyncClient {
    /// Connects and authenticates; panics unless `ready` arrives (test helper).
    pub async fn connect(base: &str, token: &str) -> SyncClient {
        let mut client = Self::connect_unauthenticated(base).await;
        client
            .send_text(&serde_json::json!({"type": "auth", "token": token}).to_string())
            .await;
        match client.next(Duration::from_secs(10)).await {
            Some(Incoming::Json(v)) if v["type"] == "ready" => client.ready = v,
            other => panic!("expected ready, got {other:?}"),
        }
        client
    }

    /// Like [`SyncClient::connect`], but `None` if the server is gone or
    /// does not answer `ready`.
    pub async fn try_connect(base: &str, token: &str) -> Option<SyncClient> {
        let mut client = Self::on_socket(try_open_socket(base).await?);
        client
            .send_text(&serde_json::json!({"type": "auth", "token": token}).to_string())
            .await;
        match client.next(Duration::from_secs(10)).await {
            Some(Incoming::Json(v)) if v["type"] == "ready" => {
                client.ready = v;
                Some(client)
            }
            _ => None,
        }
    }

    /// Connects without authenticating.
    pub async fn connect_unauthenticated(base: &str) -> SyncClient {
        Self::on_socket(open_socket(base).await)
    }

    /// A client on an open socket, before `auth`: nothing held, nothing received.
    fn on_socket(conn: Conn) -> SyncClient {
        SyncClient {
            conn: Some(conn),
            traffic: Traffic::default(),
            ready: Value::Null,
            docs: HashMap::new(),
            errors: Vec::new(),
            announced: Vec::new(),
            unscoped: Vec::new(),
            kept: Vec::new(),
            acks: Vec::new(),
            closed: None,
        }
    }

    /// Sends `{"type":"subscribe","doc":id}` (the server answers with `doc`
    /// and the usual sync, or an error).
    pub async fn subscribe(&mut self, id: Uuid) {
        self.send_text(
            &serde_json::json!({"type": "subscribe", "doc": id.to_string()}).to_string(),
        )
        .await;
    }

    /// Sends `{"type":"unsubscribe","doc":id}`.
    pub async fn unsubscribe(&mut self, id: Uuid) {
        self.send_text(
            &serde_json::json!({"type": "unsubscribe", "doc": id.to_string()}).to_string(),
        )
        .await;
    }

    /// Ids of the documents listed in `ready`.
    pub fn ready_ids(&self) -> Vec<Uuid> {
        self.ready["docs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The committed heads `ready` listed for document `id` (empty if it
    /// was not listed): what the server holds of it durably. A client whose
    /// changes these heads cover needs no ack for them (a frame without new
    /// changes gets none).
    pub fn ready_heads(&self, id: Uuid) -> Vec<ChangeHash> {
        self.ready["docs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["id"].as_str() == Some(id.to_string().as_str()))
            .flat_map(|d| d["heads"].as_array().cloned().unwrap_or_default())
            .filter_map(|h| h.as_str().and_then(|h| h.parse().ok()))
            .collect()
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        if let Some(conn) = self.conn.as_mut() {
            self.traffic.frames_sent += 1;
            self.traffic.bytes_sent += text.len() as u64;
            let _ = conn.send(ws::Message::Text(text.to_owned().into())).await;
        }
    }

    /// Sends a binary frame as is.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        if let Some(conn) = self.conn.as_mut() {
            self.traffic.frames_sent += 1;
            self.traffic.bytes_sent += bytes.len() as u64;
            let _ = conn.send(ws::Message::Binary(bytes.into())).await;
        }
    }

    /// Sends a sync message for a document.
    pub async fn send_sync(&mut self, id: Uuid, message: &[u8]) {
        let mut frame = id.as_bytes().to_vec();
        frame.extend_from_slice(message);
        self.send_binary(frame).await;
    }

    /// Closes the socket from the client side.
    pub async fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.send(ws::Message::Close(None)).await;
        }
    }

    /// The next thing the server sends, within `timeout`. Answers pings.
    pub async fn next(&mut self, timeout: Duration) -> Option<Incoming> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let conn = self.conn.as_mut()?;
            let frame = match tokio::time::timeout_at(deadline, conn.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => {
                    self.conn = None;
                    self.closed.get_or_insert(None);
                    return Some(Incoming::Closed(None));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                ws::Frame::Text(bytes) => {
                    self.traffic.frames_received += 1;
                    self.traffic.bytes_received += bytes.len() as u64;
                    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    return Some(Incoming::Json(value));
                }
                ws::Frame::Binary(bytes) => {
                    self.traffic.frames_received += 1;
                    self.traffic.bytes_received += bytes.len() as u64;
                    if bytes.len() < 16 {
                        panic!("server sent a binary frame shorter than 16 bytes");
                    }
                    let id = Uuid::from_slice(&bytes[..16]).expect("uuid");
                    return Some(Incoming::Binary(id, bytes[16..].to_vec()));
                }
                ws::Frame::Ping(p) => {
                    let _ = conn.send(ws::Message::Pong(p)).await;
                }
                ws::Frame::Close(reason) => {
                    let reason =
                        reason.map(|r| (u16::from(r.code), r.description.unwrap_or_default()));
                    self.conn = None;
                    self.closed = Some(reason.clone());
                    return Some(Incoming::Closed(reason));
                }
                ws::Frame::Pong(_) | ws::Frame::Continuation(_) => {}
            }
        }
    }

    /// Adds a local document (new or loaded) to sync.
    pub fn add_doc(&mut self, id: Uuid, doc: AutoCommit) {
        self.docs.insert(
            id,
            ClientDoc {
                doc,
                state: State::new(),
                acked: Vec::new(),
            },
        );
    }

    /// The document, if held.
    pub fn doc(&mut self, id: Uuid) -> Option<&mut AutoCommit> {
        self.docs.get_mut(&id).map(|d| &mut d.doc)
    }

    /// Sends the next sync message for `id`, if automerge has one.
    pub async fn sync_doc(&mut self, id: Uuid) -> bool {
        let Some(d) = self.docs.get_mut(&id) else {
            return false;
        };
        let Some(msg) = d.doc.sync().generate_sync_message(&mut d.state) else {
            return false;
        };
        self.send_sync(id, &msg.encode()).await;
        true
    }

    /// Handles one incoming item the way a real client does: binary → apply
    /// and answer, ack → record, doc → start syncing it, error → record.
    pub async fn handle(&mut self, item: Incoming) {
        match item {
            Incoming::Binary(id, bytes) => {
                let d = self.docs.entry(id).or_insert_with(|| ClientDoc {
                    doc: AutoCommit::new(),
                    state: State::new(),
                    acked: Vec::new(),
                });
                if let Ok(msg) = Message::decode(&bytes) {
                    let _ = d.doc.sync().receive_sync_message(&mut d.state, msg);
                }
                self.sync_doc(id).await;
            }
            Incoming::Json(v) => match v["type"].as_str() {
                Some("ack") => {
                    let id = v["doc"].as_str().and_then(|s| Uuid::parse_str(s).ok());
                    let heads: Vec<String> = v["heads"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|h| h.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(id) = id {
                        if let Some(d) = self.docs.get_mut(&id) {
                            d.acked = heads
                                .iter()
                                .filter_map(|h| h.parse::<ChangeHash>().ok())
                                .collect();
                        }
                        self.acks.push((id, heads));
                    }
                }
                Some("doc") => {
                    if let Some(id) = v["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                        self.announced.push(id);
                        self.docs.entry(id).or_insert_with(|| ClientDoc {
                            doc: AutoCommit::new(),
                            state: State::new(),
                            acked: Vec::new(),
                        });
                    }
                }
                Some("kept") => self.kept.push(v),
                Some("unscope") => {
                    if let Some(id) = v["doc"].as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                        self.unscoped.push(id);
                    }
                }
                Some("error") => {
                    let doc = v["doc"].as_str().and_then(|s| Uuid::parse_str(s).ok());
                    let code = v["code"].as_str().unwrap_or_default().to_owned();
                    if (code == "internal" || code == "storage_full")
                        && let Some(d) = doc.and_then(|id| self.docs.get_mut(&id))
                    {
                        // Documented client behaviour: reset this document's sync state.
                        d.state = State::new();
                    }
                    self.errors.push(ErrorFrame {
                        doc,
                        code,
                        message: v["message"].as_str().unwrap_or_default().to_owned(),
                    });
                }
                _ => {}
            },
            Incoming::Closed(reason) => {
                self.closed = Some(reason);
            }
        }
    }

    /// Processes incoming items until `done` holds or `timeout` passes;
    /// returns whether `done` held.
    pub async fn pump_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&SyncClient) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || self.closed.is_some() {
                return done(self);
            }
            match self.next(left).await {
                Some(item) => self.handle(item).await,
                None => return done(self),
            }
        }
        true
    }

    /// Processes incoming items for `quiet` after the last one.
    pub async fn pump_quiet(&mut self, quiet: Duration) {
        while let Some(item) = self.next(quiet).await {
            let closed = matches!(item, Incoming::Closed(_));
            self.handle(item).await;
            if closed {
                return;
            }
        }
    }

    /// Whether every local change of `id` is covered by the last ack.
    pub fn fully_acked(&mut self, id: Uuid) -> bool {
        let Some(d) = self.docs.get_mut(&id) else {
            return false;
        };
        let heads = d.doc.get_heads();
        if heads.is_empty() {
            return true;
        }
        let acked = d.acked.clone();
        // Every local head must be the acked head or one of its ancestors.
        d.doc.get_changes(&acked).is_empty()
            && acked.iter().all(|h| d.doc.get_change_by_hash(h).is_some())
    }

    /// Starts syncing `id` and waits until all its local changes are acked.
    pub async fn sync_until_acked(&mut self, id: Uuid, timeout: Duration) -> bool {
        self.sync_doc(id).await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || self.closed.is_some() {
                return false;
            }
            let errors_before = self.errors.len();
            match self.next(left).await {
                Some(item) => self.handle(item).await,
                None => return false,
            }
            if self.errors.len() > errors_before
                && self
                    .errors
                    .iter()
                    .skip(errors_before)
                    .any(|e| e.doc == Some(id))
            {
                return false;
            }
            if self.fully_acked(id) {
                return true;
            }
        }
    }
}
