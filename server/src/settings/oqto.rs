//! The `oqto` app: the server's configuration for administrators, each
//! user's own preferences (the `ui` keys) for everyone.

use std::collections::BTreeMap;

use oqto_api::settings::{SettingScope, SettingValue, SettingsUpdated};
use serde_json::Value;

use super::schema::{self, at, set};
use crate::auth::Caller;
use crate::config::Config;
use crate::context::ServerContext;
use crate::db;
use crate::error::{Error, Result};

/// The largest value a user stores for one key.
const MAX_USER_VALUE_BYTES: usize = 16 * 1024;

fn is_admin(caller: &Caller) -> bool {
    caller.require_admin().is_ok()
}

/// The schema as the caller sees it.
pub fn schema_for(ctx: &ServerContext, caller: &Caller) -> Value {
    schema::for_caller(&ctx.settings.schema, is_admin(caller))
}

async fn own_values(ctx: &ServerContext, user_id: &str) -> Result<BTreeMap<String, Value>> {
    let stored = db::user_settings::all(&ctx.db.pool, user_id).await?;
    Ok(stored.into_iter().filter_map(|(k, v)| Some((k, serde_json::from_str(&v).ok()?))).collect())
}

/// Every key the caller sees, with its state.
pub async fn view(ctx: &ServerContext, caller: &Caller) -> Result<BTreeMap<String, SettingValue>> {
    let settings = &ctx.settings;
    let admin = is_admin(caller);
    let current = serde_json::to_value(&*settings.current()).unwrap_or_default();
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    let file = super::table_to_json(&settings.sources().file_tree);
    let own = own_values(ctx, &caller.user_id).await?;
    let mut out = BTreeMap::new();
    for leaf in &settings.leaves {
        let server = at(&current, &leaf.key).cloned();
        let (value, is_configured, default) = match leaf.scope {
            SettingScope::User => {
                let mine = own.get(&leaf.key).cloned();
                (mine.clone().or_else(|| server.clone()), mine.is_some(), server)
            }
            SettingScope::Admin if admin => {
                let configured = at(&file, &leaf.key).is_some() || settings.pinned.contains(&leaf.key);
                (server, configured, at(&defaults, &leaf.key).cloned())
            }
            SettingScope::Admin => continue,
        };
        let shown = super::shown(value, is_configured, default, leaf.scope, leaf.live, leaf.secret);
        out.insert(leaf.key.clone(), shown);
    }
    Ok(out)
}

/// `config` with one key set (in its JSON form), if it is still a valid
/// configuration.
fn with_key(config: &Value, key: &str, value: Option<Value>) -> std::result::Result<Config, String> {
    let mut tree = config.clone();
    set(&mut tree, key, value);
    let config: Config = serde_json::from_value(tree).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| format!("{e:#}"))?;
    Ok(config)
}

/// Applies changes: user keys to the caller's own values, server keys (for
/// administrators) to the config file. Each value is checked first; a bad
/// one refuses the whole change (422 naming every bad key and why), and
/// nothing is written.
pub async fn update(
    ctx: &ServerContext,
    caller: &Caller,
    values: BTreeMap<String, Value>,
) -> Result<SettingsUpdated> {
    if values.is_empty() {
        return Err(Error::BadRequest("name at least one key in `values`".into()));
    }
    let settings = &ctx.settings;
    let admin = is_admin(caller);
    let _one = settings.changing.lock().await;
    let mut problems = Vec::new();
    let mut forbidden = Vec::new();
    let (mut mine, mut server) = (Vec::new(), Vec::new());
    for (key, value) in values {
        let value = (!value.is_null()).then_some(value);
        match settings.leaf(&key) {
            None => problems.push(format!("{key}: no such setting")),
            Some(leaf) if leaf.scope == SettingScope::User => mine.push((key, value)),
            Some(_) if !admin => forbidden.push(key),
            Some(_) if settings.pinned.contains(&key) => {
                problems.push(format!("{key}: set by an environment variable or a flag; change it there"))
            }
            Some(_) => server.push((key, value)),
        }
    }
    if !forbidden.is_empty() {
        return Err(Error::Forbidden(format!("only administrators change {}", forbidden.join(", "))));
    }
    let current = serde_json::to_value(&*settings.current()).unwrap_or_default();
    for (key, value) in &mine {
        let size = value.as_ref().map_or(0, |v| serde_json::to_vec(v).map_or(usize::MAX, |b| b.len()));
        if size > MAX_USER_VALUE_BYTES {
            problems.push(format!("{key}: at most {MAX_USER_VALUE_BYTES} bytes serialized"));
        } else if let Err(why) = with_key(&current, key, value.clone()) {
            problems.push(format!("{key}: {why}"));
        }
    }
    let file = super::table_to_json(&settings.sources().file_tree);
    for (key, value) in &server {
        let mut single = file.clone();
        set(&mut single, key, value.clone());
        let checked = super::json_to_table(single)
            .and_then(|t| settings.sources().config_with(&t).map_err(|e| Error::Invalid(format!("{e:#}"))));
        if let Err(e) = checked {
            problems.push(format!("{key}: {}", e.public_message()));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems.join("; ")));
    }
    // The caller's own values in a transaction committed after the file is
    // written: a failure on either side leaves both as they were.
    let mut tx = ctx.db.pool.begin().await?;
    for (key, value) in &mine {
        match value {
            Some(value) => {
                let text = serde_json::to_string(value).map_err(|e| Error::Internal(e.into()))?;
                db::user_settings::put(&mut *tx, &caller.user_id, key, &text).await?;
            }
            None => db::user_settings::delete(&mut *tx, &caller.user_id, key).await?,
        }
    }
    let mut restart_required = Vec::new();
    if !server.is_empty() {
        let mut all = file;
        for (key, value) in &server {
            set(&mut all, key, value.clone());
        }
        let table = super::json_to_table(all)?;
        let config = settings.sources().config_with(&table).map_err(|e| Error::Invalid(format!("{e:#}")))?;
        let path = settings.sources().file.clone();
        super::write_file(&path, &table).map_err(Error::Internal)?;
        settings.sources().file_tree = table;
        restart_required = settings.put_in_force(ctx, config);
    }
    tx.commit().await?;
    Ok(SettingsUpdated { values: view(ctx, caller).await?, restart_required })
}
