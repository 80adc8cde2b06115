//! `oqtoctl api METHOD PATH [--data JSON]`: any route, with the profile's
//! credentials (as `gh api` does), for what no other command covers.

use anyhow::{Context, Result};
use clap::Args;

use crate::failure::{ServerError, UsageError};
use oqto_client::ClientInfo;

use crate::profile;

#[derive(Args)]
pub struct ApiArgs {
    /// GET, POST, PUT, PATCH or DELETE.
    method: String,
    /// The path, with its query (`/api/chat-history?limit=5`).
    path: String,
    /// The JSON body (`@file` reads it from a file, `-` from stdin).
    #[arg(long, short = 'd')]
    data: Option<String>,
    /// Send no credentials.
    #[arg(long)]
    anonymous: bool,
}

pub async fn run(name: &str, args: ApiArgs) -> Result<()> {
    let method = reqwest::Method::from_bytes(args.method.to_uppercase().as_bytes())
        .map_err(|_| UsageError(format!("{:?} is not an HTTP method", args.method)))?;
    if !args.path.starts_with('/') {
        return Err(UsageError(format!("the path must start with `/`: {:?}", args.path)).into());
    }
    let client = match args.anonymous {
        true => oqto_client::client_with_token(&profile::url(name)?, None)?,
        false => profile::connect(name)?,
    };
    let mut request = client.client().request(method, format!("{}{}", client.baseurl(), args.path));
    if let Some(data) = args.data {
        let text = match data.as_str() {
            "-" => std::io::read_to_string(std::io::stdin()).context("reading the body from stdin")?,
            file if file.starts_with('@') => {
                std::fs::read_to_string(&file[1..]).with_context(|| format!("reading {}", &file[1..]))?
            }
            inline => inline.to_string(),
        };
        let body: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| UsageError(format!("--data is not JSON: {e}")))?;
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if status.is_success() {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) => println!("{}", serde_json::to_string_pretty(&value)?),
            Err(_) => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
        }
        return Ok(());
    }
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Err(ServerError::from_body(status.as_u16(), &body).into())
}
