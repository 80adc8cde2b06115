//! The event bus: events on dot-separated topics within a scope (a chat, a
//! workspace, the server), a ring of recent ones for `pull`, and
//! subscriptions of mux connections by topic pattern.
//!
//! Who may use a scope is decided before anything reaches the bus
//! ([`authorize`]): a chat's events only for its owner, a workspace's only
//! for the user whose workspace it is, the global scope (and `scope_id: "*"`,
//! every id of a scope) only for administrators. A delivery never re-checks:
//! a subscription exists only when it was allowed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oqto_api::bus::{BusEvent, BusPublish, BusScope, BusSource, BusStats};
use oqto_api::mux::{AgentEvent, BusFrame, BusTopics, ServerFrame};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};
use crate::mux::outbox::{OutFrame, Outbox};

/// Events kept for `pull`, and their payloads' total size (a chat's tool
/// results can be large).
pub const RING_CAPACITY: usize = 5000;
pub const RING_MAX_BYTES: usize = 32 * 1024 * 1024;
/// Subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 64;
/// Topic patterns in one command.
pub const MAX_TOPICS: usize = 32;
/// Longest topic or pattern.
pub const MAX_TOPIC_LEN: usize = 256;
/// Largest payload, serialized.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Events a subscriber receives per second (and at once, after a pause).
pub const DELIVERY_RATE: f64 = 200.0;
pub const DELIVERY_BURST: f64 = 400.0;
/// Events a publisher may publish per second (and at once).
pub const PUBLISH_RATE: f64 = 100.0;
pub const PUBLISH_BURST: f64 = 100.0;
/// Idempotency keys remembered.
const IDEMPOTENCY_KEYS: usize = 1024;
/// `pull`'s default and largest answer.
pub const PULL_DEFAULT: u32 = 200;
pub const PULL_MAX: u32 = 1000;

/// A token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket { tokens: burst, at: Instant::now(), rate, burst }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One subscription: a scope id (or `*`) and a topic pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Subscription {
    scope: BusScope,
    scope_id: String,
    pattern: String,
}

impl Subscription {
    fn label(&self) -> String {
        format!("{}:{}:{}", scope_name(self.scope), self.scope_id, self.pattern)
    }

    fn matches(&self, event: &BusEvent) -> bool {
        self.scope == event.scope
            && (self.scope_id == "*" || self.scope_id == event.scope_id)
            && topic_matches(&self.pattern, &event.topic)
    }
}

struct Subscriber {
    outbox: Arc<Outbox>,
    subscriptions: Vec<Subscription>,
    delivery: Bucket,
}

#[derive(Default)]
struct State {
    /// Recent events with their sizes.
    ring: VecDeque<(Arc<BusEvent>, usize)>,
    ring_bytes: usize,
    subscribers: HashMap<u64, Subscriber>,
    /// Publish budgets by publisher (`conn:<id>`, `user:<id>`).
    publishers: HashMap<String, Bucket>,
    /// (publisher, idempotency key) → the first event's id.
    idempotency: VecDeque<((String, String), String)>,
}

/// The bus of one server.
#[derive(Default)]
pub struct Bus {
    state: Mutex<State>,
    next: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    dropped_rate: AtomicU64,
    dropped_authz: AtomicU64,
    deduplicated: AtomicU64,
}

fn scope_name(scope: BusScope) -> &'static str {
    match scope {
        BusScope::Session => "session",
        BusScope::Workspace => "workspace",
        BusScope::Global => "global",
    }
}

/// Whether a topic matches a pattern: `*` is one segment, `**` any number
/// of segments (none included).
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    fn go(pattern: &[&str], topic: &[&str]) -> bool {
        match pattern.split_first() {
            None => topic.is_empty(),
            Some((&"**", rest)) => (0..=topic.len()).any(|skip| go(rest, &topic[skip..])),
            Some((&segment, rest)) => topic
                .split_first()
                .is_some_and(|(first, tail)| (segment == "*" || segment == *first) && go(rest, tail)),
        }
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let topic: Vec<&str> = topic.split('.').collect();
    go(&pattern, &topic)
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '@'))
}

/// A topic to publish on: dot-separated segments of letters, digits and
/// `_-:@`.
pub fn check_topic(topic: &str) -> Result<()> {
    if topic.len() > MAX_TOPIC_LEN || !topic.split('.').all(valid_segment) {
        return Err(Error::Invalid(format!(
            "topic {topic:?} must be dot-separated segments of letters, digits and _-:@ \
             (at most {MAX_TOPIC_LEN} characters)"
        )));
    }
    Ok(())
}

/// A topic pattern: like a topic, where a segment may also be `*` or `**`.
pub fn check_pattern(pattern: &str) -> Result<()> {
    if pattern.len() > MAX_TOPIC_LEN || !pattern.split('.').all(|s| s == "*" || s == "**" || valid_segment(s))
    {
        return Err(Error::Invalid(format!(
            "topic pattern {pattern:?} must be dot-separated segments of letters, digits and _-:@, \
             or * (one segment) or ** (any), at most {MAX_TOPIC_LEN} characters"
        )));
    }
    Ok(())
}

fn check_patterns(topics: &[String]) -> Result<()> {
    if topics.is_empty() || topics.len() > MAX_TOPICS {
        return Err(Error::Invalid(format!("name 1 to {MAX_TOPICS} topic patterns")));
    }
    topics.iter().try_for_each(|t| check_pattern(t))
}

impl Bus {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes an event whose scope was authorized (or that the server
    /// itself produces); returns its id. `publisher` names the rate budget
    /// and the idempotency keys (`None`: the server, unlimited).
    fn publish(&self, publisher: Option<&str>, event: BusEvent) -> Result<String> {
        let mut st = self.lock();
        if let Some(publisher) = publisher {
            if let Some(key) = &event.idempotency_key {
                let wanted = (publisher.to_string(), key.clone());
                if let Some((_, first)) = st.idempotency.iter().find(|(k, _)| *k == wanted) {
                    self.deduplicated.fetch_add(1, Ordering::Relaxed);
                    return Ok(first.clone());
                }
            }
            let bucket = st
                .publishers
                .entry(publisher.to_string())
                .or_insert_with(|| Bucket::new(PUBLISH_RATE, PUBLISH_BURST));
            if !bucket.take() {
                self.dropped_rate.fetch_add(1, Ordering::Relaxed);
                return Err(Error::RateLimited { retry_after_secs: 1 });
            }
            if let Some(key) = &event.idempotency_key {
                st.idempotency.push_back(((publisher.to_string(), key.clone()), event.event_id.clone()));
                if st.idempotency.len() > IDEMPOTENCY_KEYS {
                    st.idempotency.pop_front();
                }
            }
        }
        self.published.fetch_add(1, Ordering::Relaxed);
        let event = Arc::new(event);
        let mut frame: Option<OutFrame> = None;
        let (mut delivered, mut dropped) = (0, 0);
        for subscriber in st.subscribers.values_mut() {
            if !subscriber.subscriptions.iter().any(|s| s.matches(&event)) {
                continue;
            }
            if !subscriber.delivery.take() {
                dropped += 1;
                continue;
            }
            let out = frame.get_or_insert_with(|| {
                OutFrame::from_frame(&ServerFrame::Bus(BusFrame::Event(event.as_ref().clone())))
            });
            subscriber.outbox.push(out.clone());
            delivered += 1;
        }
        self.delivered.fetch_add(delivered, Ordering::Relaxed);
        self.dropped_rate.fetch_add(dropped, Ordering::Relaxed);
        let id = event.event_id.clone();
        let size = serde_json::to_vec(&event.payload).map_or(0, |v| v.len())
            + event.topic.len()
            + event.scope_id.len();
        st.ring.push_back((event, size));
        st.ring_bytes += size;
        while st.ring.len() > RING_CAPACITY || st.ring_bytes > RING_MAX_BYTES {
            let Some((_, gone)) = st.ring.pop_front() else { break };
            st.ring_bytes -= gone;
        }
        Ok(id)
    }

    fn event(&self, body: BusPublish, scope_id: String, source: BusSource) -> BusEvent {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        BusEvent {
            event_id: format!("evt_{n:x}_{}", crate::util::random_token(8)),
            scope: body.scope,
            scope_id,
            topic: body.topic,
            payload: body.payload,
            source,
            ts: chrono::Utc::now().timestamp_millis(),
            v: body.v,
            priority: body.priority,
            ttl_ms: body.ttl_ms,
            idempotency_key: body.idempotency_key,
            correlation_id: body.correlation_id,
        }
    }

    /// Publishes an event the server produces (no budget, no checks).
    pub fn publish_server(&self, scope: BusScope, scope_id: &str, topic: &str, payload: serde_json::Value) {
        let source = BusSource::Backend;
        self.publish_as(scope, scope_id, topic, payload, source);
    }

    fn publish_as(
        &self,
        scope: BusScope,
        scope_id: &str,
        topic: &str,
        payload: serde_json::Value,
        source: BusSource,
    ) {
        let body = BusPublish {
            scope,
            scope_id: scope_id.to_string(),
            topic: topic.to_string(),
            payload,
            v: 1,
            priority: None,
            ttl_ms: None,
            idempotency_key: None,
            correlation_id: None,
        };
        let event = self.event(body, scope_id.to_string(), source);
        let _ = self.publish(None, event);
    }

    /// Publishes a chat's event on `chat.<event>` (`chat.agent.idle`,
    /// `chat.stream.message_end`, …) in the chat's session
    /// scope. Streaming deltas stay on the chat's own stream: the bus
    /// carries what changed (a message started, ended, a tool ran), not
    /// every token.
    pub fn publish_chat_event(&self, user_id: &str, chat_id: &str, event: &AgentEvent) {
        if matches!(
            event,
            AgentEvent::TextDelta { .. }
                | AgentEvent::ThinkingDelta { .. }
                | AgentEvent::ToolCallDelta { .. }
                | AgentEvent::ToolProgress { .. }
                | AgentEvent::DelegateDelta { .. }
                | AgentEvent::Response { .. }
        ) {
            return;
        }
        let Ok(payload) = serde_json::to_value(event) else { return };
        let kind = payload.get("event").and_then(|t| t.as_str()).unwrap_or("event").to_string();
        let source = BusSource::Agent { user_id: user_id.to_string(), session_id: chat_id.to_string() };
        self.publish_as(BusScope::Session, chat_id, &format!("chat.{kind}"), payload, source);
    }

    /// Adds subscriptions of a connection; returns all it holds.
    fn subscribe(
        &self,
        outbox: &Arc<Outbox>,
        scope: BusScope,
        scope_id: &str,
        topics: &[String],
    ) -> Result<Vec<String>> {
        let mut st = self.lock();
        let subscriber = st.subscribers.entry(outbox.connection).or_insert_with(|| Subscriber {
            outbox: Arc::clone(outbox),
            subscriptions: Vec::new(),
            delivery: Bucket::new(DELIVERY_RATE, DELIVERY_BURST),
        });
        let new: Vec<Subscription> = topics
            .iter()
            .map(|pattern| Subscription { scope, scope_id: scope_id.to_string(), pattern: pattern.clone() })
            .filter(|s| !subscriber.subscriptions.contains(s))
            .collect();
        if subscriber.subscriptions.len() + new.len() > MAX_SUBSCRIPTIONS {
            return Err(Error::Conflict(format!(
                "at most {MAX_SUBSCRIPTIONS} bus subscriptions per connection"
            )));
        }
        subscriber.subscriptions.extend(new);
        Ok(subscriber.subscriptions.iter().map(Subscription::label).collect())
    }

    /// Removes subscriptions of a connection; returns what it still holds.
    fn unsubscribe(
        &self,
        connection: u64,
        scope: BusScope,
        scope_id: &str,
        topics: &[String],
    ) -> Vec<String> {
        let mut st = self.lock();
        let Some(subscriber) = st.subscribers.get_mut(&connection) else { return Vec::new() };
        subscriber
            .subscriptions
            .retain(|s| !(s.scope == scope && s.scope_id == scope_id && topics.contains(&s.pattern)));
        let left: Vec<String> = subscriber.subscriptions.iter().map(Subscription::label).collect();
        if left.is_empty() {
            st.subscribers.remove(&connection);
        }
        left
    }

    /// Forgets a closed connection.
    pub fn drop_connection(&self, connection: u64) {
        let mut st = self.lock();
        st.subscribers.remove(&connection);
        st.publishers.remove(&format!("conn:{connection}"));
    }

    /// Recent events of a scope on these topics, after `since_ts`, not
    /// expired: the latest `limit`, oldest first.
    fn pull(
        &self,
        scope: BusScope,
        scope_id: &str,
        topics: &[String],
        since_ts: Option<i64>,
        limit: u32,
    ) -> Vec<BusEvent> {
        let now = chrono::Utc::now().timestamp_millis();
        let st = self.lock();
        let wanted: Vec<Subscription> = topics
            .iter()
            .map(|pattern| Subscription { scope, scope_id: scope_id.to_string(), pattern: pattern.clone() })
            .collect();
        let mut events: Vec<BusEvent> = st
            .ring
            .iter()
            .map(|(event, _)| event)
            .rev()
            .filter(|e| since_ts.is_none_or(|since| e.ts > since))
            .filter(|e| e.ttl_ms.is_none_or(|ttl| e.ts.saturating_add(ttl as i64) > now))
            .filter(|e| wanted.iter().any(|s| s.matches(e)))
            .take(limit as usize)
            .map(|e| e.as_ref().clone())
            .collect();
        events.reverse();
        events
    }

    pub fn stats(&self) -> BusStats {
        let st = self.lock();
        BusStats {
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped_rate: self.dropped_rate.load(Ordering::Relaxed),
            dropped_authz: self.dropped_authz.load(Ordering::Relaxed),
            deduplicated: self.deduplicated.load(Ordering::Relaxed),
            subscribers: st.subscribers.len() as u64,
            subscriptions: st.subscribers.values().map(|s| s.subscriptions.len() as u64).sum(),
            ring_len: st.ring.len() as u64,
            ring_capacity: RING_CAPACITY as u64,
            ring_bytes: st.ring_bytes as u64,
            ring_max_bytes: RING_MAX_BYTES as u64,
        }
    }
}

/// Whether the caller may use a scope id; the scope id as events carry it
/// (a workspace as its absolute path). Another user's chat or workspace is
/// reported as not found, never as forbidden.
pub async fn authorize(
    ctx: &ServerContext,
    caller: &Caller,
    scope: BusScope,
    scope_id: &str,
    many: bool,
) -> Result<String> {
    let decided = decide(ctx, caller, scope, scope_id, many).await;
    if matches!(decided, Err(Error::Forbidden(_) | Error::NotFound(_))) {
        ctx.bus.dropped_authz.fetch_add(1, Ordering::Relaxed);
    }
    decided
}

async fn decide(
    ctx: &ServerContext,
    caller: &Caller,
    scope: BusScope,
    scope_id: &str,
    many: bool,
) -> Result<String> {
    let admin_only = |what: &str| Error::Forbidden(format!("{what} is for administrators only"));
    if scope_id == "*" && scope != BusScope::Global {
        if !many {
            return Err(Error::Invalid("publish to one scope id, not `*`".into()));
        }
        caller.require_admin().map_err(|_| admin_only("every id of a scope (`*`)"))?;
        return Ok("*".into());
    }
    match scope {
        BusScope::Global => {
            if scope_id != "global" {
                return Err(Error::Invalid("the global scope's scope_id is `global`".into()));
            }
            caller.require_admin().map_err(|_| admin_only("the global scope"))?;
            Ok("global".into())
        }
        BusScope::Session => {
            crate::chats::check_own(ctx, &caller.user_id, scope_id).await?;
            Ok(scope_id.to_string())
        }
        BusScope::Workspace => {
            let dir = crate::sessions::resolve(ctx, &caller.user_id, scope_id).await?;
            Ok(workspace_scope_id(&dir.path))
        }
    }
}

/// A workspace's scope id: its absolute path.
pub fn workspace_scope_id(path: &std::path::Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Publishes for a client or an administrator: checks the topic, the
/// payload and the scope, then publishes under the publisher's budget.
pub async fn publish(
    ctx: &ServerContext,
    caller: &Caller,
    publisher: &str,
    source: BusSource,
    body: BusPublish,
) -> Result<BusEvent> {
    check_topic(&body.topic)?;
    let size = serde_json::to_vec(&body.payload).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_PAYLOAD_BYTES {
        return Err(Error::Invalid(format!(
            "the payload must be at most {MAX_PAYLOAD_BYTES} bytes serialized"
        )));
    }
    let scope_id = authorize(ctx, caller, body.scope, &body.scope_id, false).await?;
    let event = ctx.bus.event(body, scope_id, source);
    let id = ctx.bus.publish(Some(publisher), event.clone())?;
    if id != event.event_id {
        // A repeated idempotency key: the first event stands.
        return Ok(BusEvent { event_id: id, ..event });
    }
    Ok(event)
}

/// `subscribe` for a connection.
pub async fn subscribe(
    ctx: &ServerContext,
    caller: &Caller,
    outbox: &Arc<Outbox>,
    topics: BusTopics,
) -> Result<Vec<String>> {
    check_patterns(&topics.topics)?;
    let scope_id = authorize(ctx, caller, topics.scope, &topics.scope_id, true).await?;
    ctx.bus.subscribe(outbox, topics.scope, &scope_id, &topics.topics)
}

/// `unsubscribe` for a connection (a scope it never held changes nothing).
pub async fn unsubscribe(
    ctx: &ServerContext,
    caller: &Caller,
    connection: u64,
    topics: BusTopics,
) -> Result<Vec<String>> {
    check_patterns(&topics.topics)?;
    let scope_id = match topics.scope {
        // The id as it was stored at `subscribe`.
        BusScope::Workspace if topics.scope_id != "*" => {
            workspace_scope_id(&crate::sessions::resolve(ctx, &caller.user_id, &topics.scope_id).await?.path)
        }
        _ => topics.scope_id.clone(),
    };
    Ok(ctx.bus.unsubscribe(connection, topics.scope, &scope_id, &topics.topics))
}

/// `pull` for a caller.
pub async fn pull(
    ctx: &ServerContext,
    caller: &Caller,
    topics: BusTopics,
    since_ts: Option<i64>,
    limit: Option<u32>,
) -> Result<Vec<BusEvent>> {
    check_patterns(&topics.topics)?;
    let limit = limit.unwrap_or(PULL_DEFAULT);
    if limit == 0 || limit > PULL_MAX {
        return Err(Error::Invalid(format!("limit must be between 1 and {PULL_MAX}")));
    }
    let scope_id = authorize(ctx, caller, topics.scope, &topics.scope_id, true).await?;
    Ok(ctx.bus.pull(topics.scope, &scope_id, &topics.topics, since_ts, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_by_segment() {
        assert!(topic_matches("**", "chat.message_end"));
        assert!(topic_matches("**", "x"));
        assert!(topic_matches("chat.*", "chat.message_end"));
        assert!(!topic_matches("chat.*", "chat.a.b"));
        assert!(topic_matches("chat.**", "chat.a.b"));
        assert!(topic_matches("chat.**", "chat"));
        assert!(topic_matches("*.end", "message.end"));
        assert!(!topic_matches("*.end", "end"));
        assert!(topic_matches("a.**.z", "a.z"));
        assert!(topic_matches("a.**.z", "a.b.c.z"));
        assert!(!topic_matches("a.**.z", "a.b.c"));
        assert!(!topic_matches("chat", "chats"));
    }

    #[test]
    fn topics_and_patterns_are_checked() {
        assert!(check_topic("app.state.cursor").is_ok());
        assert!(check_topic("a..b").is_err());
        assert!(check_topic("a.*").is_err());
        assert!(check_topic("").is_err());
        assert!(check_topic(&"a".repeat(MAX_TOPIC_LEN + 1)).is_err());
        assert!(check_pattern("a.*.**").is_ok());
        assert!(check_pattern("a.b*").is_err());
        assert!(check_patterns(&[]).is_err());
    }

    #[test]
    fn the_ring_keeps_a_bounded_number_of_bytes() {
        let bus = Bus::default();
        let big = serde_json::Value::String("x".repeat(1024 * 1024));
        for _ in 0..40 {
            bus.publish_server(BusScope::Global, "global", "big", big.clone());
        }
        bus.publish_server(BusScope::Global, "global", "small", serde_json::Value::Null);
        let stats = bus.stats();
        assert!(stats.ring_bytes <= RING_MAX_BYTES as u64, "{stats:?}");
        assert!((30..=32).contains(&stats.ring_len), "{stats:?}");
        let latest = bus.pull(BusScope::Global, "global", &["**".to_string()], None, 1);
        assert_eq!(latest[0].topic, "small");
        assert_eq!(stats.published, 41);
    }

    #[test]
    fn a_bucket_refuses_past_its_burst() {
        let mut bucket = Bucket::new(1.0, 3.0);
        assert!((0..3).all(|_| bucket.take()));
        assert!(!bucket.take());
    }
}
