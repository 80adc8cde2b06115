//! `oqtoctl chat` and `oqtoctl chats`: talking to an agent over the mux.

use std::io::{IsTerminal, Write};

use anyhow::{Result, bail};
use clap::Args;
use oqto_api::mux::{AgentCommand, AgentEvent, ChatConfig, PromptBody, ServerFrame};
use oqto_client::mux::MuxEvent;

use crate::output::Output;
use crate::profile;

#[derive(Args)]
pub struct ChatArgs {
    /// The chat to talk in (created when new; a random id by default).
    #[arg(long)]
    chat: Option<String>,
    /// Working directory of a new chat, relative to your workspace root.
    #[arg(long)]
    workspace: Option<String>,
    /// Model provider for a new chat.
    #[arg(long)]
    provider: Option<String>,
    /// Model for a new chat.
    #[arg(long)]
    model: Option<String>,
    /// The message.
    prompt: String,
}

/// Sends a prompt and streams the answer until the agent is idle again.
/// `--output json` prints every agent event as one JSON line.
pub async fn chat(name: &str, args: ChatArgs, json: bool) -> Result<()> {
    let mut mux = profile::mux(name).await?;
    let chat_id = args.chat.unwrap_or_else(|| format!("cli-{}", uuid::Uuid::new_v4().simple()));
    let config =
        ChatConfig { cwd: args.workspace, provider: args.provider, model: args.model, ..Default::default() };
    let created = mux.command(&chat_id, AgentCommand::SessionCreate { config, last_seq: None }).await?;
    if !created.success {
        bail!(created.error.unwrap_or_else(|| "the chat could not be started".into()));
    }
    let body =
        PromptBody { message: args.prompt, images: None, client_id: Some(uuid::Uuid::new_v4().to_string()) };
    let accepted = mux.command(&chat_id, AgentCommand::Prompt(body)).await?;
    if !accepted.success {
        bail!(accepted.error.unwrap_or_else(|| "the prompt was refused".into()));
    }
    let tty = std::io::stderr().is_terminal();
    let mut stdout = std::io::stdout();
    let mut failed = None;
    while let Some(event) = mux.next().await {
        let frame = match event {
            MuxEvent::Frame(ServerFrame::Agent(frame)) if frame.session_id == chat_id => frame,
            MuxEvent::Closed { reason, .. } => bail!("connection closed: {reason}"),
            _ => continue,
        };
        if json {
            println!("{}", serde_json::to_string(&frame)?);
        }
        match &frame.event {
            AgentEvent::TextDelta { delta, .. } if !json => {
                write!(stdout, "{delta}")?;
                stdout.flush()?;
            }
            AgentEvent::ToolStart { name, .. } if !json => {
                if tty {
                    eprint!("\r\x1b[2K⟳ running {name}…");
                } else {
                    eprintln!("[tool {name} started]");
                }
            }
            AgentEvent::ToolEnd { name, is_error, duration_ms, .. } if !json => {
                let took = duration_ms.map(|ms| format!(" in {ms} ms")).unwrap_or_default();
                let mark = if *is_error { "✗" } else { "✓" };
                if tty {
                    eprintln!("\r\x1b[2K{mark} {name}{took}");
                } else {
                    eprintln!("[tool {name} finished{took}{}]", if *is_error { ", failed" } else { "" });
                }
            }
            AgentEvent::AgentError { error, .. } => failed = Some(error.clone()),
            AgentEvent::AgentIdle | AgentEvent::SessionClosed { .. } => break,
            _ => {}
        }
    }
    if !json {
        println!();
    }
    mux.close();
    match failed {
        Some(error) => bail!(error),
        None => Ok(()),
    }
}

/// Lists the caller's chats (optionally those working under `workspace`).
pub async fn chats(name: &str, workspace: Option<String>, out: &Output) -> Result<()> {
    let mux = profile::mux(name).await?;
    let listed = mux.command("", AgentCommand::ListSessions).await?;
    mux.close();
    let oqto_api::mux::ServerReply::Chats(mut chats) = listed.reply()? else {
        anyhow::bail!("the server did not answer list_sessions with chats");
    };
    if let Some(prefix) = workspace {
        chats.retain(|c| c.cwd == prefix || c.cwd.starts_with(&format!("{prefix}/")));
    }
    out.item(&chats)
}
