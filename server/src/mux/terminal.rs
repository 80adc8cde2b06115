//! The `terminal` channel: shells on real PTYs in a workspace. Several per
//! connection; all close with the connection.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use oqto_api::mux::{ServerFrame, TerminalCommand, TerminalEvent, TerminalRequest};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::Connection;
use crate::context::ServerContext;

/// Open terminals per connection.
const MAX_TERMINALS: usize = 8;

/// One shell on a PTY.
pub struct Terminal {
    /// The workspace session it runs in, if any (it closes when that stops).
    pub session_id: Option<String>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A connection's terminals.
pub type Terminals = Mutex<HashMap<String, Terminal>>;

fn send(conn: &Connection, event: TerminalEvent) {
    conn.send(&ServerFrame::Terminal(event));
}

fn size(cols: u16, rows: u16) -> Result<PtySize, String> {
    if !(1..=1000).contains(&cols) || !(1..=1000).contains(&rows) {
        return Err("cols and rows must be between 1 and 1000".into());
    }
    Ok(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
}

pub async fn handle(ctx: &Arc<ServerContext>, conn: &Arc<Connection>, request: TerminalRequest) {
    let id = request.id.clone();
    if let Err(error) = run(ctx, conn, request).await {
        send(conn, TerminalEvent::Error { id, error });
    }
}

async fn run(
    ctx: &Arc<ServerContext>,
    conn: &Arc<Connection>,
    request: TerminalRequest,
) -> Result<(), String> {
    let TerminalRequest { id, command } = request;
    let not_open = |t: &str| format!("no open terminal {t:?}");
    match command {
        TerminalCommand::Open { terminal_id, workspace_path, session_id, cols, rows } => {
            let size = size(cols, rows)?;
            let caller = &conn.caller;
            // The workspace session it belongs to: the one named, else the
            // running session whose workspace holds the directory.
            let session = match &session_id {
                Some(key) => Some(crate::sessions::get(ctx, caller, key).await.map_err(|e| e.to_string())?),
                None => None,
            };
            let workspace = match (workspace_path, &session) {
                (Some(path), _) => path,
                (None, Some(session)) => session.workspace_path.clone(),
                (None, None) => ".".to_string(),
            };
            let dir = crate::sessions::resolve(ctx, &caller.user_id, &workspace)
                .await
                .map_err(|e| e.to_string())?;
            let session_id = match session {
                Some(session) => Some(session.id.to_string()),
                None => crate::sessions::running_session_containing(ctx, &caller.user_id, &dir)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|s| s.id),
            };
            std::fs::create_dir_all(&dir.path).map_err(|e| e.to_string())?;
            let terminal_id = terminal_id
                .unwrap_or_else(|| format!("term-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
            {
                let open = conn.terminals().lock().unwrap_or_else(|p| p.into_inner());
                if open.contains_key(&terminal_id) {
                    return Err(format!("terminal {terminal_id:?} is open already"));
                }
                if open.len() >= MAX_TERMINALS {
                    return Err(format!("at most {MAX_TERMINALS} terminals per connection"));
                }
            }
            let pair = native_pty_system().openpty(size).map_err(|e| e.to_string())?;
            let shell = std::env::var("SHELL")
                .ok()
                .filter(|s| std::path::Path::new(s).exists())
                .unwrap_or_else(|| "/bin/sh".into());
            let mut command = CommandBuilder::new(shell);
            command.cwd(&dir.path);
            command.env("TERM", "xterm-256color");
            let child = pair.slave.spawn_command(command).map_err(|e| e.to_string())?;
            drop(pair.slave);
            let mut reader = pair.master.try_clone_reader().map_err(|e| e.to_string())?;
            let writer = pair.master.take_writer().map_err(|e| e.to_string())?;
            conn.terminals()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(terminal_id.clone(), Terminal { session_id, master: pair.master, writer, child });
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
            let mut open = conn.terminals().lock().unwrap_or_else(|p| p.into_inner());
            let terminal = open.get_mut(&terminal_id).ok_or_else(|| not_open(&terminal_id))?;
            terminal
                .writer
                .write_all(data.as_bytes())
                .and_then(|()| terminal.writer.flush())
                .map_err(|e| e.to_string())?;
        }
        TerminalCommand::Resize { terminal_id, cols, rows } => {
            let size = size(cols, rows)?;
            let open = conn.terminals().lock().unwrap_or_else(|p| p.into_inner());
            open.get(&terminal_id)
                .ok_or_else(|| not_open(&terminal_id))?
                .master
                .resize(size)
                .map_err(|e| e.to_string())?;
        }
        TerminalCommand::Close { terminal_id } => {
            let removed = conn.terminals().lock().unwrap_or_else(|p| p.into_inner()).remove(&terminal_id);
            removed.ok_or_else(|| not_open(&terminal_id))?;
        }
    }
    Ok(())
}
