//! The scheduler: jobs created, listed, paused and removed through the SDK
//! and `oqtoctl`; a one-off prompt job runs in a chat of the stand-in agent
//! and a one-off command job in the user's sandbox, each with its outcome
//! recorded; bad input is refused and nothing of another user's is seen;
//! with `scheduler.skdlr_bin` set, the overview and delete are those of a
//! stand-in `skdlr` that prints skdlr's own tables.

use std::time::Duration;

use chrono::Utc;
use oqto_client::{Client, types};
use oqto_tests::{TestServer, error_body, status};

fn prompt_job(name: &str, at: chrono::DateTime<Utc>, prompt: &str) -> types::ScheduleCreate {
    types::ScheduleCreate {
        name: name.into(),
        schedule: None,
        at: Some(at),
        action: types::ScheduleAction::Prompt { workspace_path: "site".into(), prompt: prompt.into() },
    }
}

/// Waits (up to 30 s) until the job has run; returns it.
async fn ran(client: &Client, name: &str) -> types::ScheduleView {
    for _ in 0..300 {
        let job = client.scheduler_job_view().name(name).send().await.unwrap().into_inner();
        if job.last_run.is_some() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job {name} did not run");
}

#[tokio::test]
async fn one_off_jobs_run_a_prompt_and_a_command_and_keep_the_outcome() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("planner").await;
    server.open_workspace(&client, "site").await;

    let soon = Utc::now() + chrono::Duration::milliseconds(800);
    let created = client
        .scheduler_job_create()
        .body(prompt_job("greet", soon, "good morning"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(created.enabled && created.runs == 0 && created.last_run.is_none());
    assert_eq!(created.next_run_at.map(|t| t.timestamp_millis()), Some(soon.timestamp_millis()));

    let job = ran(&client, "greet").await;
    let run = job.last_run.unwrap();
    assert_eq!(run.status, types::ScheduleRunStatus::Succeeded, "{}", run.output);
    assert_eq!(run.output.trim(), "You said: good morning");
    assert_eq!((job.runs, job.enabled, job.next_run_at), (1, false, None), "a one-off job runs once");
    // The answer is in the job's own chat, like any chat's.
    let chats = client.chat_history_list().send().await.unwrap().into_inner();
    assert!(chats.iter().any(|c| c.id.starts_with("sched-")), "{chats:?}");

    let command = types::ScheduleCreate {
        name: "write-file".into(),
        schedule: None,
        at: Some(Utc::now() + chrono::Duration::milliseconds(500)),
        action: types::ScheduleAction::Command {
            workspace_path: "site".into(),
            command: "echo scheduled > out.txt && echo home=$HOME && ls /root 2>&1 | head -1 && exit 3"
                .into(),
        },
    };
    client.scheduler_job_create().body(command).send().await.unwrap();
    let run = ran(&client, "write-file").await.last_run.unwrap();
    assert_eq!(run.status, types::ScheduleRunStatus::Failed, "exit 3 is a failure");
    assert!(run.output.starts_with("exit status 3\n"), "{}", run.output);
    assert!(!run.output.contains("home=/root"), "the command ran outside the sandbox: {}", run.output);
    let on_disk = server.data_dir.path().join("users");
    let found = walk(&on_disk).into_iter().any(|p| p.ends_with("site/out.txt"));
    assert!(found, "the command did not write into the workspace");

    let overview = client.scheduler_overview_view().send().await.unwrap().into_inner();
    assert_eq!((overview.stats.total, overview.stats.enabled, overview.stats.disabled), (2, 0, 2));
    let greet = overview.schedules.iter().find(|s| s.name == "greet").unwrap();
    assert_eq!(greet.status, "disabled");
    assert_eq!(greet.command, "prompt: good morning");
    assert!(greet.schedule.starts_with("once "));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn repeating_jobs_pause_resume_and_refuse_bad_input() {
    let server = TestServer::start().await;
    let (client, _) = server.user_client("planner").await;
    let (other, _) = server.user_client("stranger").await;
    server.open_workspace(&client, "site").await;

    let nightly = types::ScheduleCreate {
        name: "nightly".into(),
        schedule: Some("0 3 * * *".into()),
        at: None,
        action: types::ScheduleAction::Command { workspace_path: "site".into(), command: "date".into() },
    };
    let job = client.scheduler_job_create().body(nightly.clone()).send().await.unwrap().into_inner();
    let next = job.next_run_at.unwrap();
    assert!(next > Utc::now() && next <= Utc::now() + chrono::Duration::days(1));
    assert_eq!(next.format("%H:%M").to_string(), "03:00");

    let paused = client.scheduler_job_pause().name("nightly").send().await.unwrap().into_inner();
    assert!(!paused.enabled && paused.next_run_at.is_none());
    let resumed = client.scheduler_job_resume().name("nightly").send().await.unwrap().into_inner();
    assert_eq!(resumed.next_run_at, Some(next));

    assert_eq!(status(client.scheduler_job_create().body(nightly.clone()).send().await), 409);
    let past = prompt_job("late", Utc::now() - chrono::Duration::minutes(1), "hi");
    let both =
        types::ScheduleCreate { schedule: Some("* * * * *".into()), ..prompt_job("both", Utc::now(), "x") };
    let neither = types::ScheduleCreate { at: None, ..prompt_job("neither", Utc::now(), "x") };
    let bad_cron = types::ScheduleCreate { schedule: Some("61 * * * *".into()), at: None, ..nightly.clone() };
    let six = types::ScheduleCreate { schedule: Some("0 0 3 * * *".into()), at: None, ..nightly.clone() };
    let outside = types::ScheduleCreate {
        name: "outside".into(),
        action: types::ScheduleAction::Command { workspace_path: "../../etc".into(), command: "id".into() },
        ..nightly.clone()
    };
    let empty = types::ScheduleCreate { name: "empty".into(), ..prompt_job("e", Utc::now(), " ") };
    let soon = Utc::now() + chrono::Duration::hours(1);
    for (body, code) in [
        (past, 422),
        (both, 400),
        (neither, 400),
        (bad_cron, 422),
        (six, 422),
        (outside, 422),
        (types::ScheduleCreate { name: "../x".into(), ..prompt_job("x", soon, "hi") }, 422),
        (types::ScheduleCreate { at: Some(soon), ..empty }, 400),
    ] {
        let name = body.name.clone();
        let (got, error) = error_body(client.scheduler_job_create().body(body).send().await);
        assert_eq!(got, code, "{name}: {error:?}");
    }

    // Another user sees none of it.
    assert!(other.scheduler_job_list().send().await.unwrap().into_inner().is_empty());
    assert_eq!(status(other.scheduler_job_view().name("nightly").send().await), 404);
    assert_eq!(status(other.scheduler_job_delete().name("nightly").send().await), 404);
    assert_eq!(status(server.anonymous().scheduler_job_list().send().await), 401);

    // The CLI: add, list, pause, rm.
    let token = server.login("planner", oqto_tests::TEST_PASSWORD).await;
    let ctl = |args: &[&str]| {
        let out =
            server.oqtoctl().env("OQTO_TOKEN", &token).args(["-o", "json"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let added =
        ctl(&["schedule", "add", "weekly", "--cron", "0 9 * * 1", "-w", "site", "--prompt", "plan the week"]);
    assert_eq!(added["action"]["type"], "prompt");
    let listed = ctl(&["schedule", "list"]);
    let names: Vec<_> = listed.as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["nightly", "weekly"]);
    assert_eq!(ctl(&["schedule", "pause", "weekly"])["enabled"], false);
    assert_eq!(ctl(&["schedule", "rm", "weekly"])["deleted"], "weekly");
    assert_eq!(client.scheduler_job_list().send().await.unwrap().into_inner().len(), 1);
}

/// skdlr as far as Oqto uses it: `list` and `next` print skdlr's tables
/// (its column widths), `remove NAME -y` removes `backup` and knows no
/// other; every call is written down with where it ran and what it saw.
const FAKE_SKDLR: &str = r#"#!/bin/sh
echo "$* | home=$HOME pwd=$(pwd) secret=${SKDLR_SERVER_SECRET:-none}" >> skdlr-calls.txt
rule() { printf '%s\n' "$(printf '%*s' "$1" '' | tr ' ' -)"; }
case "$1" in
list)
  printf '%-20s %-10s %-6s %-24s COMMAND\n' NAME STATUS TYPE SCHEDULE
  rule 85
  printf '%-20s %-10s %-6s %-24s %s\n' backup enabled cron '0 2 * * *' 'restic backup ~'
  printf '%-20s %-10s %-6s %-24s %s\n' christmas-greetings-job disabled once '2026-12-24 18:00 UTC' 'echo merry'
  ;;
next)
  printf '%-20s NEXT RUN\n' NAME
  rule 50
  printf '%-20s %s\n' backup '2026-12-04 02:00:00 UTC'
  ;;
remove)
  if [ "$2" = backup ] && [ "$3" = -y ]; then echo "Removed schedule '$2'"; else echo "error: schedule '$2' not found" >&2; exit 1; fi
  ;;
*) echo "error: unexpected $1" >&2; exit 2 ;;
esac
"#;

#[tokio::test]
async fn with_skdlr_the_overview_and_delete_are_skdlrs() {
    let tools = tempfile::tempdir().unwrap();
    let program = tools.path().join("skdlr");
    std::fs::write(&program, FAKE_SKDLR).unwrap();
    std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let options = oqto_tests::Options::default()
        .env("OQTO_SCHEDULER__SKDLR_BIN", program.to_str().unwrap())
        .env("SKDLR_SERVER_SECRET", "the server's own");
    let server = TestServer::start_with(options).await;
    let (client, me) = server.user_client("skdlr-user").await;

    let overview = client.scheduler_overview_view().send().await.unwrap().into_inner();
    assert_eq!((overview.stats.total, overview.stats.enabled, overview.stats.disabled), (2, 1, 1));
    let backup = &overview.schedules[0];
    assert_eq!((backup.name.as_str(), backup.status.as_str()), ("backup", "enabled"));
    assert_eq!((backup.schedule.as_str(), backup.command.as_str()), ("0 2 * * *", "restic backup ~"));
    assert_eq!(backup.next_run.as_deref(), Some("2026-12-04 02:00:00 UTC"));
    let once = &overview.schedules[1];
    assert_eq!(once.name, "christmas-greetings-job", "a name longer than skdlr's column");
    assert_eq!((once.schedule.as_str(), once.command.as_str()), ("2026-12-24 18:00 UTC", "echo merry"));
    assert_eq!(once.next_run, None);

    assert_eq!(
        client.scheduler_job_delete().name("backup").send().await.unwrap().into_inner().deleted,
        "backup"
    );
    assert_eq!(status(client.scheduler_job_delete().name("elsewhere").send().await), 404);
    assert_eq!(status(client.scheduler_job_delete().name("-rf").send().await), 422);

    // skdlr ran in the user's workspace root, as its home, without the
    // server's environment.
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    let calls = std::fs::read_to_string(root.join("skdlr-calls.txt")).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 4, "{calls}");
    assert!(lines[0].starts_with("list | "), "{calls}");
    assert!(lines[2].starts_with("remove backup -y | "), "{calls}");
    let place = format!("home={0} pwd={0} secret=none", root.display());
    assert!(lines.iter().all(|l| l.ends_with(&place)), "{calls}");

    // The CLI shows the same.
    let token = server.login("skdlr-user", oqto_tests::TEST_PASSWORD).await;
    let out = server
        .oqtoctl()
        .env("OQTO_TOKEN", &token)
        .args(["-o", "json", "schedule", "overview"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["stats"]["total"], 2);
}
