//! The onboarding area: a user's guided first steps (their own row in the
//! `onboarding` table, which no profile update can touch) and their first
//! workspace.

use std::path::Path;

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};
use oqto_api::onboarding::{
    OnboardingBootstrap, OnboardingBootstrapped, OnboardingCheck, OnboardingStage, OnboardingState,
    OnboardingUpdate, OnboardingView, UnlockedComponents, UserLevel,
};

/// Changes are read-modify-write: one at a time (they are rare and quick),
/// so that two concurrent steps of one user never lose one another.
static CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The first workspace's directory, relative to the workspace root.
const FIRST_WORKSPACE: &str = "main";

/// The built-in onboarding template, used when `<data_dir>/onboarding/`
/// does not exist. `{{display_name}}` and `{{language}}` are filled in.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "AGENTS.md",
        "# Working here\n\nThis is {{display_name}}'s first workspace. Read USER.md and PERSONALITY.md \
         before you answer, and follow BOOTSTRAP.md until it says you are done.\n",
    ),
    (
        "BOOTSTRAP.md",
        "# First conversation\n\nGreet {{display_name}} in their language ({{language}}), ask what they \
         want to work on, and note what you learn about them in USER.md. Then delete this file.\n",
    ),
    (
        "PERSONALITY.md",
        "# Personality\n\nFriendly, direct and brief. Explain what you do before you do it.\n",
    ),
    ("USER.md", "# About the user\n\n- Name: {{display_name}}\n- Language: {{language}}\n"),
];

fn view(state: OnboardingState) -> OnboardingView {
    let needs_onboarding = !state.completed && !state.godmode;
    OnboardingView { state, needs_onboarding }
}

/// The caller's state (a fresh one when none is stored).
async fn load(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingState> {
    let stored = crate::db::onboarding::get(&ctx.db.pool, &caller.user_id).await?;
    Ok(stored.and_then(|state| serde_json::from_str(&state).ok()).unwrap_or_default())
}

/// Applies `change` to the caller's stored state and returns the result.
async fn change(
    ctx: &ServerContext,
    caller: &Caller,
    change: impl FnOnce(&mut OnboardingState) -> Result<()>,
) -> Result<OnboardingView> {
    let _one_at_a_time = CHANGES.lock().await;
    let mut state = load(ctx, caller).await?;
    if state.started_at.is_none() {
        state.started_at = Some(chrono::Utc::now());
    }
    change(&mut state)?;
    let value = serde_json::to_string(&state).map_err(|e| Error::Internal(e.into()))?;
    crate::db::onboarding::put(&ctx.db.pool, &caller.user_id, &value).await?;
    Ok(view(state))
}

pub async fn get(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingView> {
    Ok(view(load(ctx, caller).await?))
}

pub async fn check(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingCheck> {
    let state = load(ctx, caller).await?;
    Ok(OnboardingCheck {
        needs_onboarding: !state.completed && !state.godmode,
        stage: state.stage,
        completed: state.completed,
        godmode: state.godmode,
    })
}

/// A BCP 47 language tag as the client sends it (`en`, `de-AT`).
fn language_tag(tag: &str) -> Result<String> {
    let tag = tag.trim();
    let valid = !tag.is_empty()
        && tag.len() <= 35
        && tag.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if valid { Ok(tag.to_string()) } else { Err(Error::Invalid(format!("{tag:?} is not a language tag"))) }
}

fn complete(state: &mut OnboardingState) {
    state.completed = true;
    state.stage = OnboardingStage::Complete;
    state.completed_at.get_or_insert_with(chrono::Utc::now);
    let unlocked = &mut state.unlocked;
    (unlocked.sidebar, unlocked.session_list, unlocked.file_tree, unlocked.settings) =
        (true, true, true, true);
}

pub async fn update(ctx: &ServerContext, caller: &Caller, body: OnboardingUpdate) -> Result<OnboardingView> {
    let language = body.language.as_deref().map(language_tag).transpose()?;
    let languages = match body.languages {
        Some(tags) if tags.len() > 20 => return Err(Error::Invalid("at most 20 languages".to_string())),
        Some(tags) => Some(tags.iter().map(|t| language_tag(t)).collect::<Result<Vec<_>>>()?),
        None => None,
    };
    change(ctx, caller, |state| {
        if let Some(stage) = body.stage {
            state.stage = stage;
        }
        if let Some(language) = language {
            state.language = Some(language);
        }
        if let Some(languages) = languages {
            state.languages = languages;
        }
        if let Some(level) = body.user_level {
            state.user_level = level;
        }
        if let Some(step) = body.tutorial_step {
            state.tutorial_step = step;
        }
        if body.complete == Some(true) || state.stage == OnboardingStage::Complete {
            complete(state);
        }
        Ok(())
    })
    .await
}

pub async fn advance(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingView> {
    use OnboardingStage::*;
    change(ctx, caller, |state| {
        state.stage = match state.stage {
            Language => Provider,
            Provider => Profile,
            Profile => Personality,
            Personality => Tutorial,
            Tutorial | Complete => Complete,
        };
        if state.stage == Complete {
            complete(state);
        }
        Ok(())
    })
    .await
}

/// The flag of `component` (`file-tree` or `file_tree`).
fn component<'a>(unlocked: &'a mut UnlockedComponents, name: &str) -> Option<&'a mut bool> {
    Some(match name.replace('-', "_").as_str() {
        "sidebar" => &mut unlocked.sidebar,
        "session_list" => &mut unlocked.session_list,
        "file_tree" => &mut unlocked.file_tree,
        "todo_list" => &mut unlocked.todo_list,
        "canvas" => &mut unlocked.canvas,
        "memory" => &mut unlocked.memory,
        "trx" => &mut unlocked.trx,
        "terminal" => &mut unlocked.terminal,
        "model_picker" => &mut unlocked.model_picker,
        "projects" => &mut unlocked.projects,
        "voice" => &mut unlocked.voice,
        "settings" => &mut unlocked.settings,
        _ => return None,
    })
}

pub async fn unlock(ctx: &ServerContext, caller: &Caller, name: &str) -> Result<OnboardingView> {
    if component(&mut UnlockedComponents::default(), name).is_none() {
        return Err(Error::BadRequest(format!("unknown component {name:?}")));
    }
    change(ctx, caller, |state| {
        if let Some(flag) = component(&mut state.unlocked, name) {
            *flag = true;
        }
        Ok(())
    })
    .await
}

pub async fn godmode(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingView> {
    change(ctx, caller, |state| {
        complete(state);
        state.godmode = true;
        state.user_level = UserLevel::Technical;
        let u = &mut state.unlocked;
        for flag in [
            &mut u.sidebar,
            &mut u.session_list,
            &mut u.file_tree,
            &mut u.todo_list,
            &mut u.canvas,
            &mut u.memory,
            &mut u.trx,
            &mut u.terminal,
            &mut u.model_picker,
            &mut u.projects,
            &mut u.voice,
            &mut u.settings,
        ] {
            *flag = true;
        }
        Ok(())
    })
    .await
}

pub async fn finish(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingView> {
    change(ctx, caller, |state| {
        complete(state);
        Ok(())
    })
    .await
}

pub async fn reset(ctx: &ServerContext, caller: &Caller) -> Result<OnboardingView> {
    change(ctx, caller, |state| {
        *state = OnboardingState { started_at: Some(chrono::Utc::now()), ..Default::default() };
        Ok(())
    })
    .await
}

/// Creates the caller's first workspace once; later calls find it.
pub async fn bootstrap(
    ctx: &ServerContext,
    caller: &Caller,
    body: OnboardingBootstrap,
) -> Result<OnboardingBootstrapped> {
    let display_name = body.display_name.trim().to_string();
    if display_name.is_empty()
        || display_name.chars().count() > 100
        || display_name.chars().any(char::is_control)
    {
        return Err(Error::Invalid("display_name must be 1 to 100 printable characters".to_string()));
    }
    let language = language_tag(body.language.as_deref().unwrap_or("en"))?;
    let ws = crate::sessions::resolve(ctx, &caller.user_id, FIRST_WORKSPACE).await?;
    ws.create()?;
    let dir = ws.open()?;
    let meta = Path::new(crate::projects::META_FILE);
    if dir.exists(meta) {
        return Ok(OnboardingBootstrapped { workspace_path: ws.relative });
    }
    let variables = [("display_name", display_name.as_str()), ("language", language.as_str())];
    let fill = |text: &str| {
        variables.iter().fold(text.to_string(), |t, (k, v)| t.replace(&format!("{{{{{k}}}}}"), v))
    };
    let template = ctx.config.data_dir.join("onboarding");
    let mut context_files = Vec::new();
    if template.is_dir() {
        let vars = variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (from, dest) = (template.clone(), dir.try_clone().map_err(|e| Error::Internal(e.into()))?);
        tokio::task::spawn_blocking(move || {
            crate::projects::copy_template(&from, &dest, Path::new("."), &vars)
        })
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .map_err(|e| Error::Internal(anyhow::anyhow!("copying the onboarding template: {e}")))?;
        for entry in std::fs::read_dir(&template).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") {
                context_files.push(name);
            }
        }
    } else {
        for (name, text) in BUILT_IN {
            if !dir.exists(name) {
                crate::workspace::write_atomic(&dir, Path::new(name), fill(text).as_bytes())
                    .map_err(|e| crate::workspace::io_error(name, e))?;
            }
            context_files.push(name.to_string());
        }
    }
    context_files.sort();
    let context = serde_json::json!({ "context_files": context_files });
    crate::workspace::ensure_dir(&dir, Path::new(".pi")).map_err(|e| crate::workspace::io_error(".pi", e))?;
    crate::workspace::write_atomic(&dir, Path::new(".pi/context.json"), context.to_string().as_bytes())
        .map_err(|e| crate::workspace::io_error(".pi/context.json", e))?;
    let mut table = toml::Table::new();
    table.insert("display_name".into(), toml::Value::String(display_name));
    table.insert("language".into(), toml::Value::String(language));
    table.insert("pinned".into(), toml::Value::Boolean(true));
    table.insert("bootstrap_pending".into(), toml::Value::Boolean(true));
    // Written last: its presence says the workspace is complete.
    crate::projects::write_table(&ws, crate::projects::META_FILE, &table)?;
    Ok(OnboardingBootstrapped { workspace_path: ws.relative })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_checked() {
        assert_eq!(language_tag(" de-AT ").unwrap(), "de-AT");
        assert!(language_tag("en us").is_err());
        assert!(language_tag("-").is_err());
        assert!(language_tag("").is_err());
    }

    #[test]
    fn components_take_dashes_or_underscores() {
        let mut unlocked = UnlockedComponents::default();
        *component(&mut unlocked, "file-tree").unwrap() = true;
        assert!(unlocked.file_tree);
        assert!(component(&mut unlocked, "kitchen").is_none());
    }
}
