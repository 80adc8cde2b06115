//! Every request a browser makes, fetched by the server. The browser has
//! no network of its own (its sandbox has none, and it is pointed at a
//! proxy that does not exist besides): the DevTools `Fetch` domain pauses
//! each request, and the server checks its address with the egress policy
//! after resolving it, fetches it from exactly the checked addresses and
//! hands the answer back. A redirect goes back to the browser, whose next
//! request is checked in turn.

use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt;
use serde_json::{Value, json};

use super::Browser;
use crate::context::ServerContext;
use crate::error::Error;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Headers the server sets itself or that describe one hop only.
const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "accept-encoding",
];
/// The answer's body is handed over whole and decoded.
const DROPPED_RESPONSE_HEADERS: &[&str] =
    &["connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "upgrade"];

/// Answers one paused request (`Fetch.requestPaused`).
pub async fn answer(ctx: &ServerContext, browser: &Browser, params: Value) {
    let Some(request_id) = params["requestId"].as_str().map(str::to_string) else { return };
    let session = browser.page.as_str();
    let url = params["request"]["url"].as_str().unwrap_or_default();
    if url.starts_with("data:") || url.starts_with("blob:") {
        // In the page already: nothing to fetch.
        let cont = json!({ "requestId": request_id });
        let _ = browser.cdp.call(Some(session), "Fetch.continueRequest", cont).await;
        return;
    }
    let outcome = fetch(ctx, browser, &params).await;
    let (method, mut reply) = match outcome {
        Ok(reply) => ("Fetch.fulfillRequest", reply),
        Err(reason) => ("Fetch.failRequest", json!({ "errorReason": reason })),
    };
    reply["requestId"] = json!(request_id);
    if let Err(e) = browser.cdp.call(Some(session), method, reply).await {
        slog::debug!(ctx.log, "answering a browser request failed"; "error" => e);
    }
}

/// Fetches the request; the error is the DevTools `ErrorReason`.
async fn fetch(ctx: &ServerContext, browser: &Browser, params: &Value) -> Result<Value, &'static str> {
    let request = &params["request"];
    let url = request["url"].as_str().unwrap_or_default();
    let url = reqwest::Url::parse(url).map_err(|_| "AddressUnreachable")?;
    let addrs = match ctx.egress.lookup(&url, super::checks_addresses(ctx)).await {
        Ok(addrs) => addrs,
        Err(Error::Forbidden(_) | Error::BadRequest(_)) => return Err("AccessDenied"),
        Err(_) => return Err("NameNotResolved"),
    };
    let client = ctx.egress.pinned_client(&url, addrs, REQUEST_TIMEOUT).map_err(|_| "Failed")?;
    let method = reqwest::Method::from_bytes(request["method"].as_str().unwrap_or("GET").as_bytes())
        .map_err(|_| "Failed")?;
    let mut outgoing = client.request(method, url.clone());
    if let Some(headers) = request["headers"].as_object() {
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            if DROPPED_REQUEST_HEADERS.contains(&lower.as_str()) {
                continue;
            }
            if let Some(value) = value.as_str() {
                outgoing = outgoing.header(name.as_str(), value);
            }
        }
    }
    if let Some(cookie) = cookies(browser, &url).await {
        outgoing = outgoing.header("cookie", cookie);
    }
    if let Some(body) = post_data(request) {
        outgoing = outgoing.body(body);
    }
    let answer =
        outgoing.send().await.map_err(|e| if e.is_timeout() { "TimedOut" } else { "ConnectionFailed" })?;
    let status = answer.status().as_u16();
    let headers: Vec<Value> = answer
        .headers()
        .iter()
        .filter(|(name, _)| !DROPPED_RESPONSE_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| json!({ "name": name.as_str(), "value": String::from_utf8_lossy(value.as_bytes()) }))
        .collect();
    let limit = ctx.config.browser.max_response_bytes;
    let mut body = Vec::new();
    let mut chunks = answer.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| if e.is_timeout() { "TimedOut" } else { "ConnectionFailed" })?;
        if body.len() + chunk.len() > limit {
            return Err("BlockedByResponse");
        }
        body.extend_from_slice(&chunk);
    }
    let mut reply = json!({ "responseCode": status, "responseHeaders": headers });
    if !body.is_empty() {
        reply["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
    }
    Ok(reply)
}

/// The browser's cookies for `url`, as a `Cookie` header (cookies are
/// added below the level where requests are paused).
async fn cookies(browser: &Browser, url: &reqwest::Url) -> Option<String> {
    let found = browser
        .cdp
        .call(Some(&browser.page), "Network.getCookies", json!({ "urls": [url.as_str()] }))
        .await
        .ok()?;
    let pairs: Vec<String> = found["cookies"]
        .as_array()?
        .iter()
        .filter_map(|c| Some(format!("{}={}", c["name"].as_str()?, c["value"].as_str()?)))
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

/// The request's body: `postDataEntries` (base64) or `postData`.
fn post_data(request: &Value) -> Option<Vec<u8>> {
    if let Some(entries) = request["postDataEntries"].as_array() {
        let mut body = Vec::new();
        for entry in entries {
            let part = entry["bytes"].as_str()?;
            body.extend(base64::engine::general_purpose::STANDARD.decode(part).ok()?);
        }
        return Some(body);
    }
    request["postData"].as_str().map(|text| text.as_bytes().to_vec())
}
