//! The sldr proxy: `/api/sldr/{path}` relayed to the configured sldr
//! server with bodies streamed both ways (neither is held whole), the
//! hop-by-hop headers and the caller's credentials dropped, and the
//! caller's identity passed on.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use http::{HeaderMap, HeaderName, Method, Response};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

/// The longest pause between two reads of either body.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The headers that describe one connection, not the message (RFC 9110
/// §7.6.1), and what must not reach the upstream: the caller's
/// credentials and identity claims.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "cookie",
];

/// The proxy's HTTP client.
pub struct Sldr {
    base: reqwest::Url,
    /// Waiting for the upstream's answer (its status and headers).
    answer_timeout: Duration,
    client: reqwest::Client,
}

impl Sldr {
    /// The proxy to `url`, or none when it is empty.
    pub fn new(config: &crate::config::SldrConfig) -> anyhow::Result<Option<Sldr>> {
        let url = config.url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        let mut base = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("sldr.url {url:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("sldr.url {url:?} must be http or https");
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()?;
        Ok(Some(Sldr { base, client, answer_timeout: Duration::from_secs(config.timeout_secs.max(1)) }))
    }
}

/// Whether a header goes on, either way: not hop-by-hop, not named by the
/// message's `Connection` header, not ours.
fn passes(name: &HeaderName, connection: &[String]) -> bool {
    let name = name.as_str();
    !DROPPED.contains(&name) && !name.starts_with("x-oqto-") && !connection.iter().any(|c| c == name)
}

fn connection_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect()
}

/// What the caller asked for.
pub struct Target<'a> {
    pub method: &'a Method,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The segments after `/api/sldr/`.
    pub path: &'a [String],
}

/// Relays one request.
pub async fn relay(
    ctx: &ServerContext,
    caller: &Caller,
    request: Target<'_>,
    body: impl futures::Stream<Item = std::result::Result<bytes::Bytes, dropshot::HttpError>> + Send + 'static,
) -> Result<Response<dropshot::Body>> {
    let Some(sldr) = &ctx.sldr else {
        return Err(Error::Unavailable("no sldr server is configured (sldr.url)".into()));
    };
    let path = request.path;
    if path.iter().any(|s| s == ".." || s == "." || s.contains('/')) {
        return Err(Error::BadRequest("the path must not contain . or .. segments".into()));
    }
    let mut url = sldr.base.clone();
    {
        let mut segments =
            url.path_segments_mut().map_err(|_| Error::Unavailable("sldr.url has no path".into()))?;
        segments.pop_if_empty().extend(path);
    }
    url.set_query(request.query);
    let method = request.method.clone();
    let connection = connection_names(request.headers);
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in request.headers.iter().filter(|(n, _)| passes(n, &connection)) {
        headers.append(name.clone(), value.clone());
    }
    let user = ctx.auth_cache.user(&ctx.db, &caller.user_id).await?.ok_or_else(Error::unauthenticated)?;
    let identity = [("x-oqto-user-id", caller.user_id.as_str()), ("x-oqto-username", user.username.as_str())];
    for (name, value) in identity {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let body = body.map_err(|e| std::io::Error::other(e.external_message));
    let upstream =
        sldr.client.request(method, url).headers(headers).body(reqwest::Body::wrap_stream(body)).send();
    let answer = match tokio::time::timeout(sldr.answer_timeout, upstream).await {
        Err(_) => {
            let secs = sldr.answer_timeout.as_secs();
            return Err(Error::Upstream(format!("sldr did not answer within {secs} s")));
        }
        Ok(Err(e)) if e.is_connect() => return Err(Error::Upstream("sldr cannot be reached".into())),
        Ok(Err(_)) => return Err(Error::Upstream("the request to sldr failed".into())),
        Ok(Ok(answer)) => answer,
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    let connection = connection_names(answer.headers());
    for (name, value) in answer.headers().iter().filter(|(n, _)| passes(n, &connection) && *n != "set-cookie")
    {
        response = response.header(name, value);
    }
    let (tx, body) = crate::body::channel(8);
    let mut chunks = answer.bytes_stream();
    tokio::spawn(async move {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|_| std::io::Error::other("reading from sldr failed"));
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    response.body(body).map_err(|e| Error::Internal(anyhow::Error::new(e).context("the proxied response")))
}
