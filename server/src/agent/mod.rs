//! The agent supervisor: chats, each one agent process working in a
//! workspace, with their event streams (sequence numbers, a replay ring,
//! subscribers), request/response correlation and the prompt watchdog.

pub mod codec;
pub mod commands;
pub mod process;
pub mod translate;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oqto_api::mux::{AgentEvent, AgentEventFrame, ChatSummary, ServerFrame};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::config::AgentConfig;
use crate::error::Error;
use crate::mux::outbox::{OutFrame, Outbox};
use process::{AgentProcess, Output};
use translate::Translator;

/// Environment variable that marks agent processes of one data dir, so that
/// orphans can be found after a crash.
pub const MARKER_ENV: &str = "OQTO_AGENT_OF";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A command waiting for the agent's answer.
struct Pending {
    outbox: Arc<Outbox>,
    id: Option<String>,
    cmd: &'static str,
}

/// The prefix of a chat's agent token (`OQTO_TOKEN` in its environment).
pub const CHAT_TOKEN_PREFIX: &str = "ochat_";

/// Where a chat works and how its agent starts.
#[derive(Clone, Debug)]
pub struct ChatSetup {
    /// The working directory.
    pub workspace: crate::workspace::WorkspaceDir,
    pub session_dir: PathBuf,
    pub agent_dir: PathBuf,
    /// `HOME` of the agent: the root its workspace lies in.
    pub home: PathBuf,
    pub workspace_session_id: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
}

struct ChatState {
    setup: ChatSetup,
    seq: u64,
    ring: VecDeque<(u64, OutFrame)>,
    subscribers: HashMap<u64, Arc<Outbox>>,
    process: Option<Arc<AgentProcess>>,
    generation: u64,
    stopping: Option<String>,
    translator: Translator,
    pending: HashMap<String, Pending>,
    next_request: u64,
    client_ids: VecDeque<String>,
    /// Prompts with a client id whose user message the index has not seen
    /// yet: (client id, text).
    prompted: VecDeque<(String, String)>,
    last_activity: Instant,
    watchdog: Option<u64>,
    /// The running agent's own token (`OQTO_TOKEN`), gone when it stops.
    token: Option<String>,
    /// Who follows the chat's text, idle, error and close events besides
    /// its viewers (a delegate's parent link).
    tap: Option<mpsc::Sender<AgentEvent>>,
}

/// One chat: an agent process (when running) and its event stream.
pub struct Chat {
    pub id: String,
    pub user_id: String,
    pub harness: String,
    state: Mutex<ChatState>,
    /// Where the chat's events are also published (`chat.<type>`).
    bus: Arc<crate::bus::Bus>,
}

/// A summary for `list_sessions`.
pub fn chat_summary(chat: &Chat) -> ChatSummary {
    let st = chat.lock();
    let state = match (&st.process, &st.stopping) {
        (None, _) => "stopped",
        (Some(_), Some(_)) => "stopping",
        (Some(_), None) if st.translator.streaming => "streaming",
        (Some(_), None) => "idle",
    };
    ChatSummary {
        session_id: chat.id.clone(),
        state: state.to_string(),
        cwd: st.setup.workspace.relative.clone(),
        provider: st.setup.provider.clone(),
        model: st.setup.model.clone(),
        workspace_session_id: st.setup.workspace_session_id.clone(),
        last_activity: now_ms() - st.last_activity.elapsed().as_millis() as i64,
        subscriber_count: st.subscribers.len(),
        seq: st.seq,
    }
}

impl Chat {
    fn lock(&self) -> std::sync::MutexGuard<'_, ChatState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an event to the stream: next `seq`, into the ring, to every
    /// subscriber (except `except`), in one critical section so that all see
    /// the same order.
    fn emit(&self, st: &mut ChatState, event: AgentEvent, except: Option<u64>, ring_cap: usize) {
        st.seq += 1;
        if let Some(tap) = &st.tap
            && matches!(
                event,
                AgentEvent::TextDelta { .. }
                    | AgentEvent::AgentIdle
                    | AgentEvent::AgentError { .. }
                    | AgentEvent::SessionClosed { .. }
            )
            && let Err(mpsc::error::TrySendError::Closed(_)) = tap.try_send(event.clone())
        {
            st.tap = None;
        }
        self.bus.publish_chat_event(&self.user_id, &self.id, &event);
        let frame = ServerFrame::Agent(AgentEventFrame {
            session_id: self.id.clone(),
            ts: now_ms(),
            seq: Some(st.seq),
            event,
        });
        let out = OutFrame::from_frame(&frame);
        for (conn, outbox) in &st.subscribers {
            if Some(*conn) != except {
                outbox.push(out.clone());
            }
        }
        st.ring.push_back((st.seq, out));
        while st.ring.len() > ring_cap.max(1) {
            st.ring.pop_front();
        }
    }

    /// Subscribes a connection, replaying what it missed after `last_seq`
    /// (or saying the gap is too big). Returns the latest sequence number.
    pub fn subscribe(&self, outbox: &Arc<Outbox>, last_seq: Option<u64>) -> u64 {
        let mut st = self.lock();
        if let Some(last) = last_seq
            && last < st.seq
        {
            let oldest = st.ring.front().map_or(st.seq + 1, |(s, _)| *s);
            if last + 1 >= oldest {
                for (_, frame) in st.ring.iter().filter(|(s, _)| *s > last) {
                    outbox.push(frame.clone());
                }
            } else {
                let frame = ServerFrame::Agent(AgentEventFrame {
                    session_id: self.id.clone(),
                    ts: now_ms(),
                    seq: None,
                    event: AgentEvent::ResyncRequired {
                        dropped_count: oldest - last - 1,
                        reason: "the missed events are no longer kept; reload the messages".into(),
                    },
                });
                outbox.push(OutFrame::from_frame(&frame));
            }
        }
        st.subscribers.insert(outbox.connection, Arc::clone(outbox));
        st.seq
    }

    pub fn unsubscribe(&self, connection: u64) {
        self.lock().subscribers.remove(&connection);
    }

    pub fn is_running(&self) -> bool {
        self.lock().process.is_some()
    }

    pub fn workspace_session_id(&self) -> Option<String> {
        self.lock().setup.workspace_session_id.clone()
    }

    /// The chat's working directory.
    pub fn workspace_dir(&self) -> crate::workspace::WorkspaceDir {
        self.lock().setup.workspace.clone()
    }

    /// Moves the chat to another workspace session.
    pub fn set_workspace_session(&self, session_id: String) {
        self.lock().setup.workspace_session_id = Some(session_id);
    }

    pub fn touch(&self) {
        self.lock().last_activity = Instant::now();
    }

    /// Whether the client id was seen already (and remembers it).
    pub fn seen_client_id(&self, client_id: &str) -> bool {
        let mut st = self.lock();
        if st.client_ids.iter().any(|c| c == client_id) {
            return true;
        }
        st.client_ids.push_back(client_id.to_string());
        if st.client_ids.len() > 256 {
            st.client_ids.pop_front();
        }
        false
    }

    /// The client id of the prompt whose text is `content` (taken: the
    /// next user message with the same text belongs to a later prompt).
    pub fn client_id_of(&self, content: &str) -> Option<String> {
        let mut st = self.lock();
        let at = st.prompted.iter().position(|(_, text)| text.trim() == content.trim())?;
        st.prompted.remove(at).map(|(id, _)| id)
    }

    /// Sets who follows the chat's text, idle, error and close events
    /// (a full follower misses events rather than slowing the chat).
    /// Whether one was set already (and kept).
    pub fn tap(&self, make: impl FnOnce() -> mpsc::Sender<AgentEvent>) -> bool {
        let mut st = self.lock();
        if st.tap.as_ref().is_some_and(|t| !t.is_closed()) {
            return true;
        }
        st.tap = Some(make());
        false
    }

    pub fn is_streaming(&self) -> bool {
        self.lock().translator.streaming
    }
}

/// A `response` event for one requester.
pub fn respond(
    log: &slog::Logger,
    outbox: &Outbox,
    session_id: &str,
    id: Option<String>,
    cmd: &str,
    result: Result<Option<Value>, crate::error::Error>,
) {
    let (success, data, error, error_code) = match result {
        Ok(data) => (true, data, None, None),
        Err(e) => {
            if let crate::error::Error::Internal(cause) = &e {
                slog::error!(log, "chat command failed"; "chat" => session_id, "cmd" => cmd,
                    "error" => format!("{cause:#}"));
            }
            (false, None, Some(e.public_message()), Some(e.code().to_string()))
        }
    };
    let frame = ServerFrame::Agent(AgentEventFrame {
        session_id: session_id.to_string(),
        ts: now_ms(),
        seq: None,
        event: AgentEvent::Response { id, cmd: cmd.to_string(), success, data, error, error_code },
    });
    outbox.push(OutFrame::from_frame(&frame));
}

/// Chats whose agents wrote history since it was last indexed, by user.
/// Marked synchronously by the supervisor before the agent's event goes
/// out, so a client that saw the event and then asks for history finds
/// the chat marked (or already indexed).
#[derive(Default)]
pub struct HistoryDirty {
    chats: Mutex<HashMap<String, std::collections::HashSet<String>>>,
    notify: tokio::sync::Notify,
}

impl HistoryDirty {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, std::collections::HashSet<String>>> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn mark(&self, user_id: &str, chat_id: &str) {
        self.map().entry(user_id.to_string()).or_default().insert(chat_id.to_string());
        self.notify.notify_one();
    }

    /// Takes a user's marked chats.
    pub fn take(&self, user_id: &str) -> Vec<String> {
        self.map().remove(user_id).map(|s| s.into_iter().collect()).unwrap_or_default()
    }

    /// Whether the user has marked chats.
    pub fn has(&self, user_id: &str) -> bool {
        self.map().contains_key(user_id)
    }

    /// The users with marked chats.
    pub fn users(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// Waits until something is marked.
    pub async fn marked(&self) {
        self.notify.notified().await;
    }
}

/// Every chat of this server.
/// How many models picked for chats not created yet are kept, in all.
const MAX_CHOSEN_MODELS: usize = 4096;

pub struct Chats {
    config: AgentConfig,
    sandbox: Arc<crate::sandbox::launch::Sandbox>,
    marker: String,
    log: slog::Logger,
    chats: Mutex<HashMap<String, Arc<Chat>>>,
    /// Models picked (`set_model`) for chats not created yet: chat id →
    /// (owner, provider, model).
    chosen_models: Mutex<HashMap<String, (String, String, String)>>,
    /// Chats whose agent finished a message or a turn, or stopped.
    pub history: HistoryDirty,
    bus: Arc<crate::bus::Bus>,
    /// Running agents' tokens: token → chat id.
    tokens: Mutex<HashMap<String, String>>,
    /// The server's own URL (`OQTO_URL` of every agent), known once it listens.
    pub server_url: std::sync::OnceLock<String>,
    /// The server's API socket (`OQTO_SOCKET` of every agent), once it listens.
    pub api_socket: std::sync::OnceLock<PathBuf>,
    /// The limits and the idle timeout in force (they change live).
    settings: Arc<crate::settings::Settings>,
    /// Counts agents starting and stopping (what the cached session list
    /// is stamped with).
    running_changes: std::sync::atomic::AtomicU64,
}

impl Chats {
    pub fn new(
        config: AgentConfig,
        sandbox: Arc<crate::sandbox::launch::Sandbox>,
        marker: String,
        log: slog::Logger,
        bus: Arc<crate::bus::Bus>,
        settings: Arc<crate::settings::Settings>,
    ) -> Chats {
        Chats {
            config,
            sandbox,
            marker,
            log,
            chats: Mutex::new(HashMap::new()),
            chosen_models: Mutex::new(HashMap::new()),
            history: HistoryDirty::default(),
            bus,
            tokens: Mutex::new(HashMap::new()),
            server_url: std::sync::OnceLock::new(),
            api_socket: std::sync::OnceLock::new(),
            settings,
            running_changes: Default::default(),
        }
    }

    fn history_changed(&self, chat: &Chat) {
        self.history.mark(&chat.user_id, &chat.id);
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Chat>>> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tokens_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the chat's agent token (its process ended or is replaced).
    fn forget_token(&self, st: &mut ChatState) {
        if let Some(token) = st.token.take() {
            self.tokens_map().remove(&token);
        }
    }

    /// The chat whose running agent holds `token`.
    pub fn chat_of_token(&self, token: &str) -> Option<Arc<Chat>> {
        let chat_id = self.tokens_map().get(token).cloned()?;
        let chat = self.get(&chat_id)?;
        let st = chat.lock();
        let current = st.process.is_some() && st.token.as_deref() == Some(token);
        drop(st);
        current.then_some(chat)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Chat>> {
        self.map().get(id).cloned()
    }

    /// Keeps the model a user picked for a chat they have not created yet
    /// (at most [`MAX_CHOSEN_MODELS`] are kept; the oldest go first).
    pub fn remember_model(&self, chat_id: &str, user_id: &str, provider: &str, model: &str) {
        let mut chosen = self.chosen_models.lock().unwrap_or_else(|p| p.into_inner());
        if chosen.len() >= MAX_CHOSEN_MODELS && !chosen.contains_key(chat_id) {
            chosen.clear();
        }
        chosen.insert(chat_id.to_string(), (user_id.to_string(), provider.to_string(), model.to_string()));
    }

    /// The model `user_id` picked for `chat_id` before creating it.
    pub fn take_model(&self, chat_id: &str, user_id: &str) -> Option<(String, String)> {
        let mut chosen = self.chosen_models.lock().unwrap_or_else(|p| p.into_inner());
        match chosen.get(chat_id) {
            Some((owner, ..)) if owner == user_id => chosen.remove(chat_id).map(|(_, p, m)| (p, m)),
            _ => None,
        }
    }

    /// Registers a chat (or returns the registered one).
    pub fn insert(&self, id: &str, user_id: &str, harness: &str, setup: ChatSetup) -> Arc<Chat> {
        let mut map = self.map();
        Arc::clone(map.entry(id.to_string()).or_insert_with(|| {
            Arc::new(Chat {
                id: id.to_string(),
                user_id: user_id.to_string(),
                harness: harness.to_string(),
                bus: Arc::clone(&self.bus),
                state: Mutex::new(ChatState {
                    setup,
                    seq: 0,
                    ring: VecDeque::new(),
                    subscribers: HashMap::new(),
                    process: None,
                    generation: 0,
                    stopping: None,
                    translator: Translator::default(),
                    pending: HashMap::new(),
                    next_request: 0,
                    client_ids: VecDeque::new(),
                    prompted: VecDeque::new(),
                    last_activity: Instant::now(),
                    watchdog: None,
                    token: None,
                    tap: None,
                }),
            })
        }))
    }

    pub fn remove(&self, id: &str) {
        self.map().remove(id);
    }

    /// The chats of one user.
    pub fn of_user(&self, user_id: &str) -> Vec<Arc<Chat>> {
        let mut chats: Vec<_> = self.map().values().filter(|c| c.user_id == user_id).cloned().collect();
        chats.sort_by(|a, b| a.id.cmp(&b.id));
        chats
    }

    pub fn all(&self) -> Vec<Arc<Chat>> {
        self.map().values().cloned().collect()
    }

    /// Process ids of running agents.
    pub fn pids(&self) -> Vec<u32> {
        self.all().iter().filter_map(|c| c.lock().process.as_ref().map(|p| p.pid)).collect()
    }

    /// How many times an agent started or stopped so far.
    pub fn running_changes(&self) -> u64 {
        self.running_changes.load(std::sync::atomic::Ordering::Acquire)
    }

    fn running_changed(&self) {
        self.running_changes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Running chats per workspace session.
    pub fn running_in_session(&self, session_id: &str) -> Vec<Arc<Chat>> {
        self.all()
            .into_iter()
            .filter(|c| c.is_running() && c.workspace_session_id().as_deref() == Some(session_id))
            .collect()
    }

    /// Starts the chat's agent when it is not running. Returns whether it
    /// resumed from an existing session file.
    pub fn start(self: &Arc<Self>, chat: &Arc<Chat>, continue_session: bool) -> Result<bool, Error> {
        let running = self.all().iter().filter(|c| c.is_running()).cloned().collect::<Vec<_>>();
        let mut st = chat.lock();
        if st.process.is_some() {
            return Ok(false);
        }
        let limits = self.settings.current();
        if running.len() >= limits.agent.max_processes as usize {
            return Err(Error::Unavailable(format!(
                "the server runs its maximum of {} agents; try again later",
                limits.agent.max_processes
            )));
        }
        if running.iter().filter(|c| c.user_id == chat.user_id).count()
            >= limits.agent.max_chats_per_user as usize
        {
            return Err(Error::Conflict(format!(
                "you already run {} chats; close one first",
                limits.agent.max_chats_per_user
            )));
        }
        let create = |dir: &PathBuf| {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Internal(anyhow::anyhow!("creating {}: {e}", dir.display())))
        };
        create(&st.setup.session_dir)?;
        create(&st.setup.agent_dir)?;
        let has_history = std::fs::read_dir(&st.setup.session_dir)
            .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "jsonl")))
            .unwrap_or(false);
        let resumed = continue_session && has_history;
        let mut args: Vec<String> = self.config.command[1..].to_vec();
        args.push("--session-dir".into());
        args.push(st.setup.session_dir.display().to_string());
        if resumed {
            args.push("--continue".into());
        }
        if let Some(provider) = &st.setup.provider {
            args.extend(["--provider".to_string(), provider.clone()]);
        }
        if let Some(model) = &st.setup.model {
            args.extend(["--model".to_string(), model.clone()]);
        }
        let mut env = vec![
            ("PI_CODING_AGENT_DIR".to_string(), st.setup.agent_dir.display().to_string()),
            ("TERM".to_string(), "dumb".to_string()),
            ("SHELL".to_string(), "/bin/bash".to_string()),
        ];
        env.extend(self.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        // The agent's own credential: this chat's owner, limited to what an
        // agent needs, valid while this process runs.
        let token = format!("{CHAT_TOKEN_PREFIX}{}", crate::util::random_token(40));
        env.push(("OQTO_TOKEN".into(), token.clone()));
        env.push(("OQTO_SESSION_ID".into(), chat.id.clone()));
        if let Some(url) = self.server_url.get() {
            env.push(("OQTO_URL".into(), url.clone()));
        }
        let spec = crate::sandbox::launch::Spec {
            program: self.config.command[0].clone(),
            args,
            cwd: st.setup.workspace.path.clone(),
            home: st.setup.home.clone(),
            writable: vec![st.setup.home.clone(), st.setup.agent_dir.clone(), st.setup.session_dir.clone()],
            env,
            profile: self.sandbox.profile_for(&st.setup.workspace.path),
            new_session: true,
            api_socket: self.api_socket.get().cloned(),
        };
        let mut launch = self.sandbox.launch(&spec)?;
        launch.env.push((MARKER_ENV.into(), self.marker.clone()));
        let log = self.log.new(slog::o!("chat" => chat.id.clone()));
        let (process, outputs) = AgentProcess::spawn(&launch, log.clone())
            .map_err(|e| Error::Internal(anyhow::anyhow!("starting the agent ({}): {e}", spec.program)))?;
        slog::info!(log, "agent started"; "pid" => process.pid, "resumed" => resumed);
        st.generation += 1;
        st.process = Some(Arc::new(process));
        self.running_changed();
        self.forget_token(&mut st);
        self.tokens_map().insert(token.clone(), chat.id.clone());
        st.token = Some(token);
        st.stopping = None;
        st.translator = Translator::default();
        st.last_activity = Instant::now();
        let generation = st.generation;
        let event = AgentEvent::SessionCreated { resumed, harness: chat.harness.clone() };
        chat.emit(&mut st, event, None, self.config.replay_events);
        drop(st);
        tokio::spawn(Arc::clone(self).pump(Arc::clone(chat), generation, outputs, log));
        Ok(resumed)
    }

    /// Relays one process's outputs into the chat until it exits.
    async fn pump(
        self: Arc<Self>,
        chat: Arc<Chat>,
        generation: u64,
        mut outputs: mpsc::Receiver<Output>,
        log: slog::Logger,
    ) {
        while let Some(output) = outputs.recv().await {
            match output {
                Output::Object(object) => self.on_object(&chat, object),
                Output::Exited(status) => {
                    self.history_changed(&chat);
                    let mut st = chat.lock();
                    if st.generation != generation {
                        return;
                    }
                    st.process = None;
                    self.running_changed();
                    self.forget_token(&mut st);
                    st.translator.streaming = false;
                    st.watchdog = None;
                    for (_, pending) in st.pending.drain() {
                        respond(
                            &self.log,
                            &pending.outbox,
                            &chat.id,
                            pending.id,
                            pending.cmd,
                            Err(Error::Agent("the agent stopped".into())),
                        );
                    }
                    let reason = match st.stopping.take() {
                        Some(reason) => reason,
                        None => {
                            slog::warn!(log, "agent exited unexpectedly"; "status" => &status);
                            let error =
                                format!("the agent exited unexpectedly ({status}); send a message to resume");
                            chat.emit(
                                &mut st,
                                AgentEvent::AgentError { error, recoverable: true, phase: None },
                                None,
                                self.config.replay_events,
                            );
                            // The turn is over: clients leave "working" on idle.
                            chat.emit(&mut st, AgentEvent::AgentIdle, None, self.config.replay_events);
                            format!("agent exited: {status}")
                        }
                    };
                    chat.emit(
                        &mut st,
                        AgentEvent::SessionClosed { reason: Some(reason) },
                        None,
                        self.config.replay_events,
                    );
                    return;
                }
            }
        }
    }

    fn on_object(&self, chat: &Chat, object: Map<String, Value>) {
        let mut st = chat.lock();
        st.last_activity = Instant::now();
        if object.get("type").and_then(Value::as_str) == Some("response") {
            let Some(pending) = object.get("id").and_then(Value::as_str).and_then(|id| st.pending.remove(id))
            else {
                return;
            };
            let result = if object.get("success").and_then(Value::as_bool).unwrap_or(false) {
                Ok(object.get("data").cloned())
            } else {
                Err(Error::Agent(
                    object
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("the agent refused the command")
                        .to_string(),
                ))
            };
            if result.is_err() && matches!(pending.cmd, "prompt" | "steer" | "follow_up") {
                st.watchdog = None;
            }
            respond(&self.log, &pending.outbox, &chat.id, pending.id, pending.cmd, result);
            return;
        }
        st.watchdog = None;
        if matches!(object.get("type").and_then(Value::as_str), Some("message_end" | "agent_end")) {
            self.history_changed(chat);
        }
        for event in st.translator.translate(&object) {
            chat.emit(&mut st, event, None, self.config.replay_events);
        }
    }

    /// Sends a command to the chat's agent; the agent's answer goes to
    /// `outbox` as the `response`. Prompts arm the watchdog.
    pub fn send(
        self: &Arc<Self>,
        chat: &Arc<Chat>,
        outbox: &Arc<Outbox>,
        id: Option<String>,
        cmd: &'static str,
        mut command: Value,
    ) {
        let mut st = chat.lock();
        let Some(process) = st.process.clone() else {
            drop(st);
            respond(
                &self.log,
                outbox,
                &chat.id,
                id,
                cmd,
                Err(Error::Conflict("the chat's agent is not running".into())),
            );
            return;
        };
        st.next_request += 1;
        let request = format!("oqto-{}", st.next_request);
        command["id"] = Value::String(request.clone());
        st.pending.insert(request.clone(), Pending { outbox: Arc::clone(outbox), id, cmd });
        st.last_activity = Instant::now();
        let watchdog = matches!(cmd, "prompt" | "steer" | "follow_up").then(|| {
            st.watchdog = Some(st.next_request);
            st.next_request
        });
        drop(st);
        let chats = Arc::clone(self);
        let chat = Arc::clone(chat);
        tokio::spawn(async move {
            if !process.send(&command).await {
                chats.fail_pending(&chat, &request, "the agent is not accepting input");
                return;
            }
            if let Some(armed) = watchdog {
                let chats = Arc::clone(&chats);
                let chat = Arc::clone(&chat);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(chats.config.watchdog_secs)).await;
                    let mut st = chat.lock();
                    if st.watchdog == Some(armed) {
                        st.watchdog = None;
                        let error =
                            format!("the agent did not react within {} s", chats.config.watchdog_secs);
                        chat.emit(
                            &mut st,
                            AgentEvent::AgentError { error, recoverable: true, phase: None },
                            None,
                            chats.config.replay_events,
                        );
                        chat.emit(&mut st, AgentEvent::AgentIdle, None, chats.config.replay_events);
                    }
                });
            }
            tokio::time::sleep(Duration::from_secs(chats.config.response_timeout_secs)).await;
            chats.fail_pending(&chat, &request, "the agent did not answer in time");
        });
    }

    fn fail_pending(&self, chat: &Chat, request: &str, why: &str) {
        let pending = chat.lock().pending.remove(request);
        if let Some(p) = pending {
            respond(&self.log, &p.outbox, &chat.id, p.id, p.cmd, Err(Error::Agent(why.to_string())));
        }
    }

    /// Broadcasts a user's message to the chat's other viewers.
    /// Adds an event the server produces to a chat's stream (every
    /// viewer gets it, in order with the agent's events); returns its
    /// sequence number.
    pub fn announce(&self, chat: &Chat, event: AgentEvent) -> u64 {
        let mut st = chat.lock();
        chat.emit(&mut st, event, None, self.config.replay_events);
        st.seq
    }

    pub fn echo_user_message(&self, chat: &Chat, from: u64, message: &str, client_id: Option<String>) {
        let mut st = chat.lock();
        if let Some(id) = &client_id {
            st.prompted.push_back((id.clone(), message.to_string()));
            if st.prompted.len() > 64 {
                st.prompted.pop_front();
            }
        }
        let event = AgentEvent::UserMessage { message: message.to_string(), client_id };
        chat.emit(&mut st, event, Some(from), self.config.replay_events);
    }

    /// Stops the chat's agent (SIGTERM, then SIGKILL after the grace
    /// period); `session.closed` carries `reason`. Waits until it is gone.
    pub async fn stop(&self, chat: &Chat, reason: &str) {
        let process = {
            let mut st = chat.lock();
            let Some(process) = st.process.clone() else { return };
            st.stopping = Some(reason.to_string());
            process
        };
        process.stop(Duration::from_secs(self.config.stop_grace_secs));
        let deadline = Instant::now() + Duration::from_secs(self.config.stop_grace_secs + 5);
        while chat.is_running() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops agents idle for longer than the configured timeout.
    pub async fn stop_idle(&self) {
        let limit = Duration::from_secs(self.settings.current().agent.idle_timeout_secs);
        let idle: Vec<_> = self
            .all()
            .into_iter()
            .filter(|c| {
                let st = c.lock();
                st.process.is_some() && !st.translator.streaming && st.last_activity.elapsed() >= limit
            })
            .collect();
        for chat in idle {
            self.stop(&chat, "idle").await;
        }
    }

    /// Every subscription of a connection ends.
    pub fn unsubscribe_all(&self, connection: u64) {
        for chat in self.all() {
            chat.unsubscribe(connection);
        }
    }
}
