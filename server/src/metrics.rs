//! Admin figures: a snapshot of what the server holds and runs
//! (`GET /api/admin/stats`), the same with the host's CPU and memory as a
//! Server-Sent Events stream (`GET /api/admin/metrics`), and as Prometheus
//! text (`GET /metrics`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use oqto_api::metrics::{AdminStats, HostMetrics, MetricsSample};

use crate::context::ServerContext;
use crate::error::Result;

/// How often the stream sends a sample.
const EVERY: Duration = Duration::from_secs(2);
/// How often the stream sends a comment that keeps proxies from closing it.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// What the figures need to remember.
pub struct Metrics {
    started_at: DateTime<Utc>,
    started: std::time::Instant,
    /// Open metrics streams.
    streams: Arc<AtomicU64>,
    /// The token a Prometheus scraper may present, when configured.
    scrape_token: Option<String>,
}

impl Metrics {
    pub fn new(scrape_token: Option<String>) -> Metrics {
        Metrics {
            started_at: Utc::now(),
            started: std::time::Instant::now(),
            streams: Arc::default(),
            scrape_token,
        }
    }

    /// Whether `token` is the configured scrape token (compared in
    /// constant time).
    pub fn is_scrape_token(&self, token: &str) -> bool {
        let Some(expected) = &self.scrape_token else { return false };
        expected.len() == token.len()
            && expected.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Reads the scrape token file: its first line, trimmed; none when the
/// setting is empty. A configured file that cannot be read stops startup.
pub fn load_scrape_token(path: &std::path::Path) -> anyhow::Result<Option<String>> {
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading metrics.scrape_token_file {}: {e}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.len() < 16 {
        anyhow::bail!("metrics.scrape_token_file {} holds a token under 16 characters", path.display());
    }
    Ok(Some(token))
}

pub async fn stats(ctx: &ServerContext) -> Result<AdminStats> {
    let pool = &ctx.db.pool;
    let (total_users, active_users) = crate::db::metrics::users(pool).await?;
    let by_state = crate::db::metrics::sessions_by_status(pool).await?;
    let database_bytes = crate::db::metrics::size(pool, ctx.db.backend).await?;
    let chats = ctx.chats.all();
    let count = |n: i64| n.max(0) as u64;
    Ok(AdminStats {
        total_users: count(total_users),
        active_users: count(active_users),
        total_sessions: by_state.iter().map(|(_, n)| count(*n)).sum(),
        running_sessions: by_state.iter().filter(|(s, _)| s == "running").map(|(_, n)| count(*n)).sum(),
        sessions_by_state: by_state.into_iter().map(|(s, n)| (s, count(n))).collect(),
        chats_running: chats.iter().filter(|c| c.is_running()).count() as u64,
        agent_processes: ctx.chats.pids().len() as u64,
        mux_connections: ctx.hub.connection_count() as u64,
        metrics_streams: ctx.metrics.streams.load(Ordering::Relaxed),
        database_bytes: count(database_bytes),
        started_at: ctx.metrics.started_at,
        uptime_secs: ctx.metrics.started.elapsed().as_secs(),
    })
}

/// The host's CPU time in ticks since boot: busy and all.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTicks {
    busy: u64,
    total: u64,
}

/// Reads the first line of `/proc/stat`.
fn cpu_ticks() -> std::result::Result<CpuTicks, String> {
    let text = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {}", e.kind()))?;
    parse_cpu_ticks(&text).ok_or_else(|| "/proc/stat: no cpu line".to_string())
}

fn parse_cpu_ticks(text: &str) -> Option<CpuTicks> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).take(8).filter_map(|f| f.parse().ok()).collect();
    if fields.len() < 5 {
        return None;
    }
    let total: u64 = fields.iter().sum();
    let idle = fields[3] + fields[4];
    Some(CpuTicks { busy: total - idle, total })
}

/// `MemTotal` and `MemAvailable` of `/proc/meminfo`, in bytes.
fn memory() -> std::result::Result<(u64, u64), String> {
    let text =
        std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("/proc/meminfo: {}", e.kind()))?;
    parse_memory(&text).ok_or_else(|| "/proc/meminfo: no MemTotal or MemAvailable".to_string())
}

fn parse_memory(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

/// The host's figures; the CPU share since `previous` (updated).
fn host(previous: &mut Option<CpuTicks>) -> std::result::Result<HostMetrics, String> {
    let now = cpu_ticks()?;
    let (total, available) = memory()?;
    let cpu_percent = match previous.replace(now) {
        Some(before) if now.total > before.total => {
            (now.busy.saturating_sub(before.busy)) as f64 * 100.0 / (now.total - before.total) as f64
        }
        _ => 0.0,
    };
    Ok(HostMetrics {
        cpu_percent: (cpu_percent * 10.0).round() / 10.0,
        mem_total_bytes: total,
        mem_used_bytes: total.saturating_sub(available),
        mem_available_bytes: available,
    })
}

async fn sample(ctx: &ServerContext, previous: &mut Option<CpuTicks>) -> MetricsSample {
    let mut errors = Vec::new();
    let host = host(previous).map_err(|e| errors.push(e)).ok();
    let stats = stats(ctx).await.unwrap_or_else(|e| {
        errors.push(format!("figures: {}", e.public_message()));
        AdminStats::default()
    });
    MetricsSample {
        timestamp: Utc::now(),
        host,
        stats,
        containers: Vec::new(),
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// Counts an open stream for as long as it lives.
struct Open(Arc<AtomicU64>);

impl Open {
    fn new(counter: &Arc<AtomicU64>) -> Open {
        counter.fetch_add(1, Ordering::Relaxed);
        Open(Arc::clone(counter))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The body of `GET /api/admin/metrics`: a task writes the events and
/// ends as soon as the client is gone.
pub fn stream(ctx: Arc<ServerContext>) -> dropshot::Body {
    let (tx, body) = crate::body::channel(4);
    let open = Open::new(&ctx.metrics.streams);
    tokio::spawn(async move {
        let _open = open;
        let mut previous = cpu_ticks().ok();
        let mut samples = tokio::time::interval(EVERY);
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
        loop {
            let event = tokio::select! {
                _ = tx.closed() => return,
                _ = samples.tick() => {
                    let sample = sample(&ctx, &mut previous).await;
                    match serde_json::to_string(&sample) {
                        Ok(json) => format!("data: {json}\n\n"),
                        Err(_) => continue,
                    }
                }
                _ = keepalive.tick() => ": keepalive\n\n".to_string(),
            };
            if tx.send(Ok(Bytes::from(event))).await.is_err() {
                return;
            }
        }
    });
    body
}

/// The figures in Prometheus's text format.
pub async fn prometheus(ctx: &ServerContext) -> Result<String> {
    let stats = stats(ctx).await?;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v as f64)];
    metric("oqto_users", "gauge", "Accounts, active or not.", &one(stats.total_users));
    metric("oqto_active_users", "gauge", "Users with a running workspace session.", &one(stats.active_users));
    let by_state: Vec<_> = stats
        .sessions_by_state
        .iter()
        .map(|(state, n)| (format!("{{state=\"{}\"}}", label(state)), *n as f64))
        .collect();
    metric("oqto_workspace_sessions", "gauge", "Workspace sessions by state.", &by_state);
    metric("oqto_chats_running", "gauge", "Chats whose agent is running.", &one(stats.chats_running));
    metric("oqto_agent_processes", "gauge", "Agent processes supervised.", &one(stats.agent_processes));
    metric("oqto_mux_connections", "gauge", "Open multiplexed WebSockets.", &one(stats.mux_connections));
    metric("oqto_metrics_streams", "gauge", "Open admin metrics streams.", &one(stats.metrics_streams));
    metric("oqto_database_bytes", "gauge", "The database's size in bytes.", &one(stats.database_bytes));
    let start = vec![(String::new(), stats.started_at.timestamp() as f64)];
    metric("oqto_start_time_seconds", "gauge", "When the server started, in Unix seconds.", &start);
    if let Ok(ticks) = cpu_ticks() {
        // USER_HZ is 100 on every Linux architecture this runs on.
        let seconds = vec![
            ("{mode=\"busy\"}".to_string(), ticks.busy as f64 / 100.0),
            ("{mode=\"idle\"}".to_string(), (ticks.total - ticks.busy) as f64 / 100.0),
        ];
        metric("oqto_host_cpu_seconds_total", "counter", "The host's CPU time since boot.", &seconds);
    }
    if let Ok((total, available)) = memory() {
        metric("oqto_host_memory_total_bytes", "gauge", "The host's memory.", &one(total));
        metric("oqto_host_memory_available_bytes", "gauge", "The host's available memory.", &one(available));
    }
    Ok(out)
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn proc_files_are_read() {
        let ticks = super::parse_cpu_ticks("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!((ticks.busy, ticks.total), (150, 1000));
        let mem = super::parse_memory("MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:    400 kB\n");
        assert_eq!(mem, Some((1_024_000, 409_600)));
        assert!(super::parse_cpu_ticks("intr 1 2 3").is_none());
    }
}
