//! The agent browser with a real Chromium: a page served on loopback is
//! opened, a button clicked, text typed, JavaScript evaluated, history
//! walked, a screenshot taken and the screen streamed as JPEG frames; the
//! address policy holds for the page and for what it loads; another user
//! sees nothing; the browser closes with its chat. Skipped, loudly, where
//! Chromium is not installed (CI installs it).

use std::time::Duration;

use base64::Engine as _;
use oqto_api::mux::{AgentCommand, ChatConfig};
use oqto_client::browser::Screen;
use oqto_client::types;
use oqto_tests::loopback::{Answer, Loopback};
use oqto_tests::{Options, TEST_PASSWORD, TestServer, error_body, status};
use serde_json::json;

const PAGE: &str = r#"<!doctype html>
<html><head><title>Loopback page</title>
<style>body { background: #123456; color: white; font: 32px sans-serif; }</style></head>
<body>
<h1 id="greeting">Not clicked</h1>
<button id="go" style="width: 300px; height: 100px"
  onclick="document.getElementById('greeting').textContent = 'Clicked'; document.title = 'Clicked page';">Go</button>
<input id="name">
<img id="inline" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">
<img id="private" src="http://127.0.0.1:9/secret.png" onerror="document.body.dataset.blocked = 'yes'">
</body></html>"#;

fn chromium_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("chromium").is_file()))
}

async fn site() -> Loopback {
    Loopback::start(|req| match req.target.as_str() {
        "/page" => Answer::new(200, "text/html", PAGE),
        "/second" => Answer::new(200, "text/html", "<title>Second</title><p>second page</p>"),
        "/moved" => Answer::redirect("http://127.0.0.1:9/inside"),
        _ => Answer::new(404, "text/plain", "no such page"),
    })
    .await
}

async fn open_chat(server: &TestServer, token: &str, chat: &str) -> oqto_client::mux::MuxClient {
    let mux = server.mux(token).await;
    let create = AgentCommand::SessionCreate {
        config: ChatConfig { cwd: Some("web".into()), ..Default::default() },
        last_seq: None,
    };
    assert!(mux.command(chat, create).await.unwrap().success);
    mux
}

fn start(chat: &str, url: &str) -> types::BrowserStart {
    serde_json::from_value(
        json!({ "session_id": chat, "url": url, "viewport_width": 800, "viewport_height": 600 }),
    )
    .unwrap()
}

fn action(chat: &str, fields: serde_json::Value) -> types::BrowserAction {
    let mut body = json!({ "session_id": chat });
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    serde_json::from_value(body).unwrap()
}

// Several threads: the loopback site answers while the server fetches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_driven_watched_and_kept_inside_the_address_policy() {
    if !chromium_installed() {
        eprintln!("!!! Chromium is not installed: the agent browser test is SKIPPED (apt install chromium)");
        return;
    }
    let site = site().await;
    let allow = format!("[\"127.0.0.1:{}\"]", site.port);
    let options =
        Options::default().env("OQTO_EGRESS__ALLOW_HOSTS", &allow).env("OQTO_BROWSER__MAX_PER_USER", "1");
    let server = TestServer::start_with(options).await;
    let features = server.anonymous().feature_list().send().await.unwrap().into_inner();
    assert!(features.agent_browser_enabled);
    let (client, _) = server.user_client("surfer").await;
    let token = server.login("surfer", TEST_PASSWORD).await;
    let mux = open_chat(&server, &token, "web-chat").await;

    // Open the page: the browser's id, the page's address and title.
    let page = format!("{}/page", site.url);
    let started = client.browser_start().body(start("web-chat", &page)).send().await.unwrap().into_inner();
    assert!(started.session_id.starts_with("ab-") && started.session_id.len() == 19, "{started:?}");
    assert_eq!((started.url.as_str(), started.title.as_str()), (page.as_str(), "Loopback page"));
    assert_eq!(site.received().iter().filter(|r| r.target == "/page").count(), 1);

    // The page's own request to a private address failed inside the
    // browser; an inline image needed no fetch and loaded.
    let blocked = client
        .browser_action()
        .body(action(
            "web-chat",
            json!({ "action": "evaluate", "expression": "[document.body.dataset.blocked, inline.naturalWidth]" }),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(blocked.value, Some(json!(["yes", 1])));

    // Click the button; type into the field; evaluate.
    let clicked = client
        .browser_action()
        .body(action("web-chat", json!({ "action": "click", "selector": "#go" })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(clicked.title, "Clicked page");
    client
        .browser_action()
        .body(action("web-chat", json!({ "action": "type", "selector": "#name", "text": "Ada" })))
        .send()
        .await
        .unwrap();
    let read = client
        .browser_action()
        .body(action(
            "web-chat",
            json!({ "action": "evaluate", "expression": "[greeting.textContent, document.querySelector('#name').value]" }),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.value, Some(json!(["Clicked", "Ada"])));

    // The screen: a status, then a frame that decodes as a JPEG of the viewport.
    let mut screen = Screen::connect(&server.url, &token, "web-chat").await.unwrap();
    assert_eq!(
        (screen.status["viewportWidth"].as_u64(), screen.status["type"].as_str()),
        (Some(800), Some("status"))
    );
    let frame = tokio::time::timeout(Duration::from_secs(20), screen.next_frame()).await.unwrap().unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(frame.jpeg.as_slice());
    let pixels = decoder.decode().expect("the frame decodes as a JPEG");
    let info = decoder.info().unwrap();
    assert_eq!((info.width, info.height), (800, 600));
    assert!(!pixels.is_empty());
    // The stream's mouse input reaches the page.
    client
        .browser_action()
        .body(action("web-chat", json!({ "action": "evaluate", "expression": "window.clicks = 0; document.addEventListener('mousedown', () => window.clicks++); 1" })))
        .send()
        .await
        .unwrap();
    for event in ["mousePressed", "mouseReleased"] {
        let input = json!({ "type": "input_mouse", "eventType": event, "x": 10, "y": 10, "button": "left", "clickCount": 1 });
        screen.input(&input).await.unwrap();
    }
    let mut clicks = json!(0);
    for _ in 0..50 {
        clicks = client
            .browser_action()
            .body(action("web-chat", json!({ "action": "evaluate", "expression": "window.clicks" })))
            .send()
            .await
            .unwrap()
            .into_inner()
            .value
            .unwrap();
        if clicks == json!(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(clicks, json!(1));

    // A screenshot, through the SDK and through oqtoctl.
    let shot = client
        .browser_action()
        .body(action("web-chat", json!({ "action": "screenshot" })))
        .send()
        .await
        .unwrap()
        .into_inner();
    let png = base64::engine::general_purpose::STANDARD.decode(shot.screenshot.unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 800);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shot.png");
    let ctl = |args: &[&str]| {
        let out =
            server.oqtoctl().env("OQTO_TOKEN", &token).args(["-o", "json"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    ctl(&["browser", "screenshot", "web-chat", "-f", file.to_str().unwrap()]);
    assert!(std::fs::read(&file).unwrap().starts_with(b"\x89PNG"));
    let second = format!("{}/second", site.url);
    let moved: serde_json::Value =
        serde_json::from_slice(&ctl(&["browser", "action", "web-chat", "navigate", "--url", &second]))
            .unwrap();
    assert_eq!(moved["title"], "Second");
    let started: serde_json::Value =
        serde_json::from_slice(&ctl(&["browser", "start", "web-chat", &second])).unwrap();
    assert_eq!(started["url"], second);
    ctl(&["browser", "watch", "web-chat", "-n", "1", "-d", dir.path().to_str().unwrap()]);
    assert!(std::fs::read(dir.path().join("frame-0001.jpg")).unwrap().starts_with(&[0xff, 0xd8]));

    // History, color scheme, scrolling.
    // (Opening the page already shown adds no entry.)
    let back = client.browser_action().body(action("web-chat", json!({ "action": "back" }))).send().await;
    assert_eq!(back.unwrap().into_inner().url, page);
    let forward =
        client.browser_action().body(action("web-chat", json!({ "action": "forward" }))).send().await;
    assert_eq!(forward.unwrap().into_inner().title, "Second");
    let beyond =
        client.browser_action().body(action("web-chat", json!({ "action": "forward" }))).send().await;
    assert_eq!(status(beyond), 409);
    let dark = client
        .browser_action()
        .body(action("web-chat", json!({ "action": "color_scheme:dark" })))
        .send()
        .await
        .unwrap();
    assert!(dark.into_inner().ok);
    let scheme = client
        .browser_action()
        .body(action("web-chat", json!({ "action": "evaluate", "expression": "matchMedia('(prefers-color-scheme: dark)').matches" })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scheme.value, Some(json!(true)));
    let scrolled = client
        .browser_action()
        .body(action("web-chat", json!({ "action": "scroll", "delta_y": 200 })))
        .send()
        .await
        .unwrap();
    assert!(scrolled.into_inner().ok);

    // The address policy: other schemes, private addresses, redirects into them.
    for (url, code) in [
        ("file:///etc/passwd", 400),
        ("javascript:alert(1)", 400),
        ("http://127.0.0.1:9/", 403),
        ("http://10.0.0.1/", 403),
        ("http://169.254.169.254/latest/meta-data/", 403),
        ("http://[::1]:9/", 403),
        ("http://localhost:9/", 403),
    ] {
        let refused = client
            .browser_action()
            .body(action("web-chat", json!({ "action": "navigate", "url": url })))
            .send()
            .await;
        assert_eq!(status(refused), code, "{url}");
    }
    let redirected = client
        .browser_action()
        .body(action("web-chat", json!({ "action": "navigate", "url": format!("{}/moved", site.url) })))
        .send()
        .await;
    let (code, body) = error_body(redirected);
    assert_eq!(code, 502, "{body:?}");
    assert!(body.message.contains("ERR_ACCESS_DENIED"), "{body:?}");

    // Bad actions, bad input.
    for (fields, code) in [
        (json!({ "action": "fly" }), 400),
        (json!({ "action": "click" }), 400),
        (json!({ "action": "click", "selector": "#nothing-here" }), 422),
        (json!({ "action": "evaluate", "expression": "throw new Error('boom')" }), 422),
        (json!({ "action": "evaluate", "expression": "'x'.repeat(5 * 1024 * 1024)" }), 422),
        (json!({ "action": "color_scheme", "scheme": "purple" }), 400),
    ] {
        let answer = client.browser_action().body(action("web-chat", fields.clone())).send().await;
        assert_eq!(status(answer), code, "{fields}");
    }
    let huge: types::BrowserStart =
        serde_json::from_value(json!({ "session_id": "web-chat", "viewport_width": 99999 })).unwrap();
    assert_eq!(status(client.browser_start().body(huge).send().await), 422);

    // One browser per user here (browser.max_per_user = 1): a second chat's
    // start is refused as the caller's limit (429 with Retry-After), not as
    // a server fault.
    let _second_mux = open_chat(&server, &token, "web-chat-2").await;
    match client.browser_start().body(start("web-chat-2", &page)).send().await {
        Err(oqto_client::Error::ErrorResponse(refused)) => {
            assert_eq!(refused.status().as_u16(), 429);
            assert_eq!(refused.headers()["retry-after"], "30");
            assert_eq!(refused.error_code.as_deref(), Some("TooManyRequests"));
            assert!(refused.message.contains("browser.max_per_user"), "{}", refused.message);
        }
        other => panic!("expected a 429, got {other:?}"),
    }

    // Another user: neither the chat, nor its browser, nor its screen.
    let (other, _) = server.user_client("other").await;
    let other_token = server.login("other", TEST_PASSWORD).await;
    assert_eq!(status(other.browser_start().body(start("web-chat", &page)).send().await), 404);
    let theirs =
        other.browser_action().body(action("web-chat", json!({ "action": "screenshot" }))).send().await;
    assert_eq!(status(theirs), 404);
    let by_id = other
        .browser_action()
        .body(action(started["session_id"].as_str().unwrap_or_default(), json!({ "action": "reload" })))
        .send()
        .await;
    assert_eq!(status(by_id), 404);
    assert!(Screen::connect(&server.url, &other_token, "web-chat").await.is_err());
    assert_eq!(status(server.anonymous().browser_start().body(start("web-chat", &page)).send().await), 401);

    // The browser closes with its chat: closed, or deleted.
    drop(screen);
    assert!(mux.command("web-chat", AgentCommand::SessionClose).await.unwrap().success);
    let closed = client.browser_action().body(action("web-chat", json!({ "action": "reload" }))).send().await;
    assert_eq!(status(closed), 404);
    client.browser_start().body(start("web-chat", &page)).send().await.unwrap();
    client.chat_history_delete().session_id("web-chat").send().await.unwrap();
    let gone = client.browser_action().body(action("web-chat", json!({ "action": "reload" }))).send().await;
    assert_eq!(status(gone), 404);
}
