//! A stand-in for the Pi coding agent in RPC mode, for tests and benchmarks.
//!
//! It speaks the same protocol deterministically: JSON commands on stdin,
//! `response`s and Pi's events on stdout, session files in Pi's format under
//! `--session-dir` (resumed with `--continue`). What a prompt does depends
//! on its first word:
//! - `/tool …`: runs a (pretend) tool, then answers;
//! - `/slow …`: answers one word every 100 ms (abort stops it);
//! - `/flood N`: streams N text deltas as fast as it can;
//! - `/crash`: exits with status 3 in the middle of the answer;
//! - `/silent`: accepts the prompt and then says nothing;
//! - `/timed N`: streams N deltas 2 ms apart, each the microsecond wall
//!   clock at which it was written (for latency measurements);
//! - `/garbage`: writes a line that is not JSON, two objects on one line and
//!   one object split across lines, then answers;
//! - anything else: answers `You said: <message>`, word by word.
//!
//! With `--linger` it keeps running after its stdin closes (as a hung agent
//! would), for the orphan-cleanup test.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

struct Agent {
    out: std::io::Stdout,
    session_file: Option<PathBuf>,
    session_id: String,
    messages: Vec<Value>,
    last_entry: Option<String>,
    provider: String,
    model: String,
    name: Option<String>,
    inbox: Receiver<Value>,
    queued: Vec<Value>,
}

impl Agent {
    fn emit(&mut self, value: &Value) {
        let mut lock = self.out.lock();
        let _ = writeln!(lock, "{value}");
        let _ = lock.flush();
    }

    fn raw(&mut self, text: &str) {
        let mut lock = self.out.lock();
        let _ = lock.write_all(text.as_bytes());
        let _ = lock.flush();
    }

    fn respond(&mut self, cmd: &Value, success: bool, data: Option<Value>, error: Option<&str>) {
        let mut r = json!({ "type": "response", "command": cmd["type"], "success": success });
        if let Some(id) = cmd.get("id") {
            r["id"] = id.clone();
        }
        if let Some(data) = data {
            r["data"] = data;
        }
        if let Some(error) = error {
            r["error"] = json!(error);
        }
        self.emit(&r);
    }

    fn persist(&mut self, message: &Value) {
        self.messages.push(message.clone());
        let Some(file) = &self.session_file else { return };
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let entry = json!({
            "type": "message",
            "id": id,
            "parentId": self.last_entry,
            "timestamp": now_ms(),
            "message": message,
        });
        self.last_entry = Some(id);
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(file) {
            let _ = writeln!(f, "{entry}");
        }
    }

    /// Handles a command that arrives while a turn streams; returns true on abort.
    fn poll_during_turn(&mut self) -> bool {
        loop {
            match self.inbox.try_recv() {
                Ok(cmd) if cmd["type"] == "abort" => {
                    self.respond(&cmd, true, None, None);
                    return true;
                }
                Ok(cmd) if cmd["type"] == "prompt" => {
                    if cmd.get("streamingBehavior").is_none() {
                        self.respond(&cmd, false, None, Some("a turn is running: set streamingBehavior"));
                    } else {
                        self.respond(&cmd, true, None, None);
                        self.queued.push(cmd);
                    }
                }
                Ok(cmd) => self.command(cmd),
                Err(TryRecvError::Empty) => return false,
                Err(TryRecvError::Disconnected) => std::process::exit(0),
            }
        }
    }

    fn turn(&mut self, prompt: &Value) {
        let text = prompt["message"].as_str().unwrap_or_default().to_string();
        if text.starts_with("/silent") {
            return;
        }
        let user = json!({ "role": "user", "content": text, "timestamp": now_ms() });
        self.emit(&json!({ "type": "agent_start" }));
        self.emit(&json!({ "type": "turn_start" }));
        self.emit(&json!({ "type": "message_start", "message": user }));
        self.emit(&json!({ "type": "message_end", "message": user }));
        self.persist(&user);
        let mut words = text.split_whitespace();
        let mode = words.next().unwrap_or_default().to_string();
        let rest: Vec<String> = words.map(str::to_string).collect();
        if mode == "/garbage" {
            self.raw("this is not json\n");
            self.raw("{\"type\":\"turn_start\"}{\"type\":\"turn_start\"}\n");
            self.raw("{\"type\":\n\"turn_start\"}\n");
        }
        if mode == "/tool" {
            let call = json!({ "type": "toolCall", "id": "call_1", "name": "bash", "arguments": { "command": "echo hi" } });
            self.emit(&json!({ "type": "message_start", "message": { "role": "assistant", "content": [] } }));
            self.emit(&json!({ "type": "message_update", "assistantMessageEvent": { "type": "toolcall_start", "contentIndex": 0, "partial": { "content": [call] } } }));
            self.emit(&json!({ "type": "message_update", "assistantMessageEvent": { "type": "toolcall_end", "contentIndex": 0, "toolCall": call } }));
            let assistant = json!({ "role": "assistant", "content": [call], "stopReason": "toolUse", "timestamp": now_ms() });
            self.emit(&json!({ "type": "message_end", "message": assistant }));
            self.persist(&assistant);
            self.emit(&json!({ "type": "tool_execution_start", "toolCallId": "call_1", "toolName": "bash", "args": { "command": "echo hi" } }));
            self.emit(&json!({ "type": "tool_execution_update", "toolCallId": "call_1", "toolName": "bash", "partialResult": { "content": [{ "type": "text", "text": "hi" }] } }));
            let result = json!({ "content": [{ "type": "text", "text": "hi\n" }] });
            self.emit(&json!({ "type": "tool_execution_end", "toolCallId": "call_1", "toolName": "bash", "result": result, "isError": false }));
            self.persist(&json!({ "role": "toolResult", "toolCallId": "call_1", "toolName": "bash", "content": result["content"], "isError": false, "timestamp": now_ms() }));
        }
        let deltas: Vec<String> = match mode.as_str() {
            "/flood" => {
                let n: usize = rest.first().and_then(|n| n.parse().ok()).unwrap_or(1000);
                (0..n).map(|i| format!("{} ", i % 10)).collect()
            }
            "/slow" => rest.iter().map(|w| format!("{w} ")).collect(),
            "/timed" => vec![String::new(); rest.first().and_then(|n| n.parse().ok()).unwrap_or(100)],
            "/tool" => vec!["The ".into(), "command ".into(), "printed ".into(), "hi.".into()],
            // Really runs a shell command, as an agent's bash tool would: the
            // answer is its exit status and output.
            "/sh" => vec![shell(text.strip_prefix("/sh").unwrap_or_default())],
            _ => format!("You said: {text}").split_inclusive(' ').map(str::to_string).collect(),
        };
        self.emit(&json!({ "type": "message_start", "message": { "role": "assistant", "content": [] } }));
        let mut answer = String::new();
        let mut aborted = false;
        for (i, delta) in deltas.iter().enumerate() {
            if mode == "/crash" && i == 2 {
                std::process::exit(3);
            }
            if mode == "/slow" {
                std::thread::sleep(Duration::from_millis(100));
            }
            let delta = if mode == "/timed" {
                std::thread::sleep(Duration::from_millis(2));
                let micros = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
                format!("{micros}|")
            } else {
                delta.clone()
            };
            if self.poll_during_turn() {
                aborted = true;
                break;
            }
            answer.push_str(&delta);
            self.emit(&json!({ "type": "message_update", "assistantMessageEvent": { "type": "text_delta", "contentIndex": 0, "delta": delta } }));
        }
        let reason = if aborted { "aborted" } else { "stop" };
        self.emit(&json!({ "type": "message_update", "assistantMessageEvent": { "type": "done", "reason": reason } }));
        let assistant = json!({
            "role": "assistant",
            "content": [{ "type": "text", "text": answer }],
            "provider": self.provider,
            "model": self.model,
            "stopReason": reason,
            "timestamp": now_ms(),
        });
        self.emit(&json!({ "type": "message_end", "message": assistant }));
        self.persist(&assistant);
        self.emit(&json!({ "type": "turn_end", "message": assistant, "toolResults": [] }));
        self.emit(&json!({ "type": "agent_end", "messages": [] }));
    }

    fn command(&mut self, cmd: Value) {
        let kind = cmd["type"].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "prompt" => {
                self.respond(&cmd, true, None, None);
                self.turn(&cmd);
                while !self.queued.is_empty() {
                    let next = self.queued.remove(0);
                    self.turn(&next);
                }
            }
            "abort" => self.respond(&cmd, true, None, None),
            "get_state" => {
                let data = json!({
                    "model": { "provider": self.provider, "id": self.model },
                    "thinkingLevel": "off",
                    "isStreaming": false,
                    "isCompacting": false,
                    "sessionFile": self.session_file,
                    "sessionId": self.session_id,
                    "sessionName": self.name,
                    "messageCount": self.messages.len(),
                    "pendingMessageCount": 0,
                });
                self.respond(&cmd, true, Some(data), None);
            }
            "get_messages" => {
                let messages = self.messages.clone();
                self.respond(&cmd, true, Some(json!({ "messages": messages })), None);
            }
            "get_session_stats" => {
                let data = json!({ "sessionId": self.session_id, "userMessages": self.messages.iter().filter(|m| m["role"] == "user").count(), "tokens": { "input": 0, "output": 0, "total": 0 }, "cost": 0.0 });
                self.respond(&cmd, true, Some(data), None);
            }
            "get_available_models" => {
                let data = json!({ "models": [{ "provider": self.provider, "id": self.model }] });
                self.respond(&cmd, true, Some(data), None);
            }
            "set_model" => {
                self.provider = cmd["provider"].as_str().unwrap_or_default().to_string();
                self.model = cmd["modelId"].as_str().unwrap_or_default().to_string();
                let data = json!({ "provider": self.provider, "id": self.model });
                self.respond(&cmd, true, Some(data), None);
            }
            "set_session_name" => {
                self.name = cmd["name"].as_str().map(str::to_string);
                self.respond(&cmd, true, None, None);
            }
            "get_commands" => self.respond(&cmd, true, Some(json!({ "commands": [] })), None),
            "get_fork_messages" => self.respond(&cmd, true, Some(json!({ "messages": [] })), None),
            "cycle_model"
            | "set_thinking_level"
            | "cycle_thinking_level"
            | "set_auto_compaction"
            | "set_auto_retry"
            | "abort_retry"
            | "extension_ui_response" => self.respond(&cmd, true, None, None),
            "compact" => self.respond(&cmd, true, Some(json!({ "summary": "", "tokensBefore": 0 })), None),
            "fork" => self.respond(&cmd, false, None, Some("no such entry")),
            _ => self.respond(&cmd, false, None, Some("unknown command")),
        }
    }
}

/// The newest session file in `dir`, and its messages.
fn resume(dir: &Path) -> Option<(PathBuf, String, Vec<Value>, Option<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let file = files.pop()?;
    let text = std::fs::read_to_string(&file).ok()?;
    let mut id = String::new();
    let mut messages = Vec::new();
    let mut last = None;
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else { continue };
        match entry["type"].as_str() {
            Some("session") => id = entry["id"].as_str().unwrap_or_default().to_string(),
            Some("message") => {
                last = entry["id"].as_str().map(str::to_string);
                messages.push(entry["message"].clone());
            }
            _ => {}
        }
    }
    Some((file, id, messages, last))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let session_dir = flag("--session-dir").map(PathBuf::from);
    let continuing = args.iter().any(|a| a == "--continue");
    let (tx, inbox) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Value>(&line) {
                Ok(cmd) => {
                    if tx.send(cmd).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("stand-in agent: bad command line: {e}"),
            }
        }
    });
    let mut agent = Agent {
        out: std::io::stdout(),
        session_file: None,
        session_id: uuid::Uuid::new_v4().to_string(),
        messages: Vec::new(),
        last_entry: None,
        provider: flag("--provider").unwrap_or_else(|| "standin".into()),
        model: flag("--model").unwrap_or_else(|| "echo-1".into()),
        name: None,
        inbox,
        queued: Vec::new(),
    };
    if let Some(dir) = &session_dir {
        let _ = std::fs::create_dir_all(dir);
        match resume(dir).filter(|_| continuing) {
            Some((file, id, messages, last)) => {
                agent.session_file = Some(file);
                agent.session_id = id;
                agent.messages = messages;
                agent.last_entry = last;
            }
            None => {
                let file = dir.join(format!("{}_{}.jsonl", now_ms(), agent.session_id));
                let header = json!({ "type": "session", "version": 3, "id": agent.session_id, "timestamp": now_ms(), "cwd": std::env::current_dir().ok() });
                let _ = std::fs::write(&file, format!("{header}\n"));
                agent.session_file = Some(file);
            }
        }
    }
    eprintln!("stand-in agent ready");
    while let Ok(cmd) = agent.inbox.recv() {
        agent.command(cmd);
    }
    if args.iter().any(|a| a == "--linger") {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// Runs `script` with `/bin/sh -c`; returns `exit=N` and what it printed.
fn shell(script: &str) -> String {
    match std::process::Command::new("/bin/sh").args(["-c", script]).output() {
        Ok(out) => format!(
            "exit={}\n{}{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => format!("exit=-1\ncannot run /bin/sh: {e}"),
    }
}
