//! Workspace locations: the roots whose subdirectories are projects.
//!
//! Every user has the built-in `home` location of the `default` group (their
//! workspace root). Users add their own locations inside it; admins add
//! shared ones anywhere, seen by every user, with `{username}` and
//! `{user_id}` filled in per user. Each group has one active location per
//! user, which `/api/projects` lists. A user's own location shadows a
//! shared one of the same group and name.

use std::path::{Component, Path, PathBuf};

use oqto_api::workspace::{LocationKind, LocationSelect, LocationUpsert, WorkspaceLocation};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db::{self, locations::LocationRow, users::UserRow};
use crate::error::{Error, Result};

/// The group of the built-in location.
pub const DEFAULT_GROUP: &str = "default";
/// The built-in location's name.
pub const HOME: &str = "home";

/// A location as one user sees it.
#[derive(Clone, Debug)]
struct Location {
    workspace_id: String,
    location_id: String,
    /// Expanded for the user.
    path: PathBuf,
    shared: bool,
    builtin: bool,
}

impl Location {
    fn view(&self, is_active: bool) -> WorkspaceLocation {
        let key = format!("{}/{}", self.workspace_id, self.location_id);
        WorkspaceLocation {
            id: if self.shared { format!("shared:{key}") } else { key },
            workspace_id: self.workspace_id.clone(),
            location_id: self.location_id.clone(),
            kind: LocationKind::Local,
            path: self.path.to_string_lossy().into_owned(),
            is_active,
            shared: self.shared,
            builtin: self.builtin,
        }
    }
}

/// A shared location's path for one user.
fn expand(template: &str, user: &UserRow) -> PathBuf {
    PathBuf::from(template.replace("{user_id}", &user.id).replace("{username}", &user.username))
}

/// Every location the user sees: `home` first, then by group and name.
async fn all(ctx: &ServerContext, user: &UserRow) -> Result<Vec<Location>> {
    let home = ctx.config.workspace_root(&user.id, &user.username);
    let mut locations = vec![Location {
        workspace_id: DEFAULT_GROUP.into(),
        location_id: HOME.into(),
        path: home.clone(),
        shared: false,
        builtin: true,
    }];
    for row in db::locations::list_for(&ctx.db.pool, &user.id).await? {
        let shared = row.scope == db::locations::SHARED;
        let location = Location {
            path: if shared { expand(&row.path, user) } else { home.join(&row.path) },
            workspace_id: row.workspace_id,
            location_id: row.location_id,
            shared,
            builtin: false,
        };
        // One location per key: the built-in one, else the user's own,
        // else the shared one.
        match locations
            .iter_mut()
            .find(|l| l.workspace_id == location.workspace_id && l.location_id == location.location_id)
        {
            Some(existing) if existing.shared && !location.shared => *existing = location,
            Some(_) => {}
            None => locations.push(location),
        }
    }
    Ok(locations)
}

/// Every location a user sees, with the stored choice of each group's
/// active one.
struct Seen {
    locations: Vec<Location>,
    chosen: Vec<(String, String)>,
}

impl Seen {
    async fn load(ctx: &ServerContext, user: &UserRow) -> Result<Seen> {
        let locations = all(ctx, user).await?;
        let chosen = db::locations::active(&ctx.db.pool, &user.id).await?;
        Ok(Seen { locations, chosen })
    }

    /// A group's active location: the chosen one while it exists, else
    /// `home` for the default group and the first of any other.
    fn active(&self, group: &str) -> Option<&Location> {
        let in_group = || self.locations.iter().filter(move |l| l.workspace_id == group);
        self.chosen
            .iter()
            .find(|(g, _)| g == group)
            .and_then(|(_, id)| in_group().find(|l| &l.location_id == id))
            .or_else(|| in_group().next())
    }

    fn view(&self, location: &Location) -> WorkspaceLocation {
        let active = self.active(&location.workspace_id);
        location.view(active.is_some_and(|a| a.location_id == location.location_id))
    }

    /// One location, as listed (404 when unknown).
    fn find(&self, group: &str, name: &str) -> Result<WorkspaceLocation> {
        self.locations
            .iter()
            .find(|l| l.workspace_id == group && l.location_id == name)
            .map(|l| self.view(l))
            .ok_or_else(|| Error::NotFound(format!("no location {name:?} in group {group:?}")))
    }
}

fn group_of(requested: Option<&str>) -> Result<String> {
    let group = requested.map(str::trim).filter(|g| !g.is_empty()).unwrap_or(DEFAULT_GROUP);
    check_name("workspace_id", group)?;
    Ok(group.to_string())
}

fn check_name(field: &str, name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("{field} must be 1 to 64 letters, digits, '-', '_' or '.'")))
    }
}

pub async fn list(
    ctx: &ServerContext,
    caller: &Caller,
    group: Option<&str>,
) -> Result<Vec<WorkspaceLocation>> {
    let user = crate::users::own_row(ctx, &caller.user_id).await?;
    let seen = Seen::load(ctx, &user).await?;
    let group = group.map(|g| group_of(Some(g))).transpose()?;
    Ok(seen
        .locations
        .iter()
        .filter(|l| group.as_ref().is_none_or(|g| &l.workspace_id == g))
        .map(|l| seen.view(l))
        .collect())
}

/// Checks a shared location's path template: absolute, no `..`, not `/`.
fn check_shared_path(path: &str) -> Result<String> {
    let path = path.trim();
    let p = Path::new(path);
    let bad = !p.is_absolute()
        || path.contains('\0')
        || p.components().any(|c| matches!(c, Component::ParentDir))
        || p.components().count() < 2;
    if bad {
        return Err(Error::Invalid(
            "path of a shared location must be an absolute directory below / without '..'".into(),
        ));
    }
    Ok(path.trim_end_matches('/').to_string())
}

pub async fn upsert(ctx: &ServerContext, caller: &Caller, body: LocationUpsert) -> Result<WorkspaceLocation> {
    let user = crate::users::own_row(ctx, &caller.user_id).await?;
    let group = group_of(body.workspace_id.as_deref())?;
    let name = body.location_id.trim().to_string();
    check_name("location_id", &name)?;
    if body.kind == LocationKind::Remote {
        return Err(Error::Invalid("kind: remote locations are not supported by this server".into()));
    }
    if group == DEFAULT_GROUP && name == HOME {
        return Err(Error::Conflict("home is the built-in location (your workspace root)".into()));
    }
    let (scope, stored_path) = if body.shared {
        caller.require_admin()?;
        (db::locations::SHARED.to_string(), check_shared_path(&body.path)?)
    } else {
        let home = ctx.config.workspace_root(&user.id, &user.username);
        std::fs::create_dir_all(&home).map_err(|e| Error::Internal(e.into()))?;
        let dir = crate::workspace::resolve(&home, &body.path)?;
        if dir.relative == "." {
            return Err(Error::Invalid("path is your workspace root: that is the home location".into()));
        }
        std::fs::create_dir_all(&dir.path)
            .map_err(|e| Error::Invalid(format!("path: cannot create {}: {e}", dir.relative)))?;
        (user.id.clone(), dir.relative)
    };
    let now = db::now_ms();
    let row = LocationRow {
        scope,
        workspace_id: group.clone(),
        location_id: name.clone(),
        kind: "local".into(),
        path: stored_path,
        created_at: now,
        updated_at: now,
    };
    let mut tx = ctx.db.pool.begin().await?;
    db::locations::upsert(&mut *tx, &row).await?;
    if body.set_active {
        db::locations::set_active(&mut *tx, &user.id, &group, &name).await?;
    }
    tx.commit().await?;
    slog::info!(ctx.log, "workspace location saved";
        "user_id" => &user.id, "workspace_id" => &group, "location_id" => &name, "shared" => body.shared);
    Seen::load(ctx, &user).await?.find(&group, &name)
}

pub async fn activate(
    ctx: &ServerContext,
    caller: &Caller,
    body: LocationSelect,
) -> Result<WorkspaceLocation> {
    let user = crate::users::own_row(ctx, &caller.user_id).await?;
    let group = group_of(body.workspace_id.as_deref())?;
    let name = body.location_id.trim();
    let mut seen = Seen::load(ctx, &user).await?;
    // Refuse unknown ones before storing anything.
    seen.find(&group, name)?;
    db::locations::set_active(&ctx.db.pool, &user.id, &group, name).await?;
    seen.chosen.retain(|(g, _)| g != &group);
    seen.chosen.push((group.clone(), name.to_string()));
    seen.find(&group, name)
}

/// The active location of a group and the user's workspace root; both
/// directories exist afterwards.
pub async fn active_root(
    ctx: &ServerContext,
    user_id: &str,
    group: Option<&str>,
) -> Result<(PathBuf, PathBuf)> {
    let user = crate::users::own_row(ctx, user_id).await?;
    let group = group_of(group)?;
    let seen = Seen::load(ctx, &user).await?;
    let active =
        seen.active(&group).ok_or_else(|| Error::NotFound(format!("no locations in group {group:?}")))?;
    let home = seen.locations[0].path.clone();
    if !active.shared {
        // Never follow an own location out of the workspace root.
        let inner = active.path.strip_prefix(&home).unwrap_or(Path::new(""));
        crate::workspace::resolve(&home, &inner.to_string_lossy())?;
    }
    for dir in [&home, &active.path] {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Unavailable(format!("the location {} is unusable: {e}", dir.display())))?;
    }
    Ok((active.path.clone(), home))
}

/// The user's roots: the workspace root first, then the shared locations
/// outside it.
pub async fn roots(ctx: &ServerContext, user_id: &str) -> Result<Vec<PathBuf>> {
    let user = crate::users::own_row(ctx, user_id).await?;
    let locations = all(ctx, &user).await?;
    let home = locations[0].path.clone();
    let mut roots = vec![home.clone()];
    roots.extend(locations.into_iter().filter(|l| l.shared && !l.path.starts_with(&home)).map(|l| l.path));
    Ok(roots)
}
