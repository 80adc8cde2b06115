//! `oqtoctl term SESSION`: an interactive shell in a workspace session, on
//! the mux's `terminal` channel. On a terminal, the local one is put in raw
//! mode (restored on exit) and window size changes are passed on; `Ctrl-]`
//! detaches. With piped input, the input is typed into the shell and
//! `exit` follows it, so `echo ls | oqtoctl term s` runs and ends.

use std::io::Read;
use std::os::fd::AsFd;

use anyhow::{Context, Result, bail};
use base64::Engine;
use clap::Args;
use oqto_api::mux::{ClientFrame, ServerFrame, TerminalCommand, TerminalEvent, TerminalRequest};
use oqto_client::mux::{MuxClient, MuxEvent};
use rustix::termios::{OptionalActions, Termios, isatty, tcgetattr, tcgetwinsize, tcsetattr};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::profile;

/// The detach key (`Ctrl-]`).
const DETACH: u8 = 0x1d;

#[derive(Args)]
pub struct TermArgs {
    /// The workspace session (id or readable id).
    pub session: String,
}

/// The local terminal in raw mode until dropped.
struct RawMode(Termios);

impl RawMode {
    fn enable() -> Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).context("reading the terminal's settings")?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw).context("switching to raw mode")?;
        Ok(RawMode(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, &self.0);
    }
}

/// The local window's size as `(cols, rows)`, 80×24 when unknown.
fn window_size() -> (u16, u16) {
    match tcgetwinsize(std::io::stdout().as_fd()).or_else(|_| tcgetwinsize(std::io::stdin().as_fd())) {
        Ok(w) if w.ws_col > 0 && w.ws_row > 0 => (w.ws_col, w.ws_row),
        _ => (80, 24),
    }
}

/// Reads stdin on a thread of its own (a blocked read must not hold the
/// runtime open at exit); `None` marks its end.
fn stdin_chunks() -> mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.blocking_send(None);
                    return;
                }
                Ok(n) => {
                    if tx.blocking_send(Some(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// Splits off the longest valid UTF-8 prefix; a character cut at the end
/// of a read waits in `pending` for the next one.
fn take_text(pending: &mut Vec<u8>) -> String {
    let valid = match std::str::from_utf8(pending) {
        Ok(_) => pending.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => pending.len(),
    };
    let rest = pending.split_off(valid);
    let text = String::from_utf8_lossy(pending).into_owned();
    *pending = rest;
    text
}

fn send(mux: &MuxClient, command: TerminalCommand) {
    mux.send(ClientFrame::Terminal(TerminalRequest { id: None, command }));
}

/// Sends input, or queues it while the shell has not shown anything yet.
fn type_in(mux: &MuxClient, held: &mut Option<Vec<TerminalCommand>>, command: TerminalCommand) {
    match held {
        Some(queue) => queue.push(command),
        None => send(mux, command),
    }
}

/// Opens the terminal and returns its id.
async fn open(mux: &mut MuxClient, session: String, (cols, rows): (u16, u16)) -> Result<String> {
    let command = TerminalCommand::Open {
        terminal_id: None,
        workspace_path: None,
        session_id: Some(session),
        cols,
        rows,
    };
    mux.send(ClientFrame::Terminal(TerminalRequest { id: Some("open".into()), command }));
    loop {
        match mux.next().await {
            Some(MuxEvent::Frame(ServerFrame::Terminal(TerminalEvent::Opened { terminal_id, .. }))) => {
                return Ok(terminal_id);
            }
            Some(MuxEvent::Frame(ServerFrame::Terminal(TerminalEvent::Error { error, .. }))) => bail!(error),
            Some(MuxEvent::Closed { reason, .. }) => bail!("the connection closed: {reason}"),
            Some(_) => {}
            None => bail!("the connection closed"),
        }
    }
}

pub async fn run(name: &str, args: TermArgs) -> Result<()> {
    let mut mux = profile::mux(name).await?;
    let interactive = isatty(std::io::stdin().as_fd());
    let terminal_id = open(&mut mux, args.session, window_size()).await?;
    let raw = if interactive { Some(RawMode::enable()?) } else { None };
    let result = relay(&mut mux, &terminal_id, interactive).await;
    drop(raw);
    if interactive {
        eprintln!();
    }
    result
}

/// Passes keystrokes, output and window changes until the shell ends.
async fn relay(mux: &mut MuxClient, terminal_id: &str, interactive: bool) -> Result<()> {
    let mut input = stdin_chunks();
    let mut resized = signal(SignalKind::window_change()).context("watching window size changes")?;
    let mut stdout = tokio::io::stdout();
    let mut pending = Vec::new();
    let mut input_open = true;
    let mut last_typed = None;
    // Input waits for the shell's first output: a shell starting up may
    // discard what was typed before it was ready.
    let mut held: Option<Vec<TerminalCommand>> = Some(Vec::new());

    loop {
        tokio::select! {
            event = mux.next() => match event {
                Some(MuxEvent::Frame(ServerFrame::Terminal(event))) => match event {
                    TerminalEvent::Output { terminal_id: id, data_base64 } if id == terminal_id => {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(data_base64)
                            .context("decoding the output")?;
                        stdout.write_all(&bytes).await?;
                        stdout.flush().await?;
                        for command in held.take().unwrap_or_default() {
                            send(mux, command);
                        }
                    }
                    TerminalEvent::Exit { terminal_id: id } if id == terminal_id => return Ok(()),
                    TerminalEvent::Error { error, .. } => bail!(error),
                    _ => {}
                },
                Some(MuxEvent::Reconnected) => bail!("the connection dropped; the terminal is gone"),
                Some(MuxEvent::Closed { reason, .. }) => bail!("the connection closed: {reason}"),
                Some(_) => {}
                None => bail!("the connection closed"),
            },
            chunk = input.recv(), if input_open => match chunk.flatten() {
                Some(bytes) if interactive && bytes.contains(&DETACH) => {
                    send(mux, TerminalCommand::Close { terminal_id: terminal_id.to_string() });
                    return Ok(());
                }
                Some(bytes) => {
                    last_typed = bytes.last().copied();
                    pending.extend_from_slice(&bytes);
                    let data = take_text(&mut pending);
                    if !data.is_empty() {
                        let input = TerminalCommand::Input { terminal_id: terminal_id.to_string(), data };
                        type_in(mux, &mut held, input);
                    }
                }
                None => {
                    // End of piped input: the shell is told to exit once
                    // it has run the rest (a Ctrl-D typed ahead would be
                    // lost whenever it lands while a command runs).
                    input_open = false;
                    let ended_line = matches!(last_typed, None | Some(b'\n' | b'\r'));
                    let data = if ended_line { "exit\n" } else { "\nexit\n" }.to_string();
                    type_in(mux, &mut held, TerminalCommand::Input { terminal_id: terminal_id.to_string(), data });
                }
            },
            _ = resized.recv() => {
                let (cols, rows) = window_size();
                send(mux, TerminalCommand::Resize { terminal_id: terminal_id.to_string(), cols, rows });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::take_text;

    #[test]
    fn a_character_cut_between_reads_waits() {
        let mut pending = "aé".as_bytes()[..2].to_vec();
        assert_eq!(take_text(&mut pending), "a");
        pending.extend_from_slice(&"é".as_bytes()[1..]);
        assert_eq!(take_text(&mut pending), "é");
        assert!(pending.is_empty());
    }
}
