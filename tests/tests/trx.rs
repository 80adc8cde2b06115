//! The `trx` mux channel: the workspace's issue list, shared with the agent
//! through `.trx/issues.jsonl`.

use std::time::Duration;

use oqto_api::mux::{
    ClientFrame, ServerFrame, TrxCommand, TrxEvent, TrxIssueCreate, TrxIssueUpdate, TrxRequest,
};
use oqto_client::mux::{MuxClient, MuxEvent};
use oqto_tests::{TEST_PASSWORD, TestServer};

async fn trx(mux: &mut MuxClient, command: TrxCommand) -> TrxEvent {
    mux.send(ClientFrame::Trx(TrxRequest { id: Some("t".into()), workspace_path: "proj".into(), command }));
    loop {
        match tokio::time::timeout(Duration::from_secs(10), mux.next()).await.unwrap() {
            Some(MuxEvent::Frame(ServerFrame::Trx(event))) => return event,
            Some(_) => {}
            None => panic!("ended"),
        }
    }
}

#[tokio::test]
async fn issue_list_round_trip_shared_with_the_workspace_file() {
    let server = TestServer::start().await;
    let (client, me) = server.user_client("trxer").await;
    server.open_workspace(&client, "proj").await;
    let token = server.login("trxer", TEST_PASSWORD).await;
    let mut mux = server.mux(&token).await;
    let create = |title: &str| TrxCommand::Create {
        data: TrxIssueCreate { title: title.into(), issue_type: Some("bug".into()), ..Default::default() },
    };
    let TrxEvent::IssueResult { issue: first, .. } = trx(&mut mux, create("Fix the login")).await else {
        panic!()
    };
    assert_eq!((first.status.as_str(), first.priority, first.issue_type.as_str()), ("open", 2, "bug"));
    let TrxEvent::IssueResult { issue: second, .. } = trx(&mut mux, create("Write docs")).await else {
        panic!()
    };
    let update = TrxCommand::Update {
        issue_id: first.id.clone(),
        data: TrxIssueUpdate { status: Some("in_progress".into()), priority: Some(0), ..Default::default() },
    };
    let TrxEvent::IssueResult { issue, .. } = trx(&mut mux, update).await else { panic!() };
    assert_eq!((issue.status.as_str(), issue.priority), ("in_progress", 0));
    let close = TrxCommand::Close { issue_id: second.id.clone(), reason: Some("done".into()) };
    let TrxEvent::IssueResult { issue, .. } = trx(&mut mux, close).await else { panic!() };
    assert_eq!((issue.status.as_str(), issue.close_reason.as_deref()), ("closed", Some("done")));

    // The agent appends to the same file; sync sees it.
    let file =
        server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/proj/.trx/issues.jsonl");
    let mut text = std::fs::read_to_string(&file).unwrap();
    let mut by_agent = first.clone();
    by_agent.title = "Fix the login (agent)".into();
    text.push_str(&format!("{}\nnot json\n", serde_json::to_string(&by_agent).unwrap()));
    std::fs::write(&file, text).unwrap();
    let TrxEvent::SyncResult { issues, .. } = trx(&mut mux, TrxCommand::Sync).await else { panic!() };
    assert_eq!(issues.len(), 2);
    assert_eq!(issues[0].title, "Fix the login (agent)");

    let bad = TrxCommand::Create { data: TrxIssueCreate { title: " ".into(), ..Default::default() } };
    assert!(matches!(trx(&mut mux, bad).await, TrxEvent::Error { .. }));
    let unknown = TrxCommand::Close { issue_id: "trx-nope".into(), reason: None };
    assert!(matches!(trx(&mut mux, unknown).await, TrxEvent::Error { .. }));
    let TrxEvent::ListResult { issues, .. } = trx(&mut mux, TrxCommand::List).await else { panic!() };
    assert_eq!(issues.len(), 2);

    // A `.trx` link out of the workspace is never followed.
    let proj = server.data_dir.path().join("users").join(me.id.to_string()).join("workspace/proj");
    let outside = server.data_dir.path().join("outside-trx");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::remove_dir_all(proj.join(".trx")).unwrap();
    std::os::unix::fs::symlink(&outside, proj.join(".trx")).unwrap();
    assert!(matches!(trx(&mut mux, create("Escape")).await, TrxEvent::Error { .. }));
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}
