//! The Chrome DevTools Protocol over Chromium's debugging pipe
//! (`--remote-debugging-pipe`: the browser reads commands on its fd 3 and
//! writes answers and events on its fd 4, each message JSON ended by a
//! NUL). A pipe rather than a debugging port: no socket on the machine
//! that another user's process could connect to.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// The largest message read from the browser (a screenshot of a large
/// page is several MiB of base64).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// How long a command may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// An event the browser sent.
#[derive(Debug)]
pub struct Event {
    pub method: String,
    pub params: Value,
    /// The target session it came from (flattened sessions).
    pub session_id: Option<String>,
}

type Pending = Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>;

/// One browser's protocol connection.
pub struct Cdp {
    writer: mpsc::Sender<Vec<u8>>,
    pending: Arc<Pending>,
    next_id: AtomicU64,
    closed: Arc<AtomicBool>,
}

/// The pipes of a browser about to start: the child's ends go to its fds
/// 3 and 4, the server keeps the others.
pub struct Pipes {
    /// Becomes the child's fd 3 (it reads commands there).
    child_reads: OwnedFd,
    /// Becomes the child's fd 4 (it writes there).
    child_writes: OwnedFd,
    ours_write: OwnedFd,
    ours_read: OwnedFd,
}

impl Pipes {
    pub fn new() -> std::io::Result<Pipes> {
        let (child_reads, ours_write) = std::io::pipe()?;
        let (ours_read, child_writes) = std::io::pipe()?;
        Ok(Pipes {
            child_reads: child_reads.into(),
            child_writes: child_writes.into(),
            ours_write: ours_write.into(),
            ours_read: ours_read.into(),
        })
    }

    /// Makes the child's ends its fds 3 and 4 (between fork and exec).
    pub fn install_in_child(&self, command: &mut tokio::process::Command) {
        let (reads, writes) = (self.child_reads.as_raw_fd(), self.child_writes.as_raw_fd());
        // SAFETY: only fcntl and dup2, which are async-signal-safe, run
        // between fork and exec; the fds are open in the parent until the
        // child has started.
        unsafe {
            command.pre_exec(move || {
                use nix::libc;
                // Out of the way of 3 and 4 first, so that neither dup2
                // overwrites the other's source.
                let high_r = libc::fcntl(reads, libc::F_DUPFD, 10);
                let high_w = libc::fcntl(writes, libc::F_DUPFD, 10);
                if high_r < 0 || high_w < 0 || libc::dup2(high_r, 3) < 0 || libc::dup2(high_w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(high_r);
                libc::close(high_w);
                Ok(())
            });
        }
    }

    /// Starts talking over the server's ends (after the child started);
    /// events go to `events`, in order.
    pub fn connect(self, events: mpsc::Sender<Event>) -> std::io::Result<Cdp> {
        drop(self.child_reads);
        drop(self.child_writes);
        let mut write = tokio::net::unix::pipe::Sender::from_owned_fd(self.ours_write)?;
        let mut read = tokio::net::unix::pipe::Receiver::from_owned_fd(self.ours_read)?;
        let pending: Arc<Pending> = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let (writer, mut outgoing) = mpsc::channel::<Vec<u8>>(64);
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if write.write_all(&message).await.is_err() {
                    break;
                }
            }
        });
        let (reader_pending, reader_closed) = (Arc::clone(&pending), Arc::clone(&closed));
        tokio::spawn(async move {
            let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
            let mut chunk = vec![0u8; 64 * 1024];
            'reading: loop {
                let n = match read.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let start = buffer.len();
                buffer.extend_from_slice(&chunk[..n]);
                let mut from = 0;
                let mut search = start;
                while let Some(at) = buffer[search..].iter().position(|b| *b == 0) {
                    let end = search + at;
                    let message = &buffer[from..end];
                    if let Ok(value) = serde_json::from_slice::<Value>(message)
                        && !dispatch(value, &reader_pending, &events).await
                    {
                        break 'reading;
                    }
                    from = end + 1;
                    search = from;
                }
                buffer.drain(..from);
                if buffer.len() > MAX_MESSAGE_BYTES {
                    break;
                }
            }
            reader_closed.store(true, Ordering::SeqCst);
            for (_, waiter) in reader_pending.lock().expect("pending").drain() {
                let _ = waiter.send(Err("the browser closed".into()));
            }
        });
        Ok(Cdp { writer, pending, next_id: AtomicU64::new(1), closed })
    }
}

/// Routes one message: an answer to its caller, an event to the events
/// channel. `false` when nobody listens for events any more.
async fn dispatch(mut value: Value, pending: &Pending, events: &mpsc::Sender<Event>) -> bool {
    if let Some(id) = value.get("id").and_then(Value::as_u64) {
        let waiter = pending.lock().expect("pending").remove(&id);
        if let Some(waiter) = waiter {
            let answer = match value.get_mut("error") {
                Some(error) => Err(error["message"].as_str().unwrap_or("the browser refused").to_string()),
                None => Ok(value.get_mut("result").map(Value::take).unwrap_or(Value::Null)),
            };
            let _ = waiter.send(answer);
        }
        return true;
    }
    let Some(method) = value.get("method").and_then(Value::as_str).map(str::to_string) else {
        return true;
    };
    let event = Event {
        method,
        params: value.get_mut("params").map(Value::take).unwrap_or(Value::Null),
        session_id: value.get("sessionId").and_then(Value::as_str).map(str::to_string),
    };
    events.send(event).await.is_ok()
}

impl Cdp {
    /// Sends a command (to a target's session when `session` is given) and
    /// waits for its answer. Errors are the browser's message.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        if self.closed.load(Ordering::SeqCst) {
            return Err("the browser closed".into());
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        bytes.push(0);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("pending").insert(id, tx);
        if self.writer.send(bytes).await.is_err() {
            self.pending.lock().expect("pending").remove(&id);
            return Err("the browser closed".into());
        }
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the browser closed".into()),
            Err(_) => {
                self.pending.lock().expect("pending").remove(&id);
                Err(format!("the browser did not answer {method} within {} s", CALL_TIMEOUT.as_secs()))
            }
        }
    }

    /// Whether the browser has gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
