//! Feeds: fetches a web feed on the caller's behalf through the egress
//! policy (public addresses only, checked on every redirect), streams at
//! most [`MAX_BYTES`] of it, and parses it with feed-rs.

use std::time::Duration;

use futures::StreamExt;
use oqto_api::feeds::{FeedFetched, FeedItem};
use reqwest::Url;
use tokio::time::Instant;

use crate::context::ServerContext;
use crate::error::{Error, Result};

/// The largest feed fetched, in bytes.
pub const MAX_BYTES: usize = 1_000_000;
/// The whole fetch, redirects included.
const TIMEOUT: Duration = Duration::from_secs(12);
const MAX_REDIRECTS: usize = 5;
const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                      application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

pub async fn fetch(ctx: &ServerContext, asked: &str) -> Result<FeedFetched> {
    let deadline = Instant::now() + TIMEOUT;
    let mut url = Url::parse(asked.trim()).map_err(|_| Error::BadRequest("Invalid feed URL".into()))?;
    for _ in 0..=MAX_REDIRECTS {
        let addrs = ctx.egress.resolve(&url).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        let client = ctx.egress.pinned_client(&url, addrs, left)?;
        let request = client.get(url.clone()).header(reqwest::header::ACCEPT, ACCEPT).send();
        let response = match tokio::time::timeout_at(deadline, request).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => {
                return Err(Error::Upstream(format!("the feed's server could not be reached: {}", kind(&e))));
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_redirection() {
            let location =
                response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).ok_or_else(
                    || Error::Upstream(format!("the feed's server answered {status} without a location")),
                )?;
            url = url.join(location).map_err(|_| {
                Error::Upstream(format!("the feed's server redirected to an invalid URL: {location:?}"))
            })?;
            continue;
        }
        if !status.is_success() {
            return Err(Error::Upstream(format!("the feed's server answered {status}")));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_capped(response, deadline).await?;
        let (title, items) = parse(&body);
        return Ok(FeedFetched {
            url: asked.to_string(),
            final_url: url.to_string(),
            content: String::from_utf8_lossy(&body).into_owned(),
            content_type,
            title,
            items,
        });
    }
    Err(Error::Upstream(format!("the feed redirected more than {MAX_REDIRECTS} times")))
}

fn timed_out() -> Error {
    Error::Upstream(format!("the feed took longer than {} s", TIMEOUT.as_secs()))
}

/// What went wrong with a request, without the URL or addresses it holds.
fn kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "the request failed"
    }
}

/// Reads the body chunk by chunk and stops as soon as it passes the limit
/// (a `Content-Length` over it is refused before reading).
async fn read_capped(response: reqwest::Response, deadline: Instant) -> Result<Vec<u8>> {
    let too_large = || Error::BadRequest(format!("Feed payload too large (over {MAX_BYTES} bytes)"));
    if response.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, chunks.next()).await {
            Err(_) => return Err(timed_out()),
            Ok(None) => return Ok(body),
            Ok(Some(Err(e))) => {
                return Err(Error::Upstream(format!("reading the feed failed: {}", kind(&e))));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
}

/// The feed's title and entries; nothing when the body is not a feed.
pub fn parse(body: &[u8]) -> (Option<String>, Vec<FeedItem>) {
    let Ok(feed) = feed_rs::parser::parse(body) else { return (None, Vec::new()) };
    let items = feed
        .entries
        .into_iter()
        .map(|entry| FeedItem {
            title: entry.title.map(|t| t.content),
            link: entry.links.into_iter().next().map(|l| l.href),
            published: entry.published.or(entry.updated),
            summary: entry.summary.map(|t| t.content),
        })
        .collect();
    (feed.title.map(|t| t.content), items)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_and_atom_items_are_read_and_other_text_is_no_feed() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
            <item><title>First</title><link>https://example.org/1</link>
            <pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate><description>One</description></item>
            </channel></rss>"#;
        let (title, items) = super::parse(rss);
        assert_eq!(title.as_deref(), Some("News"));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title.as_deref(), Some("First"));
        assert_eq!(items[0].link.as_deref(), Some("https://example.org/1"));
        assert_eq!(items[0].summary.as_deref(), Some("One"));
        assert!(items[0].published.is_some());
        assert_eq!(super::parse(b"<html>not a feed</html>").1.len(), 0);
    }
}
