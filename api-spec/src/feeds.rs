//! Feeds: a web feed fetched on the caller's behalf, with its items parsed.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which feed to fetch.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FeedQuery {
    /// An `http` or `https` URL.
    pub url: String,
}

/// A fetched feed: its text as served, and what the parser found in it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FeedFetched {
    /// The URL asked for.
    pub url: String,
    /// Where the text came from after redirects.
    pub final_url: String,
    /// The body as text (invalid UTF-8 replaced).
    pub content: String,
    /// The `Content-Type` the server sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The feed's title, when the body is a feed (RSS, Atom or JSON Feed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The feed's entries in document order; empty when the body is not a
    /// feed.
    pub items: Vec<FeedItem>,
}

/// One entry of a feed.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct FeedItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The entry's first link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// When it was published (or last updated, when no date of publication
    /// is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}
