//! Feeds: fetched through the SDK from a loopback feed server the operator
//! allowed; everything else on a non-public address is refused before any
//! connection, on the first request and on every redirect.

use hyper::body::Bytes;
use oqto_tests::loopback::{Answer, Loopback};
use oqto_tests::{Options, TestServer, error_body, status};

const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Loopback news</title>
<item><title>First</title><link>https://example.org/first</link>
<pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate><description>The first item</description></item>
<item><title>Second</title><link>https://example.org/second</link></item>
</channel></rss>"#;

async fn feed_server() -> Loopback {
    Loopback::start(|req| match req.target.as_str() {
        "/feed.xml" => Answer::new(200, "application/rss+xml", RSS),
        "/moved" => Answer::redirect("/feed.xml"),
        "/to-private" => Answer::redirect("http://10.0.0.1/feed.xml"),
        "/to-metadata" => Answer::redirect("http://169.254.169.254/latest/meta-data/"),
        "/to-localhost" => Answer::redirect("http://localhost:1/feed.xml"),
        "/to-file" => Answer::redirect("file:///etc/passwd"),
        "/loop" => Answer::redirect("/loop"),
        "/page.html" => Answer::new(200, "text/html", "<html><body>not a feed</body></html>"),
        "/broken" => Answer::new(500, "text/plain", "oops"),
        "/huge-declared" => Answer::new(200, "application/rss+xml", vec![b' '; 1_000_001]),
        "/huge-streamed" => Answer {
            status: 200,
            headers: vec![("content-type".into(), "application/rss+xml".into())],
            // 2 MB in 64 KiB chunks, without a length.
            chunks: (0..32).map(|_| Bytes::from(vec![b' '; 64 * 1024])).collect(),
        },
        _ => Answer::new(404, "text/plain", "no"),
    })
    .await
}

async fn server_allowing(feeds: &Loopback) -> TestServer {
    let allow = format!("[\"127.0.0.1:{}\"]", feeds.port);
    TestServer::start_with(Options::default().env("OQTO_EGRESS__ALLOW_HOSTS", &allow)).await
}

// Several threads: the loopback feed server answers while `oqtoctl` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_is_fetched_and_parsed() {
    let feeds = feed_server().await;
    let server = server_allowing(&feeds).await;
    let (client, _) = server.user_client("reader").await;

    let url = format!("{}/feed.xml", feeds.url);
    let fetched = client.feed_fetch().url(&url).send().await.unwrap().into_inner();
    assert_eq!(fetched.url, url);
    assert_eq!(fetched.content, RSS);
    assert_eq!(fetched.content_type.as_deref(), Some("application/rss+xml"));
    assert_eq!(fetched.title.as_deref(), Some("Loopback news"));
    let titles: Vec<_> = fetched.items.iter().map(|i| i.title.as_deref().unwrap_or("")).collect();
    assert_eq!(titles, ["First", "Second"]);
    assert_eq!(fetched.items[0].link.as_deref(), Some("https://example.org/first"));
    assert_eq!(fetched.items[0].summary.as_deref(), Some("The first item"));
    assert_eq!(fetched.items[0].published.unwrap().to_rfc3339(), "2026-12-01T10:00:00+00:00");

    // A redirect on the allowed host is followed; the final URL is told.
    let moved = client.feed_fetch().url(format!("{}/moved", feeds.url)).send().await.unwrap().into_inner();
    assert_eq!(moved.final_url, url);
    assert_eq!(moved.items.len(), 2);

    // Not a feed: the text, no items.
    let page = client.feed_fetch().url(format!("{}/page.html", feeds.url)).send().await.unwrap().into_inner();
    assert!(page.items.is_empty() && page.title.is_none() && page.content.contains("not a feed"));

    // The feed's server failing, looping, or sending too much.
    for (path, code) in [("/broken", 502), ("/loop", 502), ("/huge-declared", 400), ("/huge-streamed", 400)] {
        let answer = client.feed_fetch().url(format!("{}{path}", feeds.url)).send().await;
        assert_eq!(status(answer), code, "{path}");
    }
    let (_, too_large) =
        error_body(client.feed_fetch().url(format!("{}/huge-streamed", feeds.url)).send().await);
    assert!(too_large.message.contains("too large"), "{too_large:?}");

    // The CLI.
    let out = server
        .oqtoctl()
        .env("OQTO_TOKEN", server.login("reader", oqto_tests::TEST_PASSWORD).await)
        .args(["-o", "json", "feed", "fetch", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["items"][1]["title"], "Second");

    assert_eq!(status(server.anonymous().feed_fetch().url(&url).send().await), 401);
}

#[tokio::test]
async fn non_public_destinations_are_refused_without_a_request() {
    let feeds = feed_server().await;
    let server = server_allowing(&feeds).await;
    let (client, _) = server.user_client("prober").await;
    let before = feeds.received().len();

    for url in [
        "http://127.0.0.1/feed.xml".to_string(),
        format!("http://127.0.0.1:{}/feed.xml", feeds.port + 1),
        "http://10.0.0.1/feed.xml".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[::1]/feed.xml".into(),
        "http://[::ffff:127.0.0.1]/feed.xml".into(),
        "http://0x7f000001/feed.xml".into(),
        "http://192.168.1.1/".into(),
        "http://100.64.0.1/".into(),
        // A name that resolves to loopback; the allowed port does not help.
        format!("http://localhost:{}/feed.xml", feeds.port),
    ] {
        let answer = client.feed_fetch().url(&url).send().await;
        let (code, body) = error_body(answer);
        assert_eq!((code, body.error_code.as_deref()), (403, Some("Forbidden")), "{url}: {body:?}");
        assert!(body.message.contains("not a public address"), "{url}: {body:?}");
    }
    assert_eq!(feeds.received().len(), before, "a refused destination got a request");

    // Redirects from the allowed host to forbidden places: the first hop is
    // served, the second refused.
    for path in ["/to-private", "/to-metadata", "/to-localhost"] {
        let (code, body) = error_body(client.feed_fetch().url(format!("{}{path}", feeds.url)).send().await);
        assert_eq!(code, 403, "{path}: {body:?}");
    }
    assert_eq!(status(client.feed_fetch().url(format!("{}/to-file", feeds.url)).send().await), 400);

    for url in ["file:///etc/passwd", "ftp://example.org/feed", "gopher://x", "not a url", "http://"] {
        assert_eq!(status(client.feed_fetch().url(url).send().await), 400, "{url}");
    }
}
