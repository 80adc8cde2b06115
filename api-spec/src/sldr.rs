//! The sldr proxy: `/api/sldr/{path}` relayed to the configured sldr
//! server (unpublished: Dropshot publishes no wildcard paths).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Largest request body the proxy relays, in bytes (streamed, not held).
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The rest of the path after `/api/sldr/`, one segment per element.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct SldrPath {
    pub path: Vec<String>,
}
