//! Printing results as tables (for people) or JSON (for scripts).

use serde::Serialize;
use serde_json::Value;

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether output is JSON (for scripts) rather than tables.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a list: JSON as is, or a table of the given columns.
    pub fn list<T: Serialize>(&self, items: &[T], columns: &[&str]) -> anyhow::Result<()> {
        let value = serde_json::to_value(items)?;
        if self.json {
            return print_json(&value);
        }
        let rows: Vec<Vec<String>> = value
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| columns.iter().map(|c| cell(item.get(*c))).collect())
            .collect();
        let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<String>| {
            let padded: Vec<String> =
                cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}", w = *w)).collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(columns.iter().map(|c| c.to_uppercase()).collect());
        for row in rows {
            line(row);
        }
        Ok(())
    }

    /// Prints one object: JSON as is, or `key: value` lines.
    pub fn object<T: Serialize>(&self, item: &T) -> anyhow::Result<()> {
        let value = serde_json::to_value(item)?;
        if self.json {
            return print_json(&value);
        }
        match &value {
            Value::Object(map) => {
                let width = map.keys().map(String::len).max().unwrap_or(0);
                for (key, v) in map {
                    println!("{key:<width$}  {}", cell(Some(v)));
                }
            }
            other => println!("{}", cell(Some(other))),
        }
        Ok(())
    }

    /// Prints a confirmation (`{"ok":true,…}` in JSON).
    pub fn done(&self, message: &str) -> anyhow::Result<()> {
        if self.json {
            print_json(&serde_json::json!({ "ok": true, "message": message }))
        } else {
            println!("{message}");
            Ok(())
        }
    }
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
