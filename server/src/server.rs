//! Starting the HTTP server: logger, context, first administrator,
//! background upkeep, Dropshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use dropshot::{ConfigDropshot, ConfigLogging, ConfigLoggingLevel, ServerBuilder};

use crate::api::OqtoApiImpl;
use crate::config::Config;
use crate::context::ServerContext;
use crate::db;

/// The level of a `log.level` name.
pub fn log_level(name: &str) -> Result<slog::Level> {
    name.parse::<slog::Level>().ok().filter(|_| crate::config::LOG_LEVELS.contains(&name)).ok_or_else(|| {
        anyhow::anyhow!("log.level {name:?} is not one of {}", crate::config::LOG_LEVELS.join(", "))
    })
}

/// The level below which records are dropped; settings change it live.
#[derive(Clone, Debug)]
pub struct LiveLevel(Arc<AtomicUsize>);

impl LiveLevel {
    pub fn set(&self, level: slog::Level) {
        self.0.store(level.as_usize(), Ordering::Relaxed);
    }
}

/// A drain that passes records at the live level or more severe.
struct AtLevel<D> {
    inner: D,
    level: LiveLevel,
}

impl<D: slog::Drain> slog::Drain for AtLevel<D> {
    type Ok = Option<D::Ok>;
    type Err = D::Err;

    fn log(&self, record: &slog::Record<'_>, values: &slog::OwnedKVList) -> Result<Self::Ok, Self::Err> {
        if record.level().as_usize() <= self.level.0.load(Ordering::Relaxed) {
            self.inner.log(record, values).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The slog logger (Dropshot's) on stderr, at the configured level, which
/// the returned handle changes while running.
pub fn logger(config: &Config) -> Result<(slog::Logger, LiveLevel)> {
    let level = LiveLevel(Arc::new(AtomicUsize::new(log_level(&config.log.level)?.as_usize())));
    let logger = ConfigLogging::StderrTerminal { level: ConfigLoggingLevel::Trace }
        .to_logger("oqto")
        .context("creating the logger")?;
    // The level first: a record below it costs no redaction.
    let drain = AtLevel { inner: crate::redact::Redacting(logger), level: level.clone() };
    Ok((slog::Logger::root(slog::Drain::fuse(drain), slog::o!()), level))
}

/// Runs the server until it fails or the process is stopped.
pub async fn serve(sources: crate::config::Sources) -> Result<()> {
    let config = sources.config()?;
    let (log, level) = logger(&config)?;
    let ctx = ServerContext::open(config, log.clone(), sources, level).await?;
    ensure_first_admin(&ctx).await?;
    // What a crashed predecessor on this data dir left running.
    for orphan in crate::sessions::kill_orphans(&ctx) {
        slog::warn!(log, "killed a process left by an earlier run"; "pid" => orphan.pid);
    }
    tokio::spawn(ctx.db.clone().probe());
    tokio::spawn(purge_revocations(Arc::clone(&ctx)));
    tokio::spawn(stop_idle(Arc::clone(&ctx)));
    crate::settings::watch(&ctx);
    tokio::spawn(crate::history::live(Arc::clone(&ctx)));
    tokio::spawn(crate::scheduler::run(Arc::clone(&ctx)));
    tokio::spawn(crate::browser::reap(Arc::clone(&ctx)));

    // Before the listening line: whoever waits for that line reads this too.
    report_sandbox(&ctx);
    let mut api = oqto_api::oqto_api_mod::api_description::<OqtoApiImpl>()
        .map_err(|e| anyhow::anyhow!("API description: {e:?}"))?;
    crate::cors::register_preflights(&mut api, crate::misc::OPENAPI_DOCUMENT)?;
    let dropshot_config = ConfigDropshot {
        bind_address: ctx.config.server.bind,
        default_request_body_max_bytes: ctx.config.server.request_body_max_bytes,
        ..Default::default()
    };
    let mut server = ServerBuilder::new(api, Arc::clone(&ctx), log.clone())
        .config(dropshot_config)
        .start()
        .map_err(|e| anyhow::anyhow!("starting the HTTP server: {e}"))?;
    let addr = server.local_addr();
    // What agents are told to call (a wildcard bind is reached on loopback).
    let reachable = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        ip if ip.is_unspecified() => std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    };
    let _ = ctx.chats.server_url.set(format!("http://{reachable}"));
    let socket = crate::api_socket::serve(&ctx.config.data_dir, reachable, log.clone())?;
    let _ = ctx.chats.api_socket.set(socket);
    set_listener_nodelay(addr, &log);
    println!("oqto {} listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    slog::info!(log, "listening"; "address" => %addr, "database" => ?ctx.db.backend);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = &mut server => return result.map_err(|e| anyhow::anyhow!("server stopped: {e}")),
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    slog::info!(log, "stopping: no new requests; ending agents and terminals");
    let grace = Duration::from_secs(ctx.config.agent.stop_grace_secs);
    let (closed, ()) = tokio::join!(server.close(), shut_down(&ctx));
    closed.map_err(|e| anyhow::anyhow!("stopping the HTTP server: {e}"))?;
    slog::info!(log, "stopped"; "grace_secs" => grace.as_secs());
    Ok(())
}

/// Ends every process started on a user's behalf: the mux connections
/// close (and their terminals with them), every agent stops gracefully.
async fn shut_down(ctx: &Arc<ServerContext>) {
    ctx.hub.close_all();
    let chats = ctx.chats.all();
    futures::future::join_all(chats.iter().map(|chat| ctx.chats.stop(chat, "server stopping"))).await;
}

/// Says loudly how user processes are isolated, and when they are not.
fn report_sandbox(ctx: &ServerContext) {
    let sandbox = &ctx.sandbox;
    if !sandbox.enabled() {
        let warning = "SANDBOX OFF (sandbox.mode = \"off\"): agents and terminals run as the server's \
                       own user and can read everything it can, other users' files and the server's \
                       secrets included. Use this only for a single-user setup.";
        eprintln!("!!! {warning}");
        slog::warn!(ctx.log, "{}", warning);
    } else if let Some(why) = sandbox.broken() {
        let warning = format!(
            "NO SANDBOX CAN BE BUILT ({why}): agents and terminals will refuse to start until \
             bubblewrap works here (or the operator sets sandbox.mode = \"off\")"
        );
        eprintln!("!!! {warning}");
        slog::error!(ctx.log, "{}", warning);
    } else {
        slog::info!(ctx.log, "user processes run in bubblewrap sandboxes";
            "default_profile" => &ctx.config.sandbox.default_profile);
    }
}

/// On a server without accounts, creates `admin` with a random password,
/// prints it once and writes it to a 0600 file in the data dir.
async fn ensure_first_admin(ctx: &ServerContext) -> Result<()> {
    if db::users::count(&ctx.db.pool).await? > 0 {
        return Ok(());
    }
    let password = crate::util::random_token(20);
    let body = oqto_api::users::UserCreate {
        username: "admin".to_string(),
        email: "admin@localhost".to_string(),
        password: Some(password.clone()),
        display_name: Some("Administrator".to_string()),
        role: Some(oqto_api::users::Role::Admin),
    };
    crate::users::create(ctx, body).await.map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    let file = ctx.config.data_dir.join("initial-admin-password");
    crate::util::write_private(&file, format!("{password}\n").as_bytes())?;
    println!(
        "Created the first administrator: username `admin`, password `{password}`\n\
         (also written to {}; change it with `POST /api/auth/change-password` once logged in, \
         or here with `oqto user set-password --user admin`)",
        file.display()
    );
    Ok(())
}

/// Forgets revocations of tokens that have expired anyway, hourly.
async fn purge_revocations(ctx: Arc<ServerContext>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = db::tokens::purge_expired(&ctx.db.pool, chrono::Utc::now().timestamp()).await {
            slog::warn!(ctx.log, "purging expired revocations failed"; "error" => %e);
        }
    }
}

/// Stops idle chats and idle workspace sessions.
async fn stop_idle(ctx: Arc<ServerContext>) {
    loop {
        // The timeouts can change while running (settings).
        let current = ctx.settings.current();
        let shortest = current.agent.idle_timeout_secs.min(current.sessions.idle_timeout_secs);
        let period = Duration::from_millis((shortest * 1000 / 4).clamp(250, 30_000));
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = ctx.settings.changed() => {}
        }
        ctx.chats.stop_idle().await;
        if let Err(e) = crate::sessions::stop_idle(&ctx).await {
            slog::warn!(ctx.log, "stopping idle sessions failed"; "error" => %e);
        }
    }
}

/// Dropshot does not set `TCP_NODELAY` on the connections it accepts, so a
/// small mux frame could wait for the peer's delayed ACK (Nagle): tens of
/// milliseconds at p99. Linux copies the option from the listening socket
/// to every accepted one, so it is set on the listener, found among this
/// process's descriptors by its address.
#[cfg(target_os = "linux")]
fn set_listener_nodelay(addr: std::net::SocketAddr, log: &slog::Logger) {
    use nix::sys::socket::{SockaddrStorage, getsockname, getsockopt, setsockopt, sockopt};
    use std::os::fd::BorrowedFd;
    let wanted = SockaddrStorage::from(addr);
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    for fd in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()) {
        if getsockname::<SockaddrStorage>(fd).ok() != Some(wanted) {
            continue;
        }
        // SAFETY: the descriptor is open (it just answered getsockname) and
        // is only borrowed for these two calls; at worst a concurrent close
        // makes them fail, which is harmless.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        if getsockopt(&fd, sockopt::AcceptConn).unwrap_or(false) {
            if let Err(e) = setsockopt(&fd, sockopt::TcpNoDelay, &true) {
                slog::warn!(log, "could not set TCP_NODELAY on the listener"; "error" => %e);
            }
            return;
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn set_listener_nodelay(_addr: std::net::SocketAddr, _log: &slog::Logger) {}
