//! The end-to-end test harness: a real `oqto` server on 127.0.0.1 with a
//! fresh data dir (and, with `OQTO_TEST_DB=postgres`, a fresh PostgreSQL
//! database), SDK clients per role, and the `oqtoctl` binary.
//!
//! The binaries are found next to the test executable's `target/<profile>/`
//! (build them first: `cargo build --workspace --bins`, which `make test`
//! does), or at `OQTO_BIN` / `OQTOCTL_BIN`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oqto_client::{Client, client_with_token, types};

pub mod hstry;
pub mod loopback;
use sqlx::Connection;

/// Which database a test server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend chosen for this run: `OQTO_TEST_DB=postgres` or SQLite.
pub fn backend() -> Backend {
    match std::env::var("OQTO_TEST_DB").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The PostgreSQL server used for fresh test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("OQTO_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Extra settings for a test server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `OQTO_*` variables passed to the server.
    pub env: Vec<(String, String)>,
    /// The address to listen on (default `127.0.0.1:0`).
    pub bind: Option<String>,
}

impl Options {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// A raw WebSocket to the mux.
pub type RawMux =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A running server.
pub struct TestServer {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    /// `XDG_CONFIG_HOME` for the server and for `oqtoctl` runs.
    pub config_home: tempfile::TempDir,
    pub admin_password: String,
    child: Child,
    pg_database: Option<String>,
}

/// The stand-in agent's command line, as an `OQTO_AGENT__COMMAND` value.
pub fn standin_agent_command() -> String {
    let path = binary("oqto-standin-agent", "OQTO_STANDIN_BIN");
    format!("['{}', '--mode', 'rpc']", path.display())
}

/// A binary of this workspace: `$env` when set, else beside the test executable.
pub fn binary(name: &str, env: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build the binaries first (`cargo build --workspace --bins`, or `make test`)",
        path.display()
    );
    path
}

async fn create_pg_database() -> String {
    let name = format!("oqto_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("connecting to PostgreSQL (set OQTO_TEST_PG_URL)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("creating a test database");
    name
}

fn pg_url(database: &str) -> String {
    let admin = postgres_admin_url();
    match admin.rfind('/') {
        Some(i) => format!("{}/{database}", &admin[..i]),
        None => format!("{admin}/{database}"),
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let config_home = tempfile::tempdir().expect("temp dir");
        let pg_database = match backend() {
            Backend::Postgres => Some(create_pg_database().await),
            Backend::Sqlite => None,
        };
        let (child, url) =
            spawn_server(data_dir.path(), config_home.path(), pg_database.as_deref(), &options);
        let admin_password = std::fs::read_to_string(data_dir.path().join("initial-admin-password"))
            .expect("initial admin password file")
            .trim()
            .to_string();
        TestServer { url, data_dir, config_home, admin_password, child, pg_database }
    }

    /// Kills the server (SIGKILL, as a crash would) and starts it again on
    /// the same data (and database).
    pub async fn restart_with(&mut self, options: Options) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, url) = spawn_server(
            self.data_dir.path(),
            self.config_home.path(),
            self.pg_database.as_deref(),
            &options,
        );
        self.child = child;
        self.url = url;
    }
}

fn spawn_server(
    data_dir: &std::path::Path,
    config_home: &std::path::Path,
    pg_database: Option<&str>,
    options: &Options,
) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("server.log"))
        .expect("log file");
    let mut command = Command::new(binary("oqto", "OQTO_BIN"));
    command
        .args(["serve", "--bind", options.bind.as_deref().unwrap_or("127.0.0.1:0"), "--data-dir"])
        .arg(data_dir)
        .env("XDG_CONFIG_HOME", config_home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OQTO_")) {
        command.env_remove(key);
    }
    if let Some(db) = pg_database {
        command.args(["--database-url", &pg_url(db)]);
    }
    command.env("OQTO_AGENT__COMMAND", standin_agent_command());
    for (key, value) in &options.env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("starting oqto");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let url = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
            panic!("oqto did not start; its log:\n{log}");
        }
    };
    (child, url)
}

impl TestServer {
    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        client_with_token(&self.url, None).expect("client")
    }

    /// A client carrying `token`.
    pub fn client(&self, token: &str) -> Client {
        client_with_token(&self.url, Some(token)).expect("client")
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        self.anonymous()
            .auth_login()
            .body(types::LoginCredentials { username: username.into(), password: password.into() })
            .send()
            .await
            .unwrap_or_else(|e| panic!("login of {username} failed: {e}"))
            .into_inner()
            .token
    }

    /// A client logged in as the first administrator.
    pub async fn admin_client(&self) -> Client {
        let token = self.login("admin", &self.admin_password).await;
        self.client(&token)
    }

    /// Creates a user with the given role and returns a client logged in as it.
    pub async fn client_for_new_user(&self, username: &str, role: types::Role) -> (Client, types::UserView) {
        let admin = self.admin_client().await;
        let user = admin
            .user_create()
            .body(types::UserCreate {
                username: username.into(),
                email: format!("{username}@example.org"),
                password: Some(TEST_PASSWORD.into()),
                display_name: None,
                role: Some(role),
            })
            .send()
            .await
            .expect("creating a user")
            .into_inner()
            .user;
        let token = self.login(username, TEST_PASSWORD).await;
        (self.client(&token), user)
    }

    /// Opens a workspace session on `path` for `client`'s user.
    pub async fn open_workspace(&self, client: &Client, path: &str) -> types::SessionView {
        client
            .session_create()
            .body(types::SessionCreate { workspace_path: path.into() })
            .send()
            .await
            .expect("creating a workspace session")
            .into_inner()
    }

    /// A plain user's client.
    pub async fn user_client(&self, username: &str) -> (Client, types::UserView) {
        self.client_for_new_user(username, types::Role::User).await
    }

    /// An `oqtoctl` command aimed at this server, with its own config home.
    pub fn oqtoctl(&self) -> Command {
        let mut command = Command::new(binary("oqtoctl", "OQTOCTL_BIN"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("OQTO_")) {
            command.env_remove(key);
        }
        command.env("XDG_CONFIG_HOME", self.config_home.path()).env("OQTO_URL", &self.url);
        command
    }

    /// A raw mux socket logged in with `token` (`?token=`, as a browser
    /// does), for frames exactly as a client of the original sends them.
    pub async fn raw_mux(&self, token: &str) -> RawMux {
        let url = format!("{}/api/ws/mux?token={token}", self.url.replace("http://", "ws://"));
        tokio_tungstenite::connect_async(url).await.expect("connect").0
    }

    /// A mux client logged in with `token`.
    pub async fn mux(&self, token: &str) -> oqto_client::mux::MuxClient {
        oqto_client::mux::MuxClient::connect(&self.url, token).await.expect("connecting to the mux")
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it to
    /// exit, at most `within`; returns its exit status (`None`: still running).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        // Never signal a pid already reaped (it may belong to another process now).
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).stderr(Stdio::null()).status();
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The URL of the server's database (SQLite file or PostgreSQL).
    pub fn database_url(&self) -> String {
        match &self.pg_database {
            Some(db) => pg_url(db),
            None => format!("sqlite://{}", self.data_dir.path().join("oqto.db").display()),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    /// Calls `path` directly with a bearer token, for what the SDK cannot
    /// express (the original's aliased paths, malformed bodies). Returns the
    /// status and the JSON body (`Null` when there is none).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.http().request(method, format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A raw HTTP client, for what the SDK deliberately cannot express
    /// (malformed bodies, cookies, the original's aliased paths).
    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }
}

/// The password of users made by [`TestServer::client_for_new_user`].
pub const TEST_PASSWORD: &str = "correct horse battery";

impl Drop for TestServer {
    /// Stops the server as an operator would (SIGTERM: it ends its agents
    /// and terminals), and kills it only if it does not exit in time.
    fn drop(&mut self) {
        if self.terminate(Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(db) = self.pg_database.take() {
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                        let sql = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                    }
                });
            })
            .join();
        }
    }
}

/// The HTTP status of an SDK error (panics on success or transport errors).
pub fn status<T: std::fmt::Debug, E: std::fmt::Debug>(result: Result<T, oqto_client::Error<E>>) -> u16 {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(oqto_client::Error::ErrorResponse(rv)) => rv.status().as_u16(),
        Err(oqto_client::Error::UnexpectedResponse(r)) => r.status().as_u16(),
        Err(other) => panic!("expected an error response, got {other:?}"),
    }
}

/// The error body of an SDK error response.
pub fn error_body<T: std::fmt::Debug>(
    result: Result<T, oqto_client::Error<types::Error>>,
) -> (u16, types::Error) {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(oqto_client::Error::ErrorResponse(rv)) => (rv.status().as_u16(), rv.into_inner()),
        Err(other) => panic!("expected an error response, got {other:?}"),
    }
}

/// Waits (up to 10 s) until at least `count` processes mention `needle`
/// (a process that was just spawned may be in the middle of an `exec`,
/// when its command line reads empty); returns them.
pub async fn processes_appearing(needle: &str, count: usize) -> Vec<u32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = processes_mentioning(needle);
        if found.len() >= count || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Processes (other than this one) whose command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(needle))
        })
        .collect()
}

/// What the stand-in agent of `chat` (open on `mux`) answers to `prompt`:
/// its streamed text, until it is idle (at most 20 s).
pub async fn answer_of(mux: &mut oqto_client::mux::MuxClient, chat: &str, prompt: &str) -> String {
    use oqto_api::mux::{AgentCommand, AgentEvent, PromptBody, ServerFrame};
    use oqto_client::mux::MuxEvent;
    let prompt = PromptBody { message: prompt.into(), images: None, client_id: None };
    assert!(mux.command(chat, AgentCommand::Prompt(prompt)).await.unwrap().success);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, mux.next()).await.expect("the agent's answer") {
            Some(MuxEvent::Frame(ServerFrame::Agent(frame))) if frame.session_id == chat => match frame.event
            {
                AgentEvent::TextDelta { delta, .. } => text.push_str(&delta),
                AgentEvent::AgentIdle => return text,
                _ => {}
            },
            Some(_) => {}
            None => panic!("the mux ended"),
        }
    }
}

/// The stand-in agent's shell command that prints its own credential.
pub const PRINT_AGENT_ENV: &str =
    r#"/sh printf 'token=%s id=%s url=%s' "$OQTO_TOKEN" "$OQTO_SESSION_ID" "$OQTO_URL""#;

/// The agent token in an answer to [`PRINT_AGENT_ENV`].
pub fn token_in(answer: &str) -> String {
    let token = answer.split("token=").nth(1).and_then(|t| t.split_whitespace().next()).unwrap_or_default();
    assert!(token.starts_with("ochat_"), "no agent token in {answer:?}");
    token.to_string()
}
