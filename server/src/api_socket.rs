//! The API socket: a Unix socket in the data dir, bound into every agent's
//! sandbox at `/run/oqto/api.sock` (`OQTO_SOCKET`), so that an agent
//! reaches the server even in a sandbox without a network. Each connection
//! is relayed byte for byte to the server's own listener on this machine:
//! the same API, the same authentication (the agent's `OQTO_TOKEN`), a
//! loopback peer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::net::{TcpStream, UnixListener};

/// Connections relayed at once; more wait for one to end.
const MAX_CONNECTIONS: usize = 256;

/// Where the socket lives.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("run").join("api.sock")
}

/// Binds the socket (replacing a stale one) and relays its connections to
/// `target` until the server stops.
pub fn serve(data_dir: &Path, target: SocketAddr, log: slog::Logger) -> anyhow::Result<PathBuf> {
    let socket = path(data_dir);
    let dir = socket.parent().unwrap_or(data_dir);
    crate::util::private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    match std::fs::remove_file(&socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing the stale {}", socket.display()));
        }
        _ => {}
    }
    let listener = UnixListener::bind(&socket).with_context(|| format!("binding {}", socket.display()))?;
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
            let mut inbound = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    slog::warn!(log, "api socket: accepting failed"; "error" => %e);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let log = log.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match TcpStream::connect(target).await {
                    Ok(mut outbound) => {
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                    Err(e) => slog::warn!(log, "api socket: the server's listener refused"; "error" => %e),
                }
            });
        }
    });
    Ok(socket)
}
