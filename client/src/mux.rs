//! A typed client for the multiplexed WebSocket, on the same frame types as
//! the server (`oqto_api::mux`).
//!
//! [`MuxClient::connect`] opens `/api/ws/mux` with a token; commands go out
//! with [`MuxClient::command`] (which waits for the matching `response`) or
//! [`MuxClient::send`]; everything the server sends arrives from
//! [`MuxClient::next`]. After a dropped connection the client reconnects by
//! itself and resubscribes to its chats with the last sequence number it
//! saw, so that missed events are replayed and none arrive twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use oqto_api::mux::{
    AgentCommand, AgentEvent, AgentEventFrame, AgentRequest, BusCommand, BusFrame, BusReply, BusRequest,
    CLOSE_UNAUTHORIZED, ClientFrame, FilesCommand, FilesEvent, FilesRequest, ServerFrame, SystemRequest,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// What [`MuxClient::next`] yields.
// Frames dominate and are moved once through a channel: boxing them would
// only add an allocation per frame.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum MuxEvent {
    /// A frame from the server.
    Frame(ServerFrame),
    /// The connection dropped and was re-established; subscriptions were
    /// renewed with the last sequence numbers seen.
    Reconnected,
    /// The connection ended for good.
    Closed { code: Option<u16>, reason: String },
}

/// The answer to a command.
#[derive(Clone, Debug)]
pub struct CommandResponse {
    pub success: bool,
    pub data: Option<Value>,
    pub error: Option<String>,
}

impl CommandResponse {
    /// The data of a reply the server answers itself (`session.create`,
    /// `list_sessions`), as its contract type; the error when it failed.
    pub fn reply(&self) -> anyhow::Result<oqto_api::mux::ServerReply> {
        if !self.success {
            anyhow::bail!("{}", self.error.clone().unwrap_or_else(|| "the command failed".into()));
        }
        Ok(serde_json::from_value(self.data.clone().unwrap_or(Value::Null))?)
    }
}

enum Control {
    Send(ClientFrame),
    Reconnect,
    Close,
}

/// A reply someone waits for, by request id.
enum Reply {
    Agent(CommandResponse),
    Files(FilesEvent),
    /// A binary frame's header and bytes (a `read` with `binary: true`).
    FileBytes(FilesEvent, Vec<u8>),
    Bus(BusFrame),
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Reply>>>>;

/// A connection to `/api/ws/mux` that survives drops.
pub struct MuxClient {
    control: mpsc::UnboundedSender<Control>,
    events: mpsc::Receiver<MuxEvent>,
    waiters: Waiters,
    next_id: AtomicU64,
}

fn mux_url(base_url: &str) -> String {
    ws_url(base_url, "/api/ws/mux")
}

/// The WebSocket URL of `path` on the server at `base_url` (`http` → `ws`,
/// `https` → `wss`).
pub fn ws_url(base_url: &str, path: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let base = base.strip_prefix("https://").map(|r| format!("wss://{r}")).unwrap_or_else(|| {
        base.strip_prefix("http://").map(|r| format!("ws://{r}")).unwrap_or_else(|| base.to_string())
    });
    format!("{base}{path}")
}

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket at `url` with `token` as `Authorization: Bearer`.
pub async fn open(url: &str, token: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Ok(value) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
        request.headers_mut().insert(http::header::AUTHORIZATION, value);
    }
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

impl MuxClient {
    /// Connects to the server at `base_url` (`http://host:port`) with `token`.
    pub async fn connect(base_url: &str, token: &str) -> anyhow::Result<MuxClient> {
        let url = mux_url(base_url);
        let socket = open(&url, token).await?;
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::channel(4096);
        let waiters: Waiters = Arc::default();
        tokio::spawn(run(url, token.to_string(), socket, control_rx, events_tx, Arc::clone(&waiters)));
        Ok(MuxClient { control: control_tx, events: events_rx, waiters, next_id: AtomicU64::new(0) })
    }

    /// Sends a frame without waiting for anything.
    pub fn send(&self, frame: ClientFrame) {
        let _ = self.control.send(Control::Send(frame));
    }

    /// Sends an agent command for `session_id` and waits for its `response`.
    pub async fn command(&self, session_id: &str, command: AgentCommand) -> anyhow::Result<CommandResponse> {
        let session_id = session_id.to_string();
        match self
            .request(|id| ClientFrame::Agent(AgentRequest { session_id, id: Some(id), command }))
            .await?
        {
            Reply::Agent(response) => Ok(response),
            _ => anyhow::bail!("unexpected reply"),
        }
    }

    /// Sends a frame carrying a fresh request id and waits for its reply.
    async fn request(&self, frame: impl FnOnce(String) -> ClientFrame) -> anyhow::Result<Reply> {
        let id = format!("c{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), tx);
        self.send(frame(id.clone()));
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => anyhow::bail!("the connection ended before the reply"),
            Err(_) => {
                self.waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                anyhow::bail!("no reply within 120 s")
            }
        }
    }

    /// Sends a `files` command for a workspace and waits for its reply
    /// (an `error` reply becomes an `Err`).
    pub async fn files(&self, workspace_path: &str, command: FilesCommand) -> anyhow::Result<FilesEvent> {
        let workspace_path = workspace_path.to_string();
        match self
            .request(|id| ClientFrame::Files(FilesRequest { id: Some(id), workspace_path, command }))
            .await?
        {
            Reply::Files(FilesEvent::Error { error, .. }) => anyhow::bail!(error),
            Reply::Files(event) | Reply::FileBytes(event, _) => Ok(event),
            _ => anyhow::bail!("unexpected reply"),
        }
    }

    /// Reads a file of a workspace (up to 8 MiB), its bytes sent as they
    /// are in a binary frame (no base64).
    pub async fn read_file(&self, workspace_path: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        let (workspace_path, path) = (workspace_path.to_string(), path.to_string());
        let command = FilesCommand::Read { path, binary: Some(true) };
        match self
            .request(|id| ClientFrame::Files(FilesRequest { id: Some(id), workspace_path, command }))
            .await?
        {
            Reply::FileBytes(_, bytes) => Ok(bytes),
            Reply::Files(FilesEvent::Error { error, .. }) => anyhow::bail!(error),
            _ => anyhow::bail!("unexpected reply"),
        }
    }

    /// Sends a `bus` command and waits for its answer (a failed one becomes
    /// an `Err` saying `error_code: error`). Subscriptions are renewed after
    /// a reconnect; their events arrive from [`MuxClient::next`].
    pub async fn bus(&self, command: BusCommand) -> anyhow::Result<BusReply> {
        match self.request(|id| ClientFrame::Bus(BusRequest { id: Some(id), command })).await? {
            Reply::Bus(BusFrame::Response { success: true, data: Some(data), .. }) => Ok(data),
            Reply::Bus(BusFrame::Response { error, error_code, .. }) => anyhow::bail!(
                "{}: {}",
                error_code.unwrap_or_default(),
                error.unwrap_or_else(|| "the bus refused the command".into())
            ),
            _ => anyhow::bail!("unexpected reply"),
        }
    }

    /// The next event (frames other than awaited responses).
    pub async fn next(&mut self) -> Option<MuxEvent> {
        self.events.recv().await
    }

    /// Drops the connection and reconnects now (as after a network drop).
    pub fn reconnect(&self) {
        let _ = self.control.send(Control::Reconnect);
    }

    /// Closes the connection.
    pub fn close(&self) {
        let _ = self.control.send(Control::Close);
    }
}

/// The connection task: writes commands, reads frames, reconnects.
async fn run(
    url: String,
    token: String,
    socket: Socket,
    mut control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::Sender<MuxEvent>,
    waiters: Waiters,
) {
    // Chats this client follows, with the last sequence number seen.
    let mut followed: HashMap<String, u64> = HashMap::new();
    // Bus subscriptions, renewed (without a request id) after a reconnect.
    let mut bus_subscriptions: Vec<ClientFrame> = Vec::new();
    let mut socket = Some(socket);
    loop {
        let mut ws = match socket.take() {
            Some(ws) => ws,
            None => {
                let mut attempt = 0u32;
                loop {
                    tokio::time::sleep(Duration::from_millis(100u64 << attempt.min(5))).await;
                    match open(&url, &token).await {
                        Ok(ws) => break ws,
                        Err(e) if attempt >= 8 => {
                            let _ = events
                                .send(MuxEvent::Closed {
                                    code: None,
                                    reason: format!("reconnecting failed: {e}"),
                                })
                                .await;
                            return;
                        }
                        Err(_) => attempt += 1,
                    }
                }
            }
        };
        if !followed.is_empty() || !bus_subscriptions.is_empty() {
            for frame in &bus_subscriptions {
                let _ = ws.send(Message::Text(serde_json::to_string(frame).unwrap_or_default().into())).await;
            }
            for (session_id, last_seq) in &followed {
                let frame = ClientFrame::System(SystemRequest::Subscribe {
                    session_id: session_id.clone(),
                    last_seq: Some(*last_seq),
                });
                let _ =
                    ws.send(Message::Text(serde_json::to_string(&frame).unwrap_or_default().into())).await;
            }
            let _ = events.send(MuxEvent::Reconnected).await;
        }
        loop {
            tokio::select! {
                ctrl = control.recv() => match ctrl {
                    Some(Control::Send(frame)) => {
                        match &frame {
                            ClientFrame::Agent(AgentRequest { session_id, command: AgentCommand::SessionCreate { .. }, .. })
                            | ClientFrame::System(SystemRequest::Subscribe { session_id, .. }) => {
                                followed.entry(session_id.clone()).or_insert(0);
                            }
                            ClientFrame::Agent(AgentRequest { session_id, command: AgentCommand::SessionClose | AgentCommand::SessionDelete, .. })
                            | ClientFrame::System(SystemRequest::Unsubscribe { session_id }) => {
                                followed.remove(session_id);
                            }
                            ClientFrame::Bus(BusRequest { command: command @ BusCommand::Subscribe(_), .. }) => {
                                bus_subscriptions.push(ClientFrame::Bus(BusRequest { id: None, command: command.clone() }));
                            }
                            ClientFrame::Bus(BusRequest { command: BusCommand::Unsubscribe(gone), .. }) => {
                                bus_subscriptions.retain(|frame| !matches!(frame,
                                    ClientFrame::Bus(BusRequest { command: BusCommand::Subscribe(held), .. })
                                        if held.scope == gone.scope && held.scope_id == gone.scope_id && held.topics == gone.topics));
                            }
                            _ => {}
                        }
                        let text = serde_json::to_string(&frame).unwrap_or_default();
                        if ws.send(Message::Text(text.into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Control::Reconnect) => break,
                    Some(Control::Close) | None => {
                        let _ = ws.close(None).await;
                        return;
                    }
                },
                message = ws.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        let Ok(frame) = serde_json::from_str::<ServerFrame>(text.as_str()) else { continue };
                        if let ServerFrame::Agent(AgentEventFrame { session_id, seq: Some(seq), .. }) = &frame {
                            let last = followed.entry(session_id.clone()).or_insert(0);
                            if *seq <= *last {
                                continue;
                            }
                            *last = *seq;
                        }
                        if let Some((id, reply)) = reply_of(&frame) {
                            let waiter = waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                            if let Some(waiter) = waiter {
                                let _ = waiter.send(reply);
                                continue;
                            }
                        }
                        if events.send(MuxEvent::Frame(frame)).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(Message::Binary(frame))) => {
                        let Some((ServerFrame::Files(header), bytes)) = oqto_api::mux::split_binary_frame(&frame) else {
                            continue;
                        };
                        let Some(id) = header.id().map(str::to_string) else { continue };
                        let waiter = waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(Reply::FileBytes(header, bytes.to_vec()));
                        }
                    }
                    Some(Ok(Message::Close(close))) => {
                        let code = close.as_ref().map(|c| u16::from(c.code));
                        if code == Some(CLOSE_UNAUTHORIZED) {
                            let reason = close.map(|c| c.reason.to_string()).unwrap_or_default();
                            let _ = events.send(MuxEvent::Closed { code, reason }).await;
                            return;
                        }
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
            }
        }
    }
}

/// The request id and reply a frame carries, if it answers a request.
fn reply_of(frame: &ServerFrame) -> Option<(String, Reply)> {
    match frame {
        ServerFrame::Agent(AgentEventFrame {
            event: AgentEvent::Response { id: Some(id), success, data, error, .. },
            ..
        }) => {
            let response = CommandResponse { success: *success, data: data.clone(), error: error.clone() };
            Some((id.clone(), Reply::Agent(response)))
        }
        ServerFrame::Files(event) => Some((event.id()?.to_string(), Reply::Files(event.clone()))),
        ServerFrame::Bus(frame @ BusFrame::Response { id: Some(id), .. }) => {
            Some((id.clone(), Reply::Bus(frame.clone())))
        }
        _ => None,
    }
}
