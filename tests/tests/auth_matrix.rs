//! The spec-driven auth matrix: every operation of the checked-in document
//! refuses anonymous callers unless marked public (`security: []`), and
//! every `/api/admin/` operation refuses plain users. New routes are
//! covered without touching this file.

use oqto_tests::{TestServer, status};
use serde_json::{Value, json};

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-spec/openapi/oqto.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("checked-in document")).expect("JSON")
}

/// A minimal value that satisfies `schema`, so that requests reach the
/// handler's authentication instead of failing body parsing.
fn example(doc: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return example(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema.get(key).and_then(|v| v.get(0)) {
            return example(doc, first);
        }
    }
    if let Some(first) = schema.get("enum").and_then(|v| v.get(0)) {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") | None if schema.get("properties").is_some() => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = serde_json::Map::new();
            for name in required {
                out.insert(name.to_string(), example(doc, &schema["properties"][name]));
            }
            Value::Object(out)
        }
        Some("object") => json!({}),
        Some("array") => json!([]),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("string") if schema.get("format").and_then(Value::as_str) == Some("uuid") => {
            json!(uuid::Uuid::new_v4().to_string())
        }
        Some("string") => json!("example-value"),
        _ => Value::Null,
    }
}

struct Operation {
    id: String,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    public: bool,
    websocket: bool,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() else { continue };
            let mut concrete = path.clone();
            let mut query = Vec::new();
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                if param["in"] == "path" {
                    concrete = concrete.replace(&format!("{{{name}}}"), &uuid::Uuid::new_v4().to_string());
                } else if param["in"] == "query" && param["required"] == true {
                    let value = match example(doc, &param["schema"]) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    query.push(format!("{name}={value}"));
                }
            }
            if !query.is_empty() {
                concrete = format!("{concrete}?{}", query.join("&"));
            }
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .map(|schema| example(doc, schema));
            let public = op.get("security").and_then(Value::as_array).is_some_and(Vec::is_empty);
            out.push(Operation {
                id: op["operationId"].as_str().unwrap_or_default().to_string(),
                method,
                path: concrete,
                body,
                public,
                websocket: op.get("x-dropshot-websocket").is_some(),
            });
        }
    }
    out
}

async fn call(server: &TestServer, op: &Operation, token: Option<&str>) -> u16 {
    let mut request = server.http().request(op.method.clone(), format!("{}{}", server.url, op.path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = &op.body {
        request = request.json(body);
    }
    if op.websocket {
        // A real upgrade request, so that refusal comes from authentication.
        request = request
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn every_operation_refuses_anonymous_callers_unless_public() {
    let server = TestServer::start().await;
    let doc = document();
    let ops = operations(&doc);
    assert!(ops.len() >= 20, "the document lists {} operations", ops.len());
    let mut wrong = Vec::new();
    for op in ops.iter().filter(|op| !op.public) {
        let code = call(&server, op, None).await;
        if code != 401 {
            wrong.push(format!("{} {} {} -> {code}", op.id, op.method, op.path));
        }
    }
    assert!(
        wrong.is_empty(),
        "operations that did not answer 401 to an anonymous caller:\n{}",
        wrong.join("\n")
    );
    let public: Vec<_> = ops.iter().filter(|op| op.public).map(|op| op.id.as_str()).collect();
    assert!(public.contains(&"health_view") && !public.contains(&"me_view"), "{public:?}");
}

#[tokio::test]
async fn every_admin_operation_refuses_plain_users() {
    let server = TestServer::start().await;
    let (_, _) = server.user_client("plain").await;
    let token = server.login("plain", oqto_tests::TEST_PASSWORD).await;
    let doc = document();
    let admin_ops: Vec<_> = operations(&doc)
        .into_iter()
        .filter(|op| {
            op.path.starts_with(oqto_api::ADMIN_PATH_PREFIX)
                || oqto_api::ADMIN_OPERATIONS.contains(&op.id.as_str())
        })
        .collect();
    assert!(admin_ops.len() >= 15);
    let mut wrong = Vec::new();
    for op in &admin_ops {
        let code = call(&server, op, Some(&token)).await;
        if code != 403 {
            wrong.push(format!("{} {} {} -> {code}", op.id, op.method, op.path));
        }
    }
    assert!(
        wrong.is_empty(),
        "admin operations that did not answer 403 to a plain user:\n{}",
        wrong.join("\n")
    );
}

/// The agent's own token (`OQTO_TOKEN` in a chat's sandbox): the chat's
/// owner, but only for what an agent needs; every other operation is a
/// 403, even for an administrator's chat, and the token dies with the chat.
#[tokio::test]
async fn a_chats_agent_token_reaches_only_what_an_agent_needs() {
    use oqto_api::mux::{AgentCommand, ChatConfig};
    let server = TestServer::start().await;
    let (_, _) = server.client_for_new_user("boss", oqto_client::types::Role::Admin).await;
    let mut mux = server.mux(&server.login("boss", oqto_tests::TEST_PASSWORD).await).await;
    let config = ChatConfig { cwd: Some("proj".into()), ..Default::default() };
    assert!(
        mux.command("tok-chat", AgentCommand::SessionCreate { config, last_seq: None })
            .await
            .unwrap()
            .success
    );
    let text = oqto_tests::answer_of(&mut mux, "tok-chat", oqto_tests::PRINT_AGENT_ENV).await;
    assert!(text.contains("id=tok-chat") && text.contains(&format!("url={}", server.url)), "{text}");
    let token = oqto_tests::token_in(&text);

    // Every operation beyond an agent's needs is refused.
    let allowed = [
        "/api/ui/",
        "/api/a2ui/",
        "/api/browser/",
        "/api/delegate/",
        "/api/workspace/memories",
        "/api/workspace/memory-",
    ];
    let doc = document();
    let mut wrong = Vec::new();
    for op in operations(&doc).iter().filter(|op| !op.public) {
        let agents = allowed.iter().any(|p| op.path.starts_with(p)) || (op.id == "me_view");
        if agents {
            continue;
        }
        let code = call(&server, op, Some(&token)).await;
        if code != 403 {
            wrong.push(format!("{} {} {} -> {code}", op.id, op.method, op.path));
        }
    }
    assert!(wrong.is_empty(), "operations a chat token reached:\n{}", wrong.join("\n"));

    // What it may do: as the chat's owner, in its own chat and workspace.
    let agent = oqto_client::client_with_token(&server.url, Some(&token)).unwrap();
    assert_eq!(agent.me_view().send().await.unwrap().into_inner().username, "boss");
    let theme = oqto_client::types::UiTheme { theme: oqto_client::types::UiThemeName::Dark };
    assert!(agent.ui_theme().body(theme).send().await.unwrap().into_inner().delivered >= 1);
    let surface = |chat: &str| oqto_client::types::A2uiSurfaceCreate {
        session_id: chat.into(),
        surface_id: None,
        messages: vec![serde_json::json!({"beginRendering": {"surfaceId": "s", "root": "root"}})],
        blocking: false,
        timeout_secs: None,
    };
    assert!(agent.a2ui_surface_create().body(surface("tok-chat")).send().await.is_ok());
    assert_eq!(status(agent.a2ui_surface_create().body(surface("another-chat")).send().await), 404);
    let memory =
        oqto_client::types::MemoryCreate { content: Some("uses tokio".into()), ..Default::default() };
    assert!(agent.memory_create().workspace_path("proj").body(memory.clone()).send().await.is_ok());
    let owner = server.client(&server.login("boss", oqto_tests::TEST_PASSWORD).await);
    server.open_workspace(&owner, "elsewhere").await;
    assert_eq!(status(agent.memory_create().workspace_path("elsewhere").body(memory).send().await), 404);

    // The token ends with the chat's agent.
    assert!(mux.command("tok-chat", AgentCommand::SessionClose).await.unwrap().success);
    assert_eq!(status(agent.me_view().send().await), 401);
}
