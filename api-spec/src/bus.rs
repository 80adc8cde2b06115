//! The event bus: events on topics within a scope, published by the
//! server (chat, history and file events), by clients over the mux `bus`
//! channel and by administrators over HTTP.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where an event belongs, and so who may see it.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum BusScope {
    /// One chat (`scope_id` is its id): its owner only.
    Session,
    /// One workspace (`scope_id` is its path, relative to the owner's
    /// workspace root or absolute inside it): its owner only.
    Workspace,
    /// The whole server (`scope_id` is `global`): administrators only.
    Global,
}

/// Who published an event.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusSource {
    /// A chat's agent (its events, relayed by the server).
    Agent { user_id: String, session_id: String },
    /// A client over the mux.
    Frontend {
        user_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
    },
    /// An administrator over `POST /api/admin/bus/publish`.
    Admin { user_id: String },
    /// The server itself (history and file events).
    Backend,
}

/// An event to publish.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BusPublish {
    pub scope: BusScope,
    /// The chat id, the workspace path, or `global`.
    pub scope_id: String,
    /// Dot-separated segments, e.g. `app.state.cursor` (at most 256
    /// characters, no empty segment, no `*`).
    pub topic: String,
    /// Any JSON (at most 64 KiB serialized).
    #[serde(default)]
    pub payload: serde_json::Value,
    /// The payload's schema version; default 1.
    #[serde(default = "one")]
    pub v: u32,
    /// A label carried to subscribers (the bus does not reorder by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// After this many milliseconds `pull` no longer returns the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// A second publish with the same key by the same publisher (among the
    /// last 1024 keys) is accepted without being delivered again; the answer
    /// names the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Carried to subscribers, to tie an answer to its question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

fn one() -> u32 {
    1
}

/// A published event, as subscribers and `pull` see it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct BusEvent {
    pub event_id: String,
    pub scope: BusScope,
    pub scope_id: String,
    pub topic: String,
    pub payload: serde_json::Value,
    pub source: BusSource,
    /// When it was published, in Unix milliseconds.
    pub ts: i64,
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// The bus's counters since the server started.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
pub struct BusStats {
    /// Events accepted (server, client and administrator publishes).
    pub published: u64,
    /// Event deliveries to subscribed connections.
    pub delivered: u64,
    /// Deliveries dropped because a subscriber exceeded its rate, and
    /// publishes refused because a publisher exceeded its rate.
    pub dropped_rate: u64,
    /// Subscribes, pulls and publishes refused for a scope the caller may
    /// not use.
    pub dropped_authz: u64,
    /// Publishes answered from an earlier one with the same idempotency key.
    pub deduplicated: u64,
    /// Connections with at least one subscription.
    pub subscribers: u64,
    /// Subscriptions over all connections.
    pub subscriptions: u64,
    /// Events kept for `pull`, at most `ring_capacity` of them and
    /// `ring_max_bytes` of payload (the oldest go first).
    pub ring_len: u64,
    pub ring_capacity: u64,
    pub ring_bytes: u64,
    pub ring_max_bytes: u64,
}
