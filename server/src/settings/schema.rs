//! The `oqto` app's schema, generated from the configuration types, and its
//! keys: every leaf marked `x-scope` (user or admin), `x-live` (applied at
//! once) and, for secrets, `x-secret`.

use oqto_api::settings::SettingScope;
use serde_json::{Map, Value};

use crate::config::Config;

/// Keys (or sections, ending in `.`) every user sets for themselves.
const USER_KEYS: &[&str] = &["ui."];
/// Keys whose change takes effect while running.
pub const LIVE_KEYS: &[&str] = &[
    "log.level",
    "agent.idle_timeout_secs",
    "agent.max_chats_per_user",
    "agent.max_processes",
    "sessions.idle_timeout_secs",
    "sessions.max_running_per_user",
    "auth.registration_enabled",
    "auth.login_window_secs",
    "auth.login_max_failures_per_account",
    "auth.login_max_failures_per_address",
    "ui.",
];
/// Keys whose value is never shown (a database URL may carry a password).
const SECRET_KEYS: &[&str] = &["database.url"];

fn listed(list: &[&str], key: &str) -> bool {
    list.iter().any(|entry| if entry.ends_with('.') { key.starts_with(entry) } else { key == *entry })
}

/// One key of the schema.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub key: String,
    pub scope: SettingScope,
    pub live: bool,
    pub secret: bool,
}

impl Leaf {
    fn of(key: String) -> Leaf {
        let scope = if listed(USER_KEYS, &key) { SettingScope::User } else { SettingScope::Admin };
        Leaf { live: listed(LIVE_KEYS, &key), secret: listed(SECRET_KEYS, &key), scope, key }
    }
}

/// The properties of a section's schema (inlined, possibly in an `allOf`).
fn properties(node: &mut Value) -> Option<&mut Map<String, Value>> {
    if node.get("properties").is_some() {
        return node.get_mut("properties").and_then(Value::as_object_mut);
    }
    let only = node.get_mut("allOf")?.as_array_mut().filter(|all| all.len() == 1)?;
    only.get_mut(0).and_then(properties)
}

/// Calls `leaf` on every leaf's schema with its dotted key.
fn walk(node: &mut Value, prefix: &str, leaf: &mut dyn FnMut(&str, &mut Value)) {
    match properties(node) {
        Some(children) => {
            for (name, child) in children.iter_mut() {
                let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                walk(child, &key, leaf);
            }
        }
        None => leaf(prefix, node),
    }
}

/// The annotated schema and its leaves.
pub fn generate() -> (Value, Vec<Leaf>) {
    let generator =
        schemars::r#gen::SchemaSettings::draft07().with(|s| s.inline_subschemas = true).into_generator();
    let mut schema = serde_json::to_value(generator.into_root_schema_for::<Config>()).unwrap_or_default();
    let mut leaves = Vec::new();
    walk(&mut schema, "", &mut |key, node| {
        let leaf = Leaf::of(key.to_string());
        if let Some(node) = node.as_object_mut() {
            let scope = match leaf.scope {
                SettingScope::User => "user",
                SettingScope::Admin => "admin",
            };
            node.insert("x-scope".into(), scope.into());
            node.insert("x-live".into(), leaf.live.into());
            if leaf.secret {
                node.insert("x-secret".into(), true.into());
            }
        }
        leaves.push(leaf);
    });
    (schema, leaves)
}

/// The schema as a caller sees it: users only the keys they set.
pub fn for_caller(schema: &Value, admin: bool) -> Value {
    fn prune(node: &mut Value) -> bool {
        match properties(node) {
            Some(children) => {
                children.retain(|_, child| prune(child));
                !children.is_empty()
            }
            None => node.get("x-scope").and_then(Value::as_str) == Some("user"),
        }
    }
    let mut schema = schema.clone();
    if !admin {
        prune(&mut schema);
        if let Some(object) = schema.as_object_mut() {
            object.remove("definitions");
        }
    }
    schema
}

/// The value at a dotted key.
pub fn at<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    key.split('.').try_fold(value, |node, part| node.get(part))
}

/// `node` as an object (made one when it is anything else).
fn object_of(node: &mut Value) -> &mut Map<String, Value> {
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    match node {
        Value::Object(object) => object,
        _ => unreachable!("made an object above"),
    }
}

/// Sets (or, for `None`, removes) the value at a dotted key.
pub fn set(value: &mut Value, key: &str, new: Option<Value>) {
    let parts: Vec<&str> = key.split('.').collect();
    let Some((last, parents)) = parts.split_last() else { return };
    let mut node = value;
    for part in parents {
        node = object_of(node).entry(part.to_string()).or_insert(Value::Object(Map::new()));
    }
    let object = object_of(node);
    match new {
        Some(new) => {
            object.insert(last.to_string(), new);
        }
        None => {
            object.remove(*last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_a_scope_and_the_user_keys_are_the_preferences() {
        let (schema, leaves) = generate();
        assert!(leaves.len() > 40, "{}", leaves.len());
        let user: Vec<&str> =
            leaves.iter().filter(|l| l.scope == SettingScope::User).map(|l| l.key.as_str()).collect();
        assert_eq!(user, ["ui.language", "ui.shortcuts", "ui.theme"]);
        assert!(leaves.iter().any(|l| l.key == "database.url" && l.secret));
        assert!(leaves.iter().any(|l| l.key == "agent.env"), "a map is one key");
        let text = schema.to_string();
        assert_eq!(text.matches("\"x-scope\"").count(), leaves.len());
        let users = for_caller(&schema, false);
        let shown = users.to_string();
        assert!(shown.contains("shortcuts") && !shown.contains("jwt_secret_file"), "{shown}");
    }

    #[test]
    fn dotted_keys_are_read_and_written() {
        let mut value = serde_json::json!({"a": {"b": 1}});
        set(&mut value, "a.c.d", Some(2.into()));
        assert_eq!(at(&value, "a.c.d"), Some(&Value::from(2)));
        set(&mut value, "a.b", None);
        assert_eq!(value, serde_json::json!({"a": {"c": {"d": 2}}}));
    }
}
