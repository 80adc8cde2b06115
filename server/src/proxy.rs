//! Relaying one HTTP request to another server and its answer back, both
//! bodies streamed (neither held whole): the sldr proxy and the model
//! proxy. Hop-by-hop headers, the caller's credentials and cookies, and
//! any `X-Oqto-*` the caller sent stay behind; the caller adds its own.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use http::{HeaderMap, HeaderName, Method, Response};

use crate::error::{Error, Result};

/// The longest pause between two reads of either body.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The headers that describe one connection, not the message (RFC 9110
/// §7.6.1), and what must not reach the other server: the caller's
/// credentials (in any of the forms model APIs take) and cookies.
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
    "x-api-key",
    "api-key",
    "x-goog-api-key",
];

/// A client for relaying: no redirects followed, no proxy from the
/// environment.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()?)
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

/// `base` with `path` (segments, each re-encoded) below it and `query`;
/// `.` and `..` segments are refused.
pub fn target(base: &reqwest::Url, path: &[String], query: Option<&str>) -> Result<reqwest::Url> {
    if path.iter().any(|s| s == ".." || s == "." || s.contains('/')) {
        return Err(Error::BadRequest("the path must not contain . or .. segments".into()));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|_| Error::Internal(anyhow::anyhow!("a proxy base without a path")))?
        .pop_if_empty()
        .extend(path);
    url.set_query(query);
    Ok(url)
}

/// A request as a caller sent it to one of the proxies.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The path's segments below the proxy's prefix.
    pub path: &'a [String],
}

impl<'a> Incoming<'a> {
    pub fn of(request: &'a dropshot::RequestInfo, path: &'a [String]) -> Incoming<'a> {
        Incoming { method: request.method(), query: request.uri().query(), headers: request.headers(), path }
    }
}

/// One request to relay.
pub struct Relay<'a> {
    pub client: &'a reqwest::Client,
    pub method: &'a Method,
    pub url: reqwest::Url,
    /// The caller's headers (filtered here).
    pub headers: &'a HeaderMap,
    /// Headers the relaying side adds (identity, credentials).
    pub add: Vec<(HeaderName, http::HeaderValue)>,
    /// How long the other server may take to answer (status and headers).
    pub answer_timeout: Duration,
    /// Its name in error messages (`sldr`, `the model provider`).
    pub what: &'a str,
}

/// Relays the request with `body` and streams the answer back. Errors: 502
/// when the other server cannot be reached or does not answer in time.
pub async fn relay(
    relay: Relay<'_>,
    body: impl futures::Stream<Item = std::result::Result<bytes::Bytes, dropshot::HttpError>> + Send + 'static,
) -> Result<Response<dropshot::Body>> {
    let connection = connection_names(relay.headers);
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in relay.headers.iter().filter(|(n, _)| passes(n, &connection)) {
        headers.append(name.clone(), value.clone());
    }
    for (name, value) in relay.add {
        headers.insert(name, value);
    }
    let body = body.map_err(|e| std::io::Error::other(e.external_message));
    let what = relay.what;
    let upstream = relay
        .client
        .request(relay.method.clone(), relay.url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let answer = match tokio::time::timeout(relay.answer_timeout, upstream).await {
        Err(_) => {
            let secs = relay.answer_timeout.as_secs();
            return Err(Error::Upstream(format!("{what} did not answer within {secs} s")));
        }
        Ok(Err(e)) if e.is_connect() => return Err(Error::Upstream(format!("{what} cannot be reached"))),
        Ok(Err(_)) => return Err(Error::Upstream(format!("the request to {what} failed"))),
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
    let failed_read = format!("reading from {what} failed");
    tokio::spawn(async move {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|_| std::io::Error::other(failed_read.clone()));
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    response.body(body).map_err(|e| Error::Internal(anyhow::Error::new(e).context("the relayed response")))
}
