//! `oqtoctl admin top|prometheus`: the live view of the server's figures
//! and their Prometheus text; `admin stats` is generated.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use clap::Subcommand;
use oqto_api::metrics::MetricsSample;
use oqto_client::sse::EventReader;

use crate::failure::sdk_error;
use crate::output::Output;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// A live view of the server's figures and the host's CPU and memory,
    /// redrawn every 2 s (as JSON lines when not on a terminal or with
    /// `-o json`).
    Top {
        /// Stop after this many samples.
        #[arg(long, short = 'n')]
        count: Option<u64>,
    },
    /// The figures in Prometheus's text format.
    Prometheus,
}

pub async fn run(profile: &str, cmd: AdminCommand, out: &Output) -> Result<()> {
    let url = crate::profile::url(profile)?;
    let token = crate::profile::token(profile)?;
    match cmd {
        AdminCommand::Top { count } => {
            let client = oqto_client::streaming_client(&url, Some(&token))?;
            let body = client.admin_metrics_stream().send().await.map_err(sdk_error)?.into_inner();
            let mut events = EventReader::new(body);
            let draw = !out.is_structured() && std::io::stdout().is_terminal();
            let mut seen = 0;
            while count.is_none_or(|n| seen < n) {
                let Some(sample) = events.next_json::<MetricsSample>().await else {
                    bail!("the server ended the stream");
                };
                let sample = sample?;
                seen += 1;
                if draw {
                    print!("\x1b[2J\x1b[H{}", screen(&sample));
                } else {
                    println!("{}", serde_json::to_string(&sample)?);
                }
            }
            Ok(())
        }
        AdminCommand::Prometheus => {
            let client = oqto_client::client_with_token(&url, Some(&token))?;
            let body = client.prometheus_metrics_view().send().await.map_err(sdk_error)?.into_inner();
            let mut chunks = body.into_inner();
            use futures::StreamExt;
            while let Some(chunk) = chunks.next().await {
                print!("{}", String::from_utf8_lossy(&chunk?));
            }
            Ok(())
        }
    }
}

/// One screen of `admin top`.
fn screen(sample: &MetricsSample) -> String {
    let s = &sample.stats;
    let mut text = format!("oqto  {}  up {}\n\n", sample.timestamp.format("%H:%M:%S"), uptime(s.uptime_secs));
    if let Some(host) = &sample.host {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        text.push_str(&format!(
            "host     cpu {:5.1}%   memory {:.1} / {:.1} GiB used\n",
            host.cpu_percent,
            gib(host.mem_used_bytes),
            gib(host.mem_total_bytes)
        ));
    }
    text.push_str(&format!("users    {} ({} active)\n", s.total_users, s.active_users));
    let states: Vec<String> = s.sessions_by_state.iter().map(|(k, v)| format!("{k} {v}")).collect();
    text.push_str(&format!("sessions {} ({})\n", s.total_sessions, states.join(", ")));
    text.push_str(&format!("chats    {} running, {} agent processes\n", s.chats_running, s.agent_processes));
    text.push_str(&format!("mux      {} connections\n", s.mux_connections));
    text.push_str(&format!("database {:.1} MiB\n", s.database_bytes as f64 / (1u64 << 20) as f64));
    if let Some(error) = &sample.error {
        text.push_str(&format!("\n! {error}\n"));
    }
    text
}

fn uptime(secs: u64) -> String {
    format!("{}d {:02}:{:02}:{:02}", secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60)
}
