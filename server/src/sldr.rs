//! The sldr proxy: `/api/sldr/{path}` relayed to the configured sldr
//! server (`crate::proxy`), with the caller's identity passed on.

use std::time::Duration;

use http::{HeaderName, Response};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

/// The proxy's target and client.
pub struct Sldr {
    base: reqwest::Url,
    /// Waiting for sldr's answer (its status and headers).
    answer_timeout: Duration,
    client: reqwest::Client,
}

impl Sldr {
    /// The proxy to `sldr.url`, or none when it is empty.
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
        let answer_timeout = Duration::from_secs(config.timeout_secs.max(1));
        Ok(Some(Sldr { base, answer_timeout, client: crate::proxy::client()? }))
    }
}

/// Relays one request.
pub async fn relay(
    ctx: &ServerContext,
    caller: &Caller,
    request: crate::proxy::Incoming<'_>,
    body: impl futures::Stream<Item = std::result::Result<bytes::Bytes, dropshot::HttpError>> + Send + 'static,
) -> Result<Response<dropshot::Body>> {
    let Some(sldr) = &ctx.sldr else {
        return Err(Error::Unavailable("no sldr server is configured (sldr.url)".into()));
    };
    let url = crate::proxy::target(&sldr.base, request.path, request.query)?;
    let user = ctx.auth_cache.user(&ctx.db, &caller.user_id).await?.ok_or_else(Error::unauthenticated)?;
    let mut add = Vec::new();
    for (name, value) in
        [("x-oqto-user-id", caller.user_id.as_str()), ("x-oqto-username", user.username.as_str())]
    {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            add.push((HeaderName::from_static(name), value));
        }
    }
    let relay = crate::proxy::Relay {
        client: &sldr.client,
        method: request.method,
        url,
        headers: request.headers,
        add,
        answer_timeout: sldr.answer_timeout,
        what: "sldr",
    };
    crate::proxy::relay(relay, body).await
}
