//! Memories of a workspace through the SDK (and the original's paths raw):
//! defaults, the three text fields, ranking and filters, pages, session
//! scope, confinement, and another user's memory as a 404.

use oqto_client::types;
use oqto_tests::{TEST_PASSWORD, TestServer, status};
use reqwest::Method;

fn text(content: &str) -> types::MemoryCreate {
    types::MemoryCreate { content: Some(content.into()), ..Default::default() }
}

fn search(query: &str) -> types::MemorySearch {
    types::MemorySearch {
        query: query.into(),
        category: None,
        limit: None,
        memory_type: None,
        offset: None,
        store: None,
        tags: None,
    }
}

#[tokio::test]
async fn memories_of_a_workspace_are_kept_found_and_ranked() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("mia").await;
    server.open_workspace(&client, "notes").await;
    let add = |body: types::MemoryCreate| {
        let client = client.clone();
        async move {
            let made = client.memory_create().workspace_path("notes").body(body).send().await.unwrap();
            made.into_inner().memory
        }
    };

    let first = add(text("  The database is PostgreSQL in production  ")).await;
    assert!(first.id.starts_with("mem_"));
    assert_eq!(first.content, "The database is PostgreSQL in production");
    assert_eq!(
        (first.memory_type, first.importance, first.category.as_str()),
        (types::MemoryType::Semantic, 5, "general")
    );
    assert_eq!(first.store, "notes", "the default store is named after the workspace");
    // `text` and `memory` are accepted as the original accepted them; the first not blank wins.
    let by_text = types::MemoryCreate {
        content: Some(" ".into()),
        text: Some("Deploys run on Fridays, database migrations first".into()),
        tags: Some(vec!["Ops".into(), "ops".into(), "deploy".into()]),
        category: Some("process".into()),
        memory_type: Some(types::MemoryType::Procedural),
        importance: Some(9),
        ..Default::default()
    };
    let second = add(by_text).await;
    assert_eq!(second.tags, ["ops", "deploy"]);
    let by_memory = types::MemoryCreate {
        memory: Some("We met the database vendor on Monday; database talk all day".into()),
        memory_type: Some(types::MemoryType::Episodic),
        store: Some("meetings".into()),
        metadata: Some(serde_json::from_value(serde_json::json!({"room": "4b"})).unwrap()),
        ..Default::default()
    };
    let third = add(by_memory).await;
    assert_eq!(third.metadata["room"], "4b");

    // Bad bodies: no text, blank text, bounds.
    for (body, code) in [
        (types::MemoryCreate::default(), 400),
        (text("   "), 400),
        (types::MemoryCreate { importance: Some(11), ..text("x") }, 422),
        (types::MemoryCreate { importance: Some(0), ..text("x") }, 422),
        (types::MemoryCreate { category: Some("c".repeat(65)), ..text("x") }, 422),
        (types::MemoryCreate { tags: Some(vec![String::new()]), ..text("x") }, 422),
        (text(&"x".repeat(65 * 1024)), 422),
        (text("a\0b"), 422),
    ] {
        assert_eq!(status(client.memory_create().workspace_path("notes").body(body).send().await), code);
    }

    // Search: every word must occur, ranked, with filters.
    let found = client.memory_search().workspace_path("notes").body(search("database")).send().await.unwrap();
    let found = found.into_inner().memories;
    assert_eq!(found.len(), 3);
    assert!(found.windows(2).all(|w| w[0].rank >= w[1].rank), "{found:?}");
    assert_eq!(found[0].id, third.id, "the memory that says it twice ranks first");
    let both = client.memory_search().workspace_path("notes").body(search("database fridays")).send().await;
    assert_eq!(both.unwrap().into_inner().memories.iter().map(|m| &m.id).collect::<Vec<_>>(), [&second.id]);
    let filtered = types::MemorySearch { tags: Some(vec!["OPS".into()]), ..search("database") };
    let filtered = client.memory_search().workspace_path("notes").body(filtered).send().await.unwrap();
    assert_eq!(filtered.into_inner().memories[0].id, second.id);
    let by_type =
        types::MemorySearch { memory_type: Some(types::MemoryType::Episodic), ..search("database") };
    let by_type = client.memory_search().workspace_path("notes").body(by_type).send().await.unwrap();
    assert_eq!(by_type.into_inner().memories.len(), 1);
    let by_store = types::MemorySearch { store: Some("meetings".into()), ..search("database") };
    let by_store = client.memory_search().workspace_path("notes").body(by_store).send().await.unwrap();
    assert_eq!(by_store.into_inner().memories[0].id, third.id);
    let quoted = client.memory_search().workspace_path("notes").body(search("\"database OR *")).send().await;
    assert!(quoted.is_ok(), "query syntax is taken as plain words");
    assert_eq!(status(client.memory_search().workspace_path("notes").body(search("  ")).send().await), 400);
    let nul = client.memory_search().workspace_path("notes").body(search("a\0x b")).send().await;
    assert_eq!(status(nul), 422, "FTS5 would read a NUL as the query's end");

    // Listing: newest first, pages, the total, by store.
    let page = client.memory_list().workspace_path("notes").limit(2).send().await.unwrap().into_inner();
    assert_eq!((page.total, page.limit, page.offset, page.memories.len()), (3, 2, 0, 2));
    assert_eq!(page.memories[0].id, third.id);
    let rest = client.memory_list().workspace_path("notes").limit(2).offset(2).send().await.unwrap();
    assert_eq!(rest.into_inner().memories[0].id, first.id);
    let meetings = client.memory_list().workspace_path("notes").store("meetings").send().await.unwrap();
    assert_eq!(meetings.into_inner().total, 1);
    assert_eq!(status(client.memory_list().workspace_path("notes").limit(101).send().await), 400);
    let stores = client.memory_store_list().workspace_path("notes").send().await.unwrap().into_inner().stores;
    assert_eq!(
        stores.iter().map(|s| (s.name.as_str(), s.memories)).collect::<Vec<_>>(),
        [("meetings", 1), ("notes", 2)]
    );

    // Change: given fields replace, the others stay; search follows.
    let change =
        types::MemoryCreate { content: Some("The database is SQLite in tests".into()), ..Default::default() };
    let changed =
        client.memory_update().workspace_path("notes").memory_id(&first.id).body(change).send().await;
    let changed = changed.unwrap().into_inner();
    assert_eq!((changed.category.as_str(), changed.importance), ("general", 5));
    assert!(changed.updated_at >= first.updated_at);
    let sqlite = client.memory_search().workspace_path("notes").body(search("sqlite")).send().await.unwrap();
    assert_eq!(sqlite.into_inner().memories.len(), 1);
    let gone =
        client.memory_search().workspace_path("notes").body(search("production")).send().await.unwrap();
    assert!(gone.into_inner().memories.is_empty());
    let viewed = client.memory_view().workspace_path("notes").memory_id(&first.id).send().await.unwrap();
    assert_eq!(viewed.into_inner().content, "The database is SQLite in tests");

    let deleted = client.memory_delete().workspace_path("notes").memory_id(&first.id).send().await.unwrap();
    assert!(deleted.into_inner().deleted);
    assert_eq!(status(client.memory_view().workspace_path("notes").memory_id(&first.id).send().await), 404);
    assert_eq!(status(client.memory_delete().workspace_path("notes").memory_id(&first.id).send().await), 404);
    let after = client.memory_search().workspace_path("notes").body(search("sqlite")).send().await.unwrap();
    assert!(after.into_inner().memories.is_empty(), "a deleted memory leaves the index");

    // The original's search path, raw, as its web client sends it.
    let token = server.login("mia", TEST_PASSWORD).await;
    let body = serde_json::json!({"query": "fridays"});
    let (code, found) = server
        .raw(Method::POST, "/api/workspace/memories/search?workspace_path=notes", &token, Some(body))
        .await;
    assert_eq!(code, 200, "{found}");
    assert_eq!(found["memories"][0]["id"], second.id.as_str());
    let (code, _) =
        server.raw(Method::POST, "/api/workspace/memories/other?workspace_path=notes", &token, None).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn memories_are_their_owners_and_stay_inside_the_workspace_root() {
    let server = TestServer::start().await;
    let (owner, _) = server.user_client("ned").await;
    let (other, _) = server.user_client("ola").await;
    server.open_workspace(&owner, "proj").await;
    server.open_workspace(&other, "proj").await;
    let made = owner.memory_create().workspace_path("proj").body(text("secret plan")).send().await.unwrap();
    let id = made.into_inner().memory.id;

    // Another user, even with a workspace of the same name: not found.
    assert_eq!(status(other.memory_view().workspace_path("proj").memory_id(&id).send().await), 404);
    let change = text("mine now");
    assert_eq!(
        status(other.memory_update().workspace_path("proj").memory_id(&id).body(change).send().await),
        404
    );
    assert_eq!(status(other.memory_delete().workspace_path("proj").memory_id(&id).send().await), 404);
    let theirs = other.memory_search().workspace_path("proj").body(search("secret")).send().await.unwrap();
    assert!(theirs.into_inner().memories.is_empty());
    assert_eq!(other.memory_list().workspace_path("proj").send().await.unwrap().into_inner().total, 0);
    // Another workspace of the owner's: not there either.
    server.open_workspace(&owner, "elsewhere").await;
    assert_eq!(status(owner.memory_view().workspace_path("elsewhere").memory_id(&id).send().await), 404);

    // Paths outside the root, and workspaces that do not exist.
    for path in ["../ned/proj", "/etc", "proj/../../x"] {
        assert_eq!(status(other.memory_list().workspace_path(path).send().await), 422, "{path}");
        assert_eq!(
            status(other.memory_create().workspace_path(path).body(text("x")).send().await),
            422,
            "{path}"
        );
    }
    assert_eq!(status(owner.memory_list().workspace_path("missing").send().await), 404);
    assert_eq!(status(server.anonymous().memory_list().workspace_path("proj").send().await), 401);
}

#[tokio::test]
async fn a_sessions_memories_are_its_workspaces() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("pia").await;
    let session = server.open_workspace(&client, "app").await;
    let sid = session.id.to_string();
    let made = client.session_memory_create().session_id(&sid).body(text("uses tokio")).send().await.unwrap();
    let memory = made.into_inner().memory;
    // The same memory through the workspace routes.
    let listed = client.memory_list().workspace_path("app").send().await.unwrap().into_inner();
    assert_eq!(listed.memories[0].id, memory.id);
    let found = client.session_memory_search().session_id(&sid).body(search("tokio")).send().await.unwrap();
    assert_eq!(found.into_inner().memories.len(), 1);
    let stores = client.session_memory_store_list().session_id(&sid).send().await.unwrap().into_inner();
    assert_eq!(stores.stores[0].name, "app");
    let change = types::MemoryCreate { importance: Some(2), ..Default::default() };
    let changed =
        client.session_memory_update().session_id(&sid).memory_id(&memory.id).body(change).send().await;
    assert_eq!(changed.unwrap().into_inner().importance, 2);
    let viewed = client.session_memory_view().session_id(&sid).memory_id(&memory.id).send().await.unwrap();
    assert_eq!(viewed.into_inner().content, "uses tokio");
    let page = client.session_memory_list().session_id(&sid).send().await.unwrap().into_inner();
    assert_eq!(page.total, 1);

    // The original's paths.
    let token = server.login("pia", TEST_PASSWORD).await;
    let (code, stores) =
        server.raw(Method::GET, &format!("/api/session/{sid}/memories/stores"), &token, None).await;
    assert_eq!((code, stores["stores"][0]["memories"].as_u64()), (200, Some(1)), "{stores}");
    let body = serde_json::json!({"query": "tokio"});
    let (code, found) =
        server.raw(Method::POST, &format!("/api/session/{sid}/memories/search"), &token, Some(body)).await;
    assert_eq!((code, found["memories"].as_array().map(Vec::len)), (200, Some(1)), "{found}");

    // Another user's session is not found.
    let (stranger, _) = server.user_client("quin").await;
    assert_eq!(status(stranger.session_memory_list().session_id(&sid).send().await), 404);
    let e = stranger.session_memory_view().session_id(&sid).memory_id(&memory.id).send().await;
    assert_eq!(status(e), 404);
    let deleted = client.session_memory_delete().session_id(&sid).memory_id(&memory.id).send().await.unwrap();
    assert_eq!(deleted.into_inner().id, memory.id);
}
