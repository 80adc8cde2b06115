//! The original's `skdlr` CLI behind the overview and delete, when
//! `scheduler.skdlr_bin` is set: `skdlr list` and `skdlr next` read as
//! the original read their tables, `skdlr remove` to delete. skdlr runs in
//! the user's sandbox with the workspace root as its directory and home, so
//! its schedules are the user's own.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use oqto_api::scheduler::{ScheduleDeleted, ScheduleEntry, SchedulerOverview, SchedulerStats};

use crate::context::ServerContext;
use crate::error::{Error, Result};

/// How long one skdlr command may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The rows of `skdlr list`: `NAME STATUS TYPE SCHEDULE COMMAND`, the
/// schedule being 5 words for `cron` and 3 for `once` (`2026-12-24 18:00
/// UTC`); the header, the rule and "No schedules" lines are skipped.
pub fn parse_list(output: &str) -> Vec<ScheduleEntry> {
    let mut entries = Vec::new();
    for line in output.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with("NAME")
            || line.starts_with('-')
            || line.starts_with("No schedules")
        {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 4 {
            continue;
        }
        // Where the schedule starts and ends; an unknown type is taken
        // as part of a 5-word schedule, as the original did.
        let (from, to) = match words[2] {
            "cron" => (3, 8),
            "once" => (3, 6),
            _ => (2, 7),
        };
        let to = to.min(words.len());
        entries.push(ScheduleEntry {
            name: words[0].to_string(),
            status: words[1].to_string(),
            schedule: words[from..to].join(" "),
            command: words[to..].join(" "),
            next_run: None,
        });
    }
    entries
}

/// The rows of `skdlr next`: `NAME NEXT RUN`, by name. The name is the
/// first word (the original cut it at column 20, which loses longer
/// names), the time the rest.
pub fn parse_next(output: &str) -> HashMap<String, String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("NAME") && !l.starts_with('-') && !l.starts_with("No "))
        .filter_map(|line| {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            let next = rest.trim();
            (!next.is_empty()).then(|| (name.to_string(), next.to_string()))
        })
        .collect()
}

/// `GET /api/scheduler/overview` from skdlr.
pub async fn overview(ctx: &ServerContext, user_id: &str, program: &str) -> Result<SchedulerOverview> {
    let mut schedules = parse_list(&run(ctx, user_id, program, &["list"]).await?);
    // As in the original, the overview stands without the next runs.
    let next = match run(ctx, user_id, program, &["next"]).await {
        Ok(output) => parse_next(&output),
        Err(e) => {
            slog::debug!(ctx.log, "skdlr next failed"; "error" => %e);
            HashMap::new()
        }
    };
    for entry in &mut schedules {
        entry.next_run = next.get(&entry.name).cloned();
    }
    let count =
        |status: &str| schedules.iter().filter(|s| s.status.eq_ignore_ascii_case(status)).count() as u64;
    let stats = SchedulerStats {
        total: schedules.len() as u64,
        enabled: count("enabled"),
        disabled: count("disabled"),
    };
    Ok(SchedulerOverview { stats, schedules })
}

/// `DELETE /api/scheduler/jobs/{name}` with skdlr (`remove NAME -y`: the
/// original asked skdlr without `-y`, which then waited for a "y" on a
/// closed input and removed nothing).
pub async fn remove(
    ctx: &ServerContext,
    user_id: &str,
    program: &str,
    name: &str,
) -> Result<ScheduleDeleted> {
    if name.is_empty() || name.starts_with('-') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Invalid("a job name has no spaces and does not start with '-'".into()));
    }
    run(ctx, user_id, program, &["remove", name, "-y"]).await?;
    Ok(ScheduleDeleted { deleted: name.to_string() })
}

/// Runs skdlr with `args` in the user's sandbox; its standard output, or
/// why it failed (404 for an unknown schedule, 502 for any other failure).
async fn run(ctx: &ServerContext, user_id: &str, program: &str, args: &[&str]) -> Result<String> {
    let root = crate::sessions::user_root(ctx, user_id).await?;
    let mut profile = ctx.sandbox.profile_for(&root);
    let mut full: Vec<String> = Vec::new();
    let mut env = Vec::new();
    let config = &ctx.config.scheduler.skdlr_config;
    if config.is_file() {
        full.extend(["--config".to_string(), config.display().to_string()]);
        profile.extra_ro_bind.push(config.display().to_string());
        env.push(("SKDLR_OCTO_MODE".to_string(), "1".to_string()));
    }
    full.extend(args.iter().map(|a| a.to_string()));
    let spec = crate::sandbox::launch::Spec {
        program: program.to_string(),
        args: full,
        cwd: root.clone(),
        home: root.clone(),
        writable: vec![root],
        env,
        profile,
        new_session: true,
        api_socket: None,
    };
    let launch = ctx.sandbox.launch(&spec)?;
    let mut command = launch.command();
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child =
        command.spawn().map_err(|e| Error::Unavailable(format!("skdlr could not start ({})", e.kind())))?;
    let (out, err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let finished = async { tokio::join!(super::drain(out), super::drain(err), child.wait()) };
    let (stdout, stderr, status) = tokio::time::timeout(TIMEOUT, finished)
        .await
        .map_err(|_| Error::Upstream(format!("skdlr did not finish within {} s", TIMEOUT.as_secs())))?;
    let status = status.map_err(|e| Error::Upstream(format!("waiting for skdlr failed ({})", e.kind())))?;
    if status.success() {
        return Ok(String::from_utf8_lossy(&stdout).into_owned());
    }
    let why: String =
        String::from_utf8_lossy(&stderr).trim().trim_start_matches("error: ").chars().take(500).collect();
    if why.contains("not found") {
        return Err(Error::NotFound(why));
    }
    Err(Error::Upstream(format!("skdlr failed: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `skdlr list` and `skdlr next` as skdlr prints them.
    const LIST: &str = "NAME                 STATUS     TYPE   SCHEDULE                 COMMAND
-------------------------------------------------------------------------------------
backup               enabled    cron   0 2 * * *                restic backup ~
a-rather-long-schedule-name disabled   once   2026-12-24 18:00 UTC     echo 'merry christmas'...
";
    const NEXT: &str = "NAME                 NEXT RUN
--------------------------------------------------
backup               2026-12-04 02:00:00 UTC
";

    #[test]
    fn skdlr_tables_are_read_as_the_original_read_them() {
        let entries = parse_list(LIST);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].name.as_str(), entries[0].status.as_str(), entries[0].schedule.as_str()),
            ("backup", "enabled", "0 2 * * *")
        );
        assert_eq!(entries[0].command, "restic backup ~");
        assert_eq!(entries[1].name, "a-rather-long-schedule-name");
        assert_eq!(entries[1].schedule, "2026-12-24 18:00 UTC");
        assert_eq!(entries[1].command, "echo 'merry christmas'...");
        assert!(parse_list("No schedules configured.\n").is_empty());
        let next = parse_next(NEXT);
        assert_eq!(next.get("backup").map(String::as_str), Some("2026-12-04 02:00:00 UTC"));
        assert_eq!(next.len(), 1);
        assert!(parse_next("No upcoming runs.\n").is_empty());
    }
}
