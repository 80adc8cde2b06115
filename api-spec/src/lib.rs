//! The Oqto contract: the Dropshot API trait and every type on the wire.
//!
//! The server implements [`OqtoApi`]; `codegen` turns its stub description
//! into `api-spec/openapi/oqto.json`, from which the SDK is generated.
//! Operation ids are `<noun>_<verb>` and every endpoint carries exactly one
//! tag, its area.

pub mod a2ui;
pub mod auth;
pub mod browser;
pub mod bus;
pub mod compat;
pub mod delegate;
pub mod eavs;
pub mod feedback;
pub mod feeds;
pub mod history;
pub mod invites;
pub mod keys;
pub mod memories;
pub mod metrics;
pub mod misc;
pub mod mux;
pub mod onboarding;
pub mod reply;
pub mod scheduler;
pub mod sessions;
pub mod settings;
pub mod sldr;
pub mod testing;
pub mod ui;
pub mod users;
pub mod voice;
pub mod workspace;

use std::collections::BTreeMap;

use dropshot::{
    Body, EndpointTagPolicy, FreeformBody, HttpError, HttpResponseCreated, HttpResponseDeleted,
    HttpResponseHeaders, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query, RequestContext,
    StreamingBody, TypedBody, UntypedBody, WebsocketEndpointResult, WebsocketUpgrade,
};

use a2ui::{A2uiSurfaceCreate, A2uiSurfacePath, A2uiSurfaceResult};
use auth::{AuthToken, DevLogin, LoginCredentials, PasswordChange, Registration};
use browser::{
    BrowserAction, BrowserActionResult, BrowserStart, BrowserStarted, BrowserStreamPath, BrowserStreamQuery,
};
use bus::{BusEvent, BusPublish, BusStats};
use compat::Aliased;
use delegate::{
    DelegateMessagesQuery, DelegatePath, DelegatePrompt, DelegateStart, DelegateStatus, DelegateStopped,
};
use eavs::{
    CatalogEntry, CatalogQuery, LlmPath, ModelsSynced, ProviderCreate, ProviderDeleted, ProviderList,
    ProviderPath, ProviderView,
};
use feedback::{Feedback, FeedbackCreate, FeedbackList, FeedbackListQuery};
use feeds::{FeedFetched, FeedQuery};
use history::{
    ChatHistoryBackfill, ChatHistoryEntry, ChatHistoryGroupedQuery, ChatHistoryGroups, ChatHistoryPath,
    ChatHistoryQuery, ChatHistoryUpdate, ChatMessage, ChatMessagesQuery, SearchQuery, SearchResults,
};
use http::Response;
use invites::{
    InviteCodeBatchCreate, InviteCodeCreate, InviteCodeListQuery, InviteCodePath, InviteCodeStats,
    InviteCodeView,
};
use keys::{ApiKeyCreate, ApiKeyCreated, ApiKeyPath, ApiKeyView, OauthProviders};
use memories::{
    Memory, MemoryCreate, MemoryCreated, MemoryDeleted, MemoryList, MemoryListQuery, MemoryPath,
    MemorySearch, MemorySearchResults, MemoryStores, MemoryWorkspaceListQuery, MemoryWorkspaceQuery,
    SessionMemoriesPath, SessionMemoryPath,
};
use metrics::AdminStats;
use misc::{Features, Health};
use mux::{MuxDebugView, MuxQuery, MuxTicket};
use onboarding::{
    OnboardingBootstrap, OnboardingBootstrapped, OnboardingCheck, OnboardingUnlockPath, OnboardingUpdate,
    OnboardingView,
};
use reply::Reply;
use scheduler::{ScheduleCreate, ScheduleDeleted, SchedulePath, ScheduleView, SchedulerOverview};
use sessions::{
    LocalCleanupReport, SessionCreate, SessionForWorkspace, SessionGetOrCreate, SessionPath,
    SessionUpdateView, SessionView,
};
use settings::{SettingValue, SettingsQuery, SettingsReloaded, SettingsUpdate, SettingsUpdated};
use sldr::SldrPath;
use testing::{TestA2uiSample, TestEvent, TestEventSent};
use ui::{
    UiDelivered, UiNavigate, UiPalette, UiPaletteExec, UiPanel, UiSession, UiSidebar, UiSpotlight, UiTheme,
    UiTour, UiView,
};
use users::{
    MeUpdate, UserConfigSync, UserConfigSyncResult, UserCreate, UserCreated, UserListQuery, UserPath,
    UserStats, UserUpdate, UserView,
};
use voice::VoiceQuery;
use workspace::{
    LocationListQuery, LocationSelect, LocationUpsert, PiResources, PiResourcesApply, ProjectFromTemplate,
    ProjectListQuery, ProjectLogoPath, ProjectLogoQuery, ProjectTemplateList, ProjectView, SandboxUpdate,
    SandboxView, WorkspaceLocation, WorkspaceMeta, WorkspaceMetaUpdate, WorkspaceQuery,
};

/// Title of the OpenAPI document.
pub const API_TITLE: &str = "Oqto";
/// Version of the OpenAPI document (bumped when the contract changes).
pub const API_VERSION: (u64, u64, u64) = (0, 1, 0);

/// Operations that anyone may call without a token. Every other operation
/// refuses anonymous callers with 401; `codegen` marks these with an empty
/// `security` list in the document and the auth-matrix test holds the server
/// to it.
pub const PUBLIC_OPERATIONS: &[&str] = &[
    "auth_dev_login",
    "auth_login",
    "auth_logout",
    "auth_register",
    "feature_list",
    "health_view",
    "mux_debug_view",
    "oauth_provider_list",
    "openapi_view",
];

/// Path prefix of the operations that need the `admin` role (403 otherwise).
pub const ADMIN_PATH_PREFIX: &str = "/api/admin/";

/// Operations outside [`ADMIN_PATH_PREFIX`] that need the `admin` role too
/// (or, for `/metrics`, the configured scrape token).
pub const ADMIN_OPERATIONS: &[&str] = &["prometheus_metrics_view"];

#[dropshot::api_description {
    tag_config = {
        tags = {
            "auth" = { description = "Logging in and out, registration, passwords" },
            "users" = { description = "The caller's profile and user administration" },
            "invites" = { description = "Invite codes for registration" },
            "misc" = { description = "Health, features and the API document" },
            "sessions" = { description = "Workspace sessions: the runtime of a workspace, hosting its chats" },
            "mux" = { description = "The multiplexed WebSocket" },
            "history" = { description = "Chat history and search" },
            "projects" = { description = "Projects and per-workspace settings" },
            "onboarding" = { description = "The guided first steps and the first workspace" },
            "keys" = { description = "Personal API keys" },
            "feedback" = { description = "Reports from users to the operators" },
            "a2ui" = { description = "Surfaces a chat's agent shows the user, and the user's answers" },
            "testing" = { description = "Injecting events and surfaces into your own chats (dev mode only)" },
            "ui" = { description = "Steering the caller's own open web clients" },
            "settings" = { description = "The server's configuration and each user's own settings" },
            "memories" = { description = "Memories of a workspace, with full-text search" },
            "bus" = { description = "The event bus: its counters and administrators' publishes" },
            "delegate" = { description = "Child chats a chat's agent hands work to (from this machine only)" },
            "eavs" = { description = "Model providers (administrators) and the model proxy agents reach them through" },
            "browser" = { description = "The agent browser: a headless Chromium per chat, and its screen" },
            "voice" = { description = "Speech to text and text to speech over WebSockets" },
            "sldr" = { description = "The proxy to the sldr slides server (unpublished wildcard routes)" },
            "scheduler" = { description = "Your scheduled jobs: prompts into chats and commands in workspaces, at their time" },
            "feeds" = { description = "Web feeds fetched on the caller's behalf, public addresses only" },
            "codexbar" = { description = "Usage of the AI providers' plans, from codexbar on the server" },
            "metrics" = { description = "The server's figures for administrators: a snapshot, a live stream, Prometheus" },
        },
        policy = EndpointTagPolicy::ExactlyOne,
        allow_other_tags = false,
    },
}]
pub trait OqtoApi {
    type Context: Send + Sync + 'static;

    // ---------------------------------------------------------------- auth

    /// Log in with a username (or email) and password
    ///
    /// Returns a token and sets it as the HttpOnly `auth_token` cookie.
    /// Public. Errors: 401 for a wrong username or password, 403 for a
    /// deactivated account, 429 (with `Retry-After`) after too many failed
    /// attempts for the account or from the client address.
    #[endpoint { method = POST, path = "/api/auth/login", tags = ["auth"] }]
    async fn auth_login(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<LoginCredentials>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<AuthToken>>>, HttpError>;

    /// Register a new account with an invite code
    ///
    /// Consumes one use of the invite code atomically and logs the new user
    /// in (token in the body and the cookie). Public. Errors: 409 when the
    /// username or email is taken, 422 for an unknown, expired, revoked or
    /// used-up invite code or invalid fields.
    #[endpoint { method = POST, path = "/api/auth/register", tags = ["auth"] }]
    async fn auth_register(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<Registration>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseCreated<AuthToken>>>, HttpError>;

    /// Log out
    ///
    /// Revokes the presented token (it is refused from now on) and clears the
    /// cookie. Public: without a token it only clears the cookie.
    #[endpoint { method = POST, path = "/api/auth/logout", tags = ["auth"] }]
    async fn auth_logout(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseUpdatedNoContent>>, HttpError>;

    /// Log in without a password (development mode only)
    ///
    /// Exists only when `auth.dev_mode = true` (404 otherwise) and only for
    /// callers on the loopback interface (403 otherwise). Logs in as the
    /// named active account, or the oldest active administrator.
    #[endpoint { method = POST, path = "/api/auth/dev-login", tags = ["auth"] }]
    async fn auth_dev_login(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<DevLogin>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<AuthToken>>>, HttpError>;

    /// Change the caller's password
    ///
    /// Every token of the caller issued before stops working; a fresh token
    /// is returned and set as the cookie. Errors: 401 without a valid token,
    /// 403 for a wrong current password, 422 for a too-short new password.
    #[endpoint { method = POST, path = "/api/auth/change-password", tags = ["auth"] }]
    async fn auth_password_change(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<PasswordChange>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<AuthToken>>>, HttpError>;

    // --------------------------------------------------------------- users

    /// The caller's profile
    ///
    /// Errors: 401 without a valid token.
    #[endpoint { method = GET, path = "/api/me", tags = ["users"] }]
    async fn me_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError>;

    /// Update the caller's profile
    ///
    /// Changes the display name, the avatar URL and merges settings key by
    /// key. Errors: 401 without a valid token, 422 for invalid values or a
    /// reserved settings key.
    #[endpoint { method = PUT, path = "/api/me", tags = ["users"] }]
    async fn me_update(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<MeUpdate>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError>;

    /// List users
    ///
    /// Admin only. Ordered by creation time, oldest first.
    #[endpoint { method = GET, path = "/api/admin/users", tags = ["users"] }]
    async fn user_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<UserListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<UserView>>>, HttpError>;

    /// Create a user
    ///
    /// Admin only. Without a password, a random one is generated and
    /// returned once. Errors: 409 when the username or email is taken, 422
    /// for invalid fields.
    #[endpoint { method = POST, path = "/api/admin/users", tags = ["users"] }]
    async fn user_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UserCreate>,
    ) -> Result<Reply<HttpResponseCreated<UserCreated>>, HttpError>;

    /// Synchronise per-user configuration
    ///
    /// Admin only. Makes sure each user's (or the given user's) directories
    /// under the data dir exist and reports what was created. Agent
    /// configuration files are added to this step when the agent runtime
    /// lands. Also served at the original's path
    /// `POST /api/admin/users/sync-configs`. Errors: 404 for an unknown user.
    #[endpoint { method = POST, path = "/api/admin/user-configs/sync", tags = ["users"] }]
    async fn user_config_sync(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UserConfigSync>,
    ) -> Result<Reply<HttpResponseOk<Vec<UserConfigSyncResult>>>, HttpError>;

    /// Counts of users by role
    ///
    /// Admin only. Also served at the original's path
    /// `GET /api/admin/users/stats`.
    #[endpoint { method = GET, path = "/api/admin/user-stats", tags = ["users"] }]
    async fn user_stats(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<UserStats>>, HttpError>;

    /// Fetch a user
    ///
    /// Admin only. Errors: 404 for an unknown user.
    #[endpoint { method = GET, path = "/api/admin/users/{user_id}", tags = ["users"] }]
    async fn user_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<UserPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<UserView>>>, HttpError>;

    /// Update a user
    ///
    /// Admin only. A new password, a new role or deactivation makes the
    /// user's existing tokens stop working. An administrator cannot demote
    /// or deactivate the last active administrator. Errors: 404, 409 when
    /// the new username or email is taken, 422 for invalid fields.
    #[endpoint { method = PUT, path = "/api/admin/users/{user_id}", tags = ["users"] }]
    async fn user_update(
        rqctx: RequestContext<Self::Context>,
        path: Path<UserPath>,
        body: TypedBody<UserUpdate>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError>;

    /// Delete a user
    ///
    /// Admin only. The user's tokens stop working at once. Errors: 404, 409
    /// when deleting one's own account or the last active administrator.
    #[endpoint { method = DELETE, path = "/api/admin/users/{user_id}", tags = ["users"] }]
    async fn user_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<UserPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError>;

    /// Activate a user
    ///
    /// Admin only. Errors: 404.
    #[endpoint { method = POST, path = "/api/admin/users/{user_id}/activate", tags = ["users"] }]
    async fn user_activate(
        rqctx: RequestContext<Self::Context>,
        path: Path<UserPath>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError>;

    /// Deactivate a user
    ///
    /// Admin only. The user is refused at login and every token of theirs
    /// stops working. Errors: 404, 409 for one's own account or the last
    /// active administrator.
    #[endpoint { method = POST, path = "/api/admin/users/{user_id}/deactivate", tags = ["users"] }]
    async fn user_deactivate(
        rqctx: RequestContext<Self::Context>,
        path: Path<UserPath>,
    ) -> Result<Reply<HttpResponseOk<UserView>>, HttpError>;

    /// The original's `POST /api/admin/users/sync-configs`
    ///
    /// Unpublished alias of `user_config_sync` (see [`compat`]); any other
    /// segment is a 404.
    #[endpoint {
        method = POST,
        path = "/api/admin/users/{user_id}",
        tags = ["users"],
        unpublished = true,
    }]
    async fn user_collection_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<UserPath>,
        body: UntypedBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    // ------------------------------------------------------------- invites

    /// List invite codes
    ///
    /// Admin only. Newest first.
    #[endpoint { method = GET, path = "/api/admin/invite-codes", tags = ["invites"] }]
    async fn invite_code_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<InviteCodeListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<InviteCodeView>>>, HttpError>;

    /// Create an invite code
    ///
    /// Admin only. Errors: 409 when the code exists, 422 for invalid fields.
    #[endpoint { method = POST, path = "/api/admin/invite-codes", tags = ["invites"] }]
    async fn invite_code_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<InviteCodeCreate>,
    ) -> Result<Reply<HttpResponseCreated<InviteCodeView>>, HttpError>;

    /// Create many invite codes
    ///
    /// Admin only. All codes are created or none. Also served at the
    /// original's path `POST /api/admin/invite-codes/batch`. Errors: 422 for
    /// invalid fields.
    #[endpoint { method = POST, path = "/api/admin/invite-code-batches", tags = ["invites"] }]
    async fn invite_code_batch_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<InviteCodeBatchCreate>,
    ) -> Result<Reply<HttpResponseCreated<Vec<InviteCodeView>>>, HttpError>;

    /// Counts of invite codes by state
    ///
    /// Admin only. Also served at the original's path
    /// `GET /api/admin/invite-codes/stats`.
    #[endpoint { method = GET, path = "/api/admin/invite-code-stats", tags = ["invites"] }]
    async fn invite_code_stats(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<InviteCodeStats>>, HttpError>;

    /// Fetch an invite code
    ///
    /// Admin only. Errors: 404.
    #[endpoint { method = GET, path = "/api/admin/invite-codes/{code_id}", tags = ["invites"] }]
    async fn invite_code_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<InviteCodePath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<InviteCodeView>>>, HttpError>;

    /// Delete an invite code
    ///
    /// Admin only. Accounts registered with it are kept. Errors: 404.
    #[endpoint { method = DELETE, path = "/api/admin/invite-codes/{code_id}", tags = ["invites"] }]
    async fn invite_code_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<InviteCodePath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError>;

    /// Revoke an invite code
    ///
    /// Admin only. The code is kept for the record but can no longer be
    /// redeemed. Revoking twice is harmless. Errors: 404.
    #[endpoint { method = POST, path = "/api/admin/invite-codes/{code_id}/revoke", tags = ["invites"] }]
    async fn invite_code_revoke(
        rqctx: RequestContext<Self::Context>,
        path: Path<InviteCodePath>,
    ) -> Result<Reply<HttpResponseOk<InviteCodeView>>, HttpError>;

    /// The original's `POST /api/admin/invite-codes/batch`
    ///
    /// Unpublished alias of `invite_code_batch_create` (see [`compat`]); any
    /// other segment is a 404.
    #[endpoint {
        method = POST,
        path = "/api/admin/invite-codes/{code_id}",
        tags = ["invites"],
        unpublished = true,
    }]
    async fn invite_code_collection_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<InviteCodePath>,
        body: UntypedBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    // ------------------------------------------------------------ sessions

    /// List the caller's workspace sessions
    ///
    /// Most recently active first.
    #[endpoint { method = GET, path = "/api/sessions", tags = ["sessions"] }]
    async fn session_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Vec<SessionView>>>, HttpError>;

    /// Create and start a workspace session
    ///
    /// The workspace directory is created when missing. Starting may stop
    /// the caller's least recently active idle session to stay within the
    /// per-user cap. Errors: 409 when the cap is reached and no session is
    /// idle, 422 for a path outside the caller's workspace root.
    #[endpoint { method = POST, path = "/api/sessions", tags = ["sessions"] }]
    async fn session_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<SessionCreate>,
    ) -> Result<Reply<HttpResponseCreated<SessionView>>, HttpError>;

    /// Get a running workspace session, or resume or create one
    ///
    /// Returns the caller's most recently active running session (in the
    /// given workspace, when one is named), upgrading it when its runtime is
    /// outdated; else resumes the most recent stopped one; else creates one.
    /// Also served at the original's path `POST /api/sessions/get-or-create`.
    #[endpoint { method = POST, path = "/api/session-get-or-create", tags = ["sessions"] }]
    async fn session_get_or_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<SessionGetOrCreate>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError>;

    /// Get or create the workspace session of one workspace
    ///
    /// As `session_get_or_create` for the named workspace. Also served at the
    /// original's path `POST /api/sessions/get-or-create-for-workspace`.
    #[endpoint { method = POST, path = "/api/session-get-or-create-for-workspace", tags = ["sessions"] }]
    async fn session_get_or_create_for_workspace(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<SessionForWorkspace>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError>;

    /// Which of the caller's sessions run an outdated agent runtime
    ///
    /// Also served at the original's path `GET /api/sessions/updates`.
    #[endpoint { method = GET, path = "/api/session-updates", tags = ["sessions"] }]
    async fn session_update_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Vec<SessionUpdateView>>>, HttpError>;

    /// Fetch a workspace session
    ///
    /// By id or readable id. Errors: 404 (also for another user's session).
    #[endpoint { method = GET, path = "/api/sessions/{session_id}", tags = ["sessions"] }]
    async fn session_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<SessionView>>>, HttpError>;

    /// Delete a stopped workspace session
    ///
    /// The workspace directory is kept. Errors: 404, 409 while the session
    /// is active (stop it first).
    #[endpoint { method = DELETE, path = "/api/sessions/{session_id}", tags = ["sessions"] }]
    async fn session_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError>;

    /// The original's `POST /api/sessions/get-or-create[-for-workspace]`
    ///
    /// Unpublished alias (see [`compat`]); any other segment is a 404.
    #[endpoint {
        method = POST,
        path = "/api/sessions/{session_id}",
        tags = ["sessions"],
        unpublished = true,
    }]
    async fn session_collection_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
        body: UntypedBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    /// Stop a workspace session
    ///
    /// Stops its chats (their agents get SIGTERM, then SIGKILL after a grace
    /// period). Stopping a stopped session does nothing. Errors: 404.
    #[endpoint { method = POST, path = "/api/sessions/{session_id}/stop", tags = ["sessions"] }]
    async fn session_stop(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, HttpError>;

    /// Resume a stopped or failed workspace session
    ///
    /// Chats resume from their session files when next used. Errors: 404,
    /// 409 when the per-user cap is reached and no session is idle.
    #[endpoint { method = POST, path = "/api/sessions/{session_id}/resume", tags = ["sessions"] }]
    async fn session_resume(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError>;

    /// Keep a workspace session alive
    ///
    /// Touches its activity time, which holds off the idle stop. Errors: 404.
    #[endpoint { method = POST, path = "/api/sessions/{session_id}/activity", tags = ["sessions"] }]
    async fn session_activity(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseUpdatedNoContent>, HttpError>;

    /// Whether the session's agent runtime is outdated
    ///
    /// Compares the runtime version the session runs with the configured
    /// one (`agent.version`). Errors: 404.
    #[endpoint { method = GET, path = "/api/sessions/{session_id}/update", tags = ["sessions"] }]
    async fn session_update_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseOk<SessionUpdateView>>, HttpError>;

    /// Restart the session on the configured agent runtime
    ///
    /// Stops its chats and starts it again with the configured version.
    /// Errors: 404.
    #[endpoint { method = POST, path = "/api/sessions/{session_id}/upgrade", tags = ["sessions"] }]
    async fn session_upgrade(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseOk<SessionView>>, HttpError>;

    /// List every user's workspace sessions
    ///
    /// Admin only. Most recently active first.
    #[endpoint { method = GET, path = "/api/admin/sessions", tags = ["sessions"] }]
    async fn admin_session_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Vec<SessionView>>>, HttpError>;

    /// Stop and delete any workspace session
    ///
    /// Admin only. Errors: 404.
    #[endpoint { method = DELETE, path = "/api/admin/sessions/{session_id}", tags = ["sessions"] }]
    async fn admin_session_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError>;

    /// Kill orphan agent processes
    ///
    /// Admin only. Kills agent processes started by this server's data dir
    /// that no chat tracks (left behind by a crash), and marks sessions
    /// stopped that claim to run without a process behind them.
    #[endpoint { method = POST, path = "/api/admin/local/cleanup", tags = ["sessions"] }]
    async fn admin_local_cleanup(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<LocalCleanupReport>>, HttpError>;

    // ------------------------------------------------------------- history

    /// List the caller's chats
    ///
    /// Newest activity first. Indexed from the agents' session files
    /// (only what was appended since the last look is read).
    #[endpoint { method = GET, path = "/api/chat-history", tags = ["history"] }]
    async fn chat_history_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<ChatHistoryQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ChatHistoryEntry>>>, HttpError>;

    /// The caller's chats grouped by time
    ///
    /// Buckets today, yesterday, this week, this month and older, computed
    /// in the caller's time zone (`tz`, default UTC). Also served at the
    /// original's path `GET /api/chat-history/grouped`. Errors: 400 for an
    /// unknown time zone.
    #[endpoint { method = GET, path = "/api/chat-history-grouped", tags = ["history"] }]
    async fn chat_history_grouped_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<ChatHistoryGroupedQuery>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryGroups>>, HttpError>;

    /// One chat's history entry
    ///
    /// Errors: 404 (also for another user's chat).
    #[endpoint { method = GET, path = "/api/chat-history/{session_id}", tags = ["history"] }]
    async fn chat_history_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<ChatHistoryPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<ChatHistoryEntry>>>, HttpError>;

    /// Rename a chat
    ///
    /// The title persists across restarts. Errors: 404, 422 for a title
    /// that is too long.
    #[endpoint { method = PATCH, path = "/api/chat-history/{session_id}", tags = ["history"] }]
    async fn chat_history_update(
        rqctx: RequestContext<Self::Context>,
        path: Path<ChatHistoryPath>,
        body: TypedBody<ChatHistoryUpdate>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryEntry>>, HttpError>;

    /// Delete a chat for good
    ///
    /// Stops its agent, removes its session files and its history (search
    /// finds it no more), and tells the caller's other connections
    /// (`hstry` `chat_deleted`). Errors: 404 (also for another user's
    /// chat).
    #[endpoint { method = DELETE, path = "/api/chat-history/{session_id}", tags = ["history"] }]
    async fn chat_history_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<ChatHistoryPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError>;

    /// Re-index the caller's session files
    ///
    /// Brings the history of every chat of the caller up to date with its
    /// session file (what the live indexer missed, say while the server was
    /// down). Also served at the original's path `POST
    /// /api/chat-history/backfill`. Errors: 401.
    #[endpoint { method = POST, path = "/api/chat-history-backfill", tags = ["history"] }]
    async fn chat_history_backfill(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryBackfill>>, HttpError>;

    /// The original's `POST /api/chat-history/backfill`
    #[endpoint {
        method = POST,
        path = "/api/chat-history/{session_id}",
        tags = ["history"],
        unpublished = true,
    }]
    async fn chat_history_backfill_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<ChatHistoryPath>,
    ) -> Result<Reply<HttpResponseOk<ChatHistoryBackfill>>, HttpError>;

    /// A chat's messages
    ///
    /// Oldest first. Errors: 404.
    #[endpoint { method = GET, path = "/api/chat-history/{session_id}/messages", tags = ["history"] }]
    async fn chat_history_message_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<ChatHistoryPath>,
        query: Query<ChatMessagesQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ChatMessage>>>, HttpError>;

    /// Search the caller's chats
    ///
    /// Full-text search over every message (SQLite FTS5, or PostgreSQL
    /// full-text search). Errors: 400 for an empty query.
    #[endpoint { method = GET, path = "/api/search", tags = ["history"] }]
    async fn search(
        rqctx: RequestContext<Self::Context>,
        query: Query<SearchQuery>,
    ) -> Result<Reply<HttpResponseOk<SearchResults>>, HttpError>;

    // ------------------------------------------------------------ projects

    /// List your projects
    ///
    /// The non-hidden directories of the active location of a group (your
    /// workspace root unless you picked another), or of `path` inside it,
    /// pinned first, then by name. Errors: 404 for an unknown group, 422 for
    /// a path outside the location.
    #[endpoint { method = GET, path = "/api/projects", tags = ["projects"] }]
    async fn project_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<ProjectListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ProjectView>>>, HttpError>;

    /// List your workspace locations
    ///
    /// The built-in `home` location (your workspace root), the locations you
    /// added and the shared ones an admin configured, each group with one
    /// active location.
    #[endpoint { method = GET, path = "/api/projects/locations", tags = ["projects"] }]
    async fn project_location_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<LocationListQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<WorkspaceLocation>>>, HttpError>;

    /// Add or change a workspace location
    ///
    /// Your own locations lie inside your workspace root (created when
    /// missing); shared ones (`shared: true`) are for admins and may lie
    /// anywhere. Errors: 403 for a shared location without admin rights,
    /// 409 for the built-in `home` name, 422 for a bad name, a `remote`
    /// kind, or a path outside your workspace root.
    #[endpoint { method = POST, path = "/api/projects/locations", tags = ["projects"] }]
    async fn project_location_upsert(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<LocationUpsert>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceLocation>>, HttpError>;

    /// Pick the active location of a group
    ///
    /// `/api/projects` then lists it. Errors: 404 for an unknown location.
    #[endpoint { method = POST, path = "/api/projects/locations/active", tags = ["projects"] }]
    async fn project_location_activate(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<LocationSelect>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceLocation>>, HttpError>;

    /// List project templates
    ///
    /// The directories of the server's templates directory
    /// (`projects.templates_dir`), each with its `template.toml`.
    #[endpoint { method = GET, path = "/api/projects/templates", tags = ["projects"] }]
    async fn project_template_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<ProjectTemplateList>>, HttpError>;

    /// Create a project from a template
    ///
    /// Copies the template into your workspace root, replacing `{{name}}`
    /// placeholders in text files and file names. Nothing is left behind
    /// when it fails. Errors: 404 for an unknown template, 409 when the
    /// project exists, 422 for a path outside your workspace root.
    #[endpoint { method = POST, path = "/api/projects/templates", tags = ["projects"] }]
    async fn project_create_from_template(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<ProjectFromTemplate>,
    ) -> Result<Reply<HttpResponseCreated<ProjectView>>, HttpError>;

    /// A project's logo image
    ///
    /// A file in a project's `logo/` folder, at most 1 MiB, served with the
    /// image type its bytes show (PNG, JPEG, GIF, WebP or SVG; SVG with a
    /// content security policy that allows no scripts) and cache headers.
    /// Also served at the original's path `/api/projects/logo/{*path}`.
    /// Errors: 404, 422 for a path outside your workspace root, outside a
    /// `logo/` folder, too large, or not an image.
    #[endpoint { method = GET, path = "/api/projects/logo", tags = ["projects"] }]
    async fn project_logo_view(
        rqctx: RequestContext<Self::Context>,
        query: Query<ProjectLogoQuery>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError>;

    /// The original's `GET /api/projects/logo/{*path}`
    ///
    /// Unpublished alias of `project_logo_view` (Dropshot publishes no
    /// wildcard paths).
    #[endpoint {
        method = GET,
        path = "/api/projects/logo/{path:.*}",
        tags = ["projects"],
        unpublished = true,
    }]
    async fn project_logo_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<ProjectLogoPath>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError>;

    /// A workspace's metadata
    ///
    /// From its `.oqto/workspace.toml`. Errors: 404 for a missing
    /// directory, 422 for a path outside your workspace root.
    #[endpoint { method = GET, path = "/api/workspace/meta", tags = ["projects"] }]
    async fn workspace_meta_view(
        rqctx: RequestContext<Self::Context>,
        query: Query<WorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceMeta>>, HttpError>;

    /// Change a workspace's metadata
    ///
    /// Other keys of `.oqto/workspace.toml` are kept. Errors: 404, 422.
    #[endpoint { method = PATCH, path = "/api/workspace/meta", tags = ["projects"] }]
    async fn workspace_meta_update(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<WorkspaceMetaUpdate>,
    ) -> Result<Reply<HttpResponseOk<WorkspaceMeta>>, HttpError>;

    /// A workspace's effective sandbox profile
    ///
    /// The server's default profile, or the stricter one the workspace
    /// picked, with the workspace's additions applied: what every agent and
    /// terminal of the workspace starts under (network, binds, limits).
    /// Additions that would loosen anything are never applied. Errors: 404,
    /// 422.
    #[endpoint { method = GET, path = "/api/workspace/sandbox", tags = ["projects"] }]
    async fn workspace_sandbox_view(
        rqctx: RequestContext<Self::Context>,
        query: Query<WorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<SandboxView>>, HttpError>;

    /// Add restrictions to a workspace's sandbox
    ///
    /// Only restrictions: a looser profile, `allow_write` entries the
    /// profile does not allow, read-write binds and higher limits are
    /// refused with 422 naming the field. Agents and terminals started
    /// afterwards run under the new profile. Errors: 404, 422.
    #[endpoint { method = PATCH, path = "/api/workspace/sandbox", tags = ["projects"] }]
    async fn workspace_sandbox_update(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<SandboxUpdate>,
    ) -> Result<Reply<HttpResponseOk<SandboxView>>, HttpError>;

    /// A workspace's agent resources
    ///
    /// The skills, extensions and prompt templates of the server's library
    /// (`projects.pi_resources_dir`) and which of them are applied to the workspace's
    /// `.pi/` folder, where the agent finds them. Errors: 404, 422.
    #[endpoint { method = GET, path = "/api/workspace/pi-resources", tags = ["projects"] }]
    async fn workspace_pi_resources_view(
        rqctx: RequestContext<Self::Context>,
        query: Query<WorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<PiResources>>, HttpError>;

    /// Apply agent resources to a workspace
    ///
    /// Copies the selected library resources (all of a kind in `all` mode,
    /// the named ones plus the mandatory ones in `custom` mode) into the
    /// workspace's `.pi/` folder and removes those applied earlier and no
    /// longer selected; files the workspace made itself are kept. Nothing
    /// changes when the request is refused. Errors: 404, 409 when the
    /// workspace has a file of its own where a resource would go, 422 for
    /// an unknown resource name.
    #[endpoint { method = POST, path = "/api/workspace/pi-resources", tags = ["projects"] }]
    async fn workspace_pi_resources_apply(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<PiResourcesApply>,
    ) -> Result<Reply<HttpResponseOk<PiResources>>, HttpError>;

    // ----------------------------------------------------------------- mux

    /// The multiplexed WebSocket
    ///
    /// Upgrades to a WebSocket carrying every real-time channel; frames are
    /// described by `mux.schema.json`. The token may come as
    /// `Authorization: Bearer`, the `token` query parameter (a ticket from
    /// `POST /api/ws/ticket`, or a session token), or the `auth_token`
    /// cookie; a cookie is accepted only from the server's own origin or
    /// one of `server.allowed_origins`. Errors: 401 before the upgrade
    /// without a valid token, 403 for a cookie from another origin.
    #[endpoint { method = GET, path = "/api/ws/mux", tags = ["mux"] }]
    async fn mux_connect(
        rqctx: RequestContext<Self::Context>,
        query: Query<MuxQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult;

    /// A ticket that opens the mux from a browser
    ///
    /// Short-lived (60 s) and single-use, so that no long-lived token has
    /// to appear in a URL. The socket it opens lives as long as the token
    /// that asked for it (and closes when that is revoked). Errors: 401.
    #[endpoint { method = POST, path = "/api/ws/ticket", tags = ["mux"] }]
    async fn mux_ticket_create(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseCreated<MuxTicket>>, HttpError>;

    /// Live mux connections
    ///
    /// Public: anyone sees how many connections are open; an administrator
    /// also sees each one's id, subscriptions (chat ids), queue depth and
    /// age (never users, tokens or emails).
    #[endpoint { method = GET, path = "/api/ws/debug", tags = ["mux"] }]
    async fn mux_debug_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<MuxDebugView>>, HttpError>;

    // ---------------------------------------------------------------- keys

    /// The caller's API keys
    ///
    /// Newest first, revoked ones included (never the keys themselves).
    /// Errors: 401, 403 for a caller authenticated by an API key.
    #[endpoint { method = GET, path = "/api/keys", tags = ["keys"] }]
    async fn api_key_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Vec<ApiKeyView>>>, HttpError>;

    /// Create an API key
    ///
    /// The key is in this answer only; the server keeps only its hash. Use
    /// it as `Authorization: Bearer <key>`: it acts as the caller within its
    /// scopes (`read`: `GET` requests; `write`: every non-admin route;
    /// `admin`: the administration routes, for administrators), until it
    /// expires, is revoked, or the account is deactivated. A key cannot
    /// manage keys, change the password or open the mux. Errors: 401, 403
    /// for a caller authenticated by an API key, 422 for an empty name, an
    /// `admin` scope of a non-administrator, or an expiry in the past.
    #[endpoint { method = POST, path = "/api/keys", tags = ["keys"] }]
    async fn api_key_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<ApiKeyCreate>,
    ) -> Result<Reply<HttpResponseCreated<ApiKeyCreated>>, HttpError>;

    /// Revoke an API key
    ///
    /// It stops working at once; it stays listed as revoked. The original's
    /// method (`DELETE`) is kept. Errors: 401, 403 for a caller
    /// authenticated by an API key, 404 (also for another user's key).
    #[endpoint { method = DELETE, path = "/api/keys/{key_id}/revoke", tags = ["keys"] }]
    async fn api_key_revoke(
        rqctx: RequestContext<Self::Context>,
        path: Path<ApiKeyPath>,
    ) -> Result<Reply<HttpResponseOk<ApiKeyView>>, HttpError>;

    /// Delete an API key
    ///
    /// Revoked and forgotten. Errors: 401, 403 for a caller authenticated
    /// by an API key, 404 (also for another user's key).
    #[endpoint { method = DELETE, path = "/api/keys/{key_id}", tags = ["keys"] }]
    async fn api_key_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<ApiKeyPath>,
    ) -> Result<Reply<HttpResponseDeleted>, HttpError>;

    /// Sign-in providers other than passwords
    ///
    /// Public. None is offered yet: `{enabled: false, providers: []}`.
    #[endpoint { method = GET, path = "/api/oauth/providers", tags = ["auth"] }]
    async fn oauth_provider_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OauthProviders>>, HttpError>;

    // ---------------------------------------------------------- onboarding

    /// The caller's onboarding
    ///
    /// Where the caller is in the guided first steps and which parts of the
    /// interface are unlocked. Errors: 401.
    #[endpoint { method = GET, path = "/api/onboarding", tags = ["onboarding"] }]
    async fn onboarding_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Change the caller's onboarding
    ///
    /// Sets the stage, languages, level or tutorial step; `complete: true`
    /// completes it. Errors: 401, 422 for an invalid language tag.
    #[endpoint { method = PUT, path = "/api/onboarding", tags = ["onboarding"] }]
    async fn onboarding_update(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<OnboardingUpdate>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Whether the caller still has to be onboarded
    ///
    /// Errors: 401.
    #[endpoint { method = GET, path = "/api/onboarding/check", tags = ["onboarding"] }]
    async fn onboarding_check(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OnboardingCheck>>, HttpError>;

    /// Advance the caller's onboarding by one step
    ///
    /// language → provider → profile → personality → tutorial → complete;
    /// reaching the end completes onboarding and unlocks the sidebar, the
    /// session list, the file tree and the settings. Errors: 401.
    #[endpoint { method = POST, path = "/api/onboarding/advance", tags = ["onboarding"] }]
    async fn onboarding_advance(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Unlock one part of the interface for the caller
    ///
    /// Errors: 401, 400 for an unknown component.
    #[endpoint { method = POST, path = "/api/onboarding/unlock/{component}", tags = ["onboarding"] }]
    async fn onboarding_unlock(
        rqctx: RequestContext<Self::Context>,
        path: Path<OnboardingUnlockPath>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Skip onboarding: everything unlocked
    ///
    /// The caller's own interface only: every component unlocked, the
    /// technical level, onboarding completed. Errors: 401.
    #[endpoint { method = POST, path = "/api/onboarding/godmode", tags = ["onboarding"] }]
    async fn onboarding_godmode(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Complete the caller's onboarding
    ///
    /// Errors: 401.
    #[endpoint { method = POST, path = "/api/onboarding/complete", tags = ["onboarding"] }]
    async fn onboarding_complete(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Start the caller's onboarding over
    ///
    /// Errors: 401.
    #[endpoint { method = POST, path = "/api/onboarding/reset", tags = ["onboarding"] }]
    async fn onboarding_reset(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<OnboardingView>>, HttpError>;

    /// Create the caller's first workspace
    ///
    /// Makes `main` in the caller's workspace root from the onboarding
    /// template (`<data_dir>/onboarding/`, or the built-in `AGENTS.md`,
    /// `BOOTSTRAP.md`, `PERSONALITY.md`, `USER.md`), with its metadata
    /// (`display_name`, `language`, pinned, bootstrap pending) and
    /// `.pi/context.json` naming the context files. Calling it again
    /// changes nothing and answers the same path. Errors: 401, 422 for an
    /// empty or overlong name or an invalid language tag.
    #[endpoint { method = POST, path = "/api/onboarding/bootstrap", tags = ["onboarding"] }]
    async fn onboarding_bootstrap(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<OnboardingBootstrap>,
    ) -> Result<Reply<HttpResponseOk<OnboardingBootstrapped>>, HttpError>;

    // ------------------------------------------------------------ memories

    /// List a workspace's memories
    ///
    /// Newest first, `limit` 1 to 100 (default 50) from `offset`, optionally
    /// of one `store`, with the `total` count. Errors: 401, 422 for a
    /// workspace outside the caller's root, 400 for a bad `limit`.
    #[endpoint { method = GET, path = "/api/workspace/memories", tags = ["memories"] }]
    async fn memory_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<MemoryWorkspaceListQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryList>>, HttpError>;

    /// Add a memory to a workspace
    ///
    /// The text comes as `content`, `text` or `memory` (the first that is not
    /// blank). Defaults: `memory_type` semantic, `importance` 5, `category`
    /// general, the store named after the workspace directory. Errors: 400
    /// without text, 422 for a value out of bounds or a workspace outside the
    /// caller's root.
    #[endpoint { method = POST, path = "/api/workspace/memories", tags = ["memories"] }]
    async fn memory_create(
        rqctx: RequestContext<Self::Context>,
        query: Query<MemoryWorkspaceQuery>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseCreated<MemoryCreated>>, HttpError>;

    /// Search a workspace's memories
    ///
    /// Full-text: every word must occur (in the content, category or tags);
    /// ranked by relevance (FTS5 bm25 on SQLite, `ts_rank` on PostgreSQL),
    /// each result with its `rank`; filters by store, tags (all of them),
    /// category and type. Also served at the original's path
    /// `POST /api/workspace/memories/search`. Errors: 400 for an empty query.
    #[endpoint { method = POST, path = "/api/workspace/memory-search", tags = ["memories"] }]
    async fn memory_search(
        rqctx: RequestContext<Self::Context>,
        query: Query<MemoryWorkspaceQuery>,
        body: TypedBody<MemorySearch>,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError>;

    /// The original's `POST /api/workspace/memories/search`
    #[endpoint {
        method = POST,
        path = "/api/workspace/memories/{memory_id}",
        tags = ["memories"],
        unpublished = true,
    }]
    async fn memory_search_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
        body: UntypedBody,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError>;

    /// A workspace's memory stores
    ///
    /// Each store's name and how many memories it holds, by name.
    #[endpoint { method = GET, path = "/api/workspace/memory-stores", tags = ["memories"] }]
    async fn memory_store_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<MemoryWorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryStores>>, HttpError>;

    /// Fetch a memory of a workspace
    ///
    /// Errors: 404 for an unknown id, or one of another workspace or user.
    #[endpoint { method = GET, path = "/api/workspace/memories/{memory_id}", tags = ["memories"] }]
    async fn memory_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<Memory>>, HttpError>;

    /// Change a memory of a workspace
    ///
    /// The fields given replace the memory's (the text as on creation);
    /// the others are kept. Errors: 404, 422 as on creation.
    #[endpoint { method = PUT, path = "/api/workspace/memories/{memory_id}", tags = ["memories"] }]
    async fn memory_update(
        rqctx: RequestContext<Self::Context>,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseOk<Memory>>, HttpError>;

    /// Delete a memory of a workspace
    ///
    /// Errors: 404.
    #[endpoint { method = DELETE, path = "/api/workspace/memories/{memory_id}", tags = ["memories"] }]
    async fn memory_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<MemoryPath>,
        query: Query<MemoryWorkspaceQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryDeleted>>, HttpError>;

    /// List the memories of a workspace session's workspace
    ///
    /// As `GET /api/workspace/memories` for the session's workspace.
    /// Errors: 404 for an unknown session or another user's.
    #[endpoint { method = GET, path = "/api/session/{session_id}/memories", tags = ["memories"] }]
    async fn session_memory_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoriesPath>,
        query: Query<MemoryListQuery>,
    ) -> Result<Reply<HttpResponseOk<MemoryList>>, HttpError>;

    /// Add a memory to a workspace session's workspace
    #[endpoint { method = POST, path = "/api/session/{session_id}/memories", tags = ["memories"] }]
    async fn session_memory_create(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoriesPath>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseCreated<MemoryCreated>>, HttpError>;

    /// Search the memories of a workspace session's workspace
    ///
    /// Also served at the original's path
    /// `POST /api/session/{session_id}/memories/search`.
    #[endpoint { method = POST, path = "/api/session/{session_id}/memory-search", tags = ["memories"] }]
    async fn session_memory_search(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoriesPath>,
        body: TypedBody<MemorySearch>,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError>;

    /// The original's `POST /api/session/{session_id}/memories/search`
    #[endpoint {
        method = POST,
        path = "/api/session/{session_id}/memories/{memory_id}",
        tags = ["memories"],
        unpublished = true,
    }]
    async fn session_memory_search_alias(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoryPath>,
        body: UntypedBody,
    ) -> Result<Reply<HttpResponseOk<MemorySearchResults>>, HttpError>;

    /// The memory stores of a workspace session's workspace
    ///
    /// Also served at the original's path
    /// `GET /api/session/{session_id}/memories/stores`.
    #[endpoint { method = GET, path = "/api/session/{session_id}/memory-stores", tags = ["memories"] }]
    async fn session_memory_store_list(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoriesPath>,
    ) -> Result<Reply<HttpResponseOk<MemoryStores>>, HttpError>;

    /// Fetch a memory of a workspace session's workspace
    #[endpoint { method = GET, path = "/api/session/{session_id}/memories/{memory_id}", tags = ["memories"] }]
    async fn session_memory_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoryPath>,
    ) -> Result<Reply<Aliased<HttpResponseOk<Memory>>>, HttpError>;

    /// Change a memory of a workspace session's workspace
    #[endpoint { method = PUT, path = "/api/session/{session_id}/memories/{memory_id}", tags = ["memories"] }]
    async fn session_memory_update(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoryPath>,
        body: TypedBody<MemoryCreate>,
    ) -> Result<Reply<HttpResponseOk<Memory>>, HttpError>;

    /// Delete a memory of a workspace session's workspace
    #[endpoint { method = DELETE, path = "/api/session/{session_id}/memories/{memory_id}", tags = ["memories"] }]
    async fn session_memory_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<SessionMemoryPath>,
    ) -> Result<Reply<HttpResponseOk<MemoryDeleted>>, HttpError>;

    // ---------------------------------------------------------------- a2ui

    /// Show a surface in a chat
    ///
    /// For one of the caller's open chats: the surface goes to the chat's
    /// viewers as an `a2ui.surface` event (and to viewers that subscribe
    /// while it is open). A blocking request waits for the user's
    /// `a2ui.action` and answers it; a non-blocking surface's actions reach
    /// the chat's agent as user messages. Errors: 404 for a chat that is
    /// not the caller's, 409 when it is not open, 422 for messages that are
    /// not A2UI messages or too large, 408 when a blocking request times out
    /// (the surface stays, its actions then go to the agent).
    #[endpoint { method = POST, path = "/api/a2ui/surface", tags = ["a2ui"] }]
    async fn a2ui_surface_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<A2uiSurfaceCreate>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError>;

    /// Remove a surface
    ///
    /// Viewers get a `deleteSurface` message; a request still waiting on
    /// it answers 409. Errors: 404 for an unknown surface or chat.
    #[endpoint { method = DELETE, path = "/api/a2ui/surface/{session_id}/{surface_id}", tags = ["a2ui"] }]
    async fn a2ui_surface_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<A2uiSurfacePath>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError>;

    // ------------------------------------------------------------ delegate

    /// Start a delegate
    ///
    /// A new chat of the caller's (id `dlg-…`), a real agent under the same
    /// supervisor, working in `directory` on `prompt`. Called with a chat's
    /// agent token (`OQTO_TOKEN`), the delegate is that chat's child: its
    /// directory is relative to the chat's, and the chat's viewers follow it
    /// as `delegate.start`, `delegate.delta`, `delegate.end` and
    /// `delegate.error` events. Every delegation route answers only a
    /// caller on this machine (the TCP peer is loopback, whatever
    /// `X-Forwarded-For` or `Forwarded` say) and authenticated. Errors: 400
    /// for an empty prompt, 403 from another machine or past the depth
    /// limit (`agent.delegate_max_depth`, default 3), 422 for a directory
    /// outside the workspace root, an unknown agent or an overlong prompt,
    /// 429 with as many delegates running as `agent.delegate_max_running`
    /// allows (default 4).
    #[endpoint { method = POST, path = "/api/delegate/start", tags = ["delegate"] }]
    async fn delegate_start(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<DelegateStart>,
    ) -> Result<Reply<HttpResponseCreated<DelegateStatus>>, HttpError>;

    /// Prompt a delegate again
    ///
    /// Starts its agent again when it was stopped; while it works the
    /// prompt is a follow-up. The parent's viewers get a new
    /// `delegate.start`. Errors: 400 for an empty prompt, 403 from another
    /// machine, 404 for an id that is not one of the caller's delegates.
    #[endpoint { method = POST, path = "/api/delegate/prompt/{session_id}", tags = ["delegate"] }]
    async fn delegate_prompt(
        rqctx: RequestContext<Self::Context>,
        path: Path<DelegatePath>,
        body: TypedBody<DelegatePrompt>,
    ) -> Result<Reply<HttpResponseOk<DelegateStatus>>, HttpError>;

    /// A delegate's status
    ///
    /// Errors: 403 from another machine, 404 for an id that is not one of
    /// the caller's delegates.
    #[endpoint { method = GET, path = "/api/delegate/status/{session_id}", tags = ["delegate"] }]
    async fn delegate_status(
        rqctx: RequestContext<Self::Context>,
        path: Path<DelegatePath>,
    ) -> Result<Reply<HttpResponseOk<DelegateStatus>>, HttpError>;

    /// A delegate's messages
    ///
    /// Its latest `limit` messages (default 20) from its chat history,
    /// oldest first, in the shape of `GET /api/chat-history/{id}/messages`.
    /// Errors: 403 from another machine, 404 for an id that is not one of
    /// the caller's delegates.
    #[endpoint { method = GET, path = "/api/delegate/messages/{session_id}", tags = ["delegate"] }]
    async fn delegate_messages(
        rqctx: RequestContext<Self::Context>,
        path: Path<DelegatePath>,
        query: Query<DelegateMessagesQuery>,
    ) -> Result<Reply<HttpResponseOk<Vec<ChatMessage>>>, HttpError>;

    /// Stop a delegate
    ///
    /// Its agent stops (a prompt in progress ends with `delegate.error`
    /// `cancelled`); its history stays and another prompt starts it again.
    /// Errors: 403 from another machine, 404 for an id that is not one of
    /// the caller's delegates.
    #[endpoint { method = POST, path = "/api/delegate/stop/{session_id}", tags = ["delegate"] }]
    async fn delegate_stop(
        rqctx: RequestContext<Self::Context>,
        path: Path<DelegatePath>,
    ) -> Result<Reply<HttpResponseOk<DelegateStopped>>, HttpError>;

    /// The caller's delegates
    ///
    /// Newest first, at most 200. With a chat's agent token, that chat's
    /// children only. Errors: 403 from another machine.
    #[endpoint { method = GET, path = "/api/delegate/sessions", tags = ["delegate"] }]
    async fn delegate_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Vec<DelegateStatus>>>, HttpError>;

    // ------------------------------------------------------------- testing

    /// Add an event to one of your chats (dev mode)
    ///
    /// Only on a server in dev mode (`auth.dev_mode`; 404 otherwise,
    /// whatever the build), for one of the caller's open chats: the event
    /// goes through the chat's stream like the agent's own (sequence
    /// number, replay, the bus). Errors: 404, 409 for a chat that is not
    /// open.
    #[endpoint { method = POST, path = "/api/test/event", tags = ["testing"] }]
    async fn test_event(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<TestEvent>,
    ) -> Result<Reply<HttpResponseOk<TestEventSent>>, HttpError>;

    /// Show a surface in one of your chats (dev mode)
    ///
    /// As `POST /api/a2ui/surface`, on a server in dev mode only (404
    /// otherwise).
    #[endpoint { method = POST, path = "/api/test/a2ui", tags = ["testing"] }]
    async fn test_a2ui(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<A2uiSurfaceCreate>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError>;

    /// Show a sample form in one of your chats (dev mode)
    ///
    /// A name field and a button, as `POST /api/a2ui/surface` shows it, on
    /// a server in dev mode only (404 otherwise).
    #[endpoint { method = POST, path = "/api/test/a2ui/sample", tags = ["testing"] }]
    async fn test_a2ui_sample(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<TestA2uiSample>,
    ) -> Result<Reply<HttpResponseOk<A2uiSurfaceResult>>, HttpError>;

    // ------------------------------------------------------------------ ui

    /// Go to a page of the web client
    ///
    /// Sent as a `ui.navigate` event to the caller's own mux connections only;
    /// `delivered` says to how many. `path` must start with `/` and name no other site (422 otherwise).
    #[endpoint { method = POST, path = "/api/ui/navigate", tags = ["ui"] }]
    async fn ui_navigate(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiNavigate>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Switch the web client to a chat
    ///
    /// Sent as a `ui.session` event to the caller's own mux connections only;
    /// `delivered` says to how many. The chat must be one of the caller's (404 otherwise).
    #[endpoint { method = POST, path = "/api/ui/session", tags = ["ui"] }]
    async fn ui_session(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiSession>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Switch the web client's main view
    ///
    /// Sent as a `ui.view` event to the caller's own mux connections only;
    /// `delivered` says to how many. `view` is a name of letters, digits, `-` and `_` (422 otherwise).
    #[endpoint { method = POST, path = "/api/ui/view", tags = ["ui"] }]
    async fn ui_view(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiView>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Open or close the command palette
    ///
    /// Sent as a `ui.palette` event to the caller's own mux connections only;
    /// `delivered` says to how many.
    #[endpoint { method = POST, path = "/api/ui/palette", tags = ["ui"] }]
    async fn ui_palette(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiPalette>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Run a command of the palette
    ///
    /// Sent as a `ui.palette_exec` event to the caller's own mux connections only;
    /// `delivered` says to how many. `command` is one of the palette's commands (`new_chat`, `toggle_theme`, …; 400 otherwise); `args` at most 16 KiB.
    #[endpoint { method = POST, path = "/api/ui/palette/exec", tags = ["ui"] }]
    async fn ui_palette_exec(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiPaletteExec>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Highlight an element of the page
    ///
    /// Sent as a `ui.spotlight` event to the caller's own mux connections only;
    /// `delivered` says to how many. Texts are at most 2000 characters, `target` at most 256.
    #[endpoint { method = POST, path = "/api/ui/spotlight", tags = ["ui"] }]
    async fn ui_spotlight(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiSpotlight>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Start a guided tour of spotlights
    ///
    /// Sent as a `ui.tour` event to the caller's own mux connections only;
    /// `delivered` says to how many. 1 to 50 steps; `start_index` must name one of them.
    #[endpoint { method = POST, path = "/api/ui/tour", tags = ["ui"] }]
    async fn ui_tour(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiTour>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Collapse or expand the sidebar
    ///
    /// Sent as a `ui.sidebar` event to the caller's own mux connections only;
    /// `delivered` says to how many. Toggles when `collapsed` is absent.
    #[endpoint { method = POST, path = "/api/ui/sidebar", tags = ["ui"] }]
    async fn ui_sidebar(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiSidebar>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Show a view in the right panel, or collapse it
    ///
    /// Sent as a `ui.panel` event to the caller's own mux connections only;
    /// `delivered` says to how many. `view` as for `ui/view`.
    #[endpoint { method = POST, path = "/api/ui/panel", tags = ["ui"] }]
    async fn ui_panel(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiPanel>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    /// Switch the web client's theme
    ///
    /// Sent as a `ui.theme` event to the caller's own mux connections only;
    /// `delivered` says to how many. `theme` is `light`, `dark` or `system` (400 otherwise).
    #[endpoint { method = POST, path = "/api/ui/theme", tags = ["ui"] }]
    async fn ui_theme(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<UiTheme>,
    ) -> Result<Reply<HttpResponseOk<UiDelivered>>, HttpError>;

    // ------------------------------------------------------------ settings

    /// The settings schema
    ///
    /// A JSON schema of `app`'s keys, each marked `x-scope` (`user`: every
    /// user sets their own; `admin`: the server's, administrators only),
    /// `x-live` (takes effect at once) and, for secrets, `x-secret`. Users
    /// see only the keys they may set. `oqto`'s schema is generated from the
    /// server's configuration types. Errors: 404 for an unknown app.
    #[endpoint { method = GET, path = "/api/settings/schema", tags = ["settings"] }]
    async fn settings_schema_view(
        rqctx: RequestContext<Self::Context>,
        query: Query<SettingsQuery>,
    ) -> Result<Reply<HttpResponseOk<serde_json::Value>>, HttpError>;

    /// The settings' values
    ///
    /// Every key the caller sees, by dotted path: its value, whether it is
    /// set, its default, its scope and whether a change is live. Secrets
    /// (a database URL, API keys) are never returned: `has_value` says
    /// whether there is one. `pi-agent` and `pi-models` are the caller's own
    /// agent `settings.json` and `models.json`. Errors: 404 for an unknown
    /// app, 409 for an agent file that is not valid JSON.
    #[endpoint { method = GET, path = "/api/settings", tags = ["settings"] }]
    async fn settings_view(
        rqctx: RequestContext<Self::Context>,
        query: Query<SettingsQuery>,
    ) -> Result<Reply<HttpResponseOk<BTreeMap<String, SettingValue>>>, HttpError>;

    /// Change settings
    ///
    /// Each value is checked against the schema first; one bad value
    /// refuses the whole change and nothing is written. A user's keys are
    /// stored for that user only; server keys (administrators) go to the
    /// config file, written atomically with the previous version kept as
    /// `.bak`, and what can change while running (log level, idle timeouts,
    /// session and agent limits, registration, login limits) takes effect at
    /// once; `restart_required` lists the rest. `null` returns a key to its
    /// default. Errors: 400 without values, 403 for a server key from a
    /// user, 422 naming every unknown or invalid key and why (also for a key
    /// set by an environment variable or a flag).
    #[endpoint { method = PATCH, path = "/api/settings", tags = ["settings"] }]
    async fn settings_update(
        rqctx: RequestContext<Self::Context>,
        query: Query<SettingsQuery>,
        body: TypedBody<SettingsUpdate>,
    ) -> Result<Reply<HttpResponseOk<SettingsUpdated>>, HttpError>;

    /// Re-read the settings
    ///
    /// `oqto` (administrators): re-reads the config file (as the server also
    /// does when the file changes); an invalid file is refused with the
    /// reason and the running configuration stays. The agent apps are read
    /// on every request; reloading them changes nothing. Errors: 403, 422
    /// for an invalid file.
    #[endpoint { method = POST, path = "/api/settings/reload", tags = ["settings"] }]
    async fn settings_reload(
        rqctx: RequestContext<Self::Context>,
        query: Query<SettingsQuery>,
    ) -> Result<Reply<HttpResponseOk<SettingsReloaded>>, HttpError>;

    // ------------------------------------------------------------ feedback

    /// Send feedback to the operators
    ///
    /// Stored with the author's id and username; `workspace_path`, when
    /// given, must be one of the caller's workspaces. At most 30 reports an
    /// hour per user. Errors: 400 for a blank title or body, 422 for an
    /// overlong one, too many tags or a workspace outside the caller's root,
    /// 429 past the hourly limit.
    #[endpoint { method = POST, path = "/api/feedback", tags = ["feedback"] }]
    async fn feedback_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<FeedbackCreate>,
    ) -> Result<Reply<HttpResponseCreated<Feedback>>, HttpError>;

    /// Every user's feedback
    ///
    /// Admin only. Newest first, `limit` 1 to 200 (default 50) from
    /// `offset`, with the `total`.
    #[endpoint { method = GET, path = "/api/admin/feedback", tags = ["feedback"] }]
    async fn feedback_list(
        rqctx: RequestContext<Self::Context>,
        query: Query<FeedbackListQuery>,
    ) -> Result<Reply<HttpResponseOk<FeedbackList>>, HttpError>;

    // ----------------------------------------------------------------- bus

    /// The event bus's counters
    ///
    /// Admin only. Events published, delivered, and dropped (over a
    /// subscriber's or publisher's rate, or refused for a scope the caller
    /// may not use), subscribers, and the ring of recent events `pull`
    /// reads.
    #[endpoint { method = GET, path = "/api/admin/bus/stats", tags = ["bus"] }]
    async fn bus_stats(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<BusStats>>, HttpError>;

    /// Publish an event on the bus
    ///
    /// Admin only; any scope. The event is stamped `source: {type: admin,
    /// user_id}` and delivered to the scope's subscribers of its topic.
    /// Errors: 422 for an empty or malformed topic or scope id, or a
    /// payload over 64 KiB.
    #[endpoint { method = POST, path = "/api/admin/bus/publish", tags = ["bus"] }]
    async fn bus_publish(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<BusPublish>,
    ) -> Result<Reply<HttpResponseCreated<BusEvent>>, HttpError>;

    // ---------------------------------------------------------------- eavs

    /// The model providers
    ///
    /// Admin only. Every provider with its models and whether it has a key
    /// (`has_api_key`; keys are never shown), and `eavs_url`, the model
    /// proxy's base that users' agents are given.
    #[endpoint { method = GET, path = "/api/admin/eavs/providers", tags = ["eavs"] }]
    async fn eavs_provider_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<ProviderList>>, HttpError>;

    /// Add or replace a model provider
    ///
    /// Admin only. By name; a replace without `api_key` keeps the stored
    /// key. The key is stored sealed (AES-256-GCM with a key derived from
    /// the server's secret) and is never shown or logged. Every user's agent
    /// `models.json` is then rewritten: the provider appears there with the
    /// model proxy as its address and the user's own proxy token as its key.
    /// Errors: 422 for a bad name, unknown type, missing or bad `base_url`,
    /// or no models.
    #[endpoint { method = POST, path = "/api/admin/eavs/providers", tags = ["eavs"] }]
    async fn eavs_provider_upsert(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<ProviderCreate>,
    ) -> Result<Reply<HttpResponseOk<ProviderView>>, HttpError>;

    /// Remove a model provider
    ///
    /// Admin only. It is taken out of every user's `models.json`.
    #[endpoint { method = DELETE, path = "/api/admin/eavs/providers/{name}", tags = ["eavs"] }]
    async fn eavs_provider_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<ProviderPath>,
    ) -> Result<Reply<HttpResponseOk<ProviderDeleted>>, HttpError>;

    /// Write every user's model configuration
    ///
    /// Admin only. Rewrites each user's agent `models.json` from the stored
    /// providers (providers the user added under other names stay), each
    /// file replaced atomically.
    #[endpoint { method = POST, path = "/api/admin/eavs/sync-models", tags = ["eavs"] }]
    async fn eavs_models_sync(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<ModelsSynced>>, HttpError>;

    /// A model in the shipped catalog
    ///
    /// Admin only. Context window, output limit, inputs, reasoning and
    /// prices of a well-known model, to fill a provider's model list.
    /// Errors: 404 for a model not in the catalog.
    #[endpoint { method = GET, path = "/api/admin/eavs/catalog-lookup", tags = ["eavs"] }]
    async fn eavs_catalog_lookup(
        rqctx: RequestContext<Self::Context>,
        query: Query<CatalogQuery>,
    ) -> Result<Reply<HttpResponseOk<CatalogEntry>>, HttpError>;

    /// The model proxy, `POST /api/llm/{provider}/{path}`
    ///
    /// Unpublished (a wildcard path; also GET). What users' agents call:
    /// the token from their `models.json` (as `Authorization: Bearer`,
    /// `x-api-key`, `api-key` or `x-goog-api-key`, whichever their API
    /// sends) is checked, then the request is relayed to the provider's
    /// base with the path below it and the provider's real key, and the
    /// answer (a stream of events, too) streamed back. Errors: 401 for
    /// another token, 404 for an unknown provider, 502 when the provider
    /// cannot be reached or does not answer within 120 s.
    #[endpoint {
        method = POST,
        path = "/api/llm/{path:.*}",
        tags = ["eavs"],
        unpublished = true,
        request_body_max_bytes = eavs::MAX_LLM_BODY_BYTES,
    }]
    async fn llm_post(
        rqctx: RequestContext<Self::Context>,
        path: Path<LlmPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    /// The model proxy, `GET /api/llm/{provider}/{path}`
    ///
    /// Unpublished: see `llm_post`.
    #[endpoint { method = GET, path = "/api/llm/{path:.*}", tags = ["eavs"], unpublished = true }]
    async fn llm_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<LlmPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    // ------------------------------------------------------------- browser

    /// Start a chat's browser
    ///
    /// Starts a headless Chromium for one of your chats (or reuses the
    /// running one) and opens `url` in it. The browser runs in your sandbox
    /// without a network of its own: every request it makes is fetched by
    /// the server under the same address policy as feeds (http and https
    /// only; private, loopback and link-local addresses refused unless
    /// `browser.allow_private_addresses` or `egress.allow_hosts` say
    /// otherwise). It closes with its chat and after `browser.idle_secs`
    /// without use. Errors: 404 for a chat that is not yours; 400 for
    /// another scheme; 403 for a refused address; 429 (with `Retry-After`)
    /// when you already run `browser.max_per_user` browsers; 503 when
    /// Chromium is not installed or the server runs `browser.max_running`.
    #[endpoint { method = POST, path = "/api/browser/start", tags = ["browser"] }]
    async fn browser_start(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<BrowserStart>,
    ) -> Result<Reply<HttpResponseOk<BrowserStarted>>, HttpError>;

    /// Act in a chat's browser
    ///
    /// Navigate, go back or forward, reload, click, type, scroll, take a
    /// screenshot, evaluate JavaScript or set the color scheme (see
    /// `action`); answers with the page's address and title afterwards.
    /// Errors: 404 for a chat that is not yours or has no browser; 400 for
    /// an unknown action or a missing argument; 403 for a refused address;
    /// 422 when an expression throws or a selector matches nothing.
    #[endpoint { method = POST, path = "/api/browser/action", tags = ["browser"] }]
    async fn browser_action(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<BrowserAction>,
    ) -> Result<Reply<HttpResponseOk<BrowserActionResult>>, HttpError>;

    /// Watch a chat's browser
    ///
    /// A WebSocket of the page's screen as the original's agent-browser
    /// streamed it: `{"type": "frame", "data": <base64 JPEG>, "metadata":
    /// {…}}` at most five times a second (the last frame at once on
    /// joining), after a `{"type": "status", …}`; `input_mouse` and
    /// `input_keyboard` messages are played into the page. Authenticated as
    /// the mux. Also served at the original's path `GET
    /// /api/session/{session_id}/browser/stream`. Errors: 401; 404 before
    /// the upgrade for a chat that is not yours or has no browser.
    #[endpoint { method = GET, path = "/api/sessions/{session_id}/browser/stream", tags = ["browser"] }]
    async fn browser_stream(
        rqctx: RequestContext<Self::Context>,
        path: Path<BrowserStreamPath>,
        query: Query<BrowserStreamQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult;

    /// Watch a chat's browser, at the original's second path
    ///
    /// Unpublished: see `browser_stream`.
    #[endpoint {
        method = GET,
        path = "/api/session/{session_id}/browser/stream",
        tags = ["browser"],
        unpublished = true,
    }]
    async fn browser_stream_original(
        rqctx: RequestContext<Self::Context>,
        path: Path<BrowserStreamPath>,
        query: Query<BrowserStreamQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult;

    // --------------------------------------------------------------- voice

    /// Speech to text
    ///
    /// A WebSocket relayed to the configured speech-to-text service
    /// (`voice.stt_url`, eaRS's protocol: binary frames of 24 kHz Float32
    /// PCM and JSON commands in, JSON words and results out). Every text and
    /// binary frame goes through unchanged both ways, at most
    /// `voice.max_frame_bytes` each; a close code and reason are carried
    /// through. Authenticated as the mux is (`Authorization: Bearer`, the
    /// `token` query parameter, or the `auth_token` cookie from an allowed
    /// origin). When no service is configured, or it cannot be reached, the
    /// socket is closed with 1011 and the reason. Errors: 401, 403 before
    /// the upgrade; 503 when voice is switched off (`voice.enabled`).
    #[endpoint { method = GET, path = "/api/voice/stt", tags = ["voice"] }]
    async fn voice_stt(
        rqctx: RequestContext<Self::Context>,
        query: Query<VoiceQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult;

    /// Text to speech
    ///
    /// A WebSocket speaking kokorox's protocol (JSON commands such as
    /// `{"command": "synthesize", "text": …}`; `audio_chunk` answers with a
    /// base64 WAV). Relayed like `voice_stt` to `voice.tts_url` when it is
    /// set; otherwise, when `espeak-ng` is installed, the server speaks
    /// itself: `synthesize`, `stream_append`/`stream_end`/`stream_cancel`
    /// (sentences spoken as they complete, as `stream_chunk`, then
    /// `stream_ended`), `list_voices`, `set_voice`, `set_speed`,
    /// `set_language`, `set_auto_detect`; espeak-ng runs in the caller's
    /// sandbox with the text on its standard input. Errors as `voice_stt`.
    #[endpoint { method = GET, path = "/api/voice/tts", tags = ["voice"] }]
    async fn voice_tts(
        rqctx: RequestContext<Self::Context>,
        query: Query<VoiceQuery>,
        websocket: WebsocketUpgrade,
    ) -> WebsocketEndpointResult;

    // ---------------------------------------------------------------- sldr

    /// The sldr proxy, `GET /api/sldr/{path}`
    ///
    /// Unpublished (a wildcard path; also POST, PUT, DELETE and PATCH).
    /// Relays the request to the configured sldr server (`sldr.url`) at
    /// the same path below it, with its query and body streamed both ways;
    /// hop-by-hop headers, cookies and the caller's credentials are not
    /// passed on, the caller's identity is (`X-Oqto-User-Id`,
    /// `X-Oqto-Username`). Errors: 401; 503 when no sldr server is
    /// configured; 502 when it cannot be reached or does not answer within
    /// `sldr.timeout_secs` (30 s; the body may then take as long as it
    /// needs, with at most 60 s between two reads).
    #[endpoint {
        method = GET,
        path = "/api/sldr/{path:.*}",
        tags = ["sldr"],
        unpublished = true,
        request_body_max_bytes = sldr::MAX_BODY_BYTES,
    }]
    async fn sldr_get(
        rqctx: RequestContext<Self::Context>,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    /// The sldr proxy, `POST /api/sldr/{path}`
    ///
    /// Unpublished (a wildcard path): see `sldr_get`.
    #[endpoint {
        method = POST,
        path = "/api/sldr/{path:.*}",
        tags = ["sldr"],
        unpublished = true,
        request_body_max_bytes = sldr::MAX_BODY_BYTES,
    }]
    async fn sldr_post(
        rqctx: RequestContext<Self::Context>,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    /// The sldr proxy, `PUT /api/sldr/{path}`
    ///
    /// Unpublished (a wildcard path): see `sldr_get`.
    #[endpoint {
        method = PUT,
        path = "/api/sldr/{path:.*}",
        tags = ["sldr"],
        unpublished = true,
        request_body_max_bytes = sldr::MAX_BODY_BYTES,
    }]
    async fn sldr_put(
        rqctx: RequestContext<Self::Context>,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    /// The sldr proxy, `DELETE /api/sldr/{path}`
    ///
    /// Unpublished (a wildcard path): see `sldr_get`.
    #[endpoint {
        method = DELETE,
        path = "/api/sldr/{path:.*}",
        tags = ["sldr"],
        unpublished = true,
        request_body_max_bytes = sldr::MAX_BODY_BYTES,
    }]
    async fn sldr_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    /// The sldr proxy, `PATCH /api/sldr/{path}`
    ///
    /// Unpublished (a wildcard path): see `sldr_get`.
    #[endpoint {
        method = PATCH,
        path = "/api/sldr/{path:.*}",
        tags = ["sldr"],
        unpublished = true,
        request_body_max_bytes = sldr::MAX_BODY_BYTES,
    }]
    async fn sldr_patch(
        rqctx: RequestContext<Self::Context>,
        path: Path<SldrPath>,
        body: StreamingBody,
    ) -> Result<Reply<Response<Body>>, HttpError>;

    // ----------------------------------------------------------- scheduler

    /// The caller's scheduled jobs at a glance
    ///
    /// The original's shape: counts, and one line per job with its status
    /// (`enabled`/`disabled`), schedule (cron, or `once <time>`), what runs
    /// and the next run (RFC 3339). With `scheduler.skdlr_bin` set, the
    /// jobs are those of the original's `skdlr` CLI (`skdlr list` and
    /// `skdlr next`, run in the caller's sandbox; 502 when skdlr fails).
    #[endpoint { method = GET, path = "/api/scheduler/overview", tags = ["scheduler"] }]
    async fn scheduler_overview_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<SchedulerOverview>>, HttpError>;

    /// The caller's scheduled jobs
    ///
    /// By name, each with its next run and its last run's outcome.
    #[endpoint { method = GET, path = "/api/scheduler/jobs", tags = ["scheduler"] }]
    async fn scheduler_job_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Vec<ScheduleView>>>, HttpError>;

    /// Schedule a job
    ///
    /// Repeating (`schedule`: 5 cron fields in UTC, or `@hourly` and the
    /// like) or once (`at`, in the future). A `prompt` job sends its prompt
    /// to its own chat (`sched-<id>`) in the workspace and keeps the agent's
    /// answer; a `command` job runs `/bin/sh -c` in the workspace in the
    /// caller's sandbox and keeps its output (64 KiB of either). A run takes
    /// at most 15 minutes. At most 100 jobs per user. Errors: 400 for
    /// neither or both of `schedule` and `at`, or an empty prompt or
    /// command; 409 for a name in use or too many jobs; 422 for a bad name,
    /// cron expression, past time or a workspace outside the caller's root.
    #[endpoint { method = POST, path = "/api/scheduler/jobs", tags = ["scheduler"] }]
    async fn scheduler_job_create(
        rqctx: RequestContext<Self::Context>,
        body: TypedBody<ScheduleCreate>,
    ) -> Result<Reply<HttpResponseCreated<ScheduleView>>, HttpError>;

    /// One of the caller's jobs
    #[endpoint { method = GET, path = "/api/scheduler/jobs/{name}", tags = ["scheduler"] }]
    async fn scheduler_job_view(
        rqctx: RequestContext<Self::Context>,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleView>>, HttpError>;

    /// Remove a job
    ///
    /// A run in progress finishes; nothing is recorded for it. With
    /// `scheduler.skdlr_bin` set, `skdlr remove` removes it from skdlr.
    #[endpoint { method = DELETE, path = "/api/scheduler/jobs/{name}", tags = ["scheduler"] }]
    async fn scheduler_job_delete(
        rqctx: RequestContext<Self::Context>,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleDeleted>>, HttpError>;

    /// Pause a job
    ///
    /// It does not run until resumed.
    #[endpoint { method = POST, path = "/api/scheduler/jobs/{name}/pause", tags = ["scheduler"] }]
    async fn scheduler_job_pause(
        rqctx: RequestContext<Self::Context>,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleView>>, HttpError>;

    /// Resume a paused job
    ///
    /// A repeating job runs next at its schedule's next time from now.
    /// Errors: 409 for a one-off job whose time passed.
    #[endpoint { method = POST, path = "/api/scheduler/jobs/{name}/resume", tags = ["scheduler"] }]
    async fn scheduler_job_resume(
        rqctx: RequestContext<Self::Context>,
        path: Path<SchedulePath>,
    ) -> Result<Reply<HttpResponseOk<ScheduleView>>, HttpError>;

    // --------------------------------------------------------------- feeds

    /// Fetch a web feed
    ///
    /// Fetches an `http` or `https` URL on the caller's behalf and parses it
    /// as RSS, Atom or JSON Feed (`items` is empty when it is none of them).
    /// Only public addresses are reached: the addresses a name resolves to,
    /// and every redirect (at most 5), are checked against the loopback,
    /// private, link-local, shared (CGNAT), multicast, reserved,
    /// documentation and cloud-metadata ranges before connecting, and the
    /// connection goes to the checked address (no second lookup). Hosts the
    /// operator lists in `feeds.allow_hosts` are exempt. At most 1,000,000
    /// bytes (checked while streaming) and 12 s in all. Errors: 400 for a
    /// URL that is not `http`/`https` or does not parse, or a body over the
    /// limit; 403 for a refused destination; 502 when the feed's server
    /// fails, answers other than 2xx, or takes too long.
    #[endpoint { method = GET, path = "/api/feeds/fetch", tags = ["feeds"] }]
    async fn feed_fetch(
        rqctx: RequestContext<Self::Context>,
        query: Query<FeedQuery>,
    ) -> Result<Reply<HttpResponseOk<FeedFetched>>, HttpError>;

    // ------------------------------------------------------------ codexbar

    /// Usage of the AI providers' plans
    ///
    /// Runs `codexbar usage --provider all --source cli --format json` on
    /// the server (older versions: `--json`, then no format flag), for at
    /// most 20 s, and returns the JSON it prints. Errors: 404 when codexbar
    /// is not installed; 502 when it fails, times out or prints no JSON.
    #[endpoint { method = GET, path = "/api/codexbar/usage", tags = ["codexbar"] }]
    async fn codexbar_usage_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<serde_json::Value>>, HttpError>;

    // ------------------------------------------------------------- metrics

    /// The server's figures
    ///
    /// Admin only. Users, active users, workspace sessions by state, running
    /// chats and agent processes, mux connections, the database's size and
    /// the uptime.
    #[endpoint { method = GET, path = "/api/admin/stats", tags = ["metrics"] }]
    async fn admin_stats_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<AdminStats>>, HttpError>;

    /// A live stream of the server's figures
    ///
    /// Admin only. Server-Sent Events (`text/event-stream`): every 2 s an
    /// unnamed `data:` event holding a `MetricsSample` (the figures of
    /// `GET /api/admin/stats` plus the host's CPU and memory), and a
    /// `: keepalive` comment every 15 s. The stream ends when the client
    /// goes.
    #[endpoint { method = GET, path = "/api/admin/metrics", tags = ["metrics"] }]
    async fn admin_metrics_stream(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError>;

    /// The server's figures for Prometheus
    ///
    /// The figures of `GET /api/admin/stats` and the host's in Prometheus's
    /// text format (version 0.0.4). For an administrator's token, or the
    /// scrape token the operator configured (`metrics.scrape_token_file`),
    /// as `Authorization: Bearer`. Errors: 401, 403.
    #[endpoint { method = GET, path = "/metrics", tags = ["metrics"] }]
    async fn prometheus_metrics_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseHeaders<HttpResponseOk<FreeformBody>>>, HttpError>;

    // ---------------------------------------------------------------- misc

    /// Health check
    ///
    /// Public. `status` is `ok` when the database answers.
    #[endpoint { method = GET, path = "/api/health", tags = ["misc"] }]
    async fn health_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Health>>, HttpError>;

    /// Feature flags
    ///
    /// Public. Says which optional parts of the product this server offers,
    /// as configured.
    #[endpoint { method = GET, path = "/api/features", tags = ["misc"] }]
    async fn feature_list(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<Features>>, HttpError>;

    /// This API's OpenAPI document
    ///
    /// Public. The checked-in document the SDK is generated from.
    #[endpoint { method = GET, path = "/api/openapi.json", tags = ["misc"] }]
    async fn openapi_view(
        rqctx: RequestContext<Self::Context>,
    ) -> Result<Reply<HttpResponseOk<serde_json::Value>>, HttpError>;
}
