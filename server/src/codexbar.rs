//! codexbar: the operator's tool that reports how much of each AI
//! provider's plan is used. The server runs it (it is the server's tool,
//! not user code: it reads the operator's provider logins) with a clean
//! environment and a time limit, and passes on the JSON it prints.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::context::ServerContext;
use crate::error::{Error, Result};

/// All attempts together.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The most output read.
const MAX_OUTPUT: usize = 4 * 1024 * 1024;
/// The arguments, newest codexbar first.
const ATTEMPTS: [&[&str]; 3] = [
    &["usage", "--provider", "all", "--source", "cli", "--format", "json"],
    &["usage", "--provider", "all", "--source", "cli", "--json"],
    &["usage", "--provider", "all", "--source", "cli"],
];

pub async fn usage(ctx: &ServerContext) -> Result<serde_json::Value> {
    let bin = crate::sandbox::launch::find_program(&ctx.config.codexbar.bin.to_string_lossy());
    let Some(bin) = bin.filter(|b| b.is_file()) else {
        return Err(Error::NotFound("codexbar not available on this server".into()));
    };
    let deadline = Instant::now() + TIMEOUT;
    let mut last = String::new();
    for args in ATTEMPTS {
        match run(&bin, args, deadline).await? {
            Ok(json) => return Ok(json),
            Err(why) => last = why,
        }
    }
    Err(Error::Upstream(format!("codexbar failed: {last}")))
}

/// One run: its JSON, or why there is none.
async fn run(bin: &Path, args: &[&str], deadline: Instant) -> Result<Result<serde_json::Value, String>> {
    let mut command = tokio::process::Command::new(bin);
    command.args(args).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    command.kill_on_drop(true);
    for key in ["PATH", "HOME", "LANG", "USER"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Ok(Err(format!("it could not be started ({})", e.kind()))),
    };
    let mut stdout = child.stdout.take().expect("piped");
    let work = async {
        let mut out = Vec::new();
        (&mut stdout).take(MAX_OUTPUT as u64 + 1).read_to_end(&mut out).await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out))
    };
    let (status, out) = match tokio::time::timeout_at(deadline, work).await {
        Err(_) => return Err(Error::Upstream(format!("codexbar took longer than {} s", TIMEOUT.as_secs()))),
        Ok(Err(e)) => return Ok(Err(format!("reading its output failed ({})", e.kind()))),
        Ok(Ok(done)) => done,
    };
    if out.len() > MAX_OUTPUT {
        return Ok(Err(format!("it printed more than {MAX_OUTPUT} bytes")));
    }
    if !status.success() {
        return Ok(Err(format!("it exited with {status}")));
    }
    Ok(serde_json::from_slice(&out).map_err(|_| "it printed no JSON".to_string()))
}
