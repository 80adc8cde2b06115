//! Admin figures: the snapshot, the live stream (its first sample, and its
//! task gone once the client goes), and the Prometheus text for an
//! administrator or the configured scrape token.

use std::time::Duration;

use oqto_api::metrics::MetricsSample;
use oqto_client::sse::EventReader;
use oqto_tests::{Options, TestServer, status};

#[tokio::test]
async fn the_figures_count_what_the_server_holds() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (client, _) = server.user_client("counted").await;
    server.open_workspace(&client, "site").await;
    let token = server.login("counted", oqto_tests::TEST_PASSWORD).await;
    let _mux = server.mux(&token).await;

    let stats = admin.admin_stats_view().send().await.unwrap().into_inner();
    assert_eq!(stats.total_users, 2);
    assert!(stats.total_sessions >= 1, "{stats:?}");
    assert_eq!(stats.total_sessions, stats.sessions_by_state.values().sum::<u64>());
    assert_eq!(stats.mux_connections, 1);
    assert!(stats.database_bytes > 0);
    assert!(stats.started_at <= chrono::Utc::now());
    assert_eq!(status(client.admin_stats_view().send().await), 403);

    let out = server
        .oqtoctl()
        .env("OQTO_TOKEN", server.login("admin", &server.admin_password).await)
        .args(["-o", "json", "admin", "stats"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["total_users"], 2);
}

#[tokio::test]
async fn the_stream_sends_samples_and_ends_with_its_client() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let admin_token = server.login("admin", &server.admin_password).await;
    let streaming = oqto_client::streaming_client(&server.url, Some(&admin_token)).unwrap();

    let response = streaming.admin_metrics_stream().send().await.unwrap();
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert_eq!(content_type, "text/event-stream");
    let mut events = EventReader::new(response.into_inner());
    let first: MetricsSample = events.next_json().await.expect("a sample").unwrap();
    assert_eq!(first.stats.metrics_streams, 1, "the stream counts itself");
    let host = first.host.expect("the host's figures");
    assert!(host.mem_total_bytes > 0 && host.mem_available_bytes <= host.mem_total_bytes);
    assert!((0.0..=100.0).contains(&host.cpu_percent));
    assert!(first.containers.is_empty() && first.error.is_none());
    let second: MetricsSample = events.next_json().await.expect("a second sample").unwrap();
    assert!(second.timestamp > first.timestamp);

    // The client goes: the server's task for it ends.
    drop(events);
    let mut open = u64::MAX;
    for _ in 0..50 {
        open = admin.admin_stats_view().send().await.unwrap().into_inner().metrics_streams;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0, "the stream's task outlived its client");

    // A plain user gets no stream.
    let (client, _) = server.user_client("plain").await;
    let refused = client.admin_metrics_stream().send().await.map(|_| ());
    assert_eq!(status(refused), 403);

    let out = server
        .oqtoctl()
        .env("OQTO_TOKEN", &admin_token)
        .args(["-o", "json", "admin", "top", "-n", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: MetricsSample = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line.stats.total_users, 2);
}

#[tokio::test]
async fn prometheus_reads_the_figures_with_an_admin_or_the_scrape_token() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("scrape-token");
    std::fs::write(&token_file, "scrape-3f9a1c27d4e84b6b\n").unwrap();
    let server = TestServer::start_with(
        Options::default().env("OQTO_METRICS__SCRAPE_TOKEN_FILE", token_file.to_str().unwrap()),
    )
    .await;
    let (_, _) = server.user_client("plain").await;
    let plain = server.login("plain", oqto_tests::TEST_PASSWORD).await;
    let admin = server.login("admin", &server.admin_password).await;

    let scrape = |token: Option<&str>| {
        let mut request = server.http().get(format!("{}/metrics", server.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for token in [Some(admin.as_str()), Some("scrape-3f9a1c27d4e84b6b")] {
        let response = scrape(token).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4")
        );
        let text = response.text().await.unwrap();
        assert!(text.contains("# TYPE oqto_users gauge\noqto_users 2\n"), "{text}");
        assert!(text.contains("oqto_host_cpu_seconds_total{mode=\"busy\"}"), "{text}");
        assert!(text.contains("oqto_database_bytes "), "{text}");
    }
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    assert_eq!(scrape(Some("scrape-wrong-token-000000")).await.unwrap().status(), 401);
    assert_eq!(scrape(Some(&plain)).await.unwrap().status(), 403);

    let out = server.oqtoctl().env("OQTO_TOKEN", &admin).args(["admin", "prometheus"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("oqto_mux_connections 0"));
}
