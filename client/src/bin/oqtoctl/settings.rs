//! `oqtoctl settings set`: values as `key=value` pairs (the rest of the
//! group is generated).

use anyhow::Result;
use clap::Subcommand;
use oqto_client::{Client, types};

use crate::failure::{UsageError, sdk_error};
use crate::output::Output;

#[derive(Subcommand)]
pub enum SettingsCommand {
    /// Change settings: `key=value` pairs, each value JSON (`true`, `300`,
    /// `"dark"`, `null` for the default) or else taken as text.
    Set {
        /// `oqto` (default), `pi-agent` or `pi-models`.
        #[arg(long)]
        app: Option<String>,
        /// `dotted.key=value` pairs.
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
}

/// A `key=value` pair with the value as JSON (text when it is not JSON).
fn pair(text: &str) -> Result<(String, serde_json::Value)> {
    let (key, value) =
        text.split_once('=').ok_or_else(|| UsageError(format!("{text:?} is not key=value")))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
    Ok((key.trim().to_string(), value))
}

pub async fn run(client: &Client, cmd: SettingsCommand, out: &Output) -> Result<()> {
    match cmd {
        SettingsCommand::Set { app, pairs } => {
            let values = pairs.iter().map(|p| pair(p)).collect::<Result<_>>()?;
            let mut call = client.settings_update().body(types::SettingsUpdate { values });
            if let Some(app) = app {
                call = call.app(app);
            }
            out.item(&call.send().await.map_err(sdk_error)?.into_inner())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_json_or_text() {
        assert_eq!(super::pair("a.b=300").unwrap().1, serde_json::json!(300));
        assert_eq!(super::pair("ui.theme=dark").unwrap().1, serde_json::json!("dark"));
        assert_eq!(super::pair("x=null").unwrap().1, serde_json::Value::Null);
        assert!(super::pair("nothing").is_err());
    }
}
