//! Feedback: sent by any user, confined to their workspaces, bounded per
//! hour, read by administrators only.

use oqto_client::types;
use oqto_tests::{TestServer, status};

fn report(title: &str, body: &str) -> types::FeedbackCreate {
    types::FeedbackCreate { title: title.into(), body: body.into(), workspace_path: None, tags: vec![] }
}

#[tokio::test]
async fn feedback_round_trip() {
    let server = TestServer::start().await;
    let admin = server.admin_client().await;
    let (client, me) = server.user_client("rita").await;
    server.open_workspace(&client, "site").await;
    let body = types::FeedbackCreate {
        workspace_path: Some("site".into()),
        tags: vec!["Bug".into(), "ui".into(), "bug".into()],
        ..report("  The sidebar flickers  ", "When I open a chat the sidebar flickers twice.")
    };
    let sent = client.feedback_create().body(body).send().await.unwrap().into_inner();
    assert!(sent.id.starts_with("fb_"));
    assert_eq!(sent.title, "The sidebar flickers");
    assert_eq!(
        (sent.user_id.as_deref(), sent.user_name.as_deref()),
        (Some(me.id.to_string().as_str()), Some("rita"))
    );
    assert_eq!(sent.workspace_path.as_deref(), Some("site"));
    assert_eq!(sent.tags, ["bug", "ui"]);

    for (body, code) in [
        (report(" ", "body"), 400),
        (report("title", ""), 400),
        (report(&"t".repeat(201), "body"), 422),
        (types::FeedbackCreate { workspace_path: Some("../other".into()), ..report("t", "b") }, 422),
        (types::FeedbackCreate { tags: vec!["x".into(); 17], ..report("t", "b") }, 422),
    ] {
        assert_eq!(status(client.feedback_create().body(body).send().await), code);
    }
    assert_eq!(status(server.anonymous().feedback_create().body(report("t", "b")).send().await), 401);

    client.feedback_create().body(report("Second", "Another one")).send().await.unwrap();
    assert_eq!(status(client.feedback_list().send().await), 403);
    let page = admin.feedback_list().limit(1).send().await.unwrap().into_inner();
    assert_eq!((page.total, page.items.len()), (2, 1));
    assert_eq!(page.items[0].title, "Second", "newest first");
    let rest = admin.feedback_list().limit(1).offset(1).send().await.unwrap().into_inner();
    assert_eq!(rest.items[0].id, sent.id);
    assert_eq!(status(admin.feedback_list().limit(0).send().await), 400);

    // An hour's budget, then 429; the reports stay readable.
    let mut refused = false;
    for n in 0..40 {
        match client.feedback_create().body(report(&format!("flood {n}"), "x")).send().await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(status::<types::Feedback, _>(Err(e)), 429);
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "30 reports an hour");
    assert_eq!(admin.feedback_list().send().await.unwrap().into_inner().total, 30);
}
