//! `oqtoctl bus`: the event bus over the mux, as a client sees it
//! (publishing, pulling recent events, watching a scope).

use anyhow::Result;
use clap::{Args, Subcommand};
use oqto_api::bus::{BusPublish, BusScope};
use oqto_api::mux::{BusCommand, BusFrame, BusReply, BusTopics, ServerFrame};
use oqto_client::mux::MuxEvent;

use crate::failure::UsageError;
use crate::output::Output;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ScopeArg {
    Session,
    Workspace,
    Global,
}

impl From<ScopeArg> for BusScope {
    fn from(scope: ScopeArg) -> BusScope {
        match scope {
            ScopeArg::Session => BusScope::Session,
            ScopeArg::Workspace => BusScope::Workspace,
            ScopeArg::Global => BusScope::Global,
        }
    }
}

/// A scope and topic patterns.
#[derive(Args)]
pub struct Where {
    /// session (a chat of yours), workspace (one of yours) or global (administrators).
    #[arg(long, value_enum)]
    scope: ScopeArg,
    /// The chat id, the workspace path, or `global`.
    #[arg(long, default_value = "global")]
    scope_id: String,
    /// Topic patterns (`*` one segment, `**` any); default `**`.
    topics: Vec<String>,
}

impl Where {
    fn topics(self) -> BusTopics {
        let topics = if self.topics.is_empty() { vec!["**".to_string()] } else { self.topics };
        BusTopics { topics, scope: self.scope.into(), scope_id: self.scope_id }
    }
}

#[derive(Subcommand)]
pub enum BusCmd {
    /// Publish an event (as this client).
    Publish {
        #[arg(long, value_enum)]
        scope: ScopeArg,
        #[arg(long, default_value = "global")]
        scope_id: String,
        /// Dot-separated, e.g. `notes.saved`.
        topic: String,
        /// The payload, JSON.
        #[arg(long, default_value = "null")]
        payload: String,
    },
    /// Recent events of a scope, oldest first.
    Pull {
        #[command(flatten)]
        scope: Where,
        /// Only events after this time (Unix milliseconds).
        #[arg(long)]
        since_ts: Option<i64>,
        /// At most this many (default 200, at most 1000).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Print a scope's events as they come (one JSON object per line).
    Watch {
        #[command(flatten)]
        scope: Where,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
}

pub async fn run(profile: &str, cmd: BusCmd, out: &Output) -> Result<()> {
    let mut mux = crate::profile::mux(profile).await?;
    match cmd {
        BusCmd::Publish { scope, scope_id, topic, payload } => {
            let payload =
                serde_json::from_str(&payload).map_err(|e| UsageError(format!("--payload: {e}")))?;
            let body = BusPublish {
                scope: scope.into(),
                scope_id,
                topic,
                payload,
                v: 1,
                priority: None,
                ttl_ms: None,
                idempotency_key: None,
                correlation_id: None,
            };
            out.item(&mux.bus(BusCommand::Publish(body)).await?)
        }
        BusCmd::Pull { scope, since_ts, limit } => {
            match mux.bus(BusCommand::Pull { topics: scope.topics(), since_ts, limit }).await? {
                BusReply::Events { events } => out.item(&events),
                other => out.item(&other),
            }
        }
        BusCmd::Watch { scope, count } => {
            mux.bus(BusCommand::Subscribe(scope.topics())).await?;
            let mut seen = 0;
            while count.is_none_or(|n| seen < n) {
                match mux.next().await {
                    Some(MuxEvent::Frame(ServerFrame::Bus(BusFrame::Event(event)))) => {
                        println!("{}", serde_json::to_string(&event)?);
                        seen += 1;
                    }
                    Some(MuxEvent::Closed { reason, .. }) => anyhow::bail!("the connection closed: {reason}"),
                    None => anyhow::bail!("the connection ended"),
                    Some(_) => {}
                }
            }
            Ok(())
        }
    }
}
