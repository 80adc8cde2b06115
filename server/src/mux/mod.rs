//! The multiplexed WebSocket: one task per connection (reader, writer,
//! heartbeat), a dispatcher by `channel`, one module per channel.

pub mod agent;
pub mod bus;
pub mod files;
pub mod hstry;
pub mod outbox;
pub mod system;
pub mod terminal;
pub mod trx;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dropshot::WebsocketConnection;
use futures::{SinkExt, StreamExt};
use oqto_api::mux::{
    CLOSE_UNAUTHORIZED, ClientFrame, MAX_CLIENT_FRAME_BYTES, MuxConnectionDebug, MuxDebugView, ServerFrame,
    SystemEvent, SystemRequest,
};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::auth::{Caller, Grant};
use crate::context::ServerContext;
use crate::error::Error;
use outbox::{OutFrame, Outbox};

/// One open connection, as the channels see it.
pub struct Connection {
    pub id: u64,
    pub caller: Caller,
    pub outbox: Arc<Outbox>,
    pub subscriptions: Mutex<HashSet<String>>,
    /// File watchers by workspace (`files` channel); dropped with the connection.
    watchers: Mutex<HashMap<String, notify::RecommendedWatcher>>,
    /// Open terminals (`terminal` channel); killed with the connection.
    terminals: terminal::Terminals,
    opened: Instant,
}

impl Connection {
    /// Sends a server frame to this connection.
    pub fn send(&self, frame: &ServerFrame) {
        self.outbox.push(OutFrame::from_frame(frame));
    }

    /// Sends a binary frame (`oqto_api::mux::binary_frame`).
    pub fn send_binary(&self, frame: Vec<u8>) {
        self.outbox.push(OutFrame::Binary(frame.into()));
    }

    /// Sends a `system` error frame.
    pub fn error(&self, log: &slog::Logger, error: Error, id: Option<String>) {
        let (error_code, error) = self.failure(log, error);
        self.send(&ServerFrame::System(SystemEvent::Error { error, id, error_code }));
    }

    /// What the client sees of a failed command, `(error_code, message)`,
    /// exactly as HTTP shows it: an internal cause is logged with the
    /// connection, never sent.
    pub fn failure(&self, log: &slog::Logger, error: Error) -> (String, String) {
        if let Error::Internal(cause) = &error {
            slog::error!(log, "mux command failed"; "connection" => self.id, "user_id" => &self.caller.user_id,
                "error" => format!("{cause:#}"));
        }
        (error.code().to_string(), error.public_message())
    }

    pub fn subscriptions(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn terminals(&self) -> &terminal::Terminals {
        &self.terminals
    }

    pub fn watchers(&self) -> std::sync::MutexGuard<'_, HashMap<String, notify::RecommendedWatcher>> {
        self.watchers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Every open connection of this server.
#[derive(Default)]
pub struct Hub {
    next: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Hub {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh subscriber id (connections and in-server subscribers).
    pub fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.map().len()
    }

    /// Sends a frame to every connection of a user; returns how many.
    pub fn send_to_user(&self, user_id: &str, frame: &ServerFrame) -> usize {
        let targets: Vec<Arc<Connection>> =
            self.map().values().filter(|c| c.caller.user_id == user_id).cloned().collect();
        if targets.is_empty() {
            return 0;
        }
        let out = OutFrame::from_frame(frame);
        for conn in &targets {
            conn.outbox.push(out.clone());
        }
        targets.len()
    }

    /// Closes every connection of a user now (code and reason as given),
    /// killing their terminals at once rather than when the socket ends.
    pub fn close_user(&self, user_id: &str, code: u16, reason: &str) {
        let conns: Vec<_> = self.map().values().filter(|c| c.caller.user_id == user_id).cloned().collect();
        for conn in conns {
            conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).clear();
            conn.outbox.close(code, reason);
        }
    }

    /// Process ids of every open terminal (its sandbox).
    pub fn terminal_pids(&self) -> Vec<u32> {
        self.map()
            .values()
            .flat_map(|c| {
                c.terminals()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .filter_map(|t| t.pid())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Terminals a user has open, over all their connections.
    pub fn terminals_of_user(&self, user_id: &str) -> usize {
        self.map()
            .values()
            .filter(|c| c.caller.user_id == user_id)
            .map(|c| c.terminals().lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Closes every connection (the server is stopping).
    pub fn close_all(&self) {
        for conn in self.map().values() {
            conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).clear();
            conn.outbox.close(oqto_api::mux::CLOSE_GOING_AWAY, "the server is stopping");
        }
    }

    /// Closes every terminal running in a workspace session (it stopped).
    pub fn close_terminals_of(&self, session_id: &str) {
        for conn in self.map().values() {
            conn.terminals()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|_, t| t.session_id.as_deref() != Some(session_id));
        }
    }

    /// What `GET /api/ws/debug` shows: the count to anyone, each
    /// connection's subscriptions (chat ids) only to an administrator.
    pub fn debug(&self, show_details: bool) -> MuxDebugView {
        let mut details: Vec<MuxConnectionDebug> = self
            .map()
            .values()
            .map(|c| {
                let mut subscriptions: Vec<String> = c.subscriptions().iter().cloned().collect();
                subscriptions.sort();
                MuxConnectionDebug {
                    connection_id: format!("conn_{}", c.id),
                    subscriptions,
                    queue_depth: c.outbox.depth() as u32,
                    age_secs: c.opened.elapsed().as_secs(),
                }
            })
            .collect();
        details.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        let connections = details.len() as u32;
        MuxDebugView { connections, details: if show_details { details } else { Vec::new() } }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Serves one upgraded connection until it closes.
pub async fn serve(ctx: Arc<ServerContext>, caller: Caller, grant: Grant, upgraded: WebsocketConnection) {
    // Small buffers: an idle connection should cost little memory (the
    // defaults reserve 128 KiB each); they grow while frames are large.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(Some(MAX_CLIENT_FRAME_BYTES))
        .max_frame_size(Some(MAX_CLIENT_FRAME_BYTES));
    let ws = WebSocketStream::from_raw_socket(upgraded.into_inner(), Role::Server, Some(config)).await;
    let (mut sink, mut stream) = ws.split();
    let id = ctx.hub.next_id();
    let outbox = Arc::new(Outbox::new(id, ctx.config.mux.queue_frames, ctx.config.mux.queue_bytes));
    let conn = Arc::new(Connection {
        id,
        caller,
        outbox: Arc::clone(&outbox),
        subscriptions: Mutex::new(HashSet::new()),
        watchers: Mutex::new(HashMap::new()),
        terminals: Mutex::new(HashMap::new()),
        opened: Instant::now(),
    });
    ctx.hub.map().insert(id, Arc::clone(&conn));
    conn.send(&ServerFrame::System(SystemEvent::Connected { connection_id: format!("conn_{id}") }));

    let writer_outbox = Arc::clone(&outbox);
    let mut writer = tokio::spawn(async move {
        loop {
            for frame in writer_outbox.take_all().await {
                let message = match frame {
                    OutFrame::Close { code, reason } => {
                        let close = CloseFrame { code: code.into(), reason: reason.into() };
                        let _ = sink.send(Message::Close(Some(close))).await;
                        let _ = sink.close().await;
                        return;
                    }
                    OutFrame::Binary(bytes) => Message::Binary(bytes),
                    other => Message::Text(other.render().into()),
                };
                if sink.send(message).await.is_err() {
                    return;
                }
            }
        }
    });

    let heartbeat_ctx = Arc::clone(&ctx);
    let heartbeat_outbox = Arc::clone(&outbox);
    let heartbeat = tokio::spawn(async move {
        let period = Duration::from_secs(heartbeat_ctx.config.mux.ping_interval_secs);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            if let Err(e) = crate::auth::check_grant(&heartbeat_ctx, &grant).await {
                heartbeat_outbox.close(CLOSE_UNAUTHORIZED, &e.to_string());
                return;
            }
            heartbeat_outbox
                .push(OutFrame::from_frame(&ServerFrame::System(SystemEvent::Ping { ts: now_ms() })));
        }
    });

    let mut lanes = Lanes::default();
    loop {
        tokio::select! {
            _ = &mut writer => break,
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => lanes.route(&ctx, &conn, text.as_str()),
                Some(Ok(Message::Binary(_))) => conn.error(&ctx.log, Error::BadRequest("binary frames are not supported; send JSON text".into()), None),
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    slog::info!(ctx.log, "mux connection error"; "connection" => id, "error" => %e);
                    outbox.close(1009, "frame too large or malformed");
                    let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
                    break;
                }
            },
        }
    }
    drop(lanes);
    heartbeat.abort();
    writer.abort();
    conn.watchers().clear();
    conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).clear();
    ctx.chats.unsubscribe_all(id);
    ctx.bus.drop_connection(id);
    ctx.hub.map().remove(&id);
}

/// Commands queued on one lane before the client is told to slow down.
const LANE_QUEUE: usize = 256;
/// Lanes (chats and channels) one connection may have at once.
const MAX_LANES: usize = 512;

/// The reader's side of command handling: each chat (and each other
/// channel) is a lane with its own worker task, so a slow command (closing
/// a chat waits for its agent to stop) holds up only later commands of
/// the same chat, in order, and never the reader.
#[derive(Default)]
struct Lanes {
    lanes: HashMap<String, tokio::sync::mpsc::Sender<ClientFrame>>,
}

impl Lanes {
    /// Routes one client frame to its lane. Subscriptions go on their
    /// chat's lane (after that chat's `session.create`); pings are answered
    /// at once.
    fn route(&mut self, ctx: &Arc<ServerContext>, conn: &Arc<Connection>, text: &str) {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => {
                let id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
                conn.error(&ctx.log, Error::BadRequest(format!("malformed frame: {e}")), id);
                return;
            }
        };
        let lane = match &frame {
            ClientFrame::System(
                SystemRequest::Subscribe { session_id, .. } | SystemRequest::Unsubscribe { session_id },
            ) => format!("agent:{session_id}"),
            ClientFrame::System(request) => return system::handle(ctx, conn, request.clone()),
            ClientFrame::Agent(request) => format!("agent:{}", request.session_id),
            ClientFrame::Files(_) => "files".to_string(),
            ClientFrame::Hstry(_) => "hstry".to_string(),
            ClientFrame::Trx(_) => "trx".to_string(),
            ClientFrame::Terminal(_) => "terminal".to_string(),
            ClientFrame::Bus(_) => "bus".to_string(),
        };
        self.lanes.retain(|_, tx| !tx.is_closed());
        if !self.lanes.contains_key(&lane) && self.lanes.len() >= MAX_LANES {
            conn.error(
                &ctx.log,
                Error::Conflict(format!("at most {MAX_LANES} chats at once per connection")),
                None,
            );
            return;
        }
        let tx = self.lanes.entry(lane).or_insert_with(|| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<ClientFrame>(LANE_QUEUE);
            let (ctx, conn) = (Arc::clone(ctx), Arc::clone(conn));
            tokio::spawn(async move {
                while let Some(frame) = rx.recv().await {
                    dispatch(&ctx, &conn, frame).await;
                }
            });
            tx
        });
        if tx.try_send(frame).is_err() {
            conn.error(&ctx.log, Error::Busy { retry_after_secs: 1 }, None);
        }
    }
}

/// Runs one client frame on its channel.
async fn dispatch(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, frame: ClientFrame) {
    match frame {
        ClientFrame::Agent(request) => agent::handle(ctx, conn, request).await,
        ClientFrame::System(request) => system::handle(ctx, conn, request),
        ClientFrame::Files(request) => files::handle(ctx, conn, request).await,
        ClientFrame::Hstry(request) => hstry::handle(ctx, conn, request).await,
        ClientFrame::Trx(request) => trx::handle(ctx, conn, request).await,
        ClientFrame::Terminal(request) => terminal::handle(ctx, conn, request).await,
        ClientFrame::Bus(request) => bus::handle(ctx, conn, request).await,
    }
}
