//! Frames of the multiplexed WebSocket (`/api/ws/mux`).
//!
//! Wire-compatible with the original's envelope: every frame is one JSON
//! object in a text message with a `channel`. Agent commands carry
//! `session_id` (the chat id), an optional `id` and `cmd` with the command's
//! fields beside it; agent events carry `session_id`, `ts` (ms), `seq` (a
//! per-chat sequence number, new in Oqto) and `event` with its fields beside
//! it. The `system` channel uses `type`. `codegen` writes the JSON Schema of
//! [`MuxFrame`] to `api-spec/openapi/mux.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Any frame, either way (the root of the generated JSON Schema).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MuxFrame {
    /// Client to server.
    Client(ClientFrame),
    /// Server to client.
    Server(ServerFrame),
    /// The `data` of a `response` the server answers itself (not the agent).
    Reply(ServerReply),
}

/// What the server itself puts in a `response`'s `data` (commands the
/// agent answers carry the agent's own data).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ServerReply {
    /// `session.create`.
    Opened(ChatOpened),
    /// `list_sessions`.
    Chats(Vec<ChatSummary>),
    /// A `prompt` whose `client_id` was seen already (not sent again).
    Duplicate(PromptDuplicate),
}

/// The answer to `session.create`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ChatOpened {
    pub session_id: String,
    /// Whether the agent resumed from an existing session file.
    pub resumed: bool,
    /// The chat's latest sequence number (replay starts after it).
    pub seq: u64,
}

/// One chat in `list_sessions`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ChatSummary {
    pub session_id: String,
    /// `stopped`, `stopping`, `streaming` or `idle`.
    pub state: String,
    /// The working directory, relative to the workspace root.
    pub cwd: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub workspace_session_id: Option<String>,
    /// Unix milliseconds of the last activity.
    pub last_activity: i64,
    pub subscriber_count: usize,
    pub seq: u64,
}

/// The user's action on a surface.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct A2uiActionBody {
    pub surface_id: String,
    /// The blocking surface's request (from its `a2ui.surface` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub action: crate::a2ui::A2uiAction,
}

/// The answer to a repeated prompt.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PromptDuplicate {
    /// Always `true`.
    pub duplicate: bool,
}

// ------------------------------------------------------------ client → server

/// A frame sent by a client.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum ClientFrame {
    /// A command for a chat's agent.
    Agent(AgentRequest),
    /// Connection housekeeping.
    System(SystemRequest),
    /// Files of a workspace.
    Files(FilesRequest),
    /// Chat history queries.
    Hstry(HstryRequest),
    /// The workspace's issue list.
    Trx(TrxRequest),
    /// Terminals in a workspace.
    Terminal(TerminalRequest),
    /// The event bus.
    Bus(BusRequest),
}

/// A command for a chat (`{"channel":"agent","session_id":…,"id":…,"cmd":…}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct AgentRequest {
    /// The chat's id, chosen by the client at `session.create` (empty for
    /// `list_sessions`).
    #[serde(default)]
    pub session_id: String,
    /// Request id, repeated in the `response` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The command and its fields.
    #[serde(flatten)]
    pub command: AgentCommand,
}

/// Settings of a new chat.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct ChatConfig {
    /// The agent harness; only `pi` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<String>,
    /// Working directory: relative to the caller's workspace root, or an
    /// absolute path inside it (default: the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Model provider to start with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model to start with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Resume from the chat's session file when there is one (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_session: Option<bool>,
}

/// An image attached to a prompt.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PromptImage {
    /// Base64 data.
    pub data: String,
    /// `image/png`, `image/jpeg`, …
    pub media_type: String,
}

/// A message for the agent.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PromptBody {
    /// The text (must not be empty).
    pub message: String,
    /// Attached images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<PromptImage>>,
    /// Makes the prompt idempotent: a resend with the same id is accepted
    /// and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// The agent commands (`cmd`). Each is answered by exactly one `response`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "cmd")]
pub enum AgentCommand {
    /// Start (or attach to) the chat and subscribe this connection to it.
    /// Idempotent; resumes from the chat's session file when one exists.
    /// With `last_seq`, missed events after it are replayed.
    #[serde(rename = "session.create")]
    SessionCreate {
        #[serde(default)]
        config: ChatConfig,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
    },
    /// Unsubscribe and stop the chat's agent (its history stays).
    #[serde(rename = "session.close")]
    SessionClose,
    /// Stop the chat's agent and delete its history.
    #[serde(rename = "session.delete")]
    SessionDelete,
    /// Send a message (queued as a steer when the agent is busy).
    #[serde(rename = "prompt")]
    Prompt(PromptBody),
    /// The user acted on a surface of the chat (`a2ui.surface`): a blocking
    /// surface's request gets the action; any other action reaches the
    /// chat's agent as a user message.
    #[serde(rename = "a2ui.action")]
    A2uiAction(A2uiActionBody),
    /// Steer the running turn.
    #[serde(rename = "steer")]
    Steer(PromptBody),
    /// Queue a message for after the running turn.
    #[serde(rename = "follow_up")]
    FollowUp(PromptBody),
    /// Stop the running turn.
    #[serde(rename = "abort")]
    Abort,
    /// Answer an `agent.input_needed` request.
    #[serde(rename = "input_response")]
    InputResponse {
        request_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirmed: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cancelled: Option<bool>,
    },
    /// The agent's state.
    #[serde(rename = "get_state")]
    GetState,
    /// The chat's messages.
    #[serde(rename = "get_messages")]
    GetMessages,
    /// Token and cost statistics.
    #[serde(rename = "get_stats")]
    GetStats,
    /// Available models.
    #[serde(rename = "get_models")]
    GetModels {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workdir: Option<String>,
    },
    /// Available slash commands.
    #[serde(rename = "get_commands")]
    GetCommands,
    /// Messages a fork can start from.
    #[serde(rename = "get_fork_points")]
    GetForkPoints,
    /// The caller's chats.
    #[serde(rename = "list_sessions")]
    ListSessions,
    /// Switch the model.
    #[serde(rename = "set_model")]
    SetModel { provider: String, model_id: String },
    /// Switch to the next model.
    #[serde(rename = "cycle_model")]
    CycleModel,
    /// Set the thinking level (off, minimal, low, medium, high, xhigh).
    #[serde(rename = "set_thinking_level")]
    SetThinkingLevel { level: String },
    /// Switch to the next thinking level.
    #[serde(rename = "cycle_thinking_level")]
    CycleThinkingLevel,
    /// Turn automatic compaction on or off.
    #[serde(rename = "set_auto_compaction")]
    SetAutoCompaction { enabled: bool },
    /// Turn automatic retries on or off.
    #[serde(rename = "set_auto_retry")]
    SetAutoRetry { enabled: bool },
    /// Compact the context now.
    #[serde(rename = "compact")]
    Compact {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instructions: Option<String>,
    },
    /// Stop a pending retry.
    #[serde(rename = "abort_retry")]
    AbortRetry,
    /// Name the chat.
    #[serde(rename = "set_session_name")]
    SetSessionName { name: String },
    /// Fork the chat from an earlier message.
    #[serde(rename = "fork")]
    Fork { entry_id: String },
}

impl AgentCommand {
    /// The wire name of the command (`cmd`).
    pub fn name(&self) -> &'static str {
        match self {
            AgentCommand::SessionCreate { .. } => "session.create",
            AgentCommand::SessionClose => "session.close",
            AgentCommand::SessionDelete => "session.delete",
            AgentCommand::Prompt(_) => "prompt",
            AgentCommand::A2uiAction(_) => "a2ui.action",
            AgentCommand::Steer(_) => "steer",
            AgentCommand::FollowUp(_) => "follow_up",
            AgentCommand::Abort => "abort",
            AgentCommand::InputResponse { .. } => "input_response",
            AgentCommand::GetState => "get_state",
            AgentCommand::GetMessages => "get_messages",
            AgentCommand::GetStats => "get_stats",
            AgentCommand::GetModels { .. } => "get_models",
            AgentCommand::GetCommands => "get_commands",
            AgentCommand::GetForkPoints => "get_fork_points",
            AgentCommand::ListSessions => "list_sessions",
            AgentCommand::SetModel { .. } => "set_model",
            AgentCommand::CycleModel => "cycle_model",
            AgentCommand::SetThinkingLevel { .. } => "set_thinking_level",
            AgentCommand::CycleThinkingLevel => "cycle_thinking_level",
            AgentCommand::SetAutoCompaction { .. } => "set_auto_compaction",
            AgentCommand::SetAutoRetry { .. } => "set_auto_retry",
            AgentCommand::Compact { .. } => "compact",
            AgentCommand::AbortRetry => "abort_retry",
            AgentCommand::SetSessionName { .. } => "set_session_name",
            AgentCommand::Fork { .. } => "fork",
        }
    }
}

/// Housekeeping from the client (`{"channel":"system","type":…}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemRequest {
    /// Asks for a `pong`.
    Ping,
    /// Answers the server's `ping`.
    Pong,
    /// Subscribe to a chat's events (the caller's own chats only). With
    /// `last_seq`, the events after it are replayed first; when they are no
    /// longer kept, `stream.resync_required` says to reload the messages.
    Subscribe {
        session_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
    },
    /// Stop receiving a chat's events.
    Unsubscribe { session_id: String },
}

// ------------------------------------------------------------ server → client

/// A frame sent by the server.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum ServerFrame {
    /// An event of a chat, or the response to an agent command.
    Agent(AgentEventFrame),
    /// Connection housekeeping.
    System(SystemEvent),
    /// Replies and events of the `files` channel.
    Files(FilesEvent),
    /// Replies of the `hstry` channel.
    Hstry(HstryEvent),
    /// Replies of the `trx` channel.
    Trx(TrxEvent),
    /// Replies and output of the `terminal` channel.
    Terminal(TerminalEvent),
    /// Replies and events of the `bus` channel.
    Bus(BusFrame),
    /// Steering of the user's web client (`POST /api/ui/*`).
    Ui(UiEvent),
}

/// An agent event (`{"channel":"agent","session_id":…,"ts":…,"seq":…,"event":…}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct AgentEventFrame {
    /// The chat.
    pub session_id: String,
    /// When the server emitted it, in Unix milliseconds.
    pub ts: i64,
    /// Position in the chat's event stream (absent on `response`, which
    /// goes only to the requester). Strictly increasing per chat; a
    /// coalesced `stream.text_delta` carries the last merged number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The event and its fields.
    #[serde(flatten)]
    pub event: AgentEvent,
}

/// What an `hstry` query found.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum HstryData {
    /// A chat's messages (`session_id` was given).
    Messages(Vec<crate::history::ChatMessage>),
    /// Search hits (`query` was given).
    Search(crate::history::SearchResults),
}

/// The canonical agent events (`event`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "event")]
pub enum AgentEvent {
    /// The answer to a command.
    #[serde(rename = "response")]
    Response {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        cmd: String,
        success: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// With `error`: the same code HTTP errors carry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
    },
    /// The chat's agent started (`resumed`: from an existing session file).
    #[serde(rename = "session.created")]
    SessionCreated { resumed: bool, harness: String },
    /// A surface the chat's agent shows (or, with a `deleteSurface`
    /// message, removes); an open one is sent again to a viewer that
    /// subscribes later. A blocking one carries the `request_id` its
    /// `a2ui.action` names.
    #[serde(rename = "a2ui.surface")]
    A2uiSurface {
        surface_id: String,
        messages: Vec<Value>,
        blocking: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// A delegate of this chat took a prompt (`request_id` names this
    /// round in the events that follow).
    #[serde(rename = "delegate.start")]
    DelegateStart {
        request_id: String,
        target_session_id: String,
        /// Always `local`: the delegate runs under this server.
        target_runner_id: String,
        /// Always `async`: the caller follows it through these events.
        mode: String,
    },
    /// Text the delegate streams.
    #[serde(rename = "delegate.delta")]
    DelegateDelta { request_id: String, delta: String },
    /// The delegate is done with the prompt.
    #[serde(rename = "delegate.end")]
    DelegateEnd {
        request_id: String,
        response: crate::delegate::DelegateMessage,
        responder: crate::delegate::DelegateResponder,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// The delegate failed on the prompt or was stopped.
    #[serde(rename = "delegate.error")]
    DelegateError { request_id: String, error: String, code: crate::delegate::DelegateErrorCode },
    /// The chat's agent stopped.
    #[serde(rename = "session.closed")]
    SessionClosed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The agent waits for input.
    #[serde(rename = "agent.idle")]
    AgentIdle,
    /// The agent works (`phase`: generating, thinking, tool_running, compacting, retrying).
    #[serde(rename = "agent.working")]
    AgentWorking {
        phase: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Something went wrong.
    #[serde(rename = "agent.error")]
    AgentError {
        error: String,
        recoverable: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phase: Option<String>,
    },
    /// The agent asks the user (select, confirm, input).
    #[serde(rename = "agent.input_needed")]
    InputNeeded { request: Value },
    /// A user message, as sent by one of the chat's viewers.
    #[serde(rename = "stream.user_message")]
    UserMessage {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// An assistant message begins.
    #[serde(rename = "stream.message_start")]
    MessageStart { message_id: String, role: String },
    /// Text of the current message.
    #[serde(rename = "stream.text_delta")]
    TextDelta { message_id: String, delta: String, content_index: u32 },
    /// Thinking of the current message.
    #[serde(rename = "stream.thinking_delta")]
    ThinkingDelta { message_id: String, delta: String, content_index: u32 },
    /// A tool call begins in the current message.
    #[serde(rename = "stream.tool_call_start")]
    ToolCallStart {
        message_id: String,
        content_index: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_call_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Arguments of a tool call, streamed.
    #[serde(rename = "stream.tool_call_delta")]
    ToolCallDelta { message_id: String, content_index: u32, delta: String },
    /// A tool call is complete.
    #[serde(rename = "stream.tool_call_end")]
    ToolCallEnd {
        message_id: String,
        content_index: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_call: Option<Value>,
    },
    /// The message is complete.
    #[serde(rename = "stream.message_end")]
    MessageEnd { message: Value },
    /// The assistant finished (`reason`: stop, toolUse, aborted, error, …).
    #[serde(rename = "stream.done")]
    StreamDone { reason: String },
    /// Events were lost for this client: reload the messages.
    #[serde(rename = "stream.resync_required")]
    ResyncRequired { dropped_count: u64, reason: String },
    /// A tool starts running.
    #[serde(rename = "tool.start")]
    ToolStart {
        tool_call_id: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<Value>,
    },
    /// A running tool's output so far.
    #[serde(rename = "tool.progress")]
    ToolProgress { tool_call_id: String, name: String, partial_output: Value },
    /// A tool finished.
    #[serde(rename = "tool.end")]
    ToolEnd {
        tool_call_id: String,
        name: String,
        output: Value,
        is_error: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// An automatic retry begins.
    #[serde(rename = "retry.start")]
    RetryStart { details: Value },
    /// An automatic retry ended.
    #[serde(rename = "retry.end")]
    RetryEnd { details: Value },
    /// Compaction begins.
    #[serde(rename = "compact.start")]
    CompactStart { reason: String },
    /// Compaction ended.
    #[serde(rename = "compact.end")]
    CompactEnd { details: Value },
    /// A notice for the user (`level`: info, warning, error).
    #[serde(rename = "notify")]
    Notify { level: String, message: String },
}

impl AgentEvent {
    /// The wire name of the event.
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("event").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }
}

/// Housekeeping from the server (`{"channel":"system","type":…}`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemEvent {
    /// First frame on every connection.
    Connected { connection_id: String },
    /// Sent every 10 seconds; answer with `pong`.
    Ping { ts: i64 },
    /// The answer to the client's `ping`.
    Pong { ts: i64 },
    /// A frame could not be handled; the connection stays open.
    Error {
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The same code HTTP errors carry (`InvalidValue`, `ObjectNotFound`, …).
        #[serde(default)]
        error_code: String,
    },
    /// The connection now receives the chat's events; `seq` is the chat's
    /// latest sequence number.
    Subscribed { session_id: String, seq: u64 },
    /// The connection no longer receives the chat's events.
    Unsubscribed { session_id: String },
}

/// WebSocket close code: the client could not keep up (bounded queue full).
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// WebSocket close code: the server is stopping.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code: the token expired or was revoked.
pub const CLOSE_UNAUTHORIZED: u16 = 4001;
/// Largest accepted client frame, in bytes.
pub const MAX_CLIENT_FRAME_BYTES: usize = 1024 * 1024;

/// A binary WebSocket frame from the server: the JSON of a server frame
/// (which holds no raw newline), a newline, then raw bytes: the content of
/// a `files` `read` sent with `binary: true`, whose `read_result` is the
/// header (with `content` empty). No base64, no JSON around the bytes.
pub fn binary_frame(header: &ServerFrame, body: &[u8]) -> Vec<u8> {
    let mut frame = serde_json::to_vec(header).unwrap_or_default();
    frame.reserve_exact(1 + body.len());
    frame.push(b'\n');
    frame.extend_from_slice(body);
    frame
}

/// The header and the bytes of a [`binary_frame`]; `None` when it is not one.
pub fn split_binary_frame(frame: &[u8]) -> Option<(ServerFrame, &[u8])> {
    let newline = frame.iter().position(|b| *b == b'\n')?;
    let header = serde_json::from_slice(&frame[..newline]).ok()?;
    Some((header, &frame[newline + 1..]))
}

/// The status of live mux connections (`GET /api/ws/debug`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MuxDebugView {
    /// Open connections.
    pub connections: u32,
    /// One entry per connection.
    pub details: Vec<MuxConnectionDebug>,
}

/// One live connection (no user, token or email).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MuxConnectionDebug {
    /// Connection id (as in `connected`).
    pub connection_id: String,
    /// Subscribed chats.
    pub subscriptions: Vec<String>,
    /// Frames waiting to be sent.
    pub queue_depth: u32,
    /// Seconds since it opened.
    pub age_secs: u64,
}

/// Query of the mux upgrade.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct MuxQuery {
    /// For browsers, which cannot set headers on a WebSocket: a mux ticket
    /// (`mux_ticket_create`), or a session token as the original accepted.
    #[serde(default)]
    pub token: Option<String>,
}

/// A short-lived, single-use ticket that opens the mux.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MuxTicket {
    /// Pass it as `/api/ws/mux?token=…`.
    pub ticket: String,
    /// It cannot open a socket after this (60 seconds from now).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

// ------------------------------------------------------------------- files

/// A request on the `files` channel
/// (`{"channel":"files","type":…,"id":…,"workspace_path":…}`). Every path
/// is relative to the workspace; nothing outside it can be named.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FilesRequest {
    /// Request id, repeated in the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The workspace (relative to the caller's workspace root; the root
    /// itself when absent, as `copy_to_workspace` sends it).
    #[serde(default)]
    pub workspace_path: String,
    /// The command and its fields.
    #[serde(flatten)]
    pub command: FilesCommand,
}

/// The `files` commands (`type`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilesCommand {
    /// Entries below `path`, `depth` levels deep (1 to 8, default 1).
    Tree {
        #[serde(default)]
        path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        include_hidden: Option<bool>,
    },
    /// One entry (`exists: false` when there is none).
    Stat { path: String },
    /// The entries of one directory, directories first, then by name
    /// (case-insensitive).
    List {
        #[serde(default)]
        path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        include_hidden: Option<bool>,
    },
    /// A file's content, up to 8 MiB: base64 in `read_result.content`, or,
    /// with `binary: true`, raw in one binary WebSocket frame.
    Read {
        path: String,
        /// Send the bytes raw: one binary frame holding the `read_result`
        /// JSON (its `content` empty), a newline, then the file's bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        binary: Option<bool>,
    },
    /// Writes a file (content base64).
    Write {
        path: String,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_parents: Option<bool>,
    },
    /// Creates a directory.
    CreateDirectory {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create_parents: Option<bool>,
    },
    /// Renames (moves) an entry.
    Rename { from: String, to: String },
    /// Copies a file or a directory tree.
    Copy {
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overwrite: Option<bool>,
    },
    /// Moves a file or a directory tree (refused onto an existing entry
    /// unless `overwrite`).
    Move {
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overwrite: Option<bool>,
    },
    /// Copies from one of the caller's workspaces into another (both named
    /// relative to the caller's workspace root).
    CopyToWorkspace {
        source_workspace_path: String,
        source_path: String,
        target_workspace_path: String,
        target_path: String,
    },
    /// Deletes an entry (`recursive` for a non-empty directory).
    Delete {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recursive: Option<bool>,
    },
    /// Pushes `file_changed` events for the workspace to this connection.
    WatchFiles,
    /// Stops `watch_files`.
    UnwatchFiles,
}

/// A file or directory.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FileEntry {
    pub name: String,
    /// Relative to the workspace.
    pub path: String,
    /// `file`, `directory` or `symlink`.
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    /// Last modification, Unix milliseconds.
    pub modified: Option<i64>,
    /// Entries inside a directory, when the tree reached them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<FileEntry>>,
}

/// What `stat` found.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct FileStat {
    pub exists: bool,
    pub is_file: bool,
    pub is_dir: bool,
    pub is_symlink: bool,
    pub size: u64,
    /// Unix milliseconds.
    pub modified_at: Option<i64>,
    /// Unix milliseconds, where the file system keeps it.
    pub created_at: Option<i64>,
    /// Permission bits (`0o644` is 420).
    pub mode: u32,
}

/// An entry of a `list`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ListEntry {
    pub name: String,
    pub is_dir: bool,
    pub is_symlink: bool,
    pub size: u64,
    /// Unix milliseconds.
    pub modified_at: Option<i64>,
}

/// Replies and pushed events of the `files` channel (`type`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilesEvent {
    TreeResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        entries: Vec<FileEntry>,
        /// More than 5000 entries: the rest was left out.
        truncated: bool,
    },
    StatResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        path: String,
        stat: FileStat,
    },
    ListResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        path: String,
        entries: Vec<ListEntry>,
    },
    ReadResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        path: String,
        /// Base64; empty when the bytes follow it in its binary frame.
        content: String,
        size: u64,
    },
    WriteResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        path: String,
        success: bool,
    },
    CreateDirectoryResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        path: String,
        success: bool,
    },
    DeleteResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        path: String,
        success: bool,
    },
    RenameResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        from: String,
        to: String,
        success: bool,
    },
    CopyResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        from: String,
        to: String,
        success: bool,
    },
    MoveResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        from: String,
        to: String,
        success: bool,
    },
    CopyToWorkspaceResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        source_workspace_path: String,
        target_workspace_path: String,
        /// Files copied (a directory counts its files).
        files_copied: u64,
        success: bool,
    },
    WatchFilesResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        workspace_path: String,
        success: bool,
    },
    UnwatchFilesResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        workspace_path: String,
        success: bool,
    },
    /// A watched workspace changed.
    FileChanged {
        workspace_path: String,
        /// file_created, file_modified, file_deleted, dir_created, dir_deleted.
        event_type: String,
        path: String,
        /// `file` or `directory`.
        entry_type: String,
    },
    /// The command failed.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        error: String,
        /// The same code HTTP errors carry (`InvalidValue`, `ObjectNotFound`, …).
        #[serde(default)]
        error_code: String,
    },
}

impl FilesEvent {
    /// The id of the request this event answers (`None` for pushed events).
    pub fn id(&self) -> Option<&str> {
        use FilesEvent as E;
        match self {
            E::TreeResult { id, .. }
            | E::StatResult { id, .. }
            | E::ListResult { id, .. }
            | E::ReadResult { id, .. }
            | E::WriteResult { id, .. }
            | E::CreateDirectoryResult { id, .. }
            | E::DeleteResult { id, .. }
            | E::RenameResult { id, .. }
            | E::CopyResult { id, .. }
            | E::MoveResult { id, .. }
            | E::CopyToWorkspaceResult { id, .. }
            | E::WatchFilesResult { id, .. }
            | E::UnwatchFilesResult { id, .. }
            | E::Error { id, .. } => id.as_deref(),
            E::FileChanged { .. } => None,
        }
    }
}

// ------------------------------------------------------------------- hstry

/// A history query (`{"channel":"hstry","type":"query",…}`): a chat's
/// messages (`session_id`, the caller's own chats only) or a search
/// (`query`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HstryRequest {
    Query {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        query: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
}

/// Replies and live events of the `hstry` channel. Every connection of a
/// user gets the live events of that user's chats, and no others.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HstryEvent {
    /// Messages or search results.
    Result {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        data: HstryData,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        error: String,
        /// The same code HTTP errors carry (`InvalidValue`, `ObjectNotFound`, …).
        #[serde(default)]
        error_code: String,
    },
    /// A chat's title, messages or stats changed (live): the chat's new
    /// history entry.
    ChatUpdated { entry: Box<crate::history::ChatHistoryEntry> },
    /// A chat and its history were deleted (live).
    ChatDeleted { session_id: String },
}

// --------------------------------------------------------------------- trx

/// A request on the `trx` channel: the workspace's issue list, kept in its
/// `.trx/issues.jsonl` so that the agent's own tools see the same issues.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TrxRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The workspace (relative to the caller's workspace root).
    pub workspace_path: String,
    #[serde(flatten)]
    pub command: TrxCommand,
}

/// Fields of a new issue.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct TrxIssueCreate {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// task (default), bug, feature or epic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    /// 0 (highest) to 4; default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// Changes to an issue; absent fields are kept.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct TrxIssueUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// open, in_progress, blocked or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

/// The `trx` commands (`type`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrxCommand {
    List,
    Create {
        data: TrxIssueCreate,
    },
    Update {
        issue_id: String,
        data: TrxIssueUpdate,
    },
    Close {
        issue_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Re-reads the file (after the agent changed it).
    Sync,
}

/// An issue.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct TrxIssue {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub issue_type: String,
    pub priority: u8,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<String>,
}

/// Replies of the `trx` channel.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrxEvent {
    ListResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        issues: Vec<TrxIssue>,
    },
    IssueResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        issue: TrxIssue,
    },
    SyncResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        issues: Vec<TrxIssue>,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        error: String,
        /// The same code HTTP errors carry (`InvalidValue`, `ObjectNotFound`, …).
        #[serde(default)]
        error_code: String,
    },
}

// ---------------------------------------------------------------- terminal

/// A request on the `terminal` channel.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct TerminalRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub command: TerminalCommand,
}

/// The `terminal` commands (`type`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalCommand {
    /// Opens a shell on a PTY in a workspace (named directly, or through a
    /// workspace session of the caller).
    Open {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminal_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workspace_path: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        cols: u16,
        rows: u16,
    },
    /// Keystrokes (UTF-8 text).
    Input {
        terminal_id: String,
        data: String,
    },
    Resize {
        terminal_id: String,
        cols: u16,
        rows: u16,
    },
    Close {
        terminal_id: String,
    },
}

/// Replies and pushed events of the `terminal` channel.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalEvent {
    Opened {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        terminal_id: String,
    },
    /// What the shell wrote (base64 of the raw bytes).
    Output { terminal_id: String, data_base64: String },
    /// The shell ended.
    Exit { terminal_id: String },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        error: String,
        /// The same code HTTP errors carry (`InvalidValue`, `ObjectNotFound`, …).
        #[serde(default)]
        error_code: String,
    },
}

// --------------------------------------------------------------------- bus

/// A request on the `bus` channel.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BusRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub command: BusCommand,
}

/// Topics within one scope. A topic pattern is dot-separated; `*` matches
/// one segment and `**` any number of them (`**` alone: every topic).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BusTopics {
    /// At most 32 patterns.
    pub topics: Vec<String>,
    pub scope: crate::bus::BusScope,
    /// The chat id, the workspace path, or `global`.
    pub scope_id: String,
}

/// The `bus` commands (`type`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusCommand {
    /// Publishes an event (stamped as coming from this client). Session
    /// and workspace scopes: the caller's own; global: administrators.
    Publish(crate::bus::BusPublish),
    /// Receives the scope's events on these topics from now on (the same
    /// rules as publishing; at most 64 subscriptions per connection).
    Subscribe(BusTopics),
    /// Stops receiving them.
    Unsubscribe(BusTopics),
    /// The scope's recent events on these topics, oldest first.
    Pull {
        #[serde(flatten)]
        topics: BusTopics,
        /// Only events after this time (Unix milliseconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_ts: Option<i64>,
        /// At most this many, the latest (default 200, at most 1000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
}

/// What a successful `bus` command answers.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BusReply {
    /// `publish`: the event (for a repeated idempotency key, the first one).
    Published { event_id: String },
    /// `subscribe`/`unsubscribe`: the connection's subscriptions now, as
    /// `scope:scope_id:topic`.
    Subscriptions { subscriptions: Vec<String> },
    /// `pull`.
    Events { events: Vec<crate::bus::BusEvent> },
}

/// Replies and events of the `bus` channel.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusFrame {
    /// The answer to a command.
    Response {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        success: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The same code HTTP errors carry (`Forbidden`, `InvalidValue`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<BusReply>,
    },
    /// An event of a subscribed scope and topic.
    Event(crate::bus::BusEvent),
}

// ---------------------------------------------------------------------- ui

/// A UI control event (`{"channel":"ui","type":"ui.navigate",…}`), sent to
/// the requesting user's connections only.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(tag = "type")]
pub enum UiEvent {
    #[serde(rename = "ui.navigate")]
    Navigate(crate::ui::UiNavigate),
    #[serde(rename = "ui.session")]
    Session(crate::ui::UiSession),
    #[serde(rename = "ui.view")]
    View(crate::ui::UiView),
    #[serde(rename = "ui.palette")]
    Palette(crate::ui::UiPalette),
    #[serde(rename = "ui.palette_exec")]
    PaletteExec(crate::ui::UiPaletteExec),
    #[serde(rename = "ui.spotlight")]
    Spotlight(crate::ui::UiSpotlight),
    #[serde(rename = "ui.tour")]
    Tour(crate::ui::UiTour),
    #[serde(rename = "ui.sidebar")]
    Sidebar(crate::ui::UiSidebar),
    #[serde(rename = "ui.panel")]
    Panel(crate::ui::UiPanel),
    #[serde(rename = "ui.theme")]
    Theme(crate::ui::UiTheme),
}
