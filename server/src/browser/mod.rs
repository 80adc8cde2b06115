//! The agent browser: one headless Chromium per chat, owned by the chat's
//! user, run in that user's sandbox without a network (the server fetches
//! every request it makes, `fetch`), driven over the DevTools protocol on
//! a pipe (`cdp`) and watched as a stream of JPEG frames (`stream`).

mod cdp;
mod fetch;
mod stream;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oqto_api::browser::{BrowserAction, BrowserActionResult, BrowserStart, BrowserStarted};
use oqto_api::workspace::SandboxProfile;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

pub use stream::{stream, viewed};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

/// How long a page may take to load before an action answers anyway.
const LOAD_TIMEOUT: Duration = Duration::from_secs(15);
/// Requests of one browser fetched at once.
const MAX_FETCHES: usize = 16;
const DEFAULT_VIEWPORT: (u32, u32) = (1280, 800);
/// The largest value `evaluate` returns, as JSON.
const MAX_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// One frame of a browser's screen.
pub struct Frame {
    /// Base64 JPEG, as the browser sent it.
    pub data: String,
    pub metadata: Value,
}

/// A running browser.
pub struct Browser {
    /// `ab-` and 16 hex digits.
    pub id: String,
    pub chat_id: String,
    pub user_id: String,
    cdp: cdp::Cdp,
    /// The page's flattened target session.
    page: String,
    viewport: Mutex<(u32, u32)>,
    child: Mutex<Option<tokio::process::Child>>,
    last_used: Mutex<Instant>,
    frames: watch::Sender<Option<Arc<Frame>>>,
    viewers: AtomicUsize,
    fetches: Semaphore,
    dir: PathBuf,
}

impl Browser {
    fn touch(&self) {
        *self.last_used.lock().expect("last_used") = Instant::now();
    }

    /// The page's size in CSS pixels.
    fn viewport(&self) -> (u32, u32) {
        *self.viewport.lock().expect("viewport")
    }

    fn idle_for(&self) -> Duration {
        self.last_used.lock().expect("last_used").elapsed()
    }

    async fn page_call(&self, method: &str, params: Value) -> Result<Value> {
        self.cdp.call(Some(&self.page), method, params).await.map_err(Error::Upstream)
    }

    /// Evaluates `expression` in the page; its value, or 422 when it throws.
    async fn evaluate(&self, expression: &str) -> Result<Value> {
        let params = json!({
            "expression": expression,
            "returnByValue": true,
            "awaitPromise": true,
            "userGesture": true,
        });
        let mut answer = self.page_call("Runtime.evaluate", params).await?;
        if let Some(details) = answer.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("an exception")
                .chars()
                .take(500)
                .collect::<String>();
            return Err(Error::Invalid(format!("the expression threw: {text}")));
        }
        Ok(answer["result"].get_mut("value").map(Value::take).unwrap_or(Value::Null))
    }

    /// The page's address and title.
    async fn state(&self) -> Result<(String, String)> {
        let value = self.evaluate("[location.href, document.title]").await?;
        let text = |i: usize| value[i].as_str().unwrap_or_default().to_string();
        Ok((text(0), text(1)))
    }

    /// Waits (at most [`LOAD_TIMEOUT`]) until the document has loaded.
    async fn loaded(&self) {
        let deadline = Instant::now() + LOAD_TIMEOUT;
        while Instant::now() < deadline {
            match self.evaluate("document.readyState").await {
                Ok(state) if state == "complete" => return,
                Err(Error::Upstream(_)) if self.cdp.is_closed() => return,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn navigate(&self, ctx: &ServerContext, url: &str) -> Result<()> {
        if url != "about:blank" {
            let parsed =
                reqwest::Url::parse(url).map_err(|_| Error::BadRequest(format!("{url:?} is not a URL")))?;
            // The same check as every request the page makes, answered
            // here with its reason rather than as a failed page.
            ctx.egress.lookup(&parsed, checks_addresses(ctx)).await?;
        }
        let answer = self.page_call("Page.navigate", json!({ "url": url })).await?;
        if let Some(error) = answer["errorText"].as_str() {
            return Err(Error::Upstream(format!("the page could not be loaded ({error})")));
        }
        self.loaded().await;
        Ok(())
    }

    /// The centre of the element `selector` matches, scrolled into view.
    async fn point_of(&self, selector: &str) -> Result<(f64, f64)> {
        let literal = serde_json::to_string(selector).map_err(|e| Error::Internal(e.into()))?;
        let expression = format!(
            "(() => {{ const e = document.querySelector({literal}); if (!e) return null; \
             e.scrollIntoView({{block: 'center', inline: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        );
        let value = self.evaluate(&expression).await?;
        match (value[0].as_f64(), value[1].as_f64()) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(Error::Invalid(format!("nothing on the page matches {selector:?}"))),
        }
    }

    async fn click(&self, x: f64, y: f64) -> Result<()> {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            let params = json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 });
            self.page_call("Input.dispatchMouseEvent", params).await?;
        }
        Ok(())
    }

    /// Goes `step` entries through the history.
    async fn go(&self, step: i64) -> Result<()> {
        let history = self.page_call("Page.getNavigationHistory", json!({})).await?;
        let index = history["currentIndex"].as_i64().unwrap_or(0) + step;
        let entry = usize::try_from(index).ok().and_then(|i| history["entries"].get(i));
        let Some(id) = entry.and_then(|e| e["id"].as_i64()) else {
            let way = if step < 0 { "back" } else { "forward" };
            return Err(Error::Conflict(format!("there is no page to go {way} to")));
        };
        self.page_call("Page.navigateToHistoryEntry", json!({ "entryId": id })).await?;
        self.loaded().await;
        Ok(())
    }

    fn kill(&self) {
        if let Some(mut child) = self.child.lock().expect("child").take() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every running browser, by chat.
pub struct Browsers {
    running: Mutex<HashMap<String, Arc<Browser>>>,
    /// One launch at a time (a launch takes about a second).
    launching: tokio::sync::Mutex<()>,
    /// Chromium, when it is installed.
    program: Option<PathBuf>,
}

impl Browsers {
    pub fn new(config: &crate::config::BrowserConfig) -> Browsers {
        let program = crate::sandbox::launch::find_program(&config.chromium.to_string_lossy());
        Browsers { running: Mutex::default(), launching: tokio::sync::Mutex::new(()), program }
    }

    /// Whether browsers can start here (for `/api/features`).
    pub fn available(&self, ctx: &ServerContext) -> bool {
        ctx.config.browser.enabled
            && self.program.is_some()
            && !(ctx.sandbox.enabled() && ctx.sandbox.broken().is_some())
    }

    fn get(&self, chat_id: &str) -> Option<Arc<Browser>> {
        let mut running = self.running.lock().expect("browsers");
        match running.get(chat_id) {
            Some(b) if b.cdp.is_closed() => {
                let gone = running.remove(chat_id);
                drop(running);
                if let Some(b) = gone {
                    b.kill();
                }
                None
            }
            found => found.cloned(),
        }
    }

    fn take(&self, chat_id: &str) -> Option<Arc<Browser>> {
        self.running.lock().expect("browsers").remove(chat_id)
    }

    /// How many run: for `user_id`, and in all.
    fn counts(&self, user_id: &str) -> (usize, usize) {
        let running = self.running.lock().expect("browsers");
        (running.values().filter(|b| b.user_id == user_id).count(), running.len())
    }
}

fn viewport(body: &BrowserStart) -> Result<(u32, u32)> {
    let width = body.viewport_width.unwrap_or(DEFAULT_VIEWPORT.0);
    let height = body.viewport_height.unwrap_or(DEFAULT_VIEWPORT.1);
    if !(200..=3840).contains(&width) || !(200..=2160).contains(&height) {
        return Err(Error::Invalid("the viewport is 200 to 3840 by 200 to 2160 pixels".into()));
    }
    Ok((width, height))
}

/// Whether browsers are held to public addresses (the egress policy), or an
/// administrator let them reach private ones.
fn checks_addresses(ctx: &ServerContext) -> bool {
    !ctx.config.browser.allow_private_addresses
}

/// Checks that a URL is one a browser may be sent to (before any launch).
fn check_scheme(url: &str) -> Result<()> {
    if url == "about:blank" {
        return Ok(());
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(parsed) => Err(Error::BadRequest(format!(
            "only http and https pages can be opened, not {}:",
            parsed.scheme()
        ))),
        Err(_) => Err(Error::BadRequest(format!("{url:?} is not a URL"))),
    }
}

/// `POST /api/browser/start`.
pub async fn start(ctx: &Arc<ServerContext>, caller: &Caller, body: BrowserStart) -> Result<BrowserStarted> {
    if !ctx.config.browser.enabled {
        return Err(Error::Unavailable("the agent browser is switched off on this server".into()));
    }
    let user_id = caller.user_id.as_str();
    only_own_chat(caller, &body.session_id)?;
    crate::chats::check_own(ctx, user_id, &body.session_id).await?;
    let url = body.url.clone().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "about:blank".into());
    check_scheme(&url)?;
    let size = viewport(&body)?;
    let browser = match ctx.browsers.get(&body.session_id) {
        Some(browser) => browser,
        None => launch(ctx, user_id, &body.session_id, size).await?,
    };
    browser.touch();
    if browser.viewport() != size {
        set_viewport(&browser, size).await?;
    }
    browser.navigate(ctx, &url).await?;
    let (url, title) = browser.state().await?;
    Ok(BrowserStarted {
        session_id: browser.id.clone(),
        chat_session_id: browser.chat_id.clone(),
        url,
        title,
    })
}

async fn set_viewport(browser: &Browser, (width, height): (u32, u32)) -> Result<()> {
    let params = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
    browser.page_call("Emulation.setDeviceMetricsOverride", params).await?;
    *browser.viewport.lock().expect("viewport") = (width, height);
    Ok(())
}

/// A chat's agent drives its own chat's browser only.
fn only_own_chat(caller: &Caller, id: &str) -> Result<()> {
    match caller.chat.as_deref() {
        Some(own) if own != id => Err(Error::NotFound(format!("no chat {id:?}"))),
        _ => Ok(()),
    }
}

/// The caller's browser by chat id or browser id; 404 otherwise.
fn find(ctx: &ServerContext, user_id: &str, id: &str) -> Result<Arc<Browser>> {
    let by_id = || {
        let running = ctx.browsers.running.lock().expect("browsers");
        running.values().find(|b| b.id == id).map(|b| b.chat_id.clone())
    };
    let chat_id = if id.starts_with("ab-") { by_id().unwrap_or_default() } else { id.to_string() };
    match ctx.browsers.get(&chat_id) {
        Some(browser) if browser.user_id == user_id => Ok(browser),
        _ => Err(Error::NotFound(format!("no browser runs for the chat {id:?}; start one first"))),
    }
}

fn required<'a>(value: &'a Option<String>, what: &str, action: &str) -> Result<&'a str> {
    value.as_deref().ok_or_else(|| Error::BadRequest(format!("{action} needs {what}")))
}

/// `POST /api/browser/action`.
pub async fn act(ctx: &ServerContext, caller: &Caller, body: BrowserAction) -> Result<BrowserActionResult> {
    let browser = find(ctx, &caller.user_id, &body.session_id)?;
    only_own_chat(caller, &browser.chat_id)?;
    browser.touch();
    let (action, argument) = match body.action.split_once(':') {
        Some((action, argument)) => (action, Some(argument.to_string())),
        None => (body.action.as_str(), None),
    };
    let mut value = None;
    let mut screenshot = None;
    match action {
        "navigate" | "open" => {
            let url = required(&body.url, "a url", action)?;
            check_scheme(url)?;
            browser.navigate(ctx, url).await?;
        }
        "back" => browser.go(-1).await?,
        "forward" => browser.go(1).await?,
        "reload" => {
            browser.page_call("Page.reload", json!({})).await?;
            browser.loaded().await;
        }
        "click" => {
            let (x, y) = match (&body.selector, body.x, body.y) {
                (Some(selector), _, _) => browser.point_of(selector).await?,
                (None, Some(x), Some(y)) => (x, y),
                _ => return Err(Error::BadRequest("click needs a selector, or x and y".into())),
            };
            browser.click(x, y).await?;
        }
        "type" => {
            let text = required(&body.text, "a text", action)?;
            if let Some(selector) = &body.selector {
                let literal = serde_json::to_string(selector).map_err(|e| Error::Internal(e.into()))?;
                let found = browser
                    .evaluate(&format!(
                        "(() => {{ const e = document.querySelector({literal}); if (!e) return false; \
                         e.focus(); return true; }})()"
                    ))
                    .await?;
                if found != Value::Bool(true) {
                    return Err(Error::Invalid(format!("nothing on the page matches {selector:?}")));
                }
            }
            browser.page_call("Input.insertText", json!({ "text": text })).await?;
        }
        "scroll" => {
            let (width, height) = browser.viewport();
            let (x, y) = (f64::from(width) / 2.0, f64::from(height) / 2.0);
            let params = json!({
                "type": "mouseWheel", "x": x, "y": y,
                "deltaX": body.delta_x.unwrap_or(0.0), "deltaY": body.delta_y.unwrap_or(0.0),
            });
            browser.page_call("Input.dispatchMouseEvent", params).await?;
        }
        "screenshot" => {
            let shot = browser.page_call("Page.captureScreenshot", json!({ "format": "png" })).await?;
            screenshot = shot["data"].as_str().map(str::to_string);
        }
        "evaluate" => {
            let expression = required(&body.expression, "an expression", action)?;
            let result = browser.evaluate(expression).await?;
            if serde_json::to_vec(&result).map_or(0, |v| v.len()) > MAX_VALUE_BYTES {
                return Err(Error::Invalid(format!(
                    "the expression's value is over {MAX_VALUE_BYTES} bytes as JSON; return less of it"
                )));
            }
            value = Some(result);
        }
        "color_scheme" => {
            let scheme = body.scheme.clone().or(argument).unwrap_or_default();
            if !matches!(scheme.as_str(), "light" | "dark" | "no-preference") {
                return Err(Error::BadRequest("the scheme is light, dark or no-preference".into()));
            }
            let features = json!([{ "name": "prefers-color-scheme", "value": scheme }]);
            browser.page_call("Emulation.setEmulatedMedia", json!({ "features": features })).await?;
        }
        other => {
            return Err(Error::BadRequest(format!(
                "unknown action {other:?} (navigate, back, forward, reload, click, type, scroll, \
                 screenshot, evaluate, color_scheme)"
            )));
        }
    }
    let (url, title) = browser.state().await?;
    Ok(BrowserActionResult { ok: true, url, title, value, screenshot })
}

/// Starts Chromium for `chat_id` in the user's sandbox and opens its page.
async fn launch(
    ctx: &Arc<ServerContext>,
    user_id: &str,
    chat_id: &str,
    size: (u32, u32),
) -> Result<Arc<Browser>> {
    let _one_at_a_time = ctx.browsers.launching.lock().await;
    if let Some(browser) = ctx.browsers.get(chat_id) {
        return Ok(browser);
    }
    let limits = &ctx.config.browser;
    let (mine, all) = ctx.browsers.counts(user_id);
    if mine >= limits.max_per_user {
        return Err(Error::LimitReached {
            what: format!(
                "you already run {} browsers (browser.max_per_user); stop one or let it idle out",
                limits.max_per_user
            ),
            retry_after_secs: 30,
        });
    }
    if all >= limits.max_running {
        return Err(Error::Busy { retry_after_secs: 30 });
    }
    let program = ctx.browsers.program.clone().ok_or_else(|| {
        Error::Unavailable("Chromium is not installed on this server (browser.chromium)".into())
    })?;
    let dir = ctx.config.user_dir(user_id).join("browser").join(chat_id);
    let _ = std::fs::remove_dir_all(&dir);
    crate::util::private_dir(&dir)
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("creating the browser's directory")))?;
    let spec = crate::sandbox::launch::Spec {
        program: program.to_string_lossy().into_owned(),
        args: chromium_args(&dir, size),
        cwd: dir.clone(),
        home: dir.clone(),
        writable: vec![dir.clone()],
        env: Vec::new(),
        profile: SandboxProfile {
            allow_write: vec!["/tmp".into()],
            isolate_network: true,
            isolate_pid: true,
            drop_all_caps: true,
            no_new_privs: true,
            ..Default::default()
        },
        new_session: true,
        api_socket: None,
    };
    let launch = ctx.sandbox.launch(&spec)?;
    let pipes = cdp::Pipes::new().map_err(|e| Error::Internal(e.into()))?;
    let mut command = launch.command();
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    pipes.install_in_child(&mut command);
    let child = command
        .spawn()
        .map_err(|e| Error::Unavailable(format!("Chromium could not start ({})", e.kind())))?;
    let (events_tx, events) = mpsc::channel(256);
    let cdp = pipes.connect(events_tx).map_err(|e| Error::Internal(e.into()))?;
    let opened = async {
        let target = cdp.call(None, "Target.createTarget", json!({ "url": "about:blank" })).await?;
        let attach = json!({ "targetId": target["targetId"], "flatten": true });
        let attached = cdp.call(None, "Target.attachToTarget", attach).await?;
        attached["sessionId"].as_str().map(str::to_string).ok_or_else(|| "no page session".to_string())
    };
    let page = match opened.await {
        Ok(page) => page,
        Err(e) => {
            // The child is killed as it is dropped.
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::Unavailable(format!("Chromium did not start: {e}")));
        }
    };
    let browser = Arc::new(Browser {
        id: format!("ab-{:016x}", rand::random::<u64>()),
        chat_id: chat_id.to_string(),
        user_id: user_id.to_string(),
        cdp,
        page,
        viewport: Mutex::new(size),
        child: Mutex::new(Some(child)),
        last_used: Mutex::new(Instant::now()),
        frames: watch::Sender::new(None),
        viewers: AtomicUsize::new(0),
        fetches: Semaphore::new(MAX_FETCHES),
        dir,
    });
    tokio::spawn(events_loop(Arc::clone(ctx), Arc::clone(&browser), events));
    let ready = async {
        let patterns = json!({ "patterns": [{ "urlPattern": "*", "requestStage": "Request" }] });
        browser.page_call("Fetch.enable", patterns).await?;
        browser.page_call("Page.enable", json!({})).await?;
        set_viewport(&browser, size).await
    };
    if let Err(e) = ready.await {
        browser.kill();
        return Err(e);
    }
    slog::info!(ctx.log, "browser started"; "user_id" => user_id, "chat" => chat_id, "browser" => &browser.id);
    ctx.browsers.running.lock().expect("browsers").insert(chat_id.to_string(), Arc::clone(&browser));
    Ok(browser)
}

fn chromium_args(dir: &std::path::Path, (width, height): (u32, u32)) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        // The bubblewrap sandbox is the browser's sandbox; Chromium's own
        // needs namespaces it cannot make inside it.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-quic",
        "--mute-audio",
        "--hide-scrollbars",
        // Frames stay in one process, so that the page's Fetch domain
        // sees every request.
        "--disable-site-isolation-trials",
        "--disable-features=IsolateOrigins,site-per-process,Translate,MediaRouter,OptimizationHints",
        // What the server does not fetch goes nowhere: a proxy that does
        // not exist, loopback included.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--remote-debugging-pipe",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", dir.join("profile").display()));
    args.push(format!("--window-size={width},{height}"));
    args.push("about:blank".into());
    args
}

/// A browser's events: requests to fetch, frames to pass on. Ends when the
/// browser has gone.
async fn events_loop(ctx: Arc<ServerContext>, browser: Arc<Browser>, mut events: mpsc::Receiver<cdp::Event>) {
    while let Some(event) = events.recv().await {
        if event.session_id.as_deref() != Some(browser.page.as_str()) {
            continue;
        }
        match event.method.as_str() {
            "Fetch.requestPaused" => {
                let (ctx, browser) = (Arc::clone(&ctx), Arc::clone(&browser));
                tokio::spawn(async move {
                    let Ok(_slot) = browser.fetches.acquire().await else { return };
                    fetch::answer(&ctx, &browser, event.params).await;
                });
            }
            "Page.screencastFrame" => {
                let ack = json!({ "sessionId": event.params["sessionId"] });
                let acking = Arc::clone(&browser);
                tokio::spawn(async move {
                    let _ = acking.page_call("Page.screencastFrameAck", ack).await;
                });
                if let Some(data) = event.params["data"].as_str() {
                    let frame = Frame { data: data.to_string(), metadata: event.params["metadata"].clone() };
                    browser.frames.send_replace(Some(Arc::new(frame)));
                }
            }
            _ => {}
        }
    }
    browser.frames.send_replace(None);
}

/// Closes the browser of a chat (the chat was deleted).
pub fn close_chat(ctx: &ServerContext, chat_id: &str) {
    if let Some(browser) = ctx.browsers.take(chat_id) {
        slog::info!(ctx.log, "browser closed with its chat"; "browser" => &browser.id);
        browser.kill();
    }
}

/// Closes browsers that have gone unused for `browser.idle_secs` (none
/// watching), and forgets those that exited.
pub async fn reap(ctx: Arc<ServerContext>) {
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle = Duration::from_secs(ctx.config.browser.idle_secs);
        let done: Vec<Arc<Browser>> = {
            let mut running = ctx.browsers.running.lock().expect("browsers");
            let chats: Vec<String> = running
                .iter()
                .filter(|(_, b)| {
                    b.cdp.is_closed() || (b.viewers.load(Ordering::SeqCst) == 0 && b.idle_for() >= idle)
                })
                .map(|(chat, _)| chat.clone())
                .collect();
            chats.iter().filter_map(|chat| running.remove(chat)).collect()
        };
        for browser in done {
            slog::info!(ctx.log, "browser closed (idle or exited)"; "browser" => &browser.id);
            browser.kill();
        }
    }
}
