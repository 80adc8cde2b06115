//! Workspace locations: the built-in home, a user's own locations inside
//! it, shared ones from an admin, and the active one per group.

use oqto_client::types;
use oqto_tests::{TestServer, status};

fn upsert(location_id: &str, path: &str) -> types::LocationUpsert {
    types::LocationUpsert {
        workspace_id: None,
        location_id: location_id.into(),
        kind: types::LocationKind::Local,
        path: path.into(),
        shared: false,
        set_active: false,
    }
}

#[tokio::test]
async fn own_locations_stay_inside_the_workspace_root() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("loc").await;
    let root = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace");

    let listed = client.project_location_list().send().await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    let home = &listed[0];
    assert_eq!((home.location_id.as_str(), home.builtin, home.is_active), ("home", true, true));
    assert_eq!(home.path, root.to_str().unwrap());

    let added = client
        .project_location_upsert()
        .body(types::LocationUpsert { set_active: true, ..upsert("clients", "clients") })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((added.id.as_str(), added.is_active, added.shared), ("default/clients", true, false));
    assert!(root.join("clients").is_dir(), "created when missing");
    std::fs::create_dir_all(root.join("clients/acme")).unwrap();
    let projects = client.project_list().send().await.unwrap().into_inner();
    let paths: Vec<&str> = projects.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["clients/acme"], "the active location, as workspace paths");
    let meta = client.workspace_meta_view().workspace_path("clients/acme").send().await;
    assert!(meta.is_ok());

    let listed = client.project_location_list().send().await.unwrap().into_inner();
    let active: Vec<&str> = listed.iter().filter(|l| l.is_active).map(|l| l.location_id.as_str()).collect();
    assert_eq!(active, ["clients"]);
    let back = types::LocationSelect { workspace_id: None, location_id: "home".into() };
    let home = client.project_location_activate().body(back).send().await.unwrap().into_inner();
    assert!(home.is_active && home.builtin);
    let names: Vec<String> =
        client.project_list().send().await.unwrap().into_inner().into_iter().map(|p| p.path).collect();
    assert_eq!(names, ["clients"]);

    // Refusals, and nothing stored by them.
    for (body, code) in [
        (upsert("out", "../../etc"), 422),
        (upsert("out", "/etc"), 422),
        (upsert("root", "."), 422),
        (upsert("bad/name", "x"), 422),
        (upsert("home", "x"), 409),
        (types::LocationUpsert { kind: types::LocationKind::Remote, ..upsert("far", "far") }, 422),
        (types::LocationUpsert { shared: true, ..upsert("team", "/srv/team") }, 403),
    ] {
        assert_eq!(status(client.project_location_upsert().body(body).send().await), code);
    }
    assert_eq!(client.project_location_list().send().await.unwrap().into_inner().len(), 2);
    let unknown = types::LocationSelect { workspace_id: None, location_id: "nowhere".into() };
    assert_eq!(status(client.project_location_activate().body(unknown).send().await), 404);
    assert_eq!(status(client.project_list().workspace_id("nogroup").send().await), 404);

    // Another user sees none of it.
    let (other, _) = server.user_client("other").await;
    let theirs = other.project_location_list().send().await.unwrap().into_inner();
    assert_eq!(theirs.iter().map(|l| l.location_id.as_str()).collect::<Vec<_>>(), ["home"]);
    let select = types::LocationSelect { workspace_id: None, location_id: "clients".into() };
    assert_eq!(status(other.project_location_activate().body(select).send().await), 404);
}

#[tokio::test]
async fn shared_locations_come_from_admins_and_expand_per_user() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (client, _) = server.user_client("sam").await;
    let team = server.data_dir.path().join("team");
    let shared = types::LocationUpsert {
        workspace_id: Some("work".into()),
        shared: true,
        ..upsert("team", &format!("{}/{{username}}", team.display()))
    };
    let made = admin.project_location_upsert().body(shared.clone()).send().await.unwrap().into_inner();
    assert_eq!((made.id.as_str(), made.shared), ("shared:work/team", true));
    let relative = types::LocationUpsert { shared: true, ..upsert("rel", "relative/path") };
    assert_eq!(status(admin.project_location_upsert().body(relative).send().await), 422);

    let listed = client.project_location_list().workspace_id("work").send().await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    let mine = team.join("sam");
    assert_eq!(listed[0].path, mine.to_str().unwrap());
    assert!(listed[0].is_active, "the only location of its group");

    std::fs::create_dir_all(mine.join("site")).unwrap();
    let projects = client.project_list().workspace_id("work").send().await.unwrap().into_inner();
    assert_eq!(projects.len(), 1);
    let site = &projects[0].path;
    assert_eq!(site, mine.join("site").to_str().unwrap(), "absolute outside the workspace root");
    // The absolute path works wherever a workspace path goes…
    let meta = client.workspace_meta_view().workspace_path(site.clone()).send().await;
    assert!(meta.is_ok(), "{meta:?}");
    // …but not a neighbour's directory, nor a way out of the location.
    std::fs::create_dir_all(team.join("kim/secret")).unwrap();
    for escape in [team.join("kim/secret"), mine.join("../kim/secret")] {
        let r = client.workspace_meta_view().workspace_path(escape.to_str().unwrap()).send().await;
        assert_eq!(status(r), 422, "{}", escape.display());
    }
    // The default group still lists the workspace root.
    assert!(client.project_list().send().await.unwrap().into_inner().is_empty());

    // A user's own location of the same group and name shadows the shared one.
    let own = types::LocationUpsert { workspace_id: Some("work".into()), ..upsert("team", "my-team") };
    client.project_location_upsert().body(own).send().await.unwrap();
    let listed = client.project_location_list().workspace_id("work").send().await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].shared && listed[0].path.ends_with("workspace/my-team"), "{listed:?}");
    let admins = admin.project_location_list().workspace_id("work").send().await.unwrap().into_inner();
    assert!(admins[0].shared, "others still see the shared one");
}
