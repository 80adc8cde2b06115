//! Cross-origin requests from the web origins an operator allows
//! (`server.allowed_origins`, the list the WebSocket origin check uses):
//! a preflight answer on every path of the API, and the CORS headers on
//! every reply to such an origin. The allowed origin is echoed, never `*`,
//! since requests carry credentials.

use std::sync::Arc;

use dropshot::{ApiDescription, ApiEndpoint, ApiEndpointVersions, Body, HttpError, RequestContext};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::context::ServerContext;

/// Methods a preflight allows.
const METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
/// Request headers a preflight allows when the browser names none.
const HEADERS: &str = "authorization, content-type";
/// How long a browser may cache a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// Whether `origin` (`scheme://host[:port]`) is one of the allowed ones.
pub fn allowed(ctx: &ServerContext, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    ctx.config.server.allowed_origins.iter().any(|o| o.trim_end_matches('/') == origin)
}

/// The request's `Origin` when it is an allowed one.
fn allowed_origin<'h>(ctx: &ServerContext, request: &'h HeaderMap) -> Option<&'h HeaderValue> {
    let origin = request.get(header::ORIGIN)?;
    allowed(ctx, origin.to_str().ok()?).then_some(origin)
}

/// The headers every reply to a request from an allowed origin carries
/// (none for any other request).
pub fn headers(ctx: &ServerContext, request: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    if let Some(origin) = allowed_origin(ctx, request) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        out.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-request-id, retry-after"),
        );
        out.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    out
}

/// A preflight on a path with variables: Dropshot wants every path
/// variable consumed, so the path's own parameter type is named (and
/// ignored).
async fn preflight_at<P>(
    rqctx: RequestContext<Arc<ServerContext>>,
    _path: dropshot::Path<P>,
) -> Result<Response<Body>, HttpError>
where
    P: schemars::JsonSchema + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    preflight(rqctx).await
}

/// The answer to a preflight (`OPTIONS`): 204 with what may follow for an
/// allowed origin, 403 otherwise.
async fn preflight(rqctx: RequestContext<Arc<ServerContext>>) -> Result<Response<Body>, HttpError> {
    let ctx = rqctx.context();
    let request = rqctx.request.headers();
    let Some(origin) = allowed_origin(ctx, request) else {
        let shown = request.get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or("(none)");
        let error = crate::error::Error::Forbidden(format!(
            "cross-origin requests from {shown:?} are not allowed (server.allowed_origins)"
        ));
        return Ok(crate::api::error_response(&rqctx, error.into()));
    };
    let wanted = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|h| {
            h.to_str().is_ok_and(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || "-_, ".contains(c)))
        })
        .cloned()
        .unwrap_or(HeaderValue::from_static(HEADERS));
    let mut response = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone())
        .header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true")
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, METHODS)
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, wanted)
        .header(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE)
        .header(header::VARY, "Origin");
    if let Some(headers) = response.headers_mut() {
        headers.append(header::VARY, HeaderValue::from_static("Access-Control-Request-Headers"));
    }
    response.body(Body::empty()).map_err(|e| HttpError::for_internal_error(e.to_string()))
}

/// Registers the preflight answer on every path of the document (not
/// published: the document describes the API, not its CORS).
pub fn register_preflights(
    api: &mut ApiDescription<Arc<ServerContext>>,
    document: &str,
) -> anyhow::Result<()> {
    let document: serde_json::Value = serde_json::from_str(document)?;
    let paths =
        document["paths"].as_object().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    for (n, path) in paths.iter().enumerate() {
        let id = format!("cors_preflight_{n}");
        let json = dropshot::CONTENT_TYPE_JSON;
        let (options, all) = (http::Method::OPTIONS, ApiEndpointVersions::All);
        let variables: Vec<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        use oqto_api::{a2ui, history, invites, keys, memories, onboarding, scheduler, users};
        let endpoint = match variables.as_slice() {
            [] => ApiEndpoint::new(id, preflight, options, json, path, all),
            ["code_id"] => {
                ApiEndpoint::new(id, preflight_at::<invites::InviteCodePath>, options, json, path, all)
            }
            ["session_id"] => {
                ApiEndpoint::new(id, preflight_at::<history::ChatHistoryPath>, options, json, path, all)
            }
            ["user_id"] => ApiEndpoint::new(id, preflight_at::<users::UserPath>, options, json, path, all),
            ["key_id"] => ApiEndpoint::new(id, preflight_at::<keys::ApiKeyPath>, options, json, path, all),
            ["component"] => ApiEndpoint::new(
                id,
                preflight_at::<onboarding::OnboardingUnlockPath>,
                options,
                json,
                path,
                all,
            ),
            ["name"] => {
                ApiEndpoint::new(id, preflight_at::<scheduler::SchedulePath>, options, json, path, all)
            }
            ["memory_id"] => {
                ApiEndpoint::new(id, preflight_at::<memories::MemoryPath>, options, json, path, all)
            }
            ["session_id", "surface_id"] => {
                ApiEndpoint::new(id, preflight_at::<a2ui::A2uiSurfacePath>, options, json, path, all)
            }
            ["session_id", "memory_id"] => {
                ApiEndpoint::new(id, preflight_at::<memories::SessionMemoryPath>, options, json, path, all)
            }
            other => {
                anyhow::bail!("no preflight for the path variables {other:?} of {path}; add their type here")
            }
        };
        let endpoint = endpoint.tag("misc").visible(false);
        api.register(endpoint).map_err(|e| anyhow::anyhow!("registering the preflight of {path}: {e:?}"))?;
    }
    Ok(())
}
