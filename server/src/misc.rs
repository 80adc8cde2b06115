//! Health, features and the API document.

use oqto_api::misc::{Features, Health, SandboxFeatures, SessionAutoAttach};

use crate::context::ServerContext;

/// The checked-in OpenAPI document, served as is.
pub const OPENAPI_DOCUMENT: &str = include_str!("../../api-spec/openapi/oqto.json");

/// Liveness from the background probe ([`crate::db::Db::probe`]): no
/// query per request.
pub fn health(ctx: &ServerContext) -> Health {
    let status = if ctx.db.alive() { "ok" } else { "degraded" };
    Health { status: status.to_string(), version: env!("CARGO_PKG_VERSION").to_string() }
}

/// What this server offers, derived from the running configuration and
/// what is installed (Chromium for the agent browser, espeak-ng or a
/// service for voice).
pub fn features(ctx: &ServerContext) -> Features {
    Features {
        // Memories are embedded in the database: always there.
        mmry_enabled: true,
        websocket_events: true,
        agent_browser_enabled: ctx.browsers.available(ctx),
        session_auto_attach: SessionAutoAttach::Off,
        registration_enabled: ctx.settings.current().auth.registration_enabled,
        dev_mode: ctx.config.auth.dev_mode,
        voice: crate::voice::features(ctx),
        sandbox: SandboxFeatures {
            mode: if ctx.sandbox.enabled() { "bubblewrap" } else { "off" }.to_string(),
            available: ctx.sandbox.enabled() && ctx.sandbox.broken().is_none(),
            default_profile: ctx.config.sandbox.default_profile.clone(),
        },
    }
}
