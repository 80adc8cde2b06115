//! `login`, `logout`, `whoami`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};
use clap::Args;
use oqto_client::{Client, types};

use crate::output::Output;
use crate::profile::{self, Profile};

#[derive(Args)]
pub struct LoginArgs {
    /// Server URL (default: the profile's, `OQTO_URL`, or http://127.0.0.1:8080).
    #[arg(long)]
    url: Option<String>,
    /// Username or email (prompted when absent).
    #[arg(long, short = 'u')]
    username: Option<String>,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

/// Turns an SDK error into the server's message.
pub fn sdk_error<E: serde::Serialize + std::fmt::Debug>(e: oqto_client::Error<E>) -> anyhow::Error {
    anyhow::anyhow!(oqto_client::error_message(&e))
}

fn prompt(label: &str) -> Result<String> {
    eprint!("{label}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Reads a password from stdin (flag or pipe) or prompts without echo.
pub fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        Ok(rpassword::prompt_password("Password: ")?)
    }
}

pub async fn login(name: &str, args: LoginArgs, out: &Output) -> Result<()> {
    let url = match args.url {
        Some(url) => url,
        None => profile::url(name)?,
    };
    let username = match args.username {
        Some(u) => u,
        None => prompt("Username or email")?,
    };
    let password = read_password(args.password_stdin)?;
    let client = oqto_client::client_with_token(&url, None)?;
    let token = client
        .auth_login()
        .body(types::LoginCredentials { username: username.clone(), password })
        .send()
        .await
        .map_err(sdk_error)?
        .into_inner();
    profile::store(
        name,
        Some(Profile {
            url: url.clone(),
            token: Some(token.token.clone()),
            username: Some(token.user.username.clone()),
        }),
    )?;
    out.object(&serde_json::json!({
        "profile": name,
        "url": url,
        "username": token.user.username,
        "role": token.user.role,
        "expires_at": token.expires_at,
    }))
}

pub async fn logout(name: &str) -> Result<()> {
    let Some(mut stored) = profile::load(name)? else {
        eprintln!("profile {name:?} is not logged in");
        return Ok(());
    };
    if let Some(token) = stored.token.take() {
        let client = oqto_client::client_with_token(&profile::url(name)?, Some(&token))?;
        client.auth_logout().send().await.map_err(sdk_error)?;
    }
    profile::store(name, Some(stored))?;
    eprintln!("logged out of profile {name:?}");
    Ok(())
}

pub async fn whoami(client: &Client, out: &Output) -> Result<()> {
    let me = client.me_view().send().await.map_err(sdk_error)?.into_inner();
    out.object(&me)
}
