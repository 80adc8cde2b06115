//! The agent's resources of a workspace: the server's library of skills,
//! extensions and prompt templates applied into the workspace's `.pi/`.

use oqto_client::types;
use oqto_tests::{Options, TestServer, status};

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn apply(mode: types::ResourceMode, skills: &[&str]) -> types::PiResourcesApply {
    types::PiResourcesApply {
        workspace_path: "w".into(),
        skills_mode: mode,
        extensions_mode: types::ResourceMode::All,
        prompts_mode: types::ResourceMode::Custom,
        skills: skills.iter().map(|s| s.to_string()).collect(),
        extensions: vec![],
        prompts: vec![],
    }
}

fn names(list: &[types::PiResource], selected: bool) -> Vec<&str> {
    list.iter().filter(|r| r.selected == selected).map(|r| r.name.as_str()).collect()
}

#[tokio::test]
async fn pi_resources_are_applied_and_removed_without_touching_the_workspace_own() {
    let server =
        TestServer::start_with(Options::default().env("OQTO_PROJECTS__MANDATORY_SKILLS", "[\"base\"]")).await;
    let lib = server.data_dir.path().join("pi-resources");
    write(&lib.join("skills/review/SKILL.md"), "---\nname: review\ndescription: Reviews diffs.\n---\nBody\n");
    write(&lib.join("skills/review/notes/extra.md"), "more\n");
    write(&lib.join("skills/base.md"), "---\ndescription: Always there.\n---\n");
    write(&lib.join("skills/lint.md"), "---\ndescription: Lints.\n---\n");
    write(&lib.join("extensions/guard.ts"), "// Guards dangerous commands.\nexport default () => {};\n");
    write(&lib.join("extensions/helper/index.ts"), "export default () => {};\n");
    write(&lib.join("prompts/fix.md"), "Fix the failing test\n");
    write(&lib.join("skills/not-a-skill/readme.txt"), "ignored: no SKILL.md\n");

    let (client, me) = server.user_client("pia").await;
    let ws = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/w");
    write(&ws.join(".pi/skills/mine.md"), "the workspace's own skill\n");

    let view = client.workspace_pi_resources_view().workspace_path("w").send().await.unwrap().into_inner();
    assert_eq!(view.skills_mode, types::ResourceMode::Custom);
    assert_eq!(names(&view.skills, false), ["base", "lint", "review"]);
    let review = view.skills.iter().find(|s| s.name == "review").unwrap();
    assert_eq!(review.description.as_deref(), Some("Reviews diffs."));
    assert!(view.skills.iter().find(|s| s.name == "base").unwrap().mandatory);
    assert_eq!(view.extensions[0].description.as_deref(), Some("Guards dangerous commands."));
    assert_eq!(view.prompts[0].description.as_deref(), Some("Fix the failing test"));

    let custom = types::ResourceMode::Custom;
    let applied = client
        .workspace_pi_resources_apply()
        .body(apply(custom, &["review"]))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&applied.skills, true), ["base", "review"], "mandatory ones come along");
    assert_eq!(names(&applied.extensions, true), ["guard", "helper"]);
    assert!(names(&applied.prompts, true).is_empty());
    assert!(
        ws.join(".pi/skills/review/SKILL.md").is_file()
            && ws.join(".pi/skills/review/notes/extra.md").is_file()
    );
    assert!(ws.join(".pi/skills/base.md").is_file() && ws.join(".pi/extensions/helper/index.ts").is_file());

    // A narrower selection removes what Oqto put there, and only that.
    let narrower =
        client.workspace_pi_resources_apply().body(apply(custom, &[])).send().await.unwrap().into_inner();
    assert_eq!(names(&narrower.skills, true), ["base"]);
    assert!(!ws.join(".pi/skills/review").exists());
    assert!(ws.join(".pi/skills/mine.md").is_file(), "the workspace's own file stays");
    let again = client.workspace_pi_resources_view().workspace_path("w").send().await.unwrap().into_inner();
    assert_eq!(names(&again.skills, true), ["base"]);

    // Refusals change nothing.
    let unknown = client.workspace_pi_resources_apply().body(apply(custom, &["nope"])).send().await;
    assert_eq!(status(unknown), 422);
    write(&ws.join(".pi/skills/lint.md"), "the workspace's own lint\n");
    let clash = client.workspace_pi_resources_apply().body(apply(types::ResourceMode::All, &[])).send().await;
    assert_eq!(status(clash), 409);
    assert_eq!(std::fs::read_to_string(ws.join(".pi/skills/lint.md")).unwrap(), "the workspace's own lint\n");
    assert!(!ws.join(".pi/skills/review").exists(), "nothing applied by the refused request");
    let missing = types::PiResourcesApply { workspace_path: "missing".into(), ..apply(custom, &[]) };
    assert_eq!(status(client.workspace_pi_resources_apply().body(missing).send().await), 404);
    let outside = client.workspace_pi_resources_view().workspace_path("../..").send().await;
    assert_eq!(status(outside), 422);
}

#[tokio::test]
async fn workspace_settings_never_follow_links_out_of_the_workspace() {
    let server = TestServer::start().await;
    let lib = server.data_dir.path().join("pi-resources");
    write(&lib.join("prompts/fix.md"), "Fix it\n");
    let (client, me) = server.user_client("linky").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");
    let outside = server.data_dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    write(&root.join("victim.md"), "keep me\n");

    // A hand-edited record of applied files cannot name a path out of `.pi/`.
    let ws = root.join("w");
    write(
        &ws.join(".oqto/pi-resources.toml"),
        "[prompts]\nfiles = [\"../../../victim.md\", \"/etc/hostname\"]\n",
    );
    let none = types::PiResourcesApply {
        prompts_mode: types::ResourceMode::Custom,
        extensions_mode: types::ResourceMode::Custom,
        ..apply(types::ResourceMode::Custom, &[])
    };
    client.workspace_pi_resources_apply().body(none).send().await.unwrap();
    assert_eq!(std::fs::read_to_string(root.join("victim.md")).unwrap(), "keep me\n");

    // `.pi` or `.oqto` as links out of the workspace: refused, nothing written there.
    std::fs::create_dir_all(root.join("l")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("l/.pi")).unwrap();
    let linked =
        types::PiResourcesApply { workspace_path: "l".into(), ..apply(types::ResourceMode::All, &[]) };
    assert_eq!(status(client.workspace_pi_resources_apply().body(linked).send().await), 422);
    std::fs::create_dir_all(root.join("m")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("m/.oqto")).unwrap();
    let meta = types::WorkspaceMetaUpdate {
        workspace_path: "m".into(),
        display_name: Some("x".into()),
        language: None,
        pinned: None,
        bootstrap_pending: None,
    };
    assert_eq!(status(client.workspace_meta_update().body(meta).send().await), 422);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside");
}
