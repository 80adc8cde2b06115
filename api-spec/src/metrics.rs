//! Admin figures: what the server holds and does, as a snapshot, a live
//! stream, and Prometheus text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the server holds and runs now.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct AdminStats {
    /// Accounts, active or not.
    pub total_users: u64,
    /// Distinct users with a running workspace session.
    pub active_users: u64,
    /// Workspace sessions, in any state.
    pub total_sessions: u64,
    /// Workspace sessions that are running.
    pub running_sessions: u64,
    /// Workspace sessions by state (`running`, `stopped`, …).
    pub sessions_by_state: BTreeMap<String, u64>,
    /// Chats whose agent process is running.
    pub chats_running: u64,
    /// Agent processes this server supervises (chats and delegates).
    pub agent_processes: u64,
    /// Open multiplexed WebSocket connections.
    pub mux_connections: u64,
    /// Open `GET /api/admin/metrics` streams.
    pub metrics_streams: u64,
    /// The database's size in bytes (the SQLite file with its write-ahead
    /// log, or `pg_database_size`).
    pub database_bytes: u64,
    /// When this server process started.
    pub started_at: DateTime<Utc>,
    /// Seconds since it started.
    pub uptime_secs: u64,
}

/// The host's CPU and memory.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct HostMetrics {
    /// Busy share of all CPUs since the previous sample, 0 to 100.
    pub cpu_percent: f64,
    pub mem_total_bytes: u64,
    pub mem_used_bytes: u64,
    pub mem_available_bytes: u64,
}

/// One event of `GET /api/admin/metrics`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct MetricsSample {
    pub timestamp: DateTime<Utc>,
    /// Absent when the host's figures could not be read (see `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostMetrics>,
    pub stats: AdminStats,
    /// Per-container figures of the original's container mode. Processes
    /// here run in bubblewrap sandboxes, not containers: always empty, kept
    /// for the original's clients.
    pub containers: Vec<serde_json::Value>,
    /// What could not be read, `; `-joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
