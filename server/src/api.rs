//! `impl OqtoApi`: one thin method per endpoint. Each extracts its inputs,
//! authenticates through [`caller`] or [`admin`], calls the area module and
//! maps the result. Logic lives in the area modules.

use std::future::Future;
use std::sync::Arc;

use dropshot::{
    Body, FreeformBody, HttpError, HttpResponseCreated, HttpResponseDeleted, HttpResponseHeaders,
    HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query, RequestContext, StreamingBody, TypedBody,
    UntypedBody, WebsocketEndpointResult, WebsocketUpgrade,
};
use http::Response;
use oqto_api::OqtoApi;
use oqto_api::a2ui::{A2uiSurfaceCreate, A2uiSurfacePath, A2uiSurfaceResult};
use oqto_api::auth::{AuthToken, DevLogin, LoginCredentials, PasswordChange, Registration};
use oqto_api::browser::{
    BrowserAction, BrowserActionResult, BrowserStart, BrowserStarted, BrowserStreamPath, BrowserStreamQuery,
};
use oqto_api::bus::{BusEvent, BusPublish, BusSource, BusStats};
use oqto_api::compat::{self, Aliased};
use oqto_api::delegate::{
    DelegateMessagesQuery, DelegatePath, DelegatePrompt, DelegateStart, DelegateStatus, DelegateStopped,
};
use oqto_api::eavs::{
    CatalogEntry, CatalogQuery, LlmPath, ModelsSynced, ProviderCreate, ProviderDeleted, ProviderList,
    ProviderPath, ProviderView,
};
use oqto_api::feedback::{Feedback, FeedbackCreate, FeedbackList, FeedbackListQuery};
use oqto_api::feeds::{FeedFetched, FeedQuery};
use oqto_api::history::{
    ChatHistoryBackfill, ChatHistoryEntry, ChatHistoryGroupedQuery, ChatHistoryGroups, ChatHistoryPath,
    ChatHistoryQuery, ChatHistoryUpdate, ChatMessage, ChatMessagesQuery, SearchQuery, SearchResults,
};
use oqto_api::invites::{
    InviteCodeBatchCreate, InviteCodeCreate, InviteCodeListQuery, InviteCodePath, InviteCodeStats,
    InviteCodeView,
};
use oqto_api::keys::{ApiKeyCreate, ApiKeyCreated, ApiKeyPath, ApiKeyView, OauthProviders};
use oqto_api::memories::{
    Memory, MemoryCreate, MemoryCreated, MemoryDeleted, MemoryList, MemoryListQuery, MemoryPath,
    MemorySearch, MemorySearchResults, MemoryStores, MemoryWorkspaceListQuery, MemoryWorkspaceQuery,
    SessionMemoriesPath, SessionMemoryPath,
};
use oqto_api::metrics::AdminStats;
use oqto_api::misc::{Features, Health};
use oqto_api::mux::UiEvent;
use oqto_api::mux::{MuxDebugView, MuxQuery, MuxTicket};
use oqto_api::onboarding::{
    OnboardingBootstrap, OnboardingBootstrapped, OnboardingCheck, OnboardingUnlockPath, OnboardingUpdate,
    OnboardingView,
};
use oqto_api::reply::{ErrorBody, Reply};
use oqto_api::scheduler::{ScheduleCreate, ScheduleDeleted, SchedulePath, ScheduleView, SchedulerOverview};
use oqto_api::sessions::{
    LocalCleanupReport, SessionCreate, SessionForWorkspace, SessionGetOrCreate, SessionPath,
    SessionUpdateView, SessionView,
};
use oqto_api::settings::{SettingValue, SettingsQuery, SettingsReloaded, SettingsUpdate, SettingsUpdated};
use oqto_api::sldr::SldrPath;
use oqto_api::testing::{TestA2uiSample, TestEvent, TestEventSent};
use oqto_api::ui::{
    UiDelivered, UiNavigate, UiPalette, UiPaletteExec, UiPanel, UiSession, UiSidebar, UiSpotlight, UiTheme,
    UiTour, UiView,
};
use oqto_api::users::{
    MeUpdate, UserConfigSync, UserConfigSyncResult, UserCreate, UserCreated, UserListQuery, UserPath,
    UserStats, UserUpdate, UserView,
};
use oqto_api::voice::VoiceQuery;
use oqto_api::workspace::{
    LocationListQuery, LocationSelect, LocationUpsert, PiResources, PiResourcesApply, ProjectFromTemplate,
    ProjectListQuery, ProjectLogoPath, ProjectLogoQuery, ProjectTemplateList, ProjectView, SandboxUpdate,
    SandboxView, WorkspaceLocation, WorkspaceMeta, WorkspaceMetaUpdate, WorkspaceQuery,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{self, Caller, token::Issued};
use crate::context::ServerContext;
use crate::error::Error;
use crate::{
    a2ui, chats, codexbar, delegate, feedback, feeds, history, invites, keys, locations, memories, metrics,
    misc, mux, onboarding, pi_resources, projects, scheduler, sessions, settings, testing, ui, users,
};

/// The type that implements the API trait.
pub enum OqtoApiImpl {}

type Ctx = RequestContext<Arc<ServerContext>>;

/// Runs an operation and makes its reply: the typed response, or the
/// error with the server's own body ([`ErrorBody`]: Dropshot's fields and
/// `error`), both with the CORS headers for an allowed origin.
async fn reply<T>(
    rqctx: &Ctx,
    work: impl Future<Output = Result<T, HttpError>>,
) -> Result<Reply<T>, HttpError> {
    let headers = crate::cors::headers(rqctx.context(), rqctx.request.headers());
    Ok(match work.await {
        Ok(typed) => Reply::typed(typed, headers),
        Err(error) => Reply::raw(error_response(rqctx, error), headers),
    })
}

/// Runs an operation answered by a page serialised beforehand (see
/// `read_cache`): the same body and headers as its typed response.
async fn reply_page<T>(
    rqctx: &Ctx,
    work: impl Future<Output = Result<crate::read_cache::Page<T>, HttpError>>,
) -> Result<Reply<HttpResponseOk<T>>, HttpError>
where
    T: Serialize + schemars::JsonSchema + Send + Sync + 'static,
{
    let headers = crate::cors::headers(rqctx.context(), rqctx.request.headers());
    Ok(match work.await {
        Ok(page) => Reply::raw(page.response(), headers),
        Err(error) => Reply::raw(error_response(rqctx, error), headers),
    })
}

/// An error as the server answers it: its status and headers (such as
/// `Retry-After`), the body `{request_id, error_code, message, error}`.
/// A server-side cause is logged here, never sent.
pub fn error_response(rqctx: &Ctx, error: HttpError) -> Response<Body> {
    let status = error.status_code.as_status();
    if status.is_server_error() {
        slog::error!(rqctx.log, "request failed"; "status" => status.as_u16(),
            "error_message_internal" => &error.internal_message);
    } else {
        slog::info!(rqctx.log, "request refused"; "status" => status.as_u16(),
            "error_message_external" => &error.external_message);
    }
    let body = ErrorBody {
        request_id: rqctx.request_id.clone(),
        error_code: error.error_code.clone(),
        message: error.external_message.clone(),
        error: error.external_message.clone(),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    if let Some(headers) = error.headers {
        response.headers_mut().extend(*headers);
    }
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// The authenticated caller, or 401.
async fn caller(rqctx: &Ctx) -> Result<Caller, HttpError> {
    let caller = auth::authenticate(rqctx.context(), rqctx.request.headers()).await?;
    caller.permits(rqctx.request.method(), rqctx.request.uri().path())?;
    Ok(caller)
}

/// A delegation caller: on this machine (by the TCP peer), then
/// authenticated.
async fn delegator(rqctx: &Ctx) -> Result<Caller, HttpError> {
    crate::delegate::check_local(rqctx.request.remote_addr())?;
    caller(rqctx).await
}

/// The authenticated caller if an administrator; 401 or 403 otherwise.
async fn admin(rqctx: &Ctx) -> Result<Caller, HttpError> {
    let caller = caller(rqctx).await?;
    caller.require_admin()?;
    Ok(caller)
}

/// A response carrying a token in the body and the cookie.
fn with_session<T: dropshot::HttpCodedResponse>(
    ctx: &ServerContext,
    body: T,
    issued: &Issued,
) -> HttpResponseHeaders<T> {
    with_cookie(body, auth::session_cookie(ctx, issued))
}

fn with_cookie<T: dropshot::HttpCodedResponse>(body: T, cookie: String) -> HttpResponseHeaders<T> {
    let mut response = HttpResponseHeaders::new_unnamed(body);
    if let Ok(value) = http::HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(http::header::SET_COOKIE, value);
    }
    response
}

/// A plain JSON response, for the original's aliased paths.
fn json_response<T: Serialize>(status: http::StatusCode, value: &T) -> Result<Response<Body>, HttpError> {
    let bytes = serde_json::to_vec(value).map_err(|e| HttpError::for_internal_error(e.to_string()))?;
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(bytes))
        .map_err(|e| HttpError::for_internal_error(e.to_string()))
}

/// An image with its type, cache headers, and (for SVG) a policy that
/// allows no scripts.
fn logo_response(
    logo: projects::Logo,
) -> Result<HttpResponseHeaders<HttpResponseOk<FreeformBody>>, HttpError> {
    let mut response = HttpResponseHeaders::new_unnamed(HttpResponseOk(FreeformBody(Body::from(logo.bytes))));
    let headers = response.headers_mut();
    let value =
        |v: &str| http::HeaderValue::from_str(v).map_err(|e| HttpError::for_internal_error(e.to_string()));
    headers.insert(http::header::CONTENT_TYPE, value(logo.content_type)?);
    headers.insert(http::header::CACHE_CONTROL, value("private, max-age=300")?);
    headers.insert(http::header::ETAG, value(&logo.etag)?);
    headers.insert(http::header::X_CONTENT_TYPE_OPTIONS, value("nosniff")?);
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        value("default-src 'none'; style-src 'unsafe-inline'")?,
    );
    Ok(response)
}

/// Who opens a WebSocket (the mux, voice): `Authorization: Bearer`, the
/// `token` query parameter (a ticket or a session token), or the cookie
/// from an allowed origin. A refused upgrade is a Dropshot error body: a
/// WebSocket endpoint can answer nothing but the upgrade itself.
async fn upgrade_caller(
    rqctx: &Ctx,
    query_token: Option<String>,
) -> Result<(Caller, auth::Grant), HttpError> {
    let ctx = rqctx.context();
    let headers = rqctx.request.headers();
    let token = match (auth::bearer_token(headers), query_token) {
        (Some(token), _) | (None, Some(token)) => token,
        (None, None) => {
            let token = auth::cookie_token(headers).ok_or_else(Error::unauthenticated)?;
            auth::check_origin(ctx, headers)?;
            token
        }
    };
    Ok(auth::authenticate_mux(ctx, &token).await?)
}

/// Both paths of a browser's stream.
async fn browser_watch(
    rqctx: Ctx,
    path: Path<BrowserStreamPath>,
    query: Query<BrowserStreamQuery>,
    websocket: WebsocketUpgrade,
) -> WebsocketEndpointResult {
    let ctx = Arc::clone(rqctx.context());
    let (caller, _) = upgrade_caller(&rqctx, query.into_inner().token).await?;
    let browser = crate::browser::viewed(&ctx, &caller.user_id, &path.into_inner().session_id)?;
    websocket.handle(move |upgraded| async move {
        crate::browser::stream(ctx, browser, upgraded).await;
        Ok(())
    })
}

/// Both methods of the model proxy (its own token, not a session).
async fn llm_relay(
    rqctx: Ctx,
    path: Path<LlmPath>,
    body: StreamingBody,
) -> Result<Reply<Response<Body>>, HttpError> {
    reply(&rqctx, async {
        let path = path.into_inner().path;
        let target = crate::proxy::Incoming::of(&rqctx.request, &path);
        Ok(crate::eavs::relay(rqctx.context(), target, body.into_stream()).await?)
    })
    .await
}

/// Every method of the sldr proxy.
async fn sldr_relay(
    rqctx: Ctx,
    path: Path<SldrPath>,
    body: StreamingBody,
) -> Result<Reply<Response<Body>>, HttpError> {
    reply(&rqctx, async {
        let caller = caller(&rqctx).await?;
        let path = path.into_inner().path;
        let target = crate::proxy::Incoming::of(&rqctx.request, &path);
        Ok(crate::sldr::relay(rqctx.context(), &caller, target, body.into_stream()).await?)
    })
    .await
}

/// A body of the given type that no cache keeps.
fn text_response(
    body: Body,
    content_type: &'static str,
) -> Result<HttpResponseHeaders<HttpResponseOk<FreeformBody>>, HttpError> {
    let mut response = HttpResponseHeaders::new_unnamed(HttpResponseOk(FreeformBody(body)));
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Parses the query string (aliased paths only, which take no typed query).
fn parse_query<T: DeserializeOwned>(rqctx: &Ctx) -> Result<T, HttpError> {
    serde_urlencoded::from_str(rqctx.request.uri().query().unwrap_or(""))
        .map_err(|e| Error::BadRequest(format!("unable to parse query string: {e}")).into())
}

/// Parses an untyped JSON body (aliased paths only). As on every typed
/// route, the request must say it is JSON: a cross-site form (which can
/// send `text/plain` without asking) never reaches these actions.
fn parse_body<T: DeserializeOwned>(rqctx: &Ctx, body: &UntypedBody) -> Result<T, HttpError> {
    let content_type = rqctx.request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_json = content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Error::BadRequest("expected content type \"application/json\"".to_string()).into());
    }
    let bytes = if body.as_bytes().is_empty() { b"{}".as_slice() } else { body.as_bytes() };
    serde_json::from_slice(bytes)
        .map_err(|e| Error::BadRequest(format!("unable to parse JSON body: {e}")).into())
}

fn not_found(what: &str) -> HttpError {
    Error::NotFound(format!("no {what} at this path")).into()
}

impl OqtoApi for OqtoApiImpl {
    type Context = Arc<ServerContext>;

    async fn auth_login(
        rqctx: Ctx,
        body: TypedBody<LoginCredentials>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<AuthToken>>>, HttpError> {
        reply(&rqctx, async {
            let ctx = rqctx.context();
            let (token, issued) = auth::login(ctx, body.into_inner(), rqctx.request.remote_addr()).await?;
            Ok(with_session(ctx, HttpResponseOk(token), &issued))
        })
        .await
    }

    async fn auth_register(
        rqctx: Ctx,
        body: TypedBody<Registration>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseCreated<AuthToken>>>, HttpError> {
        reply(&rqctx, async {
            let ctx = rqctx.context();
            let (token, issued) = auth::register(ctx, body.into_inner(), rqctx.request.remote_addr()).await?;
            Ok(with_session(ctx, HttpResponseCreated(token), &issued))
        })
        .await
    }

    async fn auth_logout(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseUpdatedNoContent>>, HttpError> {
        reply(&rqctx, async {
            let ctx = rqctx.context();
            auth::logout(ctx, rqctx.request.headers()).await?;
            Ok(with_cookie(HttpResponseUpdatedNoContent(), auth::clearing_cookie(ctx)))
        })
        .await
    }

    async fn auth_dev_login(
        rqctx: Ctx,
        body: TypedBody<DevLogin>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<AuthToken>>>, HttpError> {
        reply(&rqctx, async {
            let ctx = rqctx.context();
            let (token, issued) =
                auth::dev_login(ctx, body.into_inner(), rqctx.request.remote_addr()).await?;
            Ok(with_session(ctx, HttpResponseOk(token), &issued))
        })
        .await
    }

    async fn auth_password_change(
        rqctx: Ctx,
        body: TypedBody<PasswordChange>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<AuthToken>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let (token, issued) = auth::change_password(ctx, &caller, body.into_inner()).await?;
            Ok(with_session(ctx, HttpResponseOk(token), &issued))
        })
        .await
    }

    async fn api_key_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Vec<ApiKeyView>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(keys::list(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn api_key_create(
        rqctx: Ctx,
        body: TypedBody<ApiKeyCreate>,
    ) -> Result<Reply<HttpResponseCreated<ApiKeyCreated>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseCreated(keys::create(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn api_key_revoke(
        rqctx: Ctx,
        path: Path<ApiKeyPath>,
    ) -> Result<Reply<HttpResponseOk<ApiKeyView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(keys::revoke(rqctx.context(), &caller, &path.into_inner().key_id).await?))
        })
        .await
    }

    async fn api_key_delete(
        rqctx: Ctx,
        path: Path<ApiKeyPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            keys::delete(rqctx.context(), &caller, &path.into_inner().key_id).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn memory_list(
        rqctx: Ctx,
        query: Query<MemoryWorkspaceListQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryList>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let (ctx, q) = (rqctx.context(), query.into_inner());
            let scope = memories::workspace(ctx, &caller, &q.workspace_path).await?;
            Ok(HttpResponseOk(memories::list(ctx, &scope, q.store, q.limit, q.offset).await?))
        })
        .await
    }

    async fn memory_create(
        rqctx: Ctx,
        query: Query<MemoryWorkspaceQuery>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseCreated<MemoryCreated>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            Ok(HttpResponseCreated(MemoryCreated {
                memory: memories::create(ctx, &scope, body.into_inner()).await?,
            }))
        })
        .await
    }

    async fn memory_search(
        rqctx: Ctx,
        query: Query<MemoryWorkspaceQuery>,
        body: TypedBody<MemorySearch>,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            Ok(HttpResponseOk(memories::search(ctx, &scope, body.into_inner()).await?))
        })
        .await
    }

    async fn memory_search_alias(
        rqctx: Ctx,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
        body: UntypedBody,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            if path.into_inner().memory_id != compat::MEMORY_SEARCH_ALIAS {
                return Err(Error::NotFound("no such route".to_string()).into());
            }
            let search = parse_body(&rqctx, &body)?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            Ok(HttpResponseOk(memories::search(ctx, &scope, search).await?))
        })
        .await
    }

    async fn memory_store_list(
        rqctx: Ctx,
        query: Query<MemoryWorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryStores>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            Ok(HttpResponseOk(memories::stores(ctx, &scope).await?))
        })
        .await
    }

    async fn memory_view(
        rqctx: Ctx,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<Memory>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            Ok(HttpResponseOk(memories::get(ctx, &scope, &path.into_inner().memory_id).await?))
        })
        .await
    }

    async fn memory_update(
        rqctx: Ctx,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseOk<Memory>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            let id = path.into_inner().memory_id;
            Ok(HttpResponseOk(memories::update(ctx, &scope, &id, body.into_inner()).await?))
        })
        .await
    }

    async fn memory_delete(
        rqctx: Ctx,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryDeleted>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::workspace(ctx, &caller, &query.into_inner().workspace_path).await?;
            Ok(HttpResponseOk(memories::delete(ctx, &scope, &path.into_inner().memory_id).await?))
        })
        .await
    }

    async fn session_memory_list(
        rqctx: Ctx,
        path: Path<SessionMemoriesPath>,
        query: Query<MemoryListQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryList>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let (ctx, q) = (rqctx.context(), query.into_inner());
            let scope = memories::session(ctx, &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseOk(memories::list(ctx, &scope, q.store, q.limit, q.offset).await?))
        })
        .await
    }

    async fn session_memory_create(
        rqctx: Ctx,
        path: Path<SessionMemoriesPath>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseCreated<MemoryCreated>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::session(ctx, &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseCreated(MemoryCreated {
                memory: memories::create(ctx, &scope, body.into_inner()).await?,
            }))
        })
        .await
    }

    async fn session_memory_search(
        rqctx: Ctx,
        path: Path<SessionMemoriesPath>,
        body: TypedBody<MemorySearch>,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::session(ctx, &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseOk(memories::search(ctx, &scope, body.into_inner()).await?))
        })
        .await
    }

    async fn session_memory_search_alias(
        rqctx: Ctx,
        path: Path<SessionMemoryPath>,
        body: UntypedBody,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let path = path.into_inner();
            if path.memory_id != compat::MEMORY_SEARCH_ALIAS {
                return Err(Error::NotFound("no such route".to_string()).into());
            }
            let search = parse_body(&rqctx, &body)?;
            let ctx = rqctx.context();
            let scope = memories::session(ctx, &caller, &path.session_id).await?;
            Ok(HttpResponseOk(memories::search(ctx, &scope, search).await?))
        })
        .await
    }

    async fn session_memory_store_list(
        rqctx: Ctx,
        path: Path<SessionMemoriesPath>,
    ) -> Result<Reply<HttpResponseOk<MemoryStores>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let scope = memories::session(ctx, &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseOk(memories::stores(ctx, &scope).await?))
        })
        .await
    }

    async fn session_memory_view(
        rqctx: Ctx,
        path: Path<SessionMemoryPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<Memory>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let (ctx, path) = (rqctx.context(), path.into_inner());
            let scope = memories::session(ctx, &caller, &path.session_id).await?;
            if path.memory_id == compat::MEMORY_STORES_ALIAS {
                let stores = memories::stores(ctx, &scope).await?;
                return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &stores)?));
            }
            Ok(Aliased::Typed(HttpResponseOk(memories::get(ctx, &scope, &path.memory_id).await?)))
        })
        .await
    }

    async fn session_memory_update(
        rqctx: Ctx,
        path: Path<SessionMemoryPath>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseOk<Memory>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let (ctx, path) = (rqctx.context(), path.into_inner());
            let scope = memories::session(ctx, &caller, &path.session_id).await?;
            Ok(HttpResponseOk(memories::update(ctx, &scope, &path.memory_id, body.into_inner()).await?))
        })
        .await
    }

    async fn session_memory_delete(
        rqctx: Ctx,
        path: Path<SessionMemoryPath>,
    ) -> Result<Reply<HttpResponseOk<MemoryDeleted>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let (ctx, path) = (rqctx.context(), path.into_inner());
            let scope = memories::session(ctx, &caller, &path.session_id).await?;
            Ok(HttpResponseOk(memories::delete(ctx, &scope, &path.memory_id).await?))
        })
        .await
    }

    async fn a2ui_surface_create(
        rqctx: Ctx,
        body: TypedBody<A2uiSurfaceCreate>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(a2ui::show(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn delegate_start(
        rqctx: Ctx,
        body: TypedBody<DelegateStart>,
    ) -> Result<Reply<HttpResponseCreated<DelegateStatus>>, HttpError> {
        reply(&rqctx, async {
            let caller = delegator(&rqctx).await?;
            Ok(HttpResponseCreated(delegate::start(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn delegate_prompt(
        rqctx: Ctx,
        path: Path<DelegatePath>,
        body: TypedBody<DelegatePrompt>,
    ) -> Result<Reply<HttpResponseOk<DelegateStatus>>, HttpError> {
        reply(&rqctx, async {
            let caller = delegator(&rqctx).await?;
            let (id, prompt) = (path.into_inner().session_id, body.into_inner().prompt);
            Ok(HttpResponseOk(delegate::prompt(rqctx.context(), &caller, &id, &prompt).await?))
        })
        .await
    }

    async fn delegate_status(
        rqctx: Ctx,
        path: Path<DelegatePath>,
    ) -> Result<Reply<HttpResponseOk<DelegateStatus>>, HttpError> {
        reply(&rqctx, async {
            let caller = delegator(&rqctx).await?;
            Ok(HttpResponseOk(
                delegate::status(rqctx.context(), &caller, &path.into_inner().session_id).await?,
            ))
        })
        .await
    }

    async fn delegate_messages(
        rqctx: Ctx,
        path: Path<DelegatePath>,
        query: Query<DelegateMessagesQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ChatMessage>>>, HttpError> {
        reply(&rqctx, async {
            let caller = delegator(&rqctx).await?;
            let (id, limit) = (path.into_inner().session_id, query.into_inner().limit);
            Ok(HttpResponseOk(delegate::messages(rqctx.context(), &caller, &id, limit).await?))
        })
        .await
    }

    async fn delegate_stop(
        rqctx: Ctx,
        path: Path<DelegatePath>,
    ) -> Result<Reply<HttpResponseOk<DelegateStopped>>, HttpError> {
        reply(&rqctx, async {
            let caller = delegator(&rqctx).await?;
            Ok(HttpResponseOk(delegate::stop(rqctx.context(), &caller, &path.into_inner().session_id).await?))
        })
        .await
    }

    async fn delegate_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Vec<DelegateStatus>>>, HttpError> {
        reply(&rqctx, async {
            let caller = delegator(&rqctx).await?;
            Ok(HttpResponseOk(delegate::list(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn a2ui_surface_delete(
        rqctx: Ctx,
        path: Path<A2uiSurfacePath>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let path = path.into_inner();
            Ok(HttpResponseOk(
                a2ui::remove(rqctx.context(), &caller, &path.session_id, &path.surface_id).await?,
            ))
        })
        .await
    }

    async fn test_event(
        rqctx: Ctx,
        body: TypedBody<TestEvent>,
    ) -> Result<Reply<HttpResponseOk<TestEventSent>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(testing::event(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn test_a2ui(
        rqctx: Ctx,
        body: TypedBody<A2uiSurfaceCreate>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(testing::a2ui(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn test_a2ui_sample(
        rqctx: Ctx,
        body: TypedBody<TestA2uiSample>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(testing::a2ui_sample(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn ui_navigate(
        rqctx: Ctx,
        body: TypedBody<UiNavigate>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Navigate(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_session(
        rqctx: Ctx,
        body: TypedBody<UiSession>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Session(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_view(
        rqctx: Ctx,
        body: TypedBody<UiView>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(ui::deliver(rqctx.context(), &caller, UiEvent::View(body.into_inner())).await?))
        })
        .await
    }

    async fn ui_palette(
        rqctx: Ctx,
        body: TypedBody<UiPalette>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Palette(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_palette_exec(
        rqctx: Ctx,
        body: TypedBody<UiPaletteExec>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::PaletteExec(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_spotlight(
        rqctx: Ctx,
        body: TypedBody<UiSpotlight>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Spotlight(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_tour(
        rqctx: Ctx,
        body: TypedBody<UiTour>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(ui::deliver(rqctx.context(), &caller, UiEvent::Tour(body.into_inner())).await?))
        })
        .await
    }

    async fn ui_sidebar(
        rqctx: Ctx,
        body: TypedBody<UiSidebar>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Sidebar(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_panel(
        rqctx: Ctx,
        body: TypedBody<UiPanel>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Panel(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn ui_theme(
        rqctx: Ctx,
        body: TypedBody<UiTheme>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                ui::deliver(rqctx.context(), &caller, UiEvent::Theme(body.into_inner())).await?,
            ))
        })
        .await
    }

    async fn settings_schema_view(
        rqctx: Ctx,
        query: Query<SettingsQuery>,
    ) -> Result<Reply<HttpResponseOk<serde_json::Value>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            Ok(HttpResponseOk(match settings::which(query.into_inner().app.as_deref())? {
                settings::Which::Oqto => settings::oqto::schema_for(ctx, &caller),
                settings::Which::Pi(app) => app.schema(),
            }))
        })
        .await
    }

    async fn settings_view(
        rqctx: Ctx,
        query: Query<SettingsQuery>,
    ) -> Result<Reply<HttpResponseOk<std::collections::BTreeMap<String, SettingValue>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            Ok(HttpResponseOk(match settings::which(query.into_inner().app.as_deref())? {
                settings::Which::Oqto => settings::oqto::view(ctx, &caller).await?,
                settings::Which::Pi(app) => settings::pi::view(ctx, &caller, app)?,
            }))
        })
        .await
    }

    async fn settings_update(
        rqctx: Ctx,
        query: Query<SettingsQuery>,
        body: TypedBody<SettingsUpdate>,
    ) -> Result<Reply<HttpResponseOk<SettingsUpdated>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let (ctx, values) = (rqctx.context(), body.into_inner().values);
            Ok(HttpResponseOk(match settings::which(query.into_inner().app.as_deref())? {
                settings::Which::Oqto => settings::oqto::update(ctx, &caller, values).await?,
                settings::Which::Pi(app) => SettingsUpdated {
                    values: settings::pi::update(ctx, &caller, app, values)?,
                    restart_required: Vec::new(),
                },
            }))
        })
        .await
    }

    async fn settings_reload(
        rqctx: Ctx,
        query: Query<SettingsQuery>,
    ) -> Result<Reply<HttpResponseOk<SettingsReloaded>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let restart_required = match settings::which(query.into_inner().app.as_deref())? {
                settings::Which::Oqto => {
                    caller.require_admin()?;
                    settings::reload(rqctx.context()).await?
                }
                settings::Which::Pi(_) => Vec::new(),
            };
            Ok(HttpResponseOk(SettingsReloaded { status: "reloaded".into(), restart_required }))
        })
        .await
    }

    async fn feedback_create(
        rqctx: Ctx,
        body: TypedBody<FeedbackCreate>,
    ) -> Result<Reply<HttpResponseCreated<Feedback>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseCreated(feedback::send(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn feedback_list(
        rqctx: Ctx,
        query: Query<FeedbackListQuery>,
    ) -> Result<Reply<HttpResponseOk<FeedbackList>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(feedback::list(rqctx.context(), query.into_inner()).await?))
        })
        .await
    }

    async fn bus_stats(rqctx: Ctx) -> Result<Reply<HttpResponseOk<BusStats>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(rqctx.context().bus.stats()))
        })
        .await
    }

    async fn bus_publish(
        rqctx: Ctx,
        body: TypedBody<BusPublish>,
    ) -> Result<Reply<HttpResponseCreated<BusEvent>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            let source = BusSource::Admin { user_id: caller.user_id.clone() };
            let publisher = format!("user:{}", caller.user_id);
            let event =
                crate::bus::publish(rqctx.context(), &caller, &publisher, source, body.into_inner()).await?;
            Ok(HttpResponseCreated(event))
        })
        .await
    }

    async fn oauth_provider_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OauthProviders>>, HttpError> {
        reply(&rqctx, async { Ok(HttpResponseOk(OauthProviders { enabled: false, providers: Vec::new() })) })
            .await
    }

    async fn onboarding_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::get(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn onboarding_update(
        rqctx: Ctx,
        body: TypedBody<OnboardingUpdate>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::update(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn onboarding_check(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OnboardingCheck>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::check(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn onboarding_advance(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::advance(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn onboarding_unlock(
        rqctx: Ctx,
        path: Path<OnboardingUnlockPath>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                onboarding::unlock(rqctx.context(), &caller, &path.into_inner().component).await?,
            ))
        })
        .await
    }

    async fn onboarding_godmode(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::godmode(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn onboarding_complete(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::finish(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn onboarding_reset(rqctx: Ctx) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::reset(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn onboarding_bootstrap(
        rqctx: Ctx,
        body: TypedBody<OnboardingBootstrap>,
    ) -> Result<Reply<HttpResponseOk<OnboardingBootstrapped>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(onboarding::bootstrap(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn me_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<UserView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(users::me_view(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn me_update(
        rqctx: Ctx,
        body: TypedBody<MeUpdate>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(users::me_update(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn user_list(
        rqctx: Ctx,
        query: Query<UserListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<UserView>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(users::list(rqctx.context(), query.into_inner()).await?))
        })
        .await
    }

    async fn user_create(
        rqctx: Ctx,
        body: TypedBody<UserCreate>,
    ) -> Result<Reply<HttpResponseCreated<UserCreated>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseCreated(users::create(rqctx.context(), body.into_inner()).await?))
        })
        .await
    }

    async fn user_config_sync(
        rqctx: Ctx,
        body: TypedBody<UserConfigSync>,
    ) -> Result<Reply<HttpResponseOk<Vec<UserConfigSyncResult>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(users::config_sync(rqctx.context(), body.into_inner()).await?))
        })
        .await
    }

    async fn user_stats(rqctx: Ctx) -> Result<Reply<HttpResponseOk<UserStats>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(users::stats(rqctx.context()).await?))
        })
        .await
    }

    async fn user_view(
        rqctx: Ctx,
        path: Path<UserPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<UserView>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            let ctx = rqctx.context();
            let id = path.into_inner().user_id;
            if id == compat::USER_STATS_ALIAS {
                return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &users::stats(ctx).await?)?));
            }
            Ok(Aliased::Typed(HttpResponseOk(users::get(ctx, &id).await?)))
        })
        .await
    }

    async fn user_update(
        rqctx: Ctx,
        path: Path<UserPath>,
        body: TypedBody<UserUpdate>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            let id = path.into_inner().user_id;
            Ok(HttpResponseOk(users::update(rqctx.context(), &caller, &id, body.into_inner()).await?))
        })
        .await
    }

    async fn user_delete(rqctx: Ctx, path: Path<UserPath>) -> Result<Reply<HttpResponseDeleted>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            users::delete(rqctx.context(), &caller, &path.into_inner().user_id).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn user_activate(
        rqctx: Ctx,
        path: Path<UserPath>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            let id = path.into_inner().user_id;
            Ok(HttpResponseOk(users::set_active(rqctx.context(), &caller, &id, true).await?))
        })
        .await
    }

    async fn user_deactivate(
        rqctx: Ctx,
        path: Path<UserPath>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            let id = path.into_inner().user_id;
            Ok(HttpResponseOk(users::set_active(rqctx.context(), &caller, &id, false).await?))
        })
        .await
    }

    async fn user_collection_alias(
        rqctx: Ctx,
        path: Path<UserPath>,
        body: UntypedBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            if path.into_inner().user_id != compat::USER_CONFIG_SYNC_ALIAS {
                return Err(not_found("operation"));
            }
            let results = users::config_sync(rqctx.context(), parse_body(&rqctx, &body)?).await?;
            json_response(http::StatusCode::OK, &results)
        })
        .await
    }

    async fn invite_code_list(
        rqctx: Ctx,
        query: Query<InviteCodeListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<InviteCodeView>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(invites::list(rqctx.context(), query.into_inner()).await?))
        })
        .await
    }

    async fn invite_code_create(
        rqctx: Ctx,
        body: TypedBody<InviteCodeCreate>,
    ) -> Result<Reply<HttpResponseCreated<InviteCodeView>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            Ok(HttpResponseCreated(invites::create(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn invite_code_batch_create(
        rqctx: Ctx,
        body: TypedBody<InviteCodeBatchCreate>,
    ) -> Result<Reply<HttpResponseCreated<Vec<InviteCodeView>>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            Ok(HttpResponseCreated(invites::batch_create(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn invite_code_stats(rqctx: Ctx) -> Result<Reply<HttpResponseOk<InviteCodeStats>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(invites::stats(rqctx.context()).await?))
        })
        .await
    }

    async fn invite_code_view(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<InviteCodeView>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            let ctx = rqctx.context();
            let id = path.into_inner().code_id;
            if id == compat::INVITE_CODE_STATS_ALIAS {
                return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &invites::stats(ctx).await?)?));
            }
            Ok(Aliased::Typed(HttpResponseOk(invites::get(ctx, &id).await?)))
        })
        .await
    }

    async fn invite_code_delete(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            invites::delete(rqctx.context(), &path.into_inner().code_id).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn invite_code_revoke(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
    ) -> Result<Reply<HttpResponseOk<InviteCodeView>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(invites::revoke(rqctx.context(), &path.into_inner().code_id).await?))
        })
        .await
    }

    async fn invite_code_collection_alias(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
        body: UntypedBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        reply(&rqctx, async {
            let caller = admin(&rqctx).await?;
            if path.into_inner().code_id != compat::INVITE_CODE_BATCH_ALIAS {
                return Err(not_found("operation"));
            }
            let codes = invites::batch_create(rqctx.context(), &caller, parse_body(&rqctx, &body)?).await?;
            json_response(http::StatusCode::CREATED, &codes)
        })
        .await
    }

    async fn session_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Vec<SessionView>>>, HttpError> {
        reply_page(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(sessions::list_page(rqctx.context(), &caller).await?)
        })
        .await
    }

    async fn session_create(
        rqctx: Ctx,
        body: TypedBody<SessionCreate>,
    ) -> Result<Reply<HttpResponseCreated<SessionView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let body = body.into_inner();
            Ok(HttpResponseCreated(sessions::create(rqctx.context(), &caller, &body.workspace_path).await?))
        })
        .await
    }

    async fn session_get_or_create(
        rqctx: Ctx,
        body: TypedBody<SessionGetOrCreate>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let body = body.into_inner();
            Ok(HttpResponseOk(
                sessions::get_or_create(rqctx.context(), &caller, body.workspace_path.as_deref()).await?,
            ))
        })
        .await
    }

    async fn session_get_or_create_for_workspace(
        rqctx: Ctx,
        body: TypedBody<SessionForWorkspace>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let body = body.into_inner();
            Ok(HttpResponseOk(
                sessions::get_or_create(rqctx.context(), &caller, Some(&body.workspace_path)).await?,
            ))
        })
        .await
    }

    async fn session_update_list(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseOk<Vec<SessionUpdateView>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(sessions::update_list(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn session_view(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<SessionView>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let key = path.into_inner().session_id;
            if key == compat::SESSION_UPDATES_ALIAS {
                let updates = sessions::update_list(ctx, &caller).await?;
                return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &updates)?));
            }
            Ok(Aliased::Typed(HttpResponseOk(sessions::get(ctx, &caller, &key).await?)))
        })
        .await
    }

    async fn session_delete(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            sessions::delete(rqctx.context(), &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn session_collection_alias(
        rqctx: Ctx,
        path: Path<SessionPath>,
        body: UntypedBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let segment = path.into_inner().session_id;
            let workspace = if segment == compat::SESSION_GET_OR_CREATE_ALIAS {
                parse_body::<SessionGetOrCreate>(&rqctx, &body)?.workspace_path
            } else if segment == compat::SESSION_GET_OR_CREATE_FOR_WORKSPACE_ALIAS {
                Some(parse_body::<SessionForWorkspace>(&rqctx, &body)?.workspace_path)
            } else {
                return Err(not_found("operation"));
            };
            let session = sessions::get_or_create(ctx, &caller, workspace.as_deref()).await?;
            json_response(http::StatusCode::OK, &session)
        })
        .await
    }

    async fn session_stop(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            sessions::stop(rqctx.context(), &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseUpdatedNoContent())
        })
        .await
    }

    async fn session_resume(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                sessions::resume(rqctx.context(), &caller, &path.into_inner().session_id).await?,
            ))
        })
        .await
    }

    async fn session_activity(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            sessions::activity(rqctx.context(), &caller, &path.into_inner().session_id).await?;
            Ok(HttpResponseUpdatedNoContent())
        })
        .await
    }

    async fn session_update_view(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseOk<SessionUpdateView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                sessions::update_check(rqctx.context(), &caller, &path.into_inner().session_id).await?,
            ))
        })
        .await
    }

    async fn session_upgrade(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                sessions::upgrade(rqctx.context(), &caller, &path.into_inner().session_id).await?,
            ))
        })
        .await
    }

    async fn admin_session_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Vec<SessionView>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(sessions::admin_list(rqctx.context()).await?))
        })
        .await
    }

    async fn admin_session_delete(
        rqctx: Ctx,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            sessions::admin_delete(rqctx.context(), &path.into_inner().session_id).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn admin_local_cleanup(rqctx: Ctx) -> Result<Reply<HttpResponseOk<LocalCleanupReport>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(sessions::local_cleanup(rqctx.context()).await?))
        })
        .await
    }

    async fn chat_history_list(
        rqctx: Ctx,
        query: Query<ChatHistoryQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ChatHistoryEntry>>>, HttpError> {
        reply_page(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let q = query.into_inner();
            Ok(history::list_page(rqctx.context(), &caller, q.workspace.as_deref(), q.limit, q.offset)
                .await?)
        })
        .await
    }

    async fn chat_history_grouped_list(
        rqctx: Ctx,
        query: Query<ChatHistoryGroupedQuery>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryGroups>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let q = query.into_inner();
            let groups =
                history::grouped(rqctx.context(), &caller, q.tz.as_deref(), q.workspace.as_deref(), q.limit)
                    .await?;
            Ok(HttpResponseOk(groups))
        })
        .await
    }

    async fn chat_history_view(
        rqctx: Ctx,
        path: Path<ChatHistoryPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<ChatHistoryEntry>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let ctx = rqctx.context();
            let id = path.into_inner().session_id;
            if id == compat::CHAT_HISTORY_GROUPED_ALIAS {
                let q: ChatHistoryGroupedQuery = parse_query(&rqctx)?;
                let groups =
                    history::grouped(ctx, &caller, q.tz.as_deref(), q.workspace.as_deref(), q.limit).await?;
                return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &groups)?));
            }
            Ok(Aliased::Typed(HttpResponseOk(history::view(ctx, &caller, &id).await?)))
        })
        .await
    }

    async fn chat_history_delete(
        rqctx: Ctx,
        path: Path<ChatHistoryPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            chats::delete(rqctx.context(), &caller.user_id, &path.into_inner().session_id).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn chat_history_backfill(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryBackfill>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(history::backfill(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn chat_history_backfill_alias(
        rqctx: Ctx,
        path: Path<ChatHistoryPath>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryBackfill>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            if path.into_inner().session_id != compat::CHAT_HISTORY_BACKFILL_ALIAS {
                return Err(Error::NotFound("no such route".to_string()).into());
            }
            Ok(HttpResponseOk(history::backfill(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn chat_history_update(
        rqctx: Ctx,
        path: Path<ChatHistoryPath>,
        body: TypedBody<ChatHistoryUpdate>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryEntry>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let id = path.into_inner().session_id;
            Ok(HttpResponseOk(history::rename(rqctx.context(), &caller, &id, body.into_inner().title).await?))
        })
        .await
    }

    async fn chat_history_message_list(
        rqctx: Ctx,
        path: Path<ChatHistoryPath>,
        query: Query<ChatMessagesQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ChatMessage>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let id = path.into_inner().session_id;
            let q = query.into_inner();
            Ok(HttpResponseOk(history::messages(rqctx.context(), &caller, &id, q.limit, q.offset).await?))
        })
        .await
    }

    async fn search(
        rqctx: Ctx,
        query: Query<SearchQuery>,
    ) -> Result<Reply<HttpResponseOk<SearchResults>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let q = query.into_inner();
            Ok(HttpResponseOk(history::search(rqctx.context(), &caller, &q.q, q.limit).await?))
        })
        .await
    }

    async fn project_list(
        rqctx: Ctx,
        query: Query<ProjectListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ProjectView>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(projects::list(rqctx.context(), &caller, query.into_inner()).await?))
        })
        .await
    }

    async fn project_location_list(
        rqctx: Ctx,
        query: Query<LocationListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<WorkspaceLocation>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let group = query.into_inner().workspace_id;
            Ok(HttpResponseOk(locations::list(rqctx.context(), &caller, group.as_deref()).await?))
        })
        .await
    }

    async fn project_location_upsert(
        rqctx: Ctx,
        body: TypedBody<LocationUpsert>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceLocation>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(locations::upsert(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn project_location_activate(
        rqctx: Ctx,
        body: TypedBody<LocationSelect>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceLocation>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(locations::activate(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn project_template_list(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseOk<ProjectTemplateList>>, HttpError> {
        reply(&rqctx, async {
            caller(&rqctx).await?;
            Ok(HttpResponseOk(projects::templates(rqctx.context())))
        })
        .await
    }

    async fn project_create_from_template(
        rqctx: Ctx,
        body: TypedBody<ProjectFromTemplate>,
    ) -> Result<Reply<HttpResponseCreated<ProjectView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseCreated(
                projects::create_from_template(rqctx.context(), &caller, body.into_inner()).await?,
            ))
        })
        .await
    }

    async fn project_logo_view(
        rqctx: Ctx,
        query: Query<ProjectLogoQuery>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            logo_response(projects::logo(rqctx.context(), &caller, &query.into_inner().path).await?)
        })
        .await
    }

    async fn project_logo_alias(
        rqctx: Ctx,
        path: Path<ProjectLogoPath>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            // Dropshot routes `/api/projects/logo?path=…` here too (the wildcard
            // also matches an empty rest): then the query names the file.
            let segments = path.into_inner().path;
            let file = if segments.is_empty() {
                let query: ProjectLogoQuery = parse_query(&rqctx)?;
                query.path
            } else {
                segments.join("/")
            };
            logo_response(projects::logo(rqctx.context(), &caller, &file).await?)
        })
        .await
    }

    async fn workspace_meta_view(
        rqctx: Ctx,
        query: Query<WorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceMeta>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                projects::meta(rqctx.context(), &caller, &query.into_inner().workspace_path).await?,
            ))
        })
        .await
    }

    async fn workspace_meta_update(
        rqctx: Ctx,
        body: TypedBody<WorkspaceMetaUpdate>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceMeta>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(projects::update_meta(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn workspace_sandbox_view(
        rqctx: Ctx,
        query: Query<WorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<SandboxView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(
                projects::sandbox(rqctx.context(), &caller, &query.into_inner().workspace_path).await?,
            ))
        })
        .await
    }

    async fn workspace_sandbox_update(
        rqctx: Ctx,
        body: TypedBody<SandboxUpdate>,
    ) -> Result<Reply<HttpResponseOk<SandboxView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(projects::update_sandbox(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn workspace_pi_resources_view(
        rqctx: Ctx,
        query: Query<WorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<PiResources>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let workspace = query.into_inner().workspace_path;
            Ok(HttpResponseOk(pi_resources::view(rqctx.context(), &caller, &workspace).await?))
        })
        .await
    }

    async fn workspace_pi_resources_apply(
        rqctx: Ctx,
        body: TypedBody<PiResourcesApply>,
    ) -> Result<Reply<HttpResponseOk<PiResources>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(pi_resources::apply(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn mux_connect(
        rqctx: Ctx,
        query: Query<MuxQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult {
        let ctx = Arc::clone(rqctx.context());
        let (caller, grant) = upgrade_caller(&rqctx, query.into_inner().token).await?;
        websocket.handle(move |upgraded| async move {
            mux::serve(ctx, caller, grant, upgraded).await;
            Ok(())
        })
    }

    async fn mux_ticket_create(rqctx: Ctx) -> Result<Reply<HttpResponseCreated<MuxTicket>>, HttpError> {
        reply(&rqctx, async {
            caller(&rqctx).await?;
            Ok(HttpResponseCreated(auth::mux_ticket(rqctx.context(), rqctx.request.headers())?))
        })
        .await
    }

    async fn mux_debug_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<MuxDebugView>>, HttpError> {
        reply(&rqctx, async {
            let ctx = rqctx.context();
            let admin = auth::authenticate(ctx, rqctx.request.headers())
                .await
                .is_ok_and(|c| c.require_admin().is_ok());
            Ok(HttpResponseOk(ctx.hub.debug(admin)))
        })
        .await
    }

    async fn eavs_provider_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<ProviderList>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(crate::eavs::list(rqctx.context()).await?))
        })
        .await
    }

    async fn eavs_provider_upsert(
        rqctx: Ctx,
        body: TypedBody<ProviderCreate>,
    ) -> Result<Reply<HttpResponseOk<ProviderView>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(crate::eavs::upsert(rqctx.context(), body.into_inner()).await?))
        })
        .await
    }

    async fn eavs_provider_delete(
        rqctx: Ctx,
        path: Path<ProviderPath>,
    ) -> Result<Reply<HttpResponseOk<ProviderDeleted>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(crate::eavs::delete(rqctx.context(), &path.into_inner().name).await?))
        })
        .await
    }

    async fn eavs_models_sync(rqctx: Ctx) -> Result<Reply<HttpResponseOk<ModelsSynced>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(crate::eavs::sync_all(rqctx.context(), &[]).await?))
        })
        .await
    }

    async fn eavs_catalog_lookup(
        rqctx: Ctx,
        query: Query<CatalogQuery>,
    ) -> Result<Reply<HttpResponseOk<CatalogEntry>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(crate::eavs::catalog_lookup(&query.into_inner())?))
        })
        .await
    }

    async fn llm_post(
        rqctx: Ctx,
        path: Path<LlmPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        llm_relay(rqctx, path, body).await
    }

    async fn llm_get(
        rqctx: Ctx,
        path: Path<LlmPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        llm_relay(rqctx, path, body).await
    }

    async fn browser_start(
        rqctx: Ctx,
        body: TypedBody<BrowserStart>,
    ) -> Result<Reply<HttpResponseOk<BrowserStarted>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(crate::browser::start(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn browser_action(
        rqctx: Ctx,
        body: TypedBody<BrowserAction>,
    ) -> Result<Reply<HttpResponseOk<BrowserActionResult>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(crate::browser::act(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn browser_stream(
        rqctx: Ctx,
        path: Path<BrowserStreamPath>,
        query: Query<BrowserStreamQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult {
        browser_watch(rqctx, path, query, websocket).await
    }

    async fn browser_stream_original(
        rqctx: Ctx,
        path: Path<BrowserStreamPath>,
        query: Query<BrowserStreamQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult {
        browser_watch(rqctx, path, query, websocket).await
    }

    async fn voice_stt(
        rqctx: Ctx,
        query: Query<VoiceQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult {
        let ctx = Arc::clone(rqctx.context());
        upgrade_caller(&rqctx, query.into_inner().token).await?;
        if !ctx.config.voice.enabled {
            return Err(Error::Unavailable("voice is switched off on this server".into()).into());
        }
        websocket.handle(move |upgraded| async move {
            crate::voice::listen(ctx, upgraded).await;
            Ok(())
        })
    }

    async fn voice_tts(
        rqctx: Ctx,
        query: Query<VoiceQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult {
        let ctx = Arc::clone(rqctx.context());
        let (caller, _) = upgrade_caller(&rqctx, query.into_inner().token).await?;
        if !ctx.config.voice.enabled {
            return Err(Error::Unavailable("voice is switched off on this server".into()).into());
        }
        websocket.handle(move |upgraded| async move {
            crate::voice::speak(ctx, caller, upgraded).await;
            Ok(())
        })
    }

    async fn sldr_get(
        rqctx: Ctx,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        sldr_relay(rqctx, path, body).await
    }

    async fn sldr_post(
        rqctx: Ctx,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        sldr_relay(rqctx, path, body).await
    }

    async fn sldr_put(
        rqctx: Ctx,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        sldr_relay(rqctx, path, body).await
    }

    async fn sldr_delete(
        rqctx: Ctx,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        sldr_relay(rqctx, path, body).await
    }

    async fn sldr_patch(
        rqctx: Ctx,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError> {
        sldr_relay(rqctx, path, body).await
    }

    async fn scheduler_overview_view(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseOk<SchedulerOverview>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(scheduler::overview(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn scheduler_job_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Vec<ScheduleView>>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(scheduler::list(rqctx.context(), &caller).await?))
        })
        .await
    }

    async fn scheduler_job_create(
        rqctx: Ctx,
        body: TypedBody<ScheduleCreate>,
    ) -> Result<Reply<HttpResponseCreated<ScheduleView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseCreated(scheduler::create(rqctx.context(), &caller, body.into_inner()).await?))
        })
        .await
    }

    async fn scheduler_job_view(
        rqctx: Ctx,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(scheduler::get(rqctx.context(), &caller, &path.into_inner().name).await?))
        })
        .await
    }

    async fn scheduler_job_delete(
        rqctx: Ctx,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleDeleted>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            Ok(HttpResponseOk(scheduler::delete(rqctx.context(), &caller, &path.into_inner().name).await?))
        })
        .await
    }

    async fn scheduler_job_pause(
        rqctx: Ctx,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let name = path.into_inner().name;
            Ok(HttpResponseOk(scheduler::set_enabled(rqctx.context(), &caller, &name, false).await?))
        })
        .await
    }

    async fn scheduler_job_resume(
        rqctx: Ctx,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleView>>, HttpError> {
        reply(&rqctx, async {
            let caller = caller(&rqctx).await?;
            let name = path.into_inner().name;
            Ok(HttpResponseOk(scheduler::set_enabled(rqctx.context(), &caller, &name, true).await?))
        })
        .await
    }

    async fn feed_fetch(
        rqctx: Ctx,
        query: Query<FeedQuery>,
    ) -> Result<Reply<HttpResponseOk<FeedFetched>>, HttpError> {
        reply(&rqctx, async {
            caller(&rqctx).await?;
            Ok(HttpResponseOk(feeds::fetch(rqctx.context(), &query.into_inner().url).await?))
        })
        .await
    }

    async fn codexbar_usage_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<serde_json::Value>>, HttpError> {
        reply(&rqctx, async {
            caller(&rqctx).await?;
            Ok(HttpResponseOk(codexbar::usage(rqctx.context()).await?))
        })
        .await
    }

    async fn admin_stats_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<AdminStats>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            Ok(HttpResponseOk(metrics::stats(rqctx.context()).await?))
        })
        .await
    }

    async fn admin_metrics_stream(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError> {
        reply(&rqctx, async {
            admin(&rqctx).await?;
            let body = metrics::stream(Arc::clone(rqctx.context()));
            text_response(body, "text/event-stream")
        })
        .await
    }

    async fn prometheus_metrics_view(
        rqctx: Ctx,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError> {
        reply(&rqctx, async {
            let ctx = rqctx.context();
            let scraper =
                auth::bearer_token(rqctx.request.headers()).is_some_and(|t| ctx.metrics.is_scrape_token(&t));
            if !scraper {
                admin(&rqctx).await?;
            }
            let text = metrics::prometheus(ctx).await?;
            text_response(Body::from(text), "text/plain; version=0.0.4; charset=utf-8")
        })
        .await
    }

    async fn health_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Health>>, HttpError> {
        reply(&rqctx, async { Ok(HttpResponseOk(misc::health(rqctx.context()))) }).await
    }

    async fn feature_list(rqctx: Ctx) -> Result<Reply<HttpResponseOk<Features>>, HttpError> {
        reply(&rqctx, async { Ok(HttpResponseOk(misc::features(rqctx.context()))) }).await
    }

    async fn openapi_view(rqctx: Ctx) -> Result<Reply<HttpResponseOk<serde_json::Value>>, HttpError> {
        reply(&rqctx, async {
            let document = serde_json::from_str(misc::OPENAPI_DOCUMENT)
                .map_err(|e| HttpError::for_internal_error(format!("checked-in document: {e}")))?;
            Ok(HttpResponseOk(document))
        })
        .await
    }
}
