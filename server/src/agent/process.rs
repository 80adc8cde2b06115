//! One agent process: spawning it in its own process group, feeding its
//! stdin, decoding its stdout, logging its stderr, and stopping it
//! gracefully (SIGTERM to the group, SIGKILL after a grace period).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use super::codec::{Decoded, JsonLines};

/// How to start an agent.
#[derive(Clone, Debug)]
pub struct Spawn {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
}

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
    pub fn spawn(spec: &Spawn, log: slog::Logger) -> std::io::Result<(AgentProcess, mpsc::Receiver<Output>)> {
        let mut command = tokio::process::Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let pid = child.id().unwrap_or_default();
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

        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                grace = stop_rx => {
                    let group = Pid::from_raw(pid as i32);
                    let _ = killpg(group, Signal::SIGTERM);
                    let grace = grace.unwrap_or(Duration::ZERO);
                    match tokio::time::timeout(grace, child.wait()).await {
                        Ok(status) => status,
                        Err(_) => {
                            let _ = killpg(group, Signal::SIGKILL);
                            child.wait().await
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
