//! The agent's resources of a workspace: skills, extensions and prompt
//! templates copied from the server's library into the workspace's `.pi/`
//! folder, where Pi discovers them.
//!
//! The library (`projects.pi_resources_dir`) is laid out like a `.pi/`
//! folder: `skills/<name>/SKILL.md` or `skills/<name>.md`,
//! `extensions/<name>.ts` (or `.js`) or `extensions/<name>/index.ts`,
//! `prompts/<name>.md`. What Oqto applied is recorded in the workspace's
//! `.oqto/pi-resources.toml`, so that files the workspace made itself are
//! never touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use oqto_api::workspace::{PiResource, PiResources, PiResourcesApply, ResourceMode};
use serde::{Deserialize, Serialize};

use cap_std::fs::Dir;

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::error::{Error, Result};

const STATE_FILE: &str = ".oqto/pi-resources.toml";

/// The three kinds of resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Skills,
    Extensions,
    Prompts,
}

const KINDS: [Kind; 3] = [Kind::Skills, Kind::Extensions, Kind::Prompts];

impl Kind {
    /// The folder in the library and in `.pi/`.
    fn folder(self) -> &'static str {
        match self {
            Kind::Skills => "skills",
            Kind::Extensions => "extensions",
            Kind::Prompts => "prompts",
        }
    }

    fn mandatory(self, ctx: &ServerContext) -> &[String] {
        let p = &ctx.config.projects;
        match self {
            Kind::Skills => &p.mandatory_skills,
            Kind::Extensions => &p.mandatory_extensions,
            Kind::Prompts => &p.mandatory_prompts,
        }
    }

    /// The resource an entry of the library folder holds, if any:
    /// `(name, the file Pi reads for its description)`.
    fn entry(self, path: &Path) -> Option<(String, PathBuf)> {
        let file_name = path.file_name()?.to_string_lossy().into_owned();
        if file_name.starts_with('.') || path.is_symlink() {
            return None;
        }
        let stem = |exts: &[&str]| {
            let (stem, ext) = file_name.rsplit_once('.')?;
            (path.is_file() && exts.contains(&ext)).then(|| stem.to_string())
        };
        let inner = |names: &[&str]| names.iter().map(|n| path.join(n)).find(|p| p.is_file());
        match self {
            Kind::Skills if path.is_dir() => Some((file_name.clone(), inner(&["SKILL.md"])?)),
            Kind::Extensions if path.is_dir() => Some((file_name.clone(), inner(&["index.ts", "index.js"])?)),
            Kind::Skills | Kind::Prompts => Some((stem(&["md"])?, path.to_path_buf())),
            Kind::Extensions => Some((stem(&["ts", "js"])?, path.to_path_buf())),
        }
    }
}

/// One resource of the library.
#[derive(Clone, Debug)]
struct Resource {
    name: String,
    /// The file or directory to copy.
    source: PathBuf,
    description: Option<String>,
}

impl Resource {
    /// Its file or directory name inside `.pi/<folder>/`.
    fn target_name(&self) -> String {
        self.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// A resource's description: `description:` of its front matter, else its
/// first line of text (comments of a script included).
fn description(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines().map(str::trim);
    let first = if text.starts_with("---") {
        let front: Vec<&str> = lines.by_ref().skip(1).take_while(|l| *l != "---").collect();
        front
            .iter()
            .find_map(|l| l.strip_prefix("description:"))
            .map(|d| d.trim().trim_matches('"').to_string())
    } else {
        None
    };
    let first = first.or_else(|| {
        lines
            .map(|l| l.trim_start_matches(['#', '/', '*', ' ']).trim())
            .find(|l| !l.is_empty())
            .map(str::to_string)
    })?;
    Some(first.chars().take(300).collect())
}

/// The library's resources of one kind, by name.
fn library(ctx: &ServerContext, kind: Kind) -> Vec<Resource> {
    let dir = ctx.config.pi_resources_dir().join(kind.folder());
    let mut found: Vec<Resource> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let (name, main) = kind.entry(&e.path())?;
            Some(Resource { name, source: e.path(), description: description(&main) })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    found
}

/// What Oqto applied to a workspace, per kind.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct Applied {
    mode: Option<ResourceMode>,
    /// Names selected in `custom` mode.
    #[serde(default)]
    selected: Vec<String>,
    /// File or directory names Oqto put into `.pi/<folder>/`.
    #[serde(default)]
    files: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct State {
    #[serde(default)]
    skills: Applied,
    #[serde(default)]
    extensions: Applied,
    #[serde(default)]
    prompts: Applied,
}

impl State {
    fn of(&mut self, kind: Kind) -> &mut Applied {
        match kind {
            Kind::Skills => &mut self.skills,
            Kind::Extensions => &mut self.extensions,
            Kind::Prompts => &mut self.prompts,
        }
    }
}

/// What Oqto applied, as recorded in the workspace. The file is the
/// workspace's to edit too: only plain names inside `.pi/<kind>/` count.
fn read_state(ws: &Dir) -> State {
    let mut state: State =
        ws.read_to_string(STATE_FILE).ok().and_then(|t| toml::from_str(&t).ok()).unwrap_or_default();
    for kind in KINDS {
        state.of(kind).files.retain(|f| {
            let mut parts = Path::new(f).components();
            matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None))
        });
    }
    state
}

/// `.pi/<kind>/`, relative to the workspace (reached only through its handle).
fn pi_dir(kind: Kind) -> PathBuf {
    Path::new(".pi").join(kind.folder())
}

fn io(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| crate::workspace::io_error(what, e)
}

fn view_of(ctx: &ServerContext, ws: &Dir, mut state: State) -> PiResources {
    let mut lists = KINDS.map(|kind| {
        let applied = state.of(kind);
        let mandatory = kind.mandatory(ctx);
        let pi = pi_dir(kind);
        library(ctx, kind)
            .into_iter()
            .map(|r| PiResource {
                selected: applied.files.contains(&r.target_name())
                    && ws.symlink_metadata(pi.join(r.target_name())).is_ok(),
                mandatory: mandatory.contains(&r.name),
                name: r.name,
                description: r.description,
            })
            .collect::<Vec<_>>()
    });
    let [skills, extensions, prompts] = std::array::from_fn(|i| std::mem::take(&mut lists[i]));
    PiResources {
        skills_mode: state.skills.mode.unwrap_or(ResourceMode::Custom),
        extensions_mode: state.extensions.mode.unwrap_or(ResourceMode::Custom),
        prompts_mode: state.prompts.mode.unwrap_or(ResourceMode::Custom),
        skills,
        extensions,
        prompts,
    }
}

pub async fn view(ctx: &ServerContext, caller: &Caller, workspace: &str) -> Result<PiResources> {
    let ws = crate::sessions::existing_workspace(ctx, &caller.user_id, workspace).await?.open()?;
    let state = read_state(&ws);
    Ok(view_of(ctx, &ws, state))
}

/// One kind's planned change.
struct Plan {
    kind: Kind,
    mode: ResourceMode,
    selected: Vec<String>,
    wanted: Vec<Resource>,
}

/// Checks a selection against the library (422 naming an unknown one).
fn plan(ctx: &ServerContext, kind: Kind, mode: ResourceMode, names: Vec<String>) -> Result<Plan> {
    let library = library(ctx, kind);
    let known: BTreeSet<&str> = library.iter().map(|r| r.name.as_str()).collect();
    if let Some(unknown) = names.iter().find(|n| !known.contains(n.as_str())) {
        return Err(Error::Invalid(format!("{}: no resource {unknown:?} in the library", kind.folder())));
    }
    let mandatory = kind.mandatory(ctx);
    let wanted = library
        .into_iter()
        .filter(|r| mode == ResourceMode::All || names.contains(&r.name) || mandatory.contains(&r.name))
        .collect();
    Ok(Plan { kind, mode, selected: names, wanted })
}

/// Stages every copy next to its target, then swaps them in: a failure
/// while copying leaves the workspace as it was. Everything in the
/// workspace is reached through its handle `ws`.
fn carry_out(ws: &Dir, state: &mut State, plans: &[Plan]) -> Result<()> {
    // Refuse before touching anything: a workspace's own file where a
    // resource would go.
    for plan in plans {
        let pi = pi_dir(plan.kind);
        // `.pi/<kind>` must be a directory of the workspace (a link out is a 422).
        crate::workspace::ensure_dir(ws, &pi).map_err(io(".pi"))?;
        let ours = &state.of(plan.kind).files;
        if let Some(r) = plan.wanted.iter().find(|r| {
            ws.symlink_metadata(pi.join(r.target_name())).is_ok() && !ours.contains(&r.target_name())
        }) {
            return Err(Error::Conflict(format!(
                "{}: the workspace has its own .pi/{}/{}",
                plan.kind.folder(),
                plan.kind.folder(),
                r.target_name()
            )));
        }
    }
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let staging = plans.iter().try_for_each(|plan| {
        let pi = pi_dir(plan.kind);
        ws.create_dir_all(&pi)?;
        for r in &plan.wanted {
            let tmp = pi.join(format!(".{}.oqto-new", r.target_name()));
            remove(ws, &tmp)?;
            if r.source.is_dir() {
                crate::util::copy_dir(&r.source, ws, &tmp, &|n| Some(n.to_string()), &str::to_string)?;
            } else {
                ws.write(&tmp, std::fs::read(&r.source)?)?;
            }
            staged.push((tmp, pi.join(r.target_name())));
        }
        Ok::<_, std::io::Error>(())
    });
    if let Err(e) = staging {
        for (tmp, _) in &staged {
            let _ = remove(ws, tmp);
        }
        return Err(io(".pi")(e));
    }
    for plan in plans {
        let pi = pi_dir(plan.kind);
        let applied = state.of(plan.kind);
        let now: Vec<String> = plan.wanted.iter().map(Resource::target_name).collect();
        for old in applied.files.iter().filter(|f| !now.contains(f)) {
            remove(ws, &pi.join(old)).map_err(io(".pi"))?;
        }
        *applied = Applied { mode: Some(plan.mode), selected: plan.selected.clone(), files: now };
    }
    for (tmp, target) in staged {
        remove(ws, &target).map_err(io(".pi"))?;
        ws.rename(&tmp, ws, &target).map_err(io(".pi"))?;
    }
    let text = toml::to_string(state).map_err(|e| Error::Internal(e.into()))?;
    crate::workspace::write_atomic(ws, Path::new(STATE_FILE), text.as_bytes()).map_err(io(STATE_FILE))
}

/// Removes a file or directory tree beneath `ws` if present (a link is
/// removed, never followed).
fn remove(ws: &Dir, path: &Path) -> std::io::Result<()> {
    match ws.symlink_metadata(path) {
        Ok(m) if m.is_dir() => ws.remove_dir_all(path),
        Ok(_) => ws.remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn apply(ctx: &ServerContext, caller: &Caller, body: PiResourcesApply) -> Result<PiResources> {
    let dir = crate::sessions::existing_workspace(ctx, &caller.user_id, &body.workspace_path).await?;
    let ws = dir.open()?;
    let plans = [
        plan(ctx, Kind::Skills, body.skills_mode, body.skills)?,
        plan(ctx, Kind::Extensions, body.extensions_mode, body.extensions)?,
        plan(ctx, Kind::Prompts, body.prompts_mode, body.prompts)?,
    ];
    let mut state = read_state(&ws);
    carry_out(&ws, &mut state, &plans)?;
    slog::info!(ctx.log, "pi resources applied"; "user_id" => &caller.user_id, "workspace" => &dir.relative);
    Ok(view_of(ctx, &ws, state))
}
