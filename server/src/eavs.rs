//! Model providers and the model proxy. The server holds the providers'
//! keys (sealed in the database); every user's agent `models.json` lists
//! the providers with the server's model proxy as their address and the
//! user's own proxy token as their key. The proxy (`/api/llm/{provider}/…`)
//! checks that token and relays to the provider with the real key, so no
//! key of the server ever reaches a user's agent.

use std::time::Duration;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use oqto_api::eavs::{
    CatalogEntry, CatalogQuery, ModelsSyncFailure, ModelsSynced, ProviderCreate, ProviderDeleted,
    ProviderList, ProviderModel, ProviderView,
};
use serde_json::{Map, Value, json};
use sha2::Digest;

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db::providers::ProviderRow;
use crate::db::users::UserRow;
use crate::error::{Error, Result};

/// How long a provider may take to start answering.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_MODELS: usize = 200;
const CATALOG: &str = include_str!("../catalog/models.json");

/// Seals provider keys at rest: AES-256-GCM with a key derived from the
/// server's secret, the provider's name as associated data.
pub struct Seal {
    key: aws_lc_rs::aead::LessSafeKey,
}

impl Seal {
    pub fn new(secret: &[u8]) -> anyhow::Result<Seal> {
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"oqto model provider keys v1\0");
        hasher.update(secret);
        let derived = hasher.finalize();
        let unbound = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &derived)
            .map_err(|_| anyhow::anyhow!("deriving the provider key seal"))?;
        Ok(Seal { key: aws_lc_rs::aead::LessSafeKey::new(unbound) })
    }

    fn seal(&self, name: &str, plain: &str) -> Result<String> {
        let mut nonce = [0u8; aws_lc_rs::aead::NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| Error::Internal(anyhow::anyhow!("no randomness")))?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                aws_lc_rs::aead::Aad::from(name.as_bytes()),
                &mut data,
            )
            .map_err(|_| Error::Internal(anyhow::anyhow!("sealing a provider key")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    fn open(&self, name: &str, sealed: &str) -> Result<String> {
        // The operator's to fix (the server's secret changed, or the row
        // was edited), not a server fault: a 503 that says what to do.
        let broken = || {
            Error::Unavailable(format!(
                "the stored key of provider {name} cannot be read (was the server's secret replaced?); \
                 an administrator must set it again"
            ))
        };
        let mut data = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|_| broken())?;
        if data.len() < aws_lc_rs::aead::NONCE_LEN {
            return Err(broken());
        }
        let rest = data.split_off(aws_lc_rs::aead::NONCE_LEN);
        let nonce: [u8; aws_lc_rs::aead::NONCE_LEN] = data.try_into().map_err(|_| broken())?;
        let mut rest = rest;
        let plain = self
            .key
            .open_in_place(
                aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                aws_lc_rs::aead::Aad::from(name.as_bytes()),
                &mut rest,
            )
            .map_err(|_| broken())?;
        String::from_utf8(plain.to_vec()).map_err(|_| broken())
    }
}

/// The agent's API for a provider type, and the provider's usual address.
fn kind_of(kind: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match kind {
        "openai" => ("openai-completions", Some("https://api.openai.com/v1")),
        "openai-compatible" | "azure" => ("openai-completions", None),
        "anthropic" => ("anthropic-messages", Some("https://api.anthropic.com")),
        "google" => ("google-generative-ai", Some("https://generativelanguage.googleapis.com/v1beta")),
        _ => return None,
    })
}

/// The header that carries a provider's key.
fn key_header(kind: &str, key: &str) -> Option<(HeaderName, HeaderValue)> {
    let (name, value) = match kind {
        "anthropic" => ("x-api-key", key.to_string()),
        "azure" => ("api-key", key.to_string()),
        "google" => ("x-goog-api-key", key.to_string()),
        _ => ("authorization", format!("Bearer {key}")),
    };
    let mut value = HeaderValue::from_str(&value).ok()?;
    value.set_sensitive(true);
    Some((HeaderName::from_static(name), value))
}

fn models_of(row: &ProviderRow) -> Vec<ProviderModel> {
    serde_json::from_str(&row.models).unwrap_or_default()
}

fn view(row: &ProviderRow) -> ProviderView {
    let models = models_of(row);
    ProviderView {
        name: row.name.clone(),
        kind: row.kind.clone(),
        pi_api: kind_of(&row.kind).map_or("openai-completions", |k| k.0).to_string(),
        has_api_key: row.api_key_sealed.is_some(),
        base_url: row.base_url.clone(),
        api_version: row.api_version.clone(),
        deployment: row.deployment.clone(),
        model_count: models.len() as u64,
        models,
    }
}

/// Where agents reach the model proxy.
fn proxy_base(ctx: &ServerContext) -> String {
    let server = ctx.chats.server_url.get().cloned().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    format!("{server}/api/llm")
}

pub async fn list(ctx: &ServerContext) -> Result<ProviderList> {
    let rows = crate::db::providers::list(&ctx.db.pool).await?;
    Ok(ProviderList { providers: rows.iter().map(view).collect(), eavs_url: proxy_base(ctx) })
}

fn checked(body: &ProviderCreate) -> Result<()> {
    let name = body.name.as_str();
    let good_name = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.starts_with('.');
    if !good_name {
        return Err(Error::Invalid("name must be 1 to 64 letters, digits, '.', '_' or '-'".into()));
    }
    let Some((_, default_base)) = kind_of(&body.kind) else {
        return Err(Error::Invalid(format!(
            "unknown type {:?} (openai, openai-compatible, anthropic, azure or google)",
            body.kind
        )));
    };
    match body.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => {
            let parsed = reqwest::Url::parse(url)
                .map_err(|_| Error::Invalid(format!("base_url {url:?} is not a URL")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(Error::Invalid("base_url must be an http or https URL".into()));
            }
        }
        None if default_base.is_none() => {
            return Err(Error::Invalid(format!("a provider of type {} needs a base_url", body.kind)));
        }
        None => {}
    }
    if body.models.is_empty() || body.models.len() > MAX_MODELS {
        return Err(Error::Invalid(format!("a provider lists 1 to {MAX_MODELS} models")));
    }
    if body.models.iter().any(|m| m.id.trim().is_empty() || m.id.len() > 200) {
        return Err(Error::Invalid("every model needs an id of at most 200 characters".into()));
    }
    if body.api_key.as_deref().is_some_and(|k| k.len() > 4096 || k.chars().any(char::is_control)) {
        return Err(Error::Invalid("api_key must be at most 4096 printable characters".into()));
    }
    Ok(())
}

/// Adds or replaces a provider, then writes every user's `models.json`.
pub async fn upsert(ctx: &ServerContext, body: ProviderCreate) -> Result<ProviderView> {
    checked(&body)?;
    let now = crate::db::now_ms();
    let existing = crate::db::providers::get(&ctx.db.pool, &body.name).await?;
    let api_key_sealed = match body.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(key) => Some(ctx.provider_seal.seal(&body.name, key)?),
        None => existing.as_ref().and_then(|e| e.api_key_sealed.clone()),
    };
    let row = ProviderRow {
        name: body.name.clone(),
        kind: body.kind.clone(),
        base_url: body.base_url.map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty()),
        api_version: body.api_version.filter(|v| !v.trim().is_empty()),
        deployment: body.deployment.filter(|d| !d.trim().is_empty()),
        models: serde_json::to_string(&body.models).map_err(|e| Error::Internal(e.into()))?,
        api_key_sealed,
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
    };
    crate::db::providers::upsert(&ctx.db.pool, &row).await?;
    sync_all(ctx, &[]).await?;
    Ok(view(&row))
}

pub async fn delete(ctx: &ServerContext, name: &str) -> Result<ProviderDeleted> {
    if !crate::db::providers::delete(&ctx.db.pool, name).await? {
        return Err(Error::NotFound(format!("no provider named {name:?}")));
    }
    sync_all(ctx, &[name.to_string()]).await?;
    Ok(ProviderDeleted { ok: true, deleted: name.to_string() })
}

/// Writes every user's `models.json`; `removed` providers are taken out.
pub async fn sync_all(ctx: &ServerContext, removed: &[String]) -> Result<ModelsSynced> {
    let providers = crate::db::providers::list(&ctx.db.pool).await?;
    let all = crate::db::users::UserFilter { limit: i64::MAX, ..Default::default() };
    let users = crate::db::users::list(&ctx.db.pool, &all).await?;
    let mut report = ModelsSynced { users: 0, providers: providers.len() as u64, failed: Vec::new() };
    for user in &users {
        match sync_user(ctx, user, &providers, removed) {
            Ok(()) => report.users += 1,
            Err(e) => {
                report.failed.push(ModelsSyncFailure { user_id: user.id.clone(), error: e.public_message() })
            }
        }
    }
    Ok(report)
}

/// Gives a new account the server's providers (a failure is logged: the
/// account stands, and `sync-models` writes the file later).
pub async fn provision(ctx: &ServerContext, user: &UserRow) {
    let done = match crate::db::providers::list(&ctx.db.pool).await {
        Ok(providers) if providers.is_empty() => Ok(()),
        Ok(providers) => sync_user(ctx, user, &providers, &[]),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = done {
        slog::warn!(ctx.log, "writing a new user's models.json failed"; "user_id" => &user.id, "error" => %e);
    }
}

/// Writes the server's providers into one user's `models.json`, keeping
/// the providers the user configured under other names.
pub fn sync_user(
    ctx: &ServerContext,
    user: &UserRow,
    providers: &[ProviderRow],
    removed: &[String],
) -> Result<()> {
    let dir = crate::settings::pi::agent_dir_of(ctx, &user.id)?;
    let mut file = match dir.read_to_string("models.json") {
        // A file the user broke is left alone (and the sync says so)
        // rather than replaced with one that loses what was in it.
        Ok(text) => serde_json::from_str::<Value>(&text).ok().filter(Value::is_object).ok_or_else(|| {
            Error::Invalid(
                "models.json is not a JSON object; fix or remove it to receive the providers".into(),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(crate::workspace::io_error("models.json", e)),
    };
    if !file["providers"].is_object() {
        file["providers"] = Value::Object(Map::new());
    }
    let token = ctx.keys.issue_llm(user)?.token;
    let base = proxy_base(ctx);
    let entries = file["providers"].as_object_mut().expect("an object");
    for name in removed {
        entries.remove(name);
    }
    for provider in providers {
        let models: Vec<Value> = models_of(provider).iter().map(agent_model).collect();
        entries.insert(
            provider.name.clone(),
            json!({
                "baseUrl": format!("{base}/{}", provider.name),
                "api": kind_of(&provider.kind).map_or("openai-completions", |k| k.0),
                "apiKey": token,
                "models": models,
            }),
        );
    }
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Error::Internal(e.into()))?;
    crate::workspace::write_atomic(&dir, std::path::Path::new("models.json"), &text)
        .map_err(|e| crate::workspace::io_error("models.json", e))
}

/// A model as the agent's `models.json` takes it.
fn agent_model(m: &ProviderModel) -> Value {
    let mut out = json!({ "id": m.id, "name": m.name.clone().unwrap_or_else(|| m.id.clone()), "reasoning": m.reasoning });
    if !m.input.is_empty() {
        out["input"] = json!(m.input);
    }
    if let Some(n) = m.context_window {
        out["contextWindow"] = json!(n);
    }
    if let Some(n) = m.max_tokens {
        out["maxTokens"] = json!(n);
    }
    if m.cost_input.is_some() || m.cost_output.is_some() {
        out["cost"] = json!({
            "input": m.cost_input.unwrap_or(0.0),
            "output": m.cost_output.unwrap_or(0.0),
            "cacheRead": m.cost_cache_read.unwrap_or(0.0),
            "cacheWrite": 0.0,
        });
    }
    if let Some(compat) = &m.compat {
        out["compat"] = compat.clone();
    }
    out
}

/// `GET /api/admin/eavs/catalog-lookup`: the shipped catalog's entry.
pub fn catalog_lookup(query: &CatalogQuery) -> Result<CatalogEntry> {
    let catalog: Vec<CatalogEntry> = serde_json::from_str(CATALOG).map_err(|e| Error::Internal(e.into()))?;
    let wanted = query.model_id.trim();
    catalog
        .into_iter()
        .filter(|e| query.provider.as_deref().is_none_or(|p| p == e.provider))
        .find(|e| e.model.id.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| Error::NotFound(format!("{wanted:?} is not in the model catalog")))
}

/// The proxy token an agent presents, in whichever header its API uses.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = crate::auth::bearer_token(headers) {
        return Some(token);
    }
    ["x-api-key", "api-key", "x-goog-api-key"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(str::to_string))
}

/// Checks a model proxy token: an `llm`-scoped token of an active account
/// at its current token version.
async fn proxy_caller(ctx: &ServerContext, headers: &HeaderMap) -> Result<Caller> {
    let token = presented_token(headers).ok_or_else(Error::unauthenticated)?;
    let claims = ctx.keys.verify(&token)?;
    if claims.scope.as_deref() != Some(crate::auth::token::LLM_SCOPE) {
        return Err(Error::Unauthenticated("the model proxy takes the token from your models.json".into()));
    }
    let grant = crate::auth::Grant {
        user_id: claims.sub.clone(),
        jti: claims.jti.clone(),
        exp: claims.exp,
        ver: claims.ver,
    };
    crate::auth::check_grant(ctx, &grant).await
}

/// `/api/llm/{provider}/{path}`: relays to the provider with its key.
pub async fn relay(
    ctx: &ServerContext,
    request: crate::proxy::Incoming<'_>,
    body: impl futures::Stream<Item = std::result::Result<bytes::Bytes, dropshot::HttpError>> + Send + 'static,
) -> Result<Response<dropshot::Body>> {
    let caller = proxy_caller(ctx, request.headers).await?;
    let Some((name, rest)) = request.path.split_first() else {
        return Err(Error::NotFound("name a provider: /api/llm/{provider}/…".into()));
    };
    let provider = crate::db::providers::get(&ctx.db.pool, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no provider named {name:?}")))?;
    let (_, default_base) = kind_of(&provider.kind).unwrap_or(("openai-completions", None));
    let base = provider.base_url.as_deref().or(default_base).unwrap_or_default();
    let mut base = reqwest::Url::parse(base)
        .map_err(|_| Error::Upstream(format!("provider {name} has no valid base_url")))?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let mut url = crate::proxy::target(&base, rest, request.query)?;
    if provider.kind == "azure"
        && let Some(version) = &provider.api_version
        && !url.query_pairs().any(|(k, _)| k == "api-version")
    {
        url.query_pairs_mut().append_pair("api-version", version);
    }
    let mut add = Vec::new();
    if let Some(sealed) = &provider.api_key_sealed {
        let key = ctx.provider_seal.open(&provider.name, sealed)?;
        add.extend(key_header(&provider.kind, &key));
    }
    if provider.kind == "anthropic" && request.headers.get("anthropic-version").is_none() {
        add.push((HeaderName::from_static("anthropic-version"), HeaderValue::from_static("2023-06-01")));
    }
    slog::debug!(ctx.log, "model proxy"; "user_id" => &caller.user_id, "provider" => name);
    let relay = crate::proxy::Relay {
        client: &ctx.llm_client,
        method: request.method,
        url,
        headers: request.headers,
        add,
        answer_timeout: ANSWER_TIMEOUT,
        what: "the model provider",
    };
    crate::proxy::relay(relay, body).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_sealed_per_provider_and_the_catalog_parses() {
        let seal = super::Seal::new(b"a secret of at least thirty-two bytes!!").unwrap();
        let sealed = seal.seal("openai", "sk-test-123").unwrap();
        assert!(!sealed.contains("sk-test"));
        assert_eq!(seal.open("openai", &sealed).unwrap(), "sk-test-123");
        assert!(seal.open("other", &sealed).is_err(), "a sealed key is bound to its provider");
        let other = super::Seal::new(b"another secret of at least thirty-two bytes").unwrap();
        assert!(other.open("openai", &sealed).is_err());
        let query = oqto_api::eavs::CatalogQuery { model_id: "GPT-4o".into(), provider: None };
        assert_eq!(super::catalog_lookup(&query).unwrap().model.context_window, Some(128000));
    }
}
