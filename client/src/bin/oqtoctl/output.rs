//! Printing results: tables for people, JSON or YAML for scripts.
//!
//! What is printed is chosen by the value's schema name (the SDK's types
//! derive `JsonSchema`): a list of `UserView` is `Array_of_UserView`, and
//! [`COLUMNS`] holds the column set of every list the API returns, also of
//! lists inside an object (`SearchResults.hits`). An object prints as
//! `key  value` lines followed by a table per list field.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// How results are printed (`-o`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// The column set of each list, by schema name (`Array_of_T`, or
/// `Type.field` for a list inside an object).
pub const COLUMNS: &[(&str, &[&str])] = &[
    ("Array_of_UserView", &["id", "username", "email", "display_name", "role", "is_active", "last_login_at"]),
    (
        "Array_of_InviteCodeView",
        &["id", "code", "uses_remaining", "max_uses", "expires_at", "is_valid", "note"],
    ),
    (
        "Array_of_SessionView",
        &[
            "id",
            "readable_id",
            "user_id",
            "workspace_path",
            "status",
            "active_chats",
            "runtime_version",
            "last_activity_at",
        ],
    ),
    ("Array_of_SessionUpdateView", &["session_id", "update_available", "current_version", "new_digest"]),
    ("Array_of_UserConfigSyncResult", &["user_id", "username", "ok", "created", "error"]),
    ("Array_of_ChatHistoryEntry", &["id", "title", "workspace_path", "message_count", "model", "updated_at"]),
    ("Array_of_ChatMessage", &["idx", "role", "content", "created_at"]),
    ("Array_of_ProjectView", &["name", "path", "pinned"]),
    ("Array_of_WorkspaceLocation", &["workspace_id", "location_id", "path", "is_active", "shared"]),
    ("Array_of_ApiKeyView", &["id", "name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at"]),
    ("ApiKeyCreated.scopes", &["value"]),
    ("ApiKeyView.scopes", &["value"]),
    ("OauthProviders.providers", &["id", "name"]),
    ("Feedback.tags", &["value"]),
    ("SettingsUpdated.restart_required", &["value"]),
    ("SettingsReloaded.restart_required", &["value"]),
    (
        "Array_of_DelegateStatus",
        &["id", "status", "workspace_path", "depth", "parent_session_id", "created_at"],
    ),
    ("FeedbackList.items", &["id", "created_at", "user_name", "title", "workspace_path"]),
    (
        "MemoryList.memories",
        &["id", "memory_type", "category", "importance", "store", "content", "updated_at"],
    ),
    ("MemorySearchResults.memories", &["id", "rank", "memory_type", "category", "store", "content"]),
    ("MemoryStores.stores", &["name", "memories"]),
    ("Memory.tags", &["value"]),
    ("Array_of_ChatSummary", &["session_id", "state", "cwd", "subscriber_count", "seq"]),
    ("Array_of_FileEntry", &["path", "type", "size", "modified"]),
    ("ChatHistoryGroups.today", &["id", "title", "workspace_path", "message_count", "model", "updated_at"]),
    (
        "ChatHistoryGroups.yesterday",
        &["id", "title", "workspace_path", "message_count", "model", "updated_at"],
    ),
    (
        "ChatHistoryGroups.this_week",
        &["id", "title", "workspace_path", "message_count", "model", "updated_at"],
    ),
    (
        "ChatHistoryGroups.this_month",
        &["id", "title", "workspace_path", "message_count", "model", "updated_at"],
    ),
    ("ChatHistoryGroups.older", &["id", "title", "workspace_path", "message_count", "model", "updated_at"]),
    ("SearchResults.hits", &["session_id", "role", "snippet", "title", "score"]),
    ("Array_of_ScheduleView", &["name", "schedule", "at", "enabled", "next_run_at", "runs"]),
    ("SchedulerOverview.schedules", &["name", "status", "schedule", "command", "next_run"]),
    ("ProviderList.providers", &["name", "type", "pi_api", "has_api_key", "base_url", "model_count"]),
    ("ProviderView.models", &["id", "name", "context_window", "max_tokens", "reasoning"]),
    ("ModelsSynced.failed", &["user_id", "error"]),
    ("FeedFetched.items", &["title", "link", "published"]),
    ("ProjectTemplateList.templates", &["name", "path", "description"]),
    ("LocalCleanupReport.killed", &["pid", "command"]),
    ("MuxDebugView.details", &["connection_id", "subscriptions", "queue_depth", "age_secs"]),
    ("PiResources.skills", &["name", "selected", "mandatory", "description"]),
    ("PiResources.extensions", &["name", "selected", "mandatory", "description"]),
    ("PiResources.prompts", &["name", "selected", "mandatory", "description"]),
    ("SandboxView.profiles", &["value"]),
    ("OnboardingView.languages", &["value"]),
];

/// The column set registered for `name`.
pub fn columns(name: &str) -> Option<&'static [&'static str]> {
    COLUMNS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

pub struct Output {
    format: Format,
}

impl Output {
    pub fn new(format: Format) -> Self {
        Output { format }
    }

    /// Whether output is for scripts (JSON or YAML) rather than tables.
    pub fn is_structured(&self) -> bool {
        self.format != Format::Table
    }

    /// Prints a result of an SDK (or API) type.
    pub fn item<T: JsonSchema + Serialize>(&self, item: &T) -> anyhow::Result<()> {
        self.value(&T::schema_name(), &serde_json::to_value(item)?)
    }

    /// Prints a value whose schema is named `name`.
    pub fn value(&self, name: &str, value: &Value) -> anyhow::Result<()> {
        match self.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Format::Yaml => print!("{}", serde_norway::to_string(value)?),
            Format::Table => print!("{}", render(name, value)),
        }
        Ok(())
    }

    /// Prints a confirmation (`{"ok": true, "message": …}` for scripts).
    pub fn done(&self, message: &str) -> anyhow::Result<()> {
        match self.format {
            Format::Table => {
                println!("{message}");
                Ok(())
            }
            _ => self.value("Done", &serde_json::json!({ "ok": true, "message": message })),
        }
    }
}

/// The table form of `value` (schema `name`).
pub fn render(name: &str, value: &Value) -> String {
    match value {
        Value::Array(items) => table(columns(name), items),
        Value::Object(map) => {
            let (lists, fields): (Vec<_>, Vec<_>) = map.iter().partition(|(_, v)| v.is_array());
            let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut out = String::new();
            for (key, v) in fields {
                out.push_str(format!("{key:<width$}  {}", cell(Some(v))).trim_end());
                out.push('\n');
            }
            for (key, list) in lists {
                let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!("{key}:\n"));
                out.push_str(&table(columns(&format!("{name}.{key}")), items));
            }
            out
        }
        other => format!("{}\n", cell(Some(other))),
    }
}

/// A table of `items` with `columns` (or, for a list nobody registered,
/// the scalar fields of its first item).
fn table(columns: Option<&[&str]>, items: &[Value]) -> String {
    let fallback: Vec<&str>;
    let columns = match columns {
        Some(columns) => columns,
        None => {
            fallback = match items.first() {
                Some(Value::Object(first)) => first
                    .iter()
                    .filter(|(_, v)| !v.is_object() && !v.is_array())
                    .map(|(k, _)| k.as_str())
                    .collect(),
                _ => vec!["value"],
            };
            &fallback
        }
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| match item {
            Value::Object(_) => columns.iter().map(|c| column_cell(c, item.get(*c))).collect(),
            scalar => vec![cell(Some(scalar))],
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}", w = *w)).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(columns.iter().map(|c| c.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
    out
}

/// A cell of `column`: Unix milliseconds in a time column (`*_at`,
/// `modified`, `timestamp`) as a time, anything else as [`cell`] shows it.
fn column_cell(column: &str, value: Option<&Value>) -> String {
    let time_column = column.ends_with("_at") || column == "modified" || column == "timestamp";
    match value.and_then(Value::as_i64) {
        Some(ms) if time_column => match chrono::DateTime::from_timestamp_millis(ms) {
            Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => ms.to_string(),
        },
        _ => cell(value),
    }
}

/// One cell: strings as they are (timestamps as `YYYY-MM-DD HH:MM:SS` UTC,
/// line breaks as spaces), nothing as `-`, anything else as JSON.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(at) => at.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S").to_string(),
            Err(_) => s.replace(['\r', '\n'], " "),
        },
        Some(Value::Array(items)) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(|i| cell(Some(i))).collect::<Vec<_>>().join(",")
        }
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_list_prints_its_registered_columns() {
        let text = super::render(
            "Array_of_ProjectView",
            &json!([{ "name": "a", "path": "a", "pinned": false, "type": "dir" }]),
        );
        assert_eq!(text, "NAME  PATH  PINNED\na     a     false\n");
    }

    #[test]
    fn an_object_prints_fields_then_its_lists() {
        let text = super::render(
            "SearchResults",
            &json!({ "total": 1, "hits": [{ "session_id": "s", "role": "user", "snippet": "x\ny",
                     "title": null, "score": 1.5 }] }),
        );
        assert_eq!(
            text,
            "total  1\n\nhits:\nSESSION_ID  ROLE  SNIPPET  TITLE  SCORE\ns           user  x y      -      1.5\n"
        );
    }

    #[test]
    fn timestamps_print_in_utc_without_fractions() {
        assert_eq!(super::cell(Some(&json!("2026-12-02T01:02:03.456+01:00"))), "2026-12-02 00:02:03");
        assert_eq!(
            super::column_cell("updated_at", Some(&json!(1_764_637_323_000i64))),
            "2025-12-02 01:02:03"
        );
        assert_eq!(super::column_cell("size", Some(&json!(1_764_637_323_000i64))), "1764637323000");
    }
}
