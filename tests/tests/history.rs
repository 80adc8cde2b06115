//! Chat history indexed from the agents' session files, and search.

use std::time::Duration;

use oqto_api::mux::{AgentCommand, AgentEvent, ChatConfig, PromptBody, ServerFrame};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_client::types;
use oqto_tests::{TEST_PASSWORD, TestServer, status};
use reqwest::Method;

async fn chat(mux: &mut MuxClient, id: &str, cwd: &str, prompts: &[&str]) {
    let config = ChatConfig { cwd: Some(cwd.into()), ..Default::default() };
    assert!(mux.command(id, AgentCommand::SessionCreate { config, last_seq: None }).await.unwrap().success);
    for text in prompts {
        let body = PromptBody { message: (*text).into(), images: None, client_id: None };
        assert!(mux.command(id, AgentCommand::Prompt(body)).await.unwrap().success);
        loop {
            match tokio::time::timeout(Duration::from_secs(20), mux.next()).await.unwrap() {
                Some(MuxEvent::Frame(ServerFrame::Agent(f)))
                    if f.session_id == id && matches!(f.event, AgentEvent::AgentIdle) =>
                {
                    break;
                }
                Some(_) => {}
                None => panic!("connection ended"),
            }
        }
    }
}

#[tokio::test]
async fn history_lists_reads_renames_and_searches_real_session_files() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("hana").await;
    let token = server.login("hana", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "alpha", "proj/one", &["the zebra crossing is broken", "and the lamp too"]).await;
    chat(&mut mux, "beta", "proj/two", &["nothing about animals"]).await;

    let list = client.chat_history_list().send().await.unwrap().into_inner();
    assert_eq!(list.len(), 2);
    let alpha = list.iter().find(|e| e.id == "alpha").unwrap();
    assert_eq!(alpha.title.as_deref(), Some("the zebra crossing is broken"));
    assert_eq!((alpha.workspace_path.as_str(), alpha.project_name.as_str()), ("proj/one", "one"));
    assert_eq!(alpha.message_count, 4);
    assert_eq!(alpha.model.as_deref(), Some("echo-1"));
    assert!(alpha.readable_id.is_some());
    let only_two = client.chat_history_list().workspace("proj/two").send().await.unwrap().into_inner();
    assert_eq!(only_two.len(), 1);

    let messages = client.chat_history_message_list().session_id("alpha").send().await.unwrap().into_inner();
    let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(messages[1].content, "You said: the zebra crossing is broken");
    let page = client
        .chat_history_message_list()
        .session_id("alpha")
        .limit(1u32)
        .offset(2u32)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((page.len(), page[0].idx), (1, 2));

    // Appending to a chat indexes only the new lines.
    chat(&mut mux, "alpha", "proj/one", &["one more zebra"]).await;
    let alpha = client.chat_history_view().session_id("alpha").send().await.unwrap().into_inner();
    assert_eq!(alpha.message_count, 6);
    // The list (kept serialised between changes) follows.
    let listed = |list: Vec<types::ChatHistoryEntry>| list.into_iter().find(|e| e.id == "alpha").unwrap();
    let list = client.chat_history_list().send().await.unwrap().into_inner();
    assert_eq!(listed(list).message_count, 6);

    let hits = client.search().q("zebra").send().await.unwrap().into_inner();
    assert!(hits.hits.len() >= 2, "{hits:?}");
    assert!(hits.hits.iter().all(|h| h.session_id == "alpha"));
    assert!(hits.hits[0].snippet.as_deref().unwrap().contains("zebra"));
    let both = client.search().q("zebra crossing").send().await.unwrap().into_inner();
    assert_eq!(both.hits.len(), 2, "the prompt and its echo: {both:?}");
    let apart = client.search().q("zebra lamp").send().await.unwrap().into_inner();
    assert!(apart.hits.is_empty(), "all words must match in one message: {apart:?}");
    assert!(client.search().q("giraffe").send().await.unwrap().into_inner().hits.is_empty());
    assert_eq!(status(client.search().q("   ").send().await), 400);
    // Query syntax is not interpreted.
    client.search().q("\"zebra OR* (lamp").send().await.unwrap();

    let renamed = client
        .chat_history_update()
        .session_id("alpha")
        .body(types::ChatHistoryUpdate { title: Some("Zebra crossing".into()) })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.title.as_deref(), Some("Zebra crossing"));
    let list = client.chat_history_list().send().await.unwrap().into_inner();
    assert_eq!(listed(list).title.as_deref(), Some("Zebra crossing"));
    let too_long = types::ChatHistoryUpdate { title: Some("x".repeat(300)) };
    assert_eq!(status(client.chat_history_update().session_id("alpha").body(too_long).send().await), 422);
}

#[tokio::test]
async fn renames_survive_a_restart_and_history_is_private() {
    let mut server = TestServer::start().await;
    let (client, _) = server.user_client("ren").await;
    let (other, _) = server.user_client("peek").await;
    let token = server.login("ren", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "keep", ".", &["remember me"]).await;
    let body = types::ChatHistoryUpdate { title: Some("Kept title".into()) };
    client.chat_history_update().session_id("keep").body(body).send().await.unwrap();
    assert_eq!(status(other.chat_history_view().session_id("keep").send().await), 404);
    assert_eq!(status(other.chat_history_message_list().session_id("keep").send().await), 404);
    assert!(other.search().q("remember").send().await.unwrap().into_inner().hits.is_empty());

    server.restart_with(Default::default()).await;
    let client = server.client(&token);
    let entry = client.chat_history_view().session_id("keep").send().await.unwrap().into_inner();
    assert_eq!(entry.title.as_deref(), Some("Kept title"));
    assert_eq!(client.search().q("remember").send().await.unwrap().into_inner().hits.len(), 2);
}

/// Search ranks every user's matches in one index: a user whose messages
/// rank below many of another user's still gets their own best hits, in
/// order, and only their own.
#[tokio::test]
async fn search_finds_the_callers_hits_below_other_users_better_ones() {
    let server = TestServer::start().await;
    let (many, _) = server.user_client("many").await;
    let (few, _) = server.user_client("few").await;
    let mut mux = server.mux(&server.login("many", TEST_PASSWORD).await).await;
    // Short messages rank first: six of them (three prompts and their echoes).
    chat(&mut mux, "short", ".", &["otter", "otter", "otter"]).await;
    let mut mux = server.mux(&server.login("few", TEST_PASSWORD).await).await;
    chat(&mut mux, "long", ".", &["the otter sleeps under a long quiet bridge by the slow river"]).await;
    chat(
        &mut mux,
        "longer",
        ".",
        &["far away the otter sleeps under a long quiet bridge by the slow wide river"],
    )
    .await;

    let search = |client: &oqto_client::Client, limit: u32| {
        let client = client.clone();
        async move { client.search().q("otter").limit(limit).send().await.unwrap().into_inner().hits }
    };
    let all = search(&few, 50).await;
    for limit in [1, 2, 3, 50] {
        let hits = search(&few, limit).await;
        assert_eq!(hits.len(), (limit as usize).min(4), "limit {limit}: {hits:?}");
        assert!(hits.iter().all(|h| h.session_id == "long" || h.session_id == "longer"), "{hits:?}");
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score), "best first: {hits:?}");
        // The best of the caller's, whatever the limit.
        let scores = |hits: &[types::SearchHit]| hits.iter().map(|h| h.score).collect::<Vec<_>>();
        assert_eq!(scores(&hits), scores(&all[..hits.len()]), "limit {limit}");
    }
    let mine = search(&many, 2).await;
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|h| h.session_id == "short"), "{mine:?}");
    assert_eq!(search(&many, 50).await.len(), 6);
}

#[tokio::test]
async fn grouped_history_uses_the_callers_time_zone() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("tzuser").await;
    let token = server.login("tzuser", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "now", ".", &["just now"]).await;
    let groups = client.chat_history_grouped_list().tz("Pacific/Auckland").send().await.unwrap().into_inner();
    assert_eq!(groups.today.len(), 1);
    assert_eq!(status(client.chat_history_grouped_list().tz("Mars/Olympus").send().await), 400);
    let (code, original) = server.raw(Method::GET, "/api/chat-history/grouped?tz=UTC", &token, None).await;
    assert_eq!((code, original["today"].as_array().map(Vec::len)), (200, Some(1)));
}

#[tokio::test]
async fn history_over_the_mux_is_owner_only() {
    use oqto_api::mux::{ClientFrame, HstryEvent, HstryRequest};
    let server = TestServer::start().await;
    server.user_client("owner2").await;
    server.user_client("other2").await;
    let owner = server.login("owner2", TEST_PASSWORD).await;
    let other = server.login("other2", TEST_PASSWORD).await;
    let mut mux = server.mux(&owner).await;
    chat(&mut mux, "mine", ".", &["a pelican flies"]).await;
    async fn ask(mux: &mut MuxClient, request: HstryRequest) -> HstryEvent {
        mux.send(ClientFrame::Hstry(request));
        loop {
            match tokio::time::timeout(Duration::from_secs(10), mux.next()).await.unwrap() {
                Some(MuxEvent::Frame(ServerFrame::Hstry(
                    HstryEvent::ChatUpdated { .. } | HstryEvent::ChatDeleted { .. },
                ))) => {}
                Some(MuxEvent::Frame(ServerFrame::Hstry(event))) => return event,
                Some(_) => {}
                None => panic!("ended"),
            }
        }
    }
    let query = |session: Option<&str>, q: Option<&str>| HstryRequest::Query {
        id: Some("h".into()),
        session_id: session.map(str::to_string),
        query: q.map(str::to_string),
        limit: None,
    };
    match ask(&mut mux, query(Some("mine"), None)).await {
        HstryEvent::Result { data: oqto_api::mux::HstryData::Messages(messages), .. } => {
            assert_eq!(messages.len(), 2)
        }
        other => panic!("{other:?}"),
    }
    match ask(&mut mux, query(None, Some("pelican"))).await {
        HstryEvent::Result { data: oqto_api::mux::HstryData::Search(found), .. } => {
            assert_eq!(found.hits.len(), 2)
        }
        other => panic!("{other:?}"),
    }
    let mut intruder = server.mux(&other).await;
    assert!(matches!(ask(&mut intruder, query(Some("mine"), None)).await, HstryEvent::Error { .. }));
    match ask(&mut intruder, query(None, Some("pelican"))).await {
        HstryEvent::Result { data: oqto_api::mux::HstryData::Search(found), .. } => {
            assert!(found.hits.is_empty())
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn history_through_an_hstry_service_over_grpc() {
    use std::sync::atomic::Ordering;
    let (url, store) = oqto_tests::hstry::start().await;
    let options = oqto_tests::Options::default().env("OQTO_HISTORY__HSTRY_URL", &url);
    let server = TestServer::start_with(options).await;
    let (client, _) = server.user_client("grpc").await;
    let (stranger, _) = server.user_client("stranger").await;
    let token = server.login("grpc", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "g1", "work", &["the walrus sings"]).await;

    let list = client.chat_history_list().send().await.unwrap().into_inner();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].id.as_str(), list[0].message_count, list[0].workspace_path.as_str()),
        ("g1", 2, "work")
    );
    assert!(store.writes.load(Ordering::SeqCst) >= 1, "the conversation was written to hstry");
    assert!(store.reads.load(Ordering::SeqCst) >= 1, "the list came from hstry");

    // New messages are appended, not rewritten.
    chat(&mut mux, "g1", "work", &["and the walrus dances"]).await;
    let messages = client.chat_history_message_list().session_id("g1").send().await.unwrap().into_inner();
    assert_eq!(messages.len(), 4);
    assert_eq!(store.conversations.lock().unwrap()["g1"].1.len(), 4);

    let hits = client.search().q("walrus").send().await.unwrap().into_inner();
    assert_eq!(hits.hits.len(), 4);
    assert!(store.searches.load(Ordering::SeqCst) >= 1);
    assert!(
        stranger.search().q("walrus").send().await.unwrap().into_inner().hits.is_empty(),
        "hits are the caller's only"
    );
    assert!(stranger.chat_history_list().send().await.unwrap().into_inner().is_empty());

    let renamed = client
        .chat_history_update()
        .session_id("g1")
        .body(types::ChatHistoryUpdate { title: Some("Walrus".into()) })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.title.as_deref(), Some("Walrus"));
    assert_eq!(store.conversations.lock().unwrap()["g1"].0.title.as_deref(), Some("Walrus"));
}

#[tokio::test]
async fn an_unreachable_hstry_is_a_503() {
    let options = oqto_tests::Options::default().env("OQTO_HISTORY__HSTRY_URL", "http://127.0.0.1:9");
    let server = TestServer::start_with(options).await;
    let (client, _) = server.user_client("down").await;
    let token = server.login("down", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "d1", ".", &["hello"]).await;
    let (code, body) = oqto_tests::error_body(client.chat_history_list().send().await);
    assert_eq!((code, body.error_code.as_deref()), (503, Some("ServiceUnavailable")));
}

#[tokio::test]
async fn history_changes_are_pushed_live_to_the_owners_connections_only() {
    use oqto_api::mux::HstryEvent;
    let server = TestServer::start().await;
    let (client, _) = server.user_client("liv").await;
    let token = server.login("liv", TEST_PASSWORD).await;
    let (_, _) = server.user_client("nosy").await;
    let mut nosy = server.mux(&server.login("nosy", TEST_PASSWORD).await).await;
    let mut driver = server.mux(&token).await;
    let mut watcher = server.mux(&token).await;
    async fn next_history(mux: &mut MuxClient) -> HstryEvent {
        loop {
            match tokio::time::timeout(Duration::from_secs(20), mux.next()).await.unwrap() {
                Some(MuxEvent::Frame(ServerFrame::Hstry(event))) => return event,
                Some(_) => {}
                None => panic!("connection ended"),
            }
        }
    }

    // The agent's messages reach a connection that never opened the chat.
    chat(&mut driver, "live", ".", &["a heron waits"]).await;
    loop {
        match next_history(&mut watcher).await {
            HstryEvent::ChatUpdated { entry } if entry.id == "live" && entry.message_count == 2 => {
                assert_eq!(entry.title.as_deref(), Some("a heron waits"));
                break;
            }
            HstryEvent::ChatUpdated { entry } => assert_eq!(entry.id, "live"),
            other => panic!("unexpected {other:?}"),
        }
    }
    let rename = types::ChatHistoryUpdate { title: Some("Herons".into()) };
    client.chat_history_update().session_id("live").body(rename).send().await.unwrap();
    match next_history(&mut watcher).await {
        HstryEvent::ChatUpdated { entry } => assert_eq!(entry.title.as_deref(), Some("Herons")),
        other => panic!("unexpected {other:?}"),
    }
    assert!(driver.command("live", AgentCommand::SessionDelete).await.unwrap().success);
    loop {
        match next_history(&mut watcher).await {
            HstryEvent::ChatDeleted { session_id } => break assert_eq!(session_id, "live"),
            HstryEvent::ChatUpdated { entry } => assert_eq!(entry.id, "live"),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Another user heard none of it.
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(300), nosy.next()).await {
        assert!(!matches!(event, MuxEvent::Frame(ServerFrame::Hstry(_))), "{event:?}");
    }
}

/// The original web client deletes a chat over REST (then on the mux):
/// gone from the list, the messages, the search and the disk; another
/// user's chat is a 404.
#[tokio::test]
async fn a_deleted_chat_is_gone_for_good() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("dora").await;
    let (other, _) = server.user_client("otto").await;
    let token = server.login("dora", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "doomed", "garden", &["a pelican flies by"]).await;
    chat(&mut mux, "kept", "garden", &["a heron stands"]).await;
    let session_dir = server.data_dir.path().join("users").join(me.id.to_string()).join("chats/doomed");
    assert!(session_dir.is_dir());

    assert_eq!(status(other.chat_history_delete().session_id("doomed").send().await), 404);
    client.chat_history_delete().session_id("doomed").send().await.unwrap();
    assert_eq!(status(client.chat_history_view().session_id("doomed").send().await), 404);
    assert_eq!(status(client.chat_history_message_list().session_id("doomed").send().await), 404);
    let list = client.chat_history_list().send().await.unwrap().into_inner();
    assert_eq!(list.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["kept"]);
    assert!(client.search().q("pelican").send().await.unwrap().into_inner().hits.is_empty());
    assert!(!session_dir.exists());
    assert_eq!(status(client.chat_history_delete().session_id("doomed").send().await), 404);
    // The mux delete the client sends next finds nothing either.
    assert!(!mux.command("doomed", AgentCommand::SessionDelete).await.unwrap().success);
    // The other chat keeps working.
    chat(&mut mux, "kept", "garden", &["still here"]).await;
}

#[tokio::test]
async fn backfill_reindexes_the_session_files() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("bea").await;
    let token = server.login("bea", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "b1", "notes", &["one"]).await;
    chat(&mut mux, "b2", "notes", &["two"]).await;
    let report = client.chat_history_backfill().send().await.unwrap().into_inner();
    assert_eq!(report.scanned_files, 2);
    assert_eq!(report.failed_files, 0);
    assert_eq!(report.repaired_conversations + report.skipped_files, 2);
    // The original's path answers the same.
    let url = format!("{}/api/chat-history/backfill", server.url);
    let response = reqwest::Client::new().post(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scanned_files"], 2);
    let other =
        reqwest::Client::new().post(format!("{}/api/chat-history/b1", server.url)).bearer_auth(&token);
    assert_eq!(other.send().await.unwrap().status(), 404);
}

/// The original web client matches the messages of a reload with those it
/// has by id: every message and every part has one, the same over HTTP and
/// over the mux, and the same at the next reload; the user message carries
/// the `client_id` of the prompt that produced it.
#[tokio::test]
async fn messages_have_stable_ids_over_http_and_the_mux() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("ida").await;
    let token = server.login("ida", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    chat(&mut mux, "ids", "work", &[]).await;
    let body = PromptBody { message: "count the stars".into(), images: None, client_id: Some("c-42".into()) };
    assert!(mux.command("ids", AgentCommand::Prompt(body)).await.unwrap().success);
    loop {
        match tokio::time::timeout(Duration::from_secs(20), mux.next()).await.unwrap() {
            Some(MuxEvent::Frame(ServerFrame::Agent(f))) if matches!(f.event, AgentEvent::AgentIdle) => break,
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
    let http = client.chat_history_message_list().session_id("ids").send().await.unwrap().into_inner();
    assert_eq!(http.len(), 2);
    assert_eq!((http[0].role.as_str(), http[0].client_id.as_deref()), ("user", Some("c-42")));
    assert_eq!(http[1].client_id, None);
    let ids: Vec<&str> = http.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.iter().all(|id| !id.is_empty()) && ids[0] != ids[1], "{ids:?}");
    for message in &http {
        for part in message.parts.as_array().unwrap() {
            assert!(part["id"].as_str().is_some_and(|id| id.starts_with(message.id.as_str())), "{part}");
        }
    }
    let over_mux = mux.command("ids", AgentCommand::GetMessages).await.unwrap().data.unwrap();
    let mux_messages = over_mux["messages"].as_array().unwrap();
    let mux_ids: Vec<&str> = mux_messages.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(mux_ids, ids, "the same ids on both ways");
    assert_eq!(mux_messages[0]["client_id"], "c-42");
    assert_eq!(mux_messages[0]["parts"], serde_json::to_value(&http[0].parts).unwrap());
    // A reload (and a restart of the chat) keeps them.
    assert!(mux.command("ids", AgentCommand::SessionClose).await.unwrap().success);
    let again = client.chat_history_message_list().session_id("ids").send().await.unwrap().into_inner();
    assert_eq!(again.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ids);
    let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
    drop(mux);

    // After a server restart, before `session.create`: the same messages.
    let mut server = server;
    server.restart_with(oqto_tests::Options::default()).await;
    let token = server.login("ida", TEST_PASSWORD).await;
    let mux = server.mux(&token).await;
    let before_create = mux.command("ids", AgentCommand::GetMessages).await.unwrap().data.unwrap();
    let listed: Vec<&str> =
        before_create["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids);
}
