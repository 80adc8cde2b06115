//! The sldr proxy against a loopback server that records what it received:
//! method, path, query, headers and a 5 MiB body relayed; credentials,
//! cookies, hop-by-hop headers and forged identities not passed on; a
//! streamed answer relayed; upstream down or slow is a 502, none
//! configured a 503.

use std::time::Duration;

use hyper::body::Bytes;
use oqto_tests::loopback::{Answer, Loopback};
use oqto_tests::{Options, TestServer};

async fn upstream() -> Loopback {
    Loopback::start(|req| match req.target.as_str() {
        t if t.starts_with("/base/slow") => {
            std::thread::sleep(Duration::from_secs(3));
            Answer::new(200, "text/plain", "late")
        }
        t if t.starts_with("/base/big") => Answer {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/octet-stream".into()),
                ("x-upstream".into(), "yes".into()),
                ("set-cookie".into(), "sldr=1".into()),
                ("connection".into(), "x-hop".into()),
                ("x-hop".into(), "dropped".into()),
            ],
            chunks: (0..48).map(|i| Bytes::from(vec![i as u8; 64 * 1024])).collect(),
        },
        _ => Answer::new(201, "application/json", format!("{{\"method\":\"{}\"}}", req.method)),
    })
    .await
}

fn sldr_at(url: &str) -> Options {
    Options::default().env("OQTO_SLDR__URL", url).env("OQTO_SLDR__TIMEOUT_SECS", "1")
}

// Several threads: the loopback server sleeps in its handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_answers_are_relayed_with_the_callers_identity_only() {
    let sldr = upstream().await;
    let server = TestServer::start_with(sldr_at(&format!("{}/base", sldr.url))).await;
    let (_, me) = server.user_client("presenter").await;
    let token = server.login("presenter", oqto_tests::TEST_PASSWORD).await;
    let http = server.http();

    let body: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let answer = http
        .post(format!("{}/api/sldr/decks/a%20b/slides?x=1&y=two", server.url))
        .bearer_auth(&token)
        .header("cookie", "oqto_session=secret")
        .header("x-custom", "kept")
        .header("x-oqto-user-id", "forged")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "dropped")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    assert_eq!(answer.text().await.unwrap(), "{\"method\":\"POST\"}");

    let got = sldr.received().pop().unwrap();
    assert_eq!((got.method.as_str(), got.target.as_str()), ("POST", "/base/decks/a%20b/slides?x=1&y=two"));
    assert_eq!(got.body.len(), body.len());
    assert!(got.body == body, "the body changed on the way");
    let header = |name: &str| got.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(header("x-custom").as_deref(), Some("kept"));
    assert_eq!(header("x-oqto-user-id"), Some(me.id.to_string()));
    assert_eq!(header("x-oqto-username").as_deref(), Some("presenter"));
    for absent in ["authorization", "cookie", "x-hop"] {
        assert_eq!(header(absent), None, "{absent} reached sldr");
    }

    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let answer = http
            .request(method.parse().unwrap(), format!("{}/api/sldr/decks", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201, "{method}");
        assert_eq!(sldr.received().pop().unwrap().method, method);
    }

    // A streamed answer of 3 MiB, its hop-by-hop headers and cookies dropped.
    let big = http.get(format!("{}/api/sldr/big", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(big.headers()["x-upstream"], "yes");
    assert!(big.headers().get("set-cookie").is_none() && big.headers().get("x-hop").is_none());
    let bytes = big.bytes().await.unwrap();
    assert_eq!(bytes.len(), 48 * 64 * 1024);
    assert_eq!(bytes[47 * 64 * 1024], 47);

    // Slow: a 502 after the configured second.
    let slow = http.get(format!("{}/api/sldr/slow", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(slow.status(), 502);
    let error: serde_json::Value = slow.json().await.unwrap();
    assert_eq!(error["error_code"], "BadGateway");
    assert!(error["message"].as_str().unwrap().contains("did not answer within 1 s"), "{error}");

    // Sent as is (an HTTP client would resolve the dots before sending).
    let mut raw = tokio::net::TcpStream::connect(server.url.trim_start_matches("http://")).await.unwrap();
    let request = format!(
        "GET /api/sldr/%2E%2E/secret HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut raw, request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut raw, &mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert_eq!(sldr.received().iter().filter(|r| r.target.contains("secret")).count(), 0);
    let anonymous = http.get(format!("{}/api/sldr/decks", server.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn no_upstream_is_a_502_and_none_configured_a_503() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = TestServer::start_with(sldr_at(&format!("http://127.0.0.1:{closed}"))).await;
    let (_, _) = server.user_client("presenter").await;
    let token = server.login("presenter", oqto_tests::TEST_PASSWORD).await;
    let down =
        server.http().get(format!("{}/api/sldr/decks", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(down.status(), 502);
    let error: serde_json::Value = down.json().await.unwrap();
    assert_eq!(
        (error["error_code"].as_str(), error["message"].as_str()),
        (Some("BadGateway"), Some("sldr cannot be reached"))
    );

    server.restart_with(Options::default()).await;
    let token = server.login("presenter", oqto_tests::TEST_PASSWORD).await;
    let none =
        server.http().get(format!("{}/api/sldr/decks", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(none.status(), 503);
}
