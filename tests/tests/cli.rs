//! `oqtoctl` driven as a binary.

use std::io::Write;
use std::process::{Output, Stdio};

use oqto_tests::{Options, TestServer};
use serde_json::Value;

/// Runs oqtoctl with `args` (and `stdin`), returning its output.
fn run(server: &TestServer, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = server
        .oqtoctl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting oqtoctl");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("oqtoctl output")
}

/// Runs a command that must succeed and parses its JSON output.
fn json(server: &TestServer, args: &[&str], stdin: Option<&str>) -> Value {
    let mut full = vec!["--output", "json"];
    full.extend_from_slice(args);
    let out = run(server, &full, stdin);
    assert!(out.status.success(), "oqtoctl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("oqtoctl {args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    })
}

#[tokio::test]
async fn login_whoami_logout_with_a_private_profile() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    let login = json(&server, &["login", "--username", "admin", "--password-stdin"], Some(&password));
    assert_eq!(login["username"], "admin");
    let file = server.config_home.path().join("oqto/credentials.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let me = json(&server, &["whoami"], None);
    assert_eq!(me["role"], "admin");

    // Another profile is separate.
    let out = run(&server, &["--profile", "other", "whoami"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not logged in"));

    let out = run(&server, &["logout"], None);
    assert!(out.status.success());
    let out = run(&server, &["whoami"], None);
    assert!(!out.status.success());

    // A wrong password prints the server's message and fails.
    let out = run(&server, &["login", "-u", "admin", "--password-stdin"], Some("nope\n"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong username or password"));
}

#[tokio::test]
async fn user_and_invite_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));

    let created = json(&server, &["user", "create", "--username", "eve", "--email", "eve@example.org"], None);
    assert!(created["generated_password"].as_str().unwrap().len() >= 16);
    let list = json(&server, &["user", "list"], None);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let shown = json(&server, &["user", "show", "eve"], None);
    assert_eq!(shown["email"], "eve@example.org");
    let updated = json(
        &server,
        &["user", "update", "eve@example.org", "--display-name", "Eve E", "--role", "admin"],
        None,
    );
    assert_eq!((updated["display_name"].as_str(), updated["role"].as_str()), (Some("Eve E"), Some("admin")));
    let off = json(&server, &["user", "deactivate", "eve"], None);
    assert_eq!(off["is_active"], false);
    let on = json(&server, &["user", "activate", "eve"], None);
    assert_eq!(on["is_active"], true);
    let stats = json(&server, &["user", "stats"], None);
    assert_eq!(stats["admins"], 2);
    let sync = json(&server, &["user", "sync-configs", "--user", "eve"], None);
    assert_eq!(sync[0]["ok"], true);
    json(&server, &["user", "delete", "eve"], None);
    let out = run(&server, &["user", "show", "eve"], None);
    assert!(!out.status.success());

    let code =
        json(&server, &["invite", "create", "--code", "CLI-CODE", "--max-uses", "3", "--note", "cli"], None);
    assert_eq!(code["uses_remaining"], 3);
    let id = code["id"].as_str().unwrap().to_string();
    let batch = json(&server, &["invite", "batch", "--count", "2", "--prefix", "X-"], None);
    assert_eq!(batch.as_array().unwrap().len(), 2);
    let listed = json(&server, &["invite", "list", "--valid", "true"], None);
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(json(&server, &["invite", "show", &id], None)["code"], "CLI-CODE");
    assert_eq!(json(&server, &["invite", "revoke", &id], None)["is_valid"], false);
    assert_eq!(json(&server, &["invite", "stats"], None)["revoked"], 1);
    json(&server, &["invite", "delete", &id], None);
    let out = run(&server, &["invite", "create", "--max-uses", "0"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("uses must be between"));

    // Table output for people.
    let table = run(&server, &["--output", "table", "user", "list"], None);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("ID"), "{text}");
    assert!(text.contains("admin@localhost"));
}

#[tokio::test]
async fn env_token_overrides_profile_and_health_needs_no_login() {
    let server = TestServer::start().await;
    let health = json(&server, &["health"], None);
    assert_eq!(health["status"], "ok");
    let token = server.login("admin", &server.admin_password).await;
    let out = server.oqtoctl().args(["-o", "json", "whoami"]).env("OQTO_TOKEN", &token).output().unwrap();
    assert!(out.status.success());
    let out = run(&server, &["completions", "bash"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("oqtoctl"));
}

#[tokio::test]
async fn session_and_chat_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));

    let created = json(&server, &["session", "create", "site"], None);
    assert_eq!(created["status"], "running");
    let id = created["id"].as_str().unwrap().to_string();
    let readable = created["readable_id"].as_str().unwrap().to_string();
    assert_eq!(json(&server, &["session", "show", &readable], None)["id"], id.as_str());
    assert_eq!(json(&server, &["session", "list"], None).as_array().unwrap().len(), 1);
    json(&server, &["session", "activity", &id], None);
    assert_eq!(json(&server, &["session", "update", &id], None)["update_available"], false);
    assert!(json(&server, &["session", "updates"], None).as_array().unwrap().is_empty());

    // A chat streams its answer to stdout.
    let out = run(
        &server,
        &["-o", "table", "chat", "--chat", "cli-chat", "--workspace", "site", "hello from the cli"],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "You said: hello from the cli");
    let out = run(&server, &["-o", "table", "chat", "--chat", "cli-chat", "/tool go"], None);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[tool bash finished"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --output json prints the typed events, one per line.
    let out = run(&server, &["-o", "json", "chat", "--chat", "cli-chat", "again"], None);
    let events: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.iter().any(|e| e["event"] == "stream.text_delta"));
    assert_eq!(events.last().unwrap()["event"], "agent.idle");
    let chats = json(&server, &["chats", "site"], None);
    assert_eq!(chats[0]["session_id"], "cli-chat");
    // An empty prompt fails with the server's reason.
    let out = run(&server, &["chat", "--chat", "cli-chat", "  "], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));

    json(&server, &["session", "stop", &id], None);
    assert_eq!(json(&server, &["session", "resume", &id], None)["status"], "running");
    assert_eq!(json(&server, &["admin", "sessions", "list"], None).as_array().unwrap().len(), 1);
    assert!(json(&server, &["admin", "sessions", "cleanup"], None)["killed"].as_array().unwrap().is_empty());
    json(&server, &["admin", "sessions", "delete", &id], None);
    assert!(json(&server, &["session", "list"], None).as_array().unwrap().is_empty());
}

#[tokio::test]
async fn history_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let out = run(&server, &["chat", "--chat", "h1", "--workspace", "notes", "a quokka smiles"], None);
    assert!(out.status.success());
    let list = json(&server, &["history", "list"], None);
    assert_eq!(list[0]["id"], "h1");
    assert_eq!(json(&server, &["history", "grouped", "--tz", "Asia/Tokyo"], None)["today"][0]["id"], "h1");
    let messages = json(&server, &["history", "show", "h1"], None);
    assert_eq!(messages.as_array().unwrap().len(), 2);
    assert_eq!(json(&server, &["history", "rename", "h1", "Quokka"], None)["title"], "Quokka");
    let hits = json(&server, &["history", "search", "quokka"], None);
    assert_eq!(hits["hits"].as_array().unwrap().len(), 2);
    let out = run(&server, &["history", "show", "nope"], None);
    assert!(!out.status.success());
    assert_eq!(json(&server, &["history", "backfill"], None)["scanned_files"], 1);
    assert_eq!(json(&server, &["history", "delete", "h1"], None)["ok"], true);
    assert!(json(&server, &["history", "list"], None).as_array().unwrap().is_empty());
}

#[tokio::test]
async fn project_and_workspace_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    json(&server, &["session", "create", "garden"], None);
    assert_eq!(json(&server, &["project", "list"], None)[0]["path"], "garden");
    let template = server.data_dir.path().join("templates/blank");
    std::fs::create_dir_all(&template).unwrap();
    std::fs::write(template.join("README.md"), "# {{project_name}} by {{who}}\n").unwrap();
    assert_eq!(json(&server, &["project", "templates"], None)["templates"][0]["name"], "blank");
    let made = json(&server, &["project", "create", "fresh", "--template", "blank", "--var", "who=me"], None);
    assert_eq!(made["path"], "fresh");
    let meta = json(
        &server,
        &["workspace", "meta", "garden", "--display-name", "The Garden", "--pinned", "true"],
        None,
    );
    assert_eq!((meta["display_name"].as_str(), meta["pinned"].as_bool()), (Some("The Garden"), Some(true)));
    assert_eq!(json(&server, &["workspace", "meta", "garden"], None)["display_name"], "The Garden");
    assert_eq!(
        json(&server, &["workspace", "sandbox", "garden", "--sandbox-profile", "strict"], None)["profile"],
        "strict"
    );
    let out = run(&server, &["workspace", "sandbox", "garden", "--sandbox-profile", "lenient"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile"));

    // Locations: add one inside the workspace root, list, and switch back.
    let added = json(&server, &["project", "locations", "add", "lab", "labs", "--activate"], None);
    assert_eq!((added["location_id"].as_str(), added["is_active"].as_bool()), (Some("lab"), Some(true)));
    let listed = json(&server, &["project", "locations"], None);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert_eq!(json(&server, &["project", "list"], None).as_array().map(Vec::len), Some(0));
    assert_eq!(json(&server, &["project", "locations", "use", "home"], None)["is_active"], true);

    // Agent resources: show, then apply a selection by name.
    let library = server.data_dir.path().join("pi-resources/prompts");
    std::fs::create_dir_all(&library).unwrap();
    std::fs::write(library.join("fix.md"), "Fix it\n").unwrap();
    let shown = json(&server, &["workspace", "resources", "garden"], None);
    assert_eq!(shown["prompts"][0]["selected"], false);
    let applied = json(&server, &["workspace", "resources", "garden", "--prompts", "fix"], None);
    assert_eq!(applied["prompts"][0]["selected"], true);
}

#[tokio::test]
async fn files_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    json(&server, &["session", "create", "box"], None);
    json(&server, &["files", "put", "box", "docs/readme.md"], Some("# Hello\n"));
    let out = run(&server, &["files", "cat", "box", "docs/readme.md"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "# Hello\n");
    let listed = json(&server, &["files", "ls", "box", "--depth", "2"], None);
    let paths: Vec<&str> = listed.as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["docs", "docs/readme.md"]);
    json(&server, &["files", "rm", "box", "docs", "-r"], None);
    let out = run(&server, &["files", "cat", "box", "../../etc/passwd"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside your workspace root"));
}

/// Waits until `output` shows `needle` after position `from`; returns where it ends.
fn wait_for(output: &std::sync::Mutex<String>, needle: &str, from: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = output.lock().unwrap().clone();
        if let Some(at) = text.get(from..).and_then(|t| t.find(needle)) {
            return from + at + needle.len();
        }
        assert!(std::time::Instant::now() < deadline, "no {needle:?} in {text:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn term_runs_a_shell_in_a_workspace_session() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let session = json(&server, &["session", "create", "shell"], None)["id"].as_str().unwrap().to_string();

    // Piped input is typed into the shell, and its end ends the shell.
    let out = run(&server, &["term", &session], Some("echo term-$((40+2)) && pwd\n"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("term-42") && text.contains("/shell"), "{text}");
    assert!(!run(&server, &["term", "no-such-session"], Some("")).status.success());

    // On a terminal: raw mode, the window's size, and its changes.
    let pty = native_pty_system();
    let size = |rows, cols| PtySize { rows, cols, pixel_width: 0, pixel_height: 0 };
    let pair = pty.openpty(size(24, 80)).unwrap();
    let template = server.oqtoctl();
    let mut command = CommandBuilder::new(template.get_program());
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        }
    }
    command.args(["term", &session]);
    let mut child = pair.slave.spawn_command(command).unwrap();
    drop(pair.slave);
    let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let sink = std::sync::Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut reader, &mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut keys = pair.master.take_writer().unwrap();
    keys.write_all(b"stty size | sed 's/ /x/'\r").unwrap();
    let seen = wait_for(&output, "24x80", 0);
    pair.master.resize(size(30, 100)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    keys.write_all(b"stty size | sed 's/ /x/'\r").unwrap();
    wait_for(&output, "30x100", seen);
    keys.write_all(&[0x1d]).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "Ctrl-] detaches: {}", output.lock().unwrap());
}

/// The subcommands a `--help` text lists (without `help`).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// `--help` of `path` and of everything below it, as one text.
fn help_tree(path: &[String], text: &mut String) {
    let mut args = path.to_vec();
    args.push("--help".into());
    let out = std::process::Command::new(oqto_tests::binary("oqtoctl", "OQTOCTL_BIN"))
        .args(&args)
        .env_remove("OQTO_PROFILE")
        .env_remove("COLUMNS")
        .output()
        .expect("running oqtoctl --help");
    assert!(out.status.success(), "oqtoctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let help = String::from_utf8(out.stdout).unwrap();
    text.push_str(&format!("$ oqtoctl {}\n{help}\n", args.join(" ")));
    for name in listed_commands(&help) {
        let mut below = path.to_vec();
        below.push(name);
        help_tree(&below, text);
    }
}

/// The help of every command, one golden file per top-level command, so
/// that a change to any command's text or options shows in review
/// (`EXPECTORATE=overwrite cargo test -p oqto-tests --test cli` rewrites them).
#[test]
fn help_of_every_command_matches_its_golden_file() {
    let mut root = String::new();
    let out = std::process::Command::new(oqto_tests::binary("oqtoctl", "OQTOCTL_BIN"))
        .arg("--help")
        .env_remove("OQTO_PROFILE")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    root.push_str(&format!("$ oqtoctl --help\n{help}"));
    expectorate::assert_contents("tests/golden/help/oqtoctl.txt", &root);
    for name in listed_commands(&help) {
        let mut text = String::new();
        help_tree(std::slice::from_ref(&name), &mut text);
        expectorate::assert_contents(format!("tests/golden/help/{name}.txt"), &text);
    }
}

/// Runs a command that must fail with `code`; returns its stderr.
fn failing(server: &TestServer, args: &[&str], code: i32) -> String {
    let out = run(server, args, None);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "oqtoctl {args:?}: {stderr}");
    stderr
}

#[tokio::test]
async fn account_commands_register_change_the_password_and_update_the_profile() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let body = oqto_client::types::InviteCodeCreate {
        code: Some("JOIN-CLI".into()),
        max_uses: Some(1),
        expires_in_secs: None,
        note: None,
    };
    admin.invite_code_create().body(body).send().await.unwrap();

    let args = ["register", "--invite-code", "JOIN-CLI", "-u", "zoe", "--email", "zoe@example.org"];
    let registered = json(&server, &args, Some("first-password-1\n"));
    assert_eq!(registered["username"], "zoe");
    assert_eq!(json(&server, &["whoami"], None)["username"], "zoe");
    let updated = json(&server, &["me", "update", "--display-name", "Zoe Z"], None);
    assert_eq!(updated["display_name"], "Zoe Z");
    assert_eq!(json(&server, &["me", "show"], None)["display_name"], "Zoe Z");

    // The password change moves the profile to the new token.
    let before = server.login("zoe", "first-password-1").await;
    json(&server, &["me", "password", "--password-stdin"], Some("first-password-1\nsecond-password-2\n"));
    assert_eq!(json(&server, &["whoami"], None)["username"], "zoe");
    let out = server.oqtoctl().args(["-o", "json", "whoami"]).env("OQTO_TOKEN", &before).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the old token is revoked");
    server.login("zoe", "second-password-2").await;

    // Mux tickets and figures, the document, through generated commands.
    assert!(json(&server, &["mux", "ticket"], None)["ticket"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(json(&server, &["mux", "debug"], None)["connections"].is_number());
    assert!(json(&server, &["openapi"], None)["paths"]["/api/me"].is_object());
}

#[tokio::test]
async fn dev_login_stores_the_token_in_the_profile() {
    let server = TestServer::start_with(Options::default().env("OQTO_AUTH__DEV_MODE", "true")).await;
    assert_eq!(json(&server, &["login", "--dev"], None)["username"], "admin");
    assert_eq!(json(&server, &["whoami"], None)["role"], "admin");
}

#[tokio::test]
async fn raw_calls_output_formats_exit_codes_and_man_pages() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));

    // `api`: any route with the profile's token.
    assert_eq!(json(&server, &["api", "GET", "/api/me"], None)["username"], "admin");
    let made =
        json(&server, &["api", "POST", "/api/admin/invite-codes", "--data", r#"{"code":"RAW-1"}"#], None);
    assert_eq!(made["code"], "RAW-1");
    let refused =
        failing(&server, &["api", "GET", "/api/admin/users/00000000-0000-4000-8000-000000000000"], 1);
    assert!(refused.contains("HTTP 404") && refused.contains("request "), "{refused}");
    assert!(failing(&server, &["api", "G E T", "/api/me"], 2).contains("not an HTTP method"));
    assert!(failing(&server, &["api", "POST", "/api/ws/ticket", "--data", "{nope"], 2).contains("not JSON"));

    // A refusal prints the server's message and request id, exit code 1.
    let refused = failing(&server, &["invite", "create", "--max-uses", "0"], 1);
    assert!(refused.contains("uses must be between") && refused.contains("request "), "{refused}");
    // Usage errors: exit code 2.
    failing(&server, &["user", "frobnicate"], 2);
    failing(&server, &["session", "view"], 2);

    // YAML for scripts that prefer it; a body from a file; its template.
    let out = run(&server, &["-o", "yaml", "user", "list"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("- ") && text.contains("username: admin"), "{text}");
    let template = json(&server, &["invite", "create", "--json-body-template"], None);
    assert!(template.as_object().unwrap().contains_key("max_uses"));
    let file = server.config_home.path().join("invite.json");
    std::fs::write(&file, r#"{"code": "FROM-FILE", "max_uses": 2}"#).unwrap();
    let made = json(&server, &["invite", "create", "--json-body", file.to_str().unwrap()], None);
    assert_eq!((made["code"].as_str(), made["max_uses"].as_i64()), (Some("FROM-FILE"), Some(2)));

    // Sessions: the commands the other tests do not run.
    let got = json(&server, &["session", "get-or-create-for-workspace", "yard"], None);
    assert_eq!(got["workspace_path"], "yard");
    let same = json(&server, &["session", "get-or-create", "--workspace-path", "yard"], None);
    assert_eq!(same["id"], got["id"]);
    let id = got["id"].as_str().unwrap().to_string();
    assert_eq!(json(&server, &["session", "upgrade", &id], None)["status"], "running");
    json(&server, &["session", "stop", &id], None);
    assert_eq!(json(&server, &["session", "delete", &id], None)["ok"], true);

    // Man pages for the whole tree; completions too.
    let dir = server.config_home.path().join("man");
    let out = run(&server, &["man", dir.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.join("oqtoctl-user-list.1")).unwrap();
    assert!(page.contains(".TH") && page.contains("List users"), "{page}");
    assert!(dir.join("oqtoctl.1").exists());
    let out = run(&server, &["completions", "zsh"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("deactivate"));
}

#[tokio::test]
async fn a_chat_and_a_logo_through_the_cli() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let out = run(&server, &["chat", "--chat", "v1", "--workspace", "art", "draw"], None);
    assert!(out.status.success());
    assert_eq!(json(&server, &["history", "view", "v1"], None)["message_count"], 2);

    let me = json(&server, &["whoami"], None);
    let root = server.data_dir.path().join("users").join(me["id"].as_str().unwrap()).join("workspace");
    std::fs::create_dir_all(root.join("art/logo")).unwrap();
    let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    std::fs::write(root.join("art/logo/logo.png"), png).unwrap();
    let file = server.config_home.path().join("logo.png");
    json(&server, &["project", "logo", "art/logo/logo.png", "-O", file.to_str().unwrap()], None);
    assert_eq!(std::fs::read(&file).unwrap(), png);
    let out = run(&server, &["project", "logo", "art/logo/logo.png"], None);
    assert_eq!(out.stdout, png);
    assert!(failing(&server, &["project", "logo", "../outside.png"], 1).contains("HTTP 4"));
}

#[tokio::test]
async fn onboarding_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    assert_eq!(json(&server, &["onboarding", "check"], None)["needs_onboarding"], true);
    let made = json(&server, &["onboarding", "bootstrap", "Ada", "--language", "en"], None);
    assert_eq!(made["workspace_path"], "main");
    assert_eq!(json(&server, &["onboarding", "unlock", "terminal"], None)["unlocked"]["terminal"], true);
    assert_eq!(json(&server, &["onboarding", "advance"], None)["stage"], "provider");
    assert_eq!(json(&server, &["onboarding", "godmode"], None)["needs_onboarding"], false);
}

#[tokio::test]
async fn key_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let made = json(&server, &["key", "create", "laptop"], None);
    let (id, key) = (made["id"].as_str().unwrap().to_string(), made["key"].as_str().unwrap().to_string());
    assert_eq!(json(&server, &["key", "list"], None)[0]["name"], "laptop");
    // The key itself works as OQTO_TOKEN.
    let out = server.oqtoctl().args(["-o", "json", "whoami"]).env("OQTO_TOKEN", &key).output().unwrap();
    assert!(out.status.success());
    assert!(json(&server, &["key", "revoke", &id], None)["revoked_at"].is_string());
    let out = server.oqtoctl().args(["-o", "json", "whoami"]).env("OQTO_TOKEN", &key).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&server, &["key", "delete", &id], None)["ok"], true);
    assert_eq!(json(&server, &["auth", "providers"], None)["enabled"], false);
}

#[tokio::test]
async fn bus_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let args = ["admin", "bus", "publish", "deploy.done", "--scope", "global", "--scope-id", "global"];
    let event = json(&server, &args, None);
    assert_eq!(event["topic"], "deploy.done");
    assert_eq!(event["source"]["type"], "admin");
    let stats = json(&server, &["admin", "bus", "stats"], None);
    assert_eq!(stats["published"], 1);
    assert_eq!(stats["ring_capacity"], 5000);

    // Over the mux, as a client: publish, pull, watch.
    let args = ["bus", "publish", "--scope", "global", "notes.saved", "--payload", r#"{"n": 2}"#];
    assert!(json(&server, &args, None)["event_id"].is_string());
    let pulled = json(&server, &["bus", "pull", "--scope", "global", "notes.*"], None);
    assert_eq!(pulled[0]["payload"]["n"], 2);
    let mut watcher = server
        .oqtoctl()
        .args(["bus", "watch", "--scope", "global", "--count", "1", "later.*"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let admin = server.admin_client().await;
    let body = oqto_client::types::BusPublish {
        scope: oqto_client::types::BusScope::Global,
        scope_id: "global".into(),
        topic: "later.on".into(),
        payload: None,
        v: 1,
        priority: None,
        ttl_ms: None,
        idempotency_key: None,
        correlation_id: None,
    };
    // Publish until the watcher (which subscribes once it has started) got one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while watcher.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the watcher saw nothing");
        admin.bus_publish().body(body.clone()).send().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let output = watcher.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("\"topic\":\"later.on\""), "{text}");
}

#[tokio::test]
async fn memory_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    json(&server, &["session", "create", "kb"], None);
    let made = json(&server, &["memory", "add", "kb", "the cache lives in redis", "--importance", "8"], None);
    let id = made["memory"]["id"].as_str().unwrap().to_string();
    assert_eq!(made["memory"]["importance"], 8);
    let found = json(&server, &["memory", "search", "kb", "redis"], None);
    assert_eq!(found["memories"][0]["id"], id.as_str());
    assert_eq!(json(&server, &["memory", "list", "kb"], None)["total"], 1);
    let shown = json(&server, &["memory", "show", "kb", &id], None);
    assert_eq!(shown["content"], "the cache lives in redis");
    let edited = json(&server, &["memory", "edit", "kb", &id, "--category", "infra"], None);
    assert_eq!(edited["category"], "infra");
    assert_eq!(json(&server, &["memory", "stores", "kb"], None)["stores"][0]["name"], "kb");
    assert_eq!(json(&server, &["memory", "rm", "kb", &id], None)["deleted"], true);
    let out = run(&server, &["memory", "show", "kb", &id], None);
    assert!(!out.status.success());
}

#[tokio::test]
async fn feedback_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let sent = json(&server, &["feedback", "send", "Dark mode", "Please add a dark mode"], None);
    assert_eq!(sent["user_name"], "admin");
    let listed = json(&server, &["feedback", "list"], None);
    assert_eq!(listed["items"][0]["title"], "Dark mode");
}

#[tokio::test]
async fn settings_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let set = json(&server, &["settings", "set", "ui.theme=dark", "agent.idle_timeout_secs=120"], None);
    assert_eq!(set["values"]["ui.theme"]["value"], "dark");
    assert_eq!(set["values"]["agent.idle_timeout_secs"]["value"], 120);
    let got = json(&server, &["settings", "get"], None);
    assert_eq!(got["agent.idle_timeout_secs"]["is_configured"], true);
    assert!(json(&server, &["settings", "schema"], None)["properties"]["ui"].is_object());
    assert_eq!(json(&server, &["settings", "reload"], None)["status"], "reloaded");
    let models = json(
        &server,
        &["settings", "set", "--app", "pi-models", "providers.p.baseUrl=http://127.0.0.1:9"],
        None,
    );
    assert_eq!(models["values"]["providers.p.baseUrl"]["value"], "http://127.0.0.1:9");
    let out = run(&server, &["settings", "set", "ui.theme=neon"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ui.theme"));
}

#[tokio::test]
async fn ui_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    assert_eq!(json(&server, &["ui", "theme", "dark"], None)["success"], true);
    assert_eq!(json(&server, &["ui", "navigate", "/sessions"], None)["delivered"], 0);
    assert_eq!(json(&server, &["ui", "palette-exec", "new_chat"], None)["success"], true);
    let out = run(&server, &["ui", "navigate", "https://evil.example"], None);
    assert!(!out.status.success());
}

#[tokio::test]
async fn a2ui_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let file = server.config_home.path().join("surface.json");
    let body = serde_json::json!({"session_id": "nope", "messages": [{"beginRendering": {"surfaceId": "s", "root": "root"}}]});
    std::fs::write(&file, body.to_string()).unwrap();
    let out = run(&server, &["a2ui", "show", "--json-body", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no chat"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&server, &["a2ui", "rm", "nope", "s"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no chat"));
}

#[tokio::test]
async fn test_commands() {
    let server = TestServer::start().await;
    let password = format!("{}\n", server.admin_password);
    json(&server, &["login", "-u", "admin", "--password-stdin"], Some(&password));
    let out = run(&server, &["test", "a2ui-sample", "chat-1"], None);
    assert!(!out.status.success(), "absent without dev mode");
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"), "{}", String::from_utf8_lossy(&out.stderr));
}
