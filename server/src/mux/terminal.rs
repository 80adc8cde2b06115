//! The `terminal` channel: shells on real PTYs in a workspace, each in the
//! user's sandbox. Several per user; all close with the connection.
//!
//! PTY reads and writes happen on a thread per terminal, never on the
//! async runtime: input is queued (bounded) to the terminal's writer
//! thread, and a terminal whose program stopped reading drops further
//! input with an error instead of blocking anything else.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use oqto_api::mux::{ServerFrame, TerminalCommand, TerminalEvent, TerminalRequest};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::Connection;
use crate::context::ServerContext;
use crate::error::{Error, Result};

/// Open terminals per user, over all their connections.
const MAX_TERMINALS_PER_USER: usize = 8;
/// Input chunks queued for one terminal before input is refused.
const INPUT_QUEUE: usize = 64;

/// One shell on a PTY.
pub struct Terminal {
    /// The workspace session it runs in, if any (it closes when that stops).
    pub session_id: Option<String>,
    master: Box<dyn MasterPty + Send>,
    input: SyncSender<Vec<u8>>,
    child: Option<Box<dyn Child + Send + Sync>>,
    sandboxed: bool,
}

impl Drop for Terminal {
    /// Kills the sandbox (its PID namespace ends, background jobs with
    /// it) without waiting here; a thread reaps it.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let (pid, sandboxed) = (child.process_id().unwrap_or(0), self.sandboxed);
        std::thread::spawn(move || {
            for _ in 0..500 {
                if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                    return;
                }
                crate::sandbox::launch::signal_tree(
                    pid,
                    sandboxed,
                    nix::sys::signal::Signal::SIGKILL,
                    &mut Vec::new(),
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    }
}

impl Terminal {
    /// The process the terminal started (its sandbox).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.process_id())
    }
}

/// A connection's terminals.
pub type Terminals = Mutex<HashMap<String, Terminal>>;

fn send(conn: &Connection, event: TerminalEvent) {
    conn.send(&ServerFrame::Terminal(event));
}

fn size(cols: u16, rows: u16) -> Result<PtySize> {
    if !(1..=1000).contains(&cols) || !(1..=1000).contains(&rows) {
        return Err(Error::Invalid("cols and rows must be between 1 and 1000".into()));
    }
    Ok(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
}

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: TerminalRequest) {
    let id = request.id.clone();
    if let Err(e) = run(ctx, conn, request).await {
        let (error_code, error) = conn.failure(&ctx.log, e);
        send(conn, TerminalEvent::Error { id, error, error_code });
    }
}

async fn run(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: TerminalRequest) -> Result<()> {
    let TerminalRequest { id, command } = request;
    let not_open = |t: &str| Error::NotFound(format!("no open terminal {t:?}"));
    let pty = |e: anyhow::Error| Error::Internal(e.context("terminal"));
    match command {
        TerminalCommand::Open { terminal_id, workspace_path, session_id, cols, rows } => {
            let size = size(cols, rows)?;
            let caller = &conn.caller;
            // The workspace session it belongs to: the one named, else the
            // running session whose workspace holds the directory.
            let session = match &session_id {
                Some(key) => Some(crate::sessions::get(ctx, caller, key).await?),
                None => None,
            };
            let workspace = match (workspace_path, &session) {
                (Some(path), _) => path,
                (None, Some(session)) => session.workspace_path.clone(),
                (None, None) => ".".to_string(),
            };
            let dir = crate::sessions::resolve(ctx, &caller.user_id, &workspace).await?;
            let session_id = match session {
                Some(session) => Some(session.id.to_string()),
                None => crate::sessions::running_session_containing(ctx, &caller.user_id, &dir)
                    .await?
                    .map(|s| s.id),
            };
            dir.create()?;
            let terminal_id = terminal_id
                .unwrap_or_else(|| format!("term-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
            if conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).contains_key(&terminal_id) {
                return Err(Error::Conflict(format!("terminal {terminal_id:?} is open already")));
            }
            if ctx.hub.terminals_of_user(&caller.user_id) >= MAX_TERMINALS_PER_USER {
                return Err(Error::Conflict(format!(
                    "at most {MAX_TERMINALS_PER_USER} terminals per user; close one first"
                )));
            }
            let shell = ["/bin/bash", "/bin/sh"].into_iter().find(|s| std::path::Path::new(s).exists());
            let spec = crate::sandbox::launch::Spec {
                program: shell.unwrap_or("/bin/sh").to_string(),
                args: Vec::new(),
                cwd: dir.path.clone(),
                home: dir.root.clone(),
                writable: vec![dir.root.clone(), ctx.config.user_dir(&caller.user_id).join("agent")],
                env: vec![
                    ("TERM".into(), "xterm-256color".into()),
                    ("SHELL".into(), shell.unwrap_or("/bin/sh").into()),
                ],
                profile: ctx.sandbox.profile_for(&dir.path),
                new_session: false,
                api_socket: None,
            };
            std::fs::create_dir_all(&spec.writable[1]).map_err(|e| pty(e.into()))?;
            let launch = ctx.sandbox.launch(&spec)?;
            let pair = native_pty_system().openpty(size).map_err(pty)?;
            let mut command = CommandBuilder::new(&launch.program);
            command.args(&launch.args);
            command.cwd(&launch.cwd);
            command.env_clear();
            for (key, value) in &launch.env {
                command.env(key, value);
            }
            // Found after a crash like an agent (see `sessions::kill_orphans`).
            command.env(crate::agent::MARKER_ENV, &ctx.agent_marker);
            let child = pair.slave.spawn_command(command).map_err(pty)?;
            drop(pair.slave);
            let mut reader = pair.master.try_clone_reader().map_err(pty)?;
            let mut writer = pair.master.take_writer().map_err(pty)?;
            let (input, queued) = std::sync::mpsc::sync_channel::<Vec<u8>>(INPUT_QUEUE);
            std::thread::spawn(move || {
                for chunk in queued {
                    if writer.write_all(&chunk).and_then(|()| writer.flush()).is_err() {
                        return;
                    }
                }
            });
            conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).insert(
                terminal_id.clone(),
                Terminal {
                    session_id,
                    master: pair.master,
                    input,
                    child: Some(child),
                    sandboxed: launch.sandboxed,
                },
            );
            send(conn, TerminalEvent::Opened { id, terminal_id: terminal_id.clone() });
            let target = Arc::downgrade(conn);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let Some(conn) = target.upgrade() else { return };
                    let data_base64 = BASE64.encode(&buf[..n]);
                    send(&conn, TerminalEvent::Output { terminal_id: terminal_id.clone(), data_base64 });
                }
                if let Some(conn) = target.upgrade() {
                    conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).remove(&terminal_id);
                    send(&conn, TerminalEvent::Exit { terminal_id });
                }
            });
        }
        TerminalCommand::Input { terminal_id, data } => {
            let open = conn.terminals().lock().unwrap_or_else(|p| p.into_inner());
            let terminal = open.get(&terminal_id).ok_or_else(|| not_open(&terminal_id))?;
            match terminal.input.try_send(data.into_bytes()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    return Err(Error::Conflict(format!(
                        "terminal {terminal_id:?} is not reading its input; this input was dropped"
                    )));
                }
                Err(TrySendError::Disconnected(_)) => return Err(not_open(&terminal_id)),
            }
        }
        TerminalCommand::Resize { terminal_id, cols, rows } => {
            let size = size(cols, rows)?;
            let open = conn.terminals().lock().unwrap_or_else(|p| p.into_inner());
            open.get(&terminal_id).ok_or_else(|| not_open(&terminal_id))?.master.resize(size).map_err(pty)?;
        }
        TerminalCommand::Close { terminal_id } => {
            let removed = conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).remove(&terminal_id);
            removed.ok_or_else(|| not_open(&terminal_id))?;
        }
    }
    Ok(())
}
