//! One agent process: spawning it (in its sandbox, see
//! [`crate::sandbox::launch`]) in its own process group, feeding its stdin,
//! decoding its stdout, logging its stderr, and stopping it gracefully
//! (SIGTERM to the group, SIGKILL after a grace period; the sandbox's PID
//! namespace ends with it, background processes included).

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use super::codec::{Decoded, JsonLines};

use crate::sandbox::launch::{Launch, signal_tree};

/// What the agent produced.
#[derive(Debug)]
pub enum Output {
    /// One JSON object from stdout.
    Object(Map<String, Value>),
    /// The process ended (after its last output), with a description.
    Exited(String),
}

/// A running agent process.
pub struct AgentProcess {
    pub pid: u32,
    stdin: mpsc::Sender<Vec<u8>>,
    stop: Mutex<Option<oneshot::Sender<Duration>>>,
}

impl AgentProcess {
    /// Starts the agent. Its outputs arrive on the returned receiver, ending
    /// with exactly one [`Output::Exited`].
    pub fn spawn(
        spec: &Launch,
        log: slog::Logger,
    ) -> std::io::Result<(AgentProcess, mpsc::Receiver<Output>)> {
        let mut command = spec.command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        // Without a pid there is no group to signal (and `killpg(0)` would
        // signal the server's own group).
        let Some(pid) = child.id().filter(|pid| *pid > 1) else {
            return Err(std::io::Error::other("the agent exited before it could be supervised"));
        };
        let (Some(mut stdin), Some(mut stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(std::io::Error::other("agent pipes missing"));
        };
        let (out_tx, out_rx) = mpsc::channel(1024);
        let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(256);
        let (stop_tx, stop_rx) = oneshot::channel::<Duration>();

        tokio::spawn(async move {
            while let Some(line) = in_rx.recv().await {
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });

        let reader_log = log.clone();
        let reader_tx = out_tx.clone();
        let reader = tokio::spawn(async move {
            let mut codec = JsonLines::default();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match stdout.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for decoded in codec.push(&buf[..n]) {
                    match decoded {
                        Decoded::Object(map) => {
                            if reader_tx.send(Output::Object(map)).await.is_err() {
                                return;
                            }
                        }
                        Decoded::Skipped(why) => {
                            slog::warn!(reader_log, "skipped agent output"; "why" => why)
                        }
                    }
                }
            }
        });

        let stderr_log = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                slog::info!(stderr_log, "agent stderr"; "pid" => pid, "line" => line);
            }
        });

        let sandboxed = spec.sandboxed;
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                grace = stop_rx => {
                    // SIGTERM to whatever runs, including what a sandbox
                    // still setting up starts later; SIGKILL after the
                    // grace period, until it is gone.
                    let deadline = tokio::time::Instant::now() + grace.unwrap_or(Duration::ZERO);
                    let (mut termed, tick) = (Vec::new(), Duration::from_millis(50));
                    loop {
                        let now = tokio::time::Instant::now();
                        let (signal, signaled) = if now < deadline {
                            (Signal::SIGTERM, &mut termed)
                        } else {
                            (Signal::SIGKILL, &mut Vec::new())
                        };
                        signal_tree(pid, sandboxed, signal, signaled);
                        let left = deadline.saturating_duration_since(now);
                        let wait = if left.is_zero() { tick } else { tick.min(left) };
                        if let Ok(status) = tokio::time::timeout(wait, child.wait()).await {
                            break status;
                        }
                    }
                }
            };
            let _ = reader.await;
            let description = match status {
                Ok(s) => s.to_string(),
                Err(e) => format!("wait failed: {e}"),
            };
            let _ = out_tx.send(Output::Exited(description)).await;
        });

        Ok((AgentProcess { pid, stdin: in_tx, stop: Mutex::new(Some(stop_tx)) }, out_rx))
    }

    /// Sends one command (a JSON line).
    pub async fn send(&self, command: &Value) -> bool {
        let mut line = serde_json::to_vec(command).unwrap_or_default();
        line.push(b'\n');
        self.stdin.send(line).await.is_ok()
    }

    /// Asks the process to stop: SIGTERM now, SIGKILL after `grace`.
    pub fn stop(&self, grace: Duration) {
        if let Some(tx) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(grace);
        }
    }
}
