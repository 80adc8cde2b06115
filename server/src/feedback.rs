//! Feedback: reports users send to the operators, stored in the database
//! and read by administrators.

use oqto_api::feedback::{Feedback, FeedbackCreate, FeedbackList, FeedbackListQuery};

use crate::auth::Caller;
use crate::context::ServerContext;
use crate::db::feedback::{self as rows, FeedbackRow};
use crate::error::{Error, Result};

const MAX_TITLE_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 20_000;
const MAX_TAGS: usize = 16;
/// Reports one user may send per hour.
const PER_HOUR: i64 = 30;

fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::BadRequest(format!("the {field} is empty")));
    }
    if value.chars().count() > max {
        return Err(Error::Invalid(format!("the {field} must be at most {max} characters")));
    }
    Ok(value.to_string())
}

fn view(row: FeedbackRow) -> Feedback {
    Feedback {
        id: row.id,
        title: row.title,
        body: row.body,
        created_at: crate::db::time(row.created_at),
        user_id: row.user_id,
        user_name: row.user_name,
        workspace_path: row.workspace_path,
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
    }
}

pub async fn send(ctx: &ServerContext, caller: &Caller, body: FeedbackCreate) -> Result<Feedback> {
    let title = text("title", &body.title, MAX_TITLE_CHARS)?;
    let text_body = text("body", &body.body, MAX_BODY_CHARS)?;
    let tags = crate::util::checked_tags(&body.tags, MAX_TAGS, 64)?;
    let workspace_path = match body.workspace_path.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(path) => Some(crate::sessions::resolve(ctx, &caller.user_id, path).await?.relative),
        None => None,
    };
    let now = crate::db::now_ms();
    if rows::count_since(&ctx.db.pool, &caller.user_id, now - 3_600_000).await? >= PER_HOUR {
        return Err(Error::RateLimited { retry_after_secs: 3600 });
    }
    let user = crate::db::users::get(&ctx.db.pool, &caller.user_id).await?;
    let row = FeedbackRow {
        id: format!("fb_{}", uuid::Uuid::new_v4().simple()),
        user_id: Some(caller.user_id.clone()),
        user_name: user.map(|u| u.username),
        title,
        body: text_body,
        workspace_path,
        tags: serde_json::to_string(&tags).map_err(|e| Error::Internal(e.into()))?,
        created_at: now,
    };
    rows::insert(&ctx.db.pool, &row).await?;
    Ok(view(row))
}

pub async fn list(ctx: &ServerContext, query: FeedbackListQuery) -> Result<FeedbackList> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 200".into()));
    }
    let offset = query.offset.unwrap_or(0);
    let (found, total) = rows::list(&ctx.db.pool, limit, offset).await?;
    Ok(FeedbackList {
        items: found.into_iter().map(view).collect(),
        total: total.max(0) as u64,
        offset,
        limit,
    })
}
