//! `impl OqtoApi`: one thin method per endpoint. Each extracts its inputs,
//! authenticates through [`caller`] or [`admin`], calls the area module and
//! maps the result. Logic lives in the area modules.

use std::sync::Arc;

use dropshot::{
    Body, HttpError, HttpResponseCreated, HttpResponseDeleted, HttpResponseHeaders, HttpResponseOk,
    HttpResponseUpdatedNoContent, Path, Query, RequestContext, TypedBody, UntypedBody,
};
use http::Response;
use oqto_api::OqtoApi;
use oqto_api::auth::{AuthToken, DevLogin, LoginCredentials, PasswordChange, Registration};
use oqto_api::compat::{self, Aliased};
use oqto_api::invites::{
    InviteCodeBatchCreate, InviteCodeCreate, InviteCodeListQuery, InviteCodePath, InviteCodeStats,
    InviteCodeView,
};
use oqto_api::misc::{Features, Health};
use oqto_api::users::{
    MeUpdate, UserConfigSync, UserConfigSyncResult, UserCreate, UserCreated, UserListQuery, UserPath,
    UserStats, UserUpdate, UserView,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{self, Caller, token::Issued};
use crate::context::ServerContext;
use crate::error::Error;
use crate::{invites, misc, users};

/// The type that implements the API trait.
pub enum OqtoApiImpl {}

type Ctx = RequestContext<Arc<ServerContext>>;

/// The authenticated caller, or 401.
async fn caller(rqctx: &Ctx) -> Result<Caller, HttpError> {
    Ok(auth::authenticate(rqctx.context(), rqctx.request.headers()).await?)
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

/// Parses an untyped JSON body (aliased paths only).
fn parse_body<T: DeserializeOwned>(body: &UntypedBody) -> Result<T, HttpError> {
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
    ) -> Result<HttpResponseHeaders<HttpResponseOk<AuthToken>>, HttpError> {
        let ctx = rqctx.context();
        let (token, issued) = auth::login(ctx, body.into_inner(), rqctx.request.remote_addr()).await?;
        Ok(with_session(ctx, HttpResponseOk(token), &issued))
    }

    async fn auth_register(
        rqctx: Ctx,
        body: TypedBody<Registration>,
    ) -> Result<HttpResponseHeaders<HttpResponseCreated<AuthToken>>, HttpError> {
        let ctx = rqctx.context();
        let (token, issued) = auth::register(ctx, body.into_inner()).await?;
        Ok(with_session(ctx, HttpResponseCreated(token), &issued))
    }

    async fn auth_logout(rqctx: Ctx) -> Result<HttpResponseHeaders<HttpResponseUpdatedNoContent>, HttpError> {
        let ctx = rqctx.context();
        auth::logout(ctx, rqctx.request.headers()).await?;
        Ok(with_cookie(HttpResponseUpdatedNoContent(), auth::clearing_cookie(ctx)))
    }

    async fn auth_dev_login(
        rqctx: Ctx,
        body: TypedBody<DevLogin>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<AuthToken>>, HttpError> {
        let ctx = rqctx.context();
        let (token, issued) = auth::dev_login(ctx, body.into_inner(), rqctx.request.remote_addr()).await?;
        Ok(with_session(ctx, HttpResponseOk(token), &issued))
    }

    async fn auth_password_change(
        rqctx: Ctx,
        body: TypedBody<PasswordChange>,
    ) -> Result<HttpResponseHeaders<HttpResponseOk<AuthToken>>, HttpError> {
        let caller = caller(&rqctx).await?;
        let ctx = rqctx.context();
        let (token, issued) = auth::change_password(ctx, &caller, body.into_inner()).await?;
        Ok(with_session(ctx, HttpResponseOk(token), &issued))
    }

    async fn me_view(rqctx: Ctx) -> Result<HttpResponseOk<UserView>, HttpError> {
        let caller = caller(&rqctx).await?;
        Ok(HttpResponseOk(users::me_view(rqctx.context(), &caller).await?))
    }

    async fn me_update(rqctx: Ctx, body: TypedBody<MeUpdate>) -> Result<HttpResponseOk<UserView>, HttpError> {
        let caller = caller(&rqctx).await?;
        Ok(HttpResponseOk(users::me_update(rqctx.context(), &caller, body.into_inner()).await?))
    }

    async fn user_list(
        rqctx: Ctx,
        query: Query<UserListQuery>,
    ) -> Result<HttpResponseOk<Vec<UserView>>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseOk(users::list(rqctx.context(), query.into_inner()).await?))
    }

    async fn user_create(
        rqctx: Ctx,
        body: TypedBody<UserCreate>,
    ) -> Result<HttpResponseCreated<UserCreated>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseCreated(users::create(rqctx.context(), body.into_inner()).await?))
    }

    async fn user_config_sync(
        rqctx: Ctx,
        body: TypedBody<UserConfigSync>,
    ) -> Result<HttpResponseOk<Vec<UserConfigSyncResult>>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseOk(users::config_sync(rqctx.context(), body.into_inner()).await?))
    }

    async fn user_stats(rqctx: Ctx) -> Result<HttpResponseOk<UserStats>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseOk(users::stats(rqctx.context()).await?))
    }

    async fn user_view(
        rqctx: Ctx,
        path: Path<UserPath>,
    ) -> Result<Aliased<HttpResponseOk<UserView>>, HttpError> {
        admin(&rqctx).await?;
        let ctx = rqctx.context();
        let id = path.into_inner().user_id;
        if id == compat::USER_STATS_ALIAS {
            return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &users::stats(ctx).await?)?));
        }
        Ok(Aliased::Typed(HttpResponseOk(users::get(ctx, &id).await?)))
    }

    async fn user_update(
        rqctx: Ctx,
        path: Path<UserPath>,
        body: TypedBody<UserUpdate>,
    ) -> Result<HttpResponseOk<UserView>, HttpError> {
        let caller = admin(&rqctx).await?;
        let id = path.into_inner().user_id;
        Ok(HttpResponseOk(users::update(rqctx.context(), &caller, &id, body.into_inner()).await?))
    }

    async fn user_delete(rqctx: Ctx, path: Path<UserPath>) -> Result<HttpResponseDeleted, HttpError> {
        let caller = admin(&rqctx).await?;
        users::delete(rqctx.context(), &caller, &path.into_inner().user_id).await?;
        Ok(HttpResponseDeleted())
    }

    async fn user_activate(rqctx: Ctx, path: Path<UserPath>) -> Result<HttpResponseOk<UserView>, HttpError> {
        let caller = admin(&rqctx).await?;
        let id = path.into_inner().user_id;
        Ok(HttpResponseOk(users::set_active(rqctx.context(), &caller, &id, true).await?))
    }

    async fn user_deactivate(
        rqctx: Ctx,
        path: Path<UserPath>,
    ) -> Result<HttpResponseOk<UserView>, HttpError> {
        let caller = admin(&rqctx).await?;
        let id = path.into_inner().user_id;
        Ok(HttpResponseOk(users::set_active(rqctx.context(), &caller, &id, false).await?))
    }

    async fn user_collection_alias(
        rqctx: Ctx,
        path: Path<UserPath>,
        body: UntypedBody,
    ) -> Result<Response<Body>, HttpError> {
        admin(&rqctx).await?;
        if path.into_inner().user_id != compat::USER_CONFIG_SYNC_ALIAS {
            return Err(not_found("operation"));
        }
        let results = users::config_sync(rqctx.context(), parse_body(&body)?).await?;
        json_response(http::StatusCode::OK, &results)
    }

    async fn invite_code_list(
        rqctx: Ctx,
        query: Query<InviteCodeListQuery>,
    ) -> Result<HttpResponseOk<Vec<InviteCodeView>>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseOk(invites::list(rqctx.context(), query.into_inner()).await?))
    }

    async fn invite_code_create(
        rqctx: Ctx,
        body: TypedBody<InviteCodeCreate>,
    ) -> Result<HttpResponseCreated<InviteCodeView>, HttpError> {
        let caller = admin(&rqctx).await?;
        Ok(HttpResponseCreated(invites::create(rqctx.context(), &caller, body.into_inner()).await?))
    }

    async fn invite_code_batch_create(
        rqctx: Ctx,
        body: TypedBody<InviteCodeBatchCreate>,
    ) -> Result<HttpResponseCreated<Vec<InviteCodeView>>, HttpError> {
        let caller = admin(&rqctx).await?;
        Ok(HttpResponseCreated(invites::batch_create(rqctx.context(), &caller, body.into_inner()).await?))
    }

    async fn invite_code_stats(rqctx: Ctx) -> Result<HttpResponseOk<InviteCodeStats>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseOk(invites::stats(rqctx.context()).await?))
    }

    async fn invite_code_view(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
    ) -> Result<Aliased<HttpResponseOk<InviteCodeView>>, HttpError> {
        admin(&rqctx).await?;
        let ctx = rqctx.context();
        let id = path.into_inner().code_id;
        if id == compat::INVITE_CODE_STATS_ALIAS {
            return Ok(Aliased::Alias(json_response(http::StatusCode::OK, &invites::stats(ctx).await?)?));
        }
        Ok(Aliased::Typed(HttpResponseOk(invites::get(ctx, &id).await?)))
    }

    async fn invite_code_delete(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
    ) -> Result<HttpResponseDeleted, HttpError> {
        admin(&rqctx).await?;
        invites::delete(rqctx.context(), &path.into_inner().code_id).await?;
        Ok(HttpResponseDeleted())
    }

    async fn invite_code_revoke(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
    ) -> Result<HttpResponseOk<InviteCodeView>, HttpError> {
        admin(&rqctx).await?;
        Ok(HttpResponseOk(invites::revoke(rqctx.context(), &path.into_inner().code_id).await?))
    }

    async fn invite_code_collection_alias(
        rqctx: Ctx,
        path: Path<InviteCodePath>,
        body: UntypedBody,
    ) -> Result<Response<Body>, HttpError> {
        let caller = admin(&rqctx).await?;
        if path.into_inner().code_id != compat::INVITE_CODE_BATCH_ALIAS {
            return Err(not_found("operation"));
        }
        let codes = invites::batch_create(rqctx.context(), &caller, parse_body(&body)?).await?;
        json_response(http::StatusCode::CREATED, &codes)
    }

    async fn health_view(rqctx: Ctx) -> Result<HttpResponseOk<Health>, HttpError> {
        Ok(HttpResponseOk(misc::health(rqctx.context()).await))
    }

    async fn feature_list(rqctx: Ctx) -> Result<HttpResponseOk<Features>, HttpError> {
        Ok(HttpResponseOk(misc::features(rqctx.context())))
    }

    async fn openapi_view(_rqctx: Ctx) -> Result<HttpResponseOk<serde_json::Value>, HttpError> {
        let document = serde_json::from_str(misc::OPENAPI_DOCUMENT)
            .map_err(|e| HttpError::for_internal_error(format!("checked-in document: {e}")))?;
        Ok(HttpResponseOk(document))
    }
}
