//! Mux figures (run by `make bench` against release builds; not a test):
//! - agent events relayed per second to 1, 10 and 100 subscribers (the
//!   stand-in agent in flood mode);
//! - added latency from the agent's stdout to a client's frame, p50/p99;
//! - anonymous resident memory per idle mux connection, at 1000 and at
//!   10000 connections, each on a fresh server (the process needs
//!   `ulimit -n` above 20000).
//!
//! Prints a Markdown table.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use oqto_api::mux::{AgentCommand, AgentEvent, ChatConfig, PromptBody, ServerFrame};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_tests::{TEST_PASSWORD, TestServer};

fn prompt(text: &str) -> AgentCommand {
    AgentCommand::Prompt(PromptBody { message: text.into(), images: None, client_id: None })
}

/// Reads a subscriber until `agent.idle`; returns (frames, last seq).
async fn drain(mut mux: MuxClient, chat: String) -> (u64, u64) {
    let mut frames = 0;
    let mut last = 0;
    while let Some(event) = mux.next().await {
        if let MuxEvent::Frame(ServerFrame::Agent(frame)) = event
            && frame.session_id == chat
        {
            frames += 1;
            last = frame.seq.unwrap_or(last);
            if matches!(frame.event, AgentEvent::AgentIdle) {
                break;
            }
        }
    }
    (frames, last)
}

async fn throughput(server: &TestServer, token: &str, subscribers: usize, deltas: usize) -> (f64, f64) {
    let chat = format!("flood-{subscribers}");
    let mut clients = Vec::new();
    for _ in 0..subscribers {
        let mux = server.mux(token).await;
        let created = mux
            .command(&chat, AgentCommand::SessionCreate { config: ChatConfig::default(), last_seq: None })
            .await
            .expect("session.create");
        assert!(created.success, "{created:?}");
        clients.push(mux);
    }
    let sender = server.mux(token).await;
    sender
        .command(&chat, AgentCommand::SessionCreate { config: ChatConfig::default(), last_seq: None })
        .await
        .unwrap();
    let started = Instant::now();
    let readers: Vec<_> = clients.into_iter().map(|m| tokio::spawn(drain(m, chat.clone()))).collect();
    sender.command(&chat, prompt(&format!("/flood {deltas}"))).await.unwrap();
    let mut frames = 0;
    let mut events = 0;
    for r in readers {
        let (f, last) = r.await.unwrap();
        frames += f;
        events = events.max(last);
    }
    let elapsed = started.elapsed().as_secs_f64();
    (events as f64 / elapsed, frames as f64 / subscribers as f64 / elapsed)
}

async fn latency(server: &TestServer, token: &str, samples: usize) -> (f64, f64) {
    let mut mux = server.mux(token).await;
    let chat = "timed";
    mux.command(chat, AgentCommand::SessionCreate { config: ChatConfig::default(), last_seq: None })
        .await
        .unwrap();
    mux.command(chat, prompt(&format!("/timed {samples}"))).await.unwrap();
    let mut delays = Vec::new();
    while let Some(event) = mux.next().await {
        let MuxEvent::Frame(ServerFrame::Agent(frame)) = event else { continue };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i128;
        match frame.event {
            AgentEvent::TextDelta { delta, .. } => {
                for stamp in delta.split('|').filter(|s| !s.is_empty()) {
                    if let Ok(sent) = stamp.parse::<i128>() {
                        delays.push((now - sent) as f64 / 1000.0);
                    }
                }
            }
            AgentEvent::AgentIdle => break,
            _ => {}
        }
    }
    delays.sort_by(f64::total_cmp);
    let pick = |q: f64| delays[((delays.len() as f64 - 1.0) * q).round() as usize];
    (pick(0.5), pick(0.99))
}

/// The process's anonymous resident memory (its heap and stacks; not the
/// file pages it maps, such as SQLite's memory-mapped database, which come
/// and go as the file is remapped).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn rss_per_connection(server: &TestServer, token: &str, connections: usize) -> f64 {
    let url = format!("{}/api/ws/mux?token={token}", server.url.replace("http://", "ws://"));
    // Warm up allocator pools with a few connections first.
    let mut warm = Vec::new();
    for _ in 0..10 {
        warm.push(tokio_tungstenite::connect_async(url.as_str()).await.expect("connect").0);
    }
    // Longer than the hashing threads keep argon2's memory after the last
    // login (1 s), so that its release does not fall inside the measure.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = rss_kib(server.pid());
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("connect");
        let _ = ws.next().await; // `connected`
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(server.pid());
    drop(sockets);
    drop(warm);
    (after.saturating_sub(before)) as f64 / connections as f64
}

/// A new server with the user `bench`, and that user's token.
async fn fresh_server() -> (TestServer, String) {
    let server = TestServer::start().await;
    server.user_client("bench").await;
    let token = server.login("bench", TEST_PASSWORD).await;
    (server, token)
}

#[tokio::main]
async fn main() {
    let (server, token) = fresh_server().await;
    let deltas = 200_000;
    println!("| measure | value |");
    println!("| --- | ---: |");
    for subscribers in [1, 10, 100] {
        let (events, frames) = throughput(&server, &token, subscribers, deltas).await;
        println!(
            "| agent events relayed/s, {subscribers} subscriber(s) (flood of {deltas} deltas) | {events:.0} |"
        );
        println!("| frames/s received per subscriber of {subscribers} (after coalescing) | {frames:.0} |");
    }
    let (p50, p99) = latency(&server, &token, 500).await;
    println!("| added latency, agent stdout → client frame, p50 | {p50:.2} ms |");
    println!("| added latency, agent stdout → client frame, p99 | {p99:.2} ms |");
    drop(server);
    // Each on a fresh server: after the floods above the allocator holds
    // freed memory that new connections would reuse unseen.
    for connections in [1000, 10_000] {
        let (server, token) = fresh_server().await;
        let per_conn = rss_per_connection(&server, &token, connections).await;
        println!(
            "| anonymous RSS per idle mux connection ({connections} connections) | {per_conn:.1} KiB ({:.1} MiB in all) |",
            per_conn * connections as f64 / 1024.0
        );
    }
}
