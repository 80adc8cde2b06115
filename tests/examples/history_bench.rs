//! History, search and files figures (run by `make bench` against release
//! builds, on the backend `OQTO_TEST_DB` names; not a test).
//!
//! `history_bench [CHATS...]` (default `100 1000 10000`), for each number of
//! chats of 10 messages each (20 words from a 2000-word vocabulary, written
//! as Pi session files) on a fresh server:
//! - the first look, which indexes every message (messages/s);
//! - listing `limit=50` and the whole list (at most 1000), one request at a
//!   time, p50/p99, the whole list also as bytes without the typed parse;
//! - full-text search over all the messages, p50/p99;
//! - the baseline of every HTTP figure: `GET /api/health` in the same run;
//! - at the first size only: `files` reads over the mux (1 MiB and 4 KiB
//!   files), against reading the same file in-process.
//!
//! Prints a Markdown table.
//!
//! `history_bench --serve CHATS SESSIONS`: a server seeded with that many
//! chats and workspace sessions for the user `bench`, for `wrk`. Prints
//! `listening on URL` and `token TOKEN`, then serves until stdin closes.

use std::time::{Duration, Instant};

use oqto_api::mux::{ClientFrame, FilesCommand, FilesEvent, ServerFrame, SystemEvent, SystemRequest};
use oqto_client::ClientInfo as _;
use oqto_tests::{TEST_PASSWORD, TestServer};
use sqlx::Connection;

const MESSAGES_PER_CHAT: usize = 10;
const WORDS: usize = 2000;

/// A deterministic word list: `w0` … and pseudo-random picks from it.
struct Words(u64);

impl Words {
    fn next(&mut self) -> String {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        format!("w{}", (self.0 >> 33) as usize % WORDS)
    }

    fn sentence(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(" ")
    }
}

/// Writes the chats' Pi session files and registers the chats.
async fn seed(server: &TestServer, user_id: &str, chats: usize) {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&server.database_url()).await.expect("opening the database");
    let mut words = Words(7);
    let base = now_ms() - (chats as i64) * 60_000;
    let mut tx = db.begin().await.unwrap();
    for c in 0..chats {
        let id = format!("bench-{c:05}");
        let created = base + c as i64 * 60_000;
        let dir = server.data_dir.path().join("users").join(user_id).join("chats").join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        let mut lines = vec![serde_json::json!({
            "type": "session", "version": 3, "id": id, "timestamp": created, "cwd": "bench"
        })];
        for m in 0..MESSAGES_PER_CHAT {
            let role = if m % 2 == 0 { "user" } else { "assistant" };
            let text = words.sentence(20);
            let content = if role == "user" {
                serde_json::json!(text)
            } else {
                serde_json::json!([{ "type": "text", "text": text }])
            };
            lines.push(serde_json::json!({
                "type": "message", "id": format!("{c}-{m}"), "timestamp": created + m as i64,
                "message": { "role": role, "content": content, "timestamp": created + m as i64 }
            }));
        }
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join(format!("{created}_{id}.jsonl")), text).unwrap();
        sqlx::query(
            "INSERT INTO chats (id, user_id, workspace_session_id, cwd, harness, created_at, last_activity_at) \
             VALUES ($1, $2, NULL, 'bench', 'pi', $3, $3)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(created)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// p50 and p99 of `samples` in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.50), at(0.99))
}

async fn time<F: std::future::Future<Output = ()>>(
    runs: usize,
    mut f: impl FnMut(usize) -> F,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let started = Instant::now();
        f(i).await;
        samples.push(started.elapsed());
    }
    samples
}

/// Reads `path` over the mux `runs` times, the bytes in binary frames or
/// (`binary` false, the original's format) base64 in JSON; MiB/s and reads/s.
async fn mux_reads(
    mux: &oqto_client::mux::MuxClient,
    path: &str,
    size: usize,
    runs: usize,
    binary: bool,
) -> (f64, f64) {
    let started = Instant::now();
    for _ in 0..runs {
        if binary {
            assert_eq!(mux.read_file("files", path).await.unwrap().len(), size);
            continue;
        }
        match mux.files("files", FilesCommand::Read { path: path.into(), binary: None }).await.unwrap() {
            FilesEvent::ReadResult { size: got, .. } => assert_eq!(got as usize, size),
            other => panic!("unexpected {other:?}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    ((size * runs) as f64 / secs / (1024.0 * 1024.0), runs as f64 / secs)
}

/// Reads `file` in-process `runs` times: the ceiling; MiB/s and reads/s.
async fn local_reads(file: &std::path::Path, size: usize, runs: usize) -> (f64, f64) {
    let started = Instant::now();
    for _ in 0..runs {
        assert_eq!(tokio::fs::read(file).await.unwrap().len(), size);
    }
    let secs = started.elapsed().as_secs_f64();
    ((size * runs) as f64 / secs / (1024.0 * 1024.0), runs as f64 / secs)
}

/// One size's figures, as table rows.
async fn measure(chats: usize, with_files: bool) -> Vec<String> {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("bench").await;
    seed(&server, &me.id.to_string(), chats).await;
    let messages = chats * MESSAGES_PER_CHAT;

    let health = percentiles(
        time(200, |_| async {
            client.health_view().send().await.unwrap();
        })
        .await,
    );

    let first = Instant::now();
    let listed = client.chat_history_list().limit(50u32).send().await.unwrap().into_inner();
    let first_secs = first.elapsed().as_secs_f64();
    assert_eq!(listed.len(), chats.min(50));
    let page = percentiles(
        time(200, |_| async {
            let page = client.chat_history_list().limit(50u32).send().await.unwrap().into_inner();
            assert_eq!(page.len(), chats.min(50));
        })
        .await,
    );
    // Another page each time: what a page costs when it is not kept.
    let cold = percentiles(
        time(200, |i| {
            let (client, offset) = (&client, (i * 7 % chats.saturating_sub(50).max(1)) as u32);
            async move {
                let page = client.chat_history_list().limit(50u32).offset(offset).send().await.unwrap();
                assert_eq!(page.into_inner().len(), chats.min(50));
            }
        })
        .await,
    );
    let whole = chats.min(1000);
    let listing = percentiles(
        time(50, |_| async {
            let page = client.chat_history_list().limit(whole as u32).send().await.unwrap().into_inner();
            assert_eq!(page.len(), whole);
        })
        .await,
    );

    // The same request through the SDK's own HTTP client, its body taken
    // as bytes: what the server and the transport cost without the
    // client's typed parse of every entry.
    let raw_url = format!("{}/api/chat-history?limit={whole}", client.baseurl());
    let listing_raw = percentiles(
        time(50, |_| async {
            let response = client.client().get(&raw_url).send().await.unwrap();
            assert!(response.status().is_success());
            assert!(response.bytes().await.unwrap().len() > whole * 100);
        })
        .await,
    );

    let mut words = Words(99);
    let queries: Vec<String> =
        (0..200).map(|i| if i % 4 == 0 { words.sentence(2) } else { words.next() }).collect();
    let mut hits = 0usize;
    let search_samples = {
        let mut samples = Vec::new();
        for q in &queries {
            let started = Instant::now();
            hits += client.search().q(q.clone()).limit(50u32).send().await.unwrap().into_inner().hits.len();
            samples.push(started.elapsed());
        }
        samples
    };
    let search = percentiles(search_samples);

    let ratio = |ms: f64| format!("{:.1}× health p50", ms / health.0);
    let mut rows = vec![
        format!(
            "| {chats} chats: baseline GET /api/health, p50 / p99 | {:.2} / {:.2} ms | 1 |",
            health.0, health.1
        ),
        format!(
            "| {chats} chats: first look, indexing {messages} messages | {:.0} ms, {:.0} messages/s | |",
            first_secs * 1000.0,
            messages as f64 / first_secs
        ),
        format!(
            "| {chats} chats: GET /api/chat-history?limit=50, p50 / p99 | {:.2} / {:.2} ms | {} |",
            page.0,
            page.1,
            ratio(page.0)
        ),
        format!(
            "| {chats} chats: GET /api/chat-history?limit=50, another offset each time (not kept), p50 / p99 | {:.2} / {:.2} ms | {} |",
            cold.0,
            cold.1,
            ratio(cold.0)
        ),
        format!(
            "| {chats} chats: GET /api/chat-history?limit={whole}, p50 / p99 | {:.2} / {:.2} ms | {} |",
            listing.0,
            listing.1,
            ratio(listing.0)
        ),
        format!(
            "| {chats} chats: the same, the body's bytes only (no typed parse in the client), p50 / p99 | {:.2} / {:.2} ms | {} |",
            listing_raw.0,
            listing_raw.1,
            ratio(listing_raw.0)
        ),
        format!(
            "| {chats} chats: GET /api/search over {messages} messages ({:.1} hits each), p50 / p99 | {:.2} / {:.2} ms | {} |",
            hits as f64 / queries.len() as f64,
            search.0,
            search.1,
            ratio(search.0)
        ),
    ];
    if with_files {
        rows.extend(files(&server, &client, &me.id.to_string()).await);
    }
    rows
}

/// Reads over the mux against in-process reads, as table rows.
async fn files(server: &TestServer, client: &oqto_client::Client, user_id: &str) -> Vec<String> {
    let session = server.open_workspace(client, "files").await;
    assert_eq!(session.workspace_path, "files");
    let workspace = server.data_dir.path().join("users").join(user_id).join("workspace/files");
    std::fs::create_dir_all(&workspace).unwrap();
    let (big, small) = (1024 * 1024, 4096);
    std::fs::write(workspace.join("big.bin"), vec![7u8; big]).unwrap();
    std::fs::write(workspace.join("small.txt"), vec![b'x'; small]).unwrap();
    let mux = server.mux(&server.login("bench", TEST_PASSWORD).await).await;
    let (big_local, _) = local_reads(&workspace.join("big.bin"), big, 100).await;
    let (_, small_local) = local_reads(&workspace.join("small.txt"), small, 2000).await;
    // The floor of any mux command: a ping answered by the connection's reader.
    let mut pinger = server.mux(&server.login("bench", TEST_PASSWORD).await).await;
    let started = Instant::now();
    for _ in 0..2000 {
        pinger.send(ClientFrame::System(SystemRequest::Ping));
        while !matches!(
            pinger.next().await,
            Some(oqto_client::mux::MuxEvent::Frame(ServerFrame::System(SystemEvent::Pong { .. })))
        ) {}
    }
    let pings = 2000.0 / started.elapsed().as_secs_f64();
    let mut rows = vec![format!(
        "| mux round trip floor: ping → pong, one at a time | {pings:.0} round trips/s | {:.2} of a 4 KiB in-process read |",
        pings / small_local
    )];
    for (binary, how) in [(true, "raw in a binary frame"), (false, "base64 in JSON, the original's format")] {
        let (big_mux, _) = mux_reads(&mux, "big.bin", big, 100, binary).await;
        let (_, small_mux) = mux_reads(&mux, "small.txt", small, 2000, binary).await;
        rows.push(format!(
            "| files read over the mux ({how}), 1 MiB file | {big_mux:.0} MiB/s | {:.2} of in-process ({big_local:.0} MiB/s) |",
            big_mux / big_local
        ));
        rows.push(format!(
            "| files read over the mux ({how}), 4 KiB file | {small_mux:.0} reads/s | {:.2} of in-process ({small_local:.0}/s) |",
            small_mux / small_local
        ));
    }
    rows
}

/// A seeded server for `wrk`, until stdin closes.
async fn serve(chats: usize, sessions: usize) {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("bench").await;
    seed(&server, &me.id.to_string(), chats).await;
    for s in 0..sessions {
        server.open_workspace(&client, &format!("project-{s:03}")).await;
    }
    assert_eq!(client.chat_history_list().limit(50u32).send().await.unwrap().len(), chats.min(50));
    // The token first: whoever waits for the listening line reads it too.
    println!("token {}", server.login("bench", TEST_PASSWORD).await);
    println!("listening on {}", server.url);
    let mut rest = String::new();
    let _ =
        tokio::task::spawn_blocking(move || std::io::Read::read_to_string(&mut std::io::stdin(), &mut rest))
            .await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let n = |i: usize| args.get(i).and_then(|a| a.parse().ok()).expect("--serve CHATS SESSIONS");
        return serve(n(1), n(2)).await;
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![100, 1000, 10000]
    } else {
        args.iter().map(|a| a.parse().expect("a number of chats")).collect()
    };
    println!("| measure | value | ratio |");
    println!("| --- | ---: | ---: |");
    for (i, chats) in sizes.iter().enumerate() {
        for row in measure(*chats, i == 0).await {
            println!("{row}");
        }
    }
}
