//! `login`, `logout`, `register`, `me password`: the commands that keep the
//! profile's token or read a password.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use oqto_client::types;

use crate::failure::sdk_error;
use crate::output::Output;
use crate::profile::{self, Profile};

#[derive(Args)]
pub struct LoginArgs {
    /// Server URL (default: the profile's, `OQTO_URL`, or http://127.0.0.1:8080).
    #[arg(long)]
    url: Option<String>,
    /// Username or email (prompted when absent; with `--dev`, the oldest
    /// active administrator when absent).
    #[arg(long, short = 'u')]
    username: Option<String>,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
    /// Log in without a password (a server in `auth.dev_mode`, from its own
    /// machine only).
    #[arg(long, conflicts_with = "password_stdin")]
    dev: bool,
}

#[derive(Args)]
pub struct RegisterArgs {
    /// Server URL (default: the profile's, `OQTO_URL`, or http://127.0.0.1:8080).
    #[arg(long)]
    url: Option<String>,
    /// The invite code.
    #[arg(long)]
    invite_code: String,
    #[arg(long, short = 'u')]
    username: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    display_name: Option<String>,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
pub enum MeCommand {
    /// Change your password (the profile keeps working with the new token).
    Password {
        /// Read the current and the new password from standard input, one
        /// per line, instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn prompt(label: &str) -> Result<String> {
    eprint!("{label}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Reads a password from stdin (flag or pipe) or prompts without echo.
pub fn read_password(from_stdin: bool, label: &str) -> Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        Ok(rpassword::prompt_password(format!("{label}: "))?)
    }
}

/// Keeps `token` as the profile's credentials and prints who logged in.
fn keep(name: &str, url: String, token: types::AuthToken, out: &Output) -> Result<()> {
    profile::store(
        name,
        Some(Profile {
            url: url.clone(),
            token: Some(token.token.clone()),
            username: Some(token.user.username.clone()),
        }),
    )?;
    out.value(
        "Login",
        &serde_json::json!({
            "profile": name,
            "url": url,
            "username": token.user.username,
            "role": token.user.role,
            "expires_at": token.expires_at,
        }),
    )
}

pub async fn login(name: &str, args: LoginArgs, out: &Output) -> Result<()> {
    let url = match args.url {
        Some(url) => url,
        None => profile::url(name)?,
    };
    let client = oqto_client::client_with_token(&url, None)?;
    let token = if args.dev {
        client.auth_dev_login().body(types::DevLogin { username: args.username }).send().await
    } else {
        let username = match args.username {
            Some(u) => u,
            None => prompt("Username or email")?,
        };
        let password = read_password(args.password_stdin, "Password")?;
        client.auth_login().body(types::LoginCredentials { username, password }).send().await
    };
    keep(name, url, token.map_err(sdk_error)?.into_inner(), out)
}

pub async fn register(name: &str, args: RegisterArgs, out: &Output) -> Result<()> {
    let url = match args.url {
        Some(url) => url,
        None => profile::url(name)?,
    };
    let password = read_password(args.password_stdin, "New password")?;
    let client = oqto_client::client_with_token(&url, None)?;
    let body = types::Registration {
        invite_code: args.invite_code,
        username: args.username,
        email: args.email,
        display_name: args.display_name,
        password,
    };
    let token = client.auth_register().body(body).send().await.map_err(sdk_error)?.into_inner();
    keep(name, url, token, out)
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

pub async fn run_me(name: &str, cmd: MeCommand, out: &Output) -> Result<()> {
    let MeCommand::Password { password_stdin } = cmd;
    let client = profile::connect(name)?;
    let current_password = read_password(password_stdin, "Current password")?;
    let new_password = read_password(password_stdin, "New password")?;
    let body = types::PasswordChange { current_password, new_password };
    let token = client.auth_password_change().body(body).send().await.map_err(sdk_error)?.into_inner();
    // The change revokes every other token; a stored profile moves to the new one.
    match profile::load(name)? {
        Some(stored) if stored.token.is_some() && std::env::var_os("OQTO_TOKEN").is_none() => {
            keep(name, stored.url, token, out)
        }
        _ => out.done("password changed (other sessions were logged out)"),
    }
}
