//! `oqtoctl files …`: a workspace's files over the mux `files` channel.

use std::io::{Read, Write};

use anyhow::{Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Subcommand;
use oqto_api::mux::{FileEntry, FilesCommand, FilesEvent};

use crate::output::Output;
use crate::profile;

#[derive(Subcommand)]
pub enum FilesCmd {
    /// List a directory (or a tree with --depth).
    Ls {
        workspace: String,
        path: Option<String>,
        #[arg(long, default_value_t = 1)]
        depth: u32,
        /// Include hidden entries.
        #[arg(long, short = 'a')]
        all: bool,
    },
    /// Print a file.
    Cat { workspace: String, path: String },
    /// Write a file from a local file, or from stdin with `-` (the default).
    Put {
        workspace: String,
        path: String,
        #[arg(default_value = "-")]
        source: String,
    },
    /// Delete a file (or, with -r, a directory tree).
    Rm {
        workspace: String,
        path: String,
        #[arg(long, short = 'r')]
        recursive: bool,
    },
}

fn flatten(entries: Vec<FileEntry>, out: &mut Vec<FileEntry>) {
    for mut e in entries {
        let children = e.children.take();
        out.push(e);
        if let Some(children) = children {
            flatten(children, out);
        }
    }
}

pub async fn run(name: &str, cmd: FilesCmd, out: &Output) -> Result<()> {
    let mux = profile::mux(name).await?;
    let result = match cmd {
        FilesCmd::Ls { workspace, path, depth, all } => {
            let command = FilesCommand::Tree { path, depth: Some(depth), include_hidden: Some(all) };
            match mux.files(&workspace, command).await? {
                FilesEvent::TreeResult { entries, .. } => {
                    let mut flat = Vec::new();
                    flatten(entries, &mut flat);
                    out.item(&flat)
                }
                other => bail!("unexpected reply: {other:?}"),
            }
        }
        FilesCmd::Cat { workspace, path } => {
            std::io::stdout().write_all(&mux.read_file(&workspace, &path).await?)?;
            Ok(())
        }
        FilesCmd::Put { workspace, path, source } => {
            let mut bytes = Vec::new();
            if source == "-" {
                std::io::stdin().read_to_end(&mut bytes)?;
            } else {
                bytes = std::fs::read(&source)?;
            }
            let command = FilesCommand::Write {
                path: path.clone(),
                content: BASE64.encode(bytes),
                create_parents: Some(true),
            };
            mux.files(&workspace, command).await?;
            out.done(&format!("wrote {path}"))
        }
        FilesCmd::Rm { workspace, path, recursive } => {
            mux.files(&workspace, FilesCommand::Delete { path: path.clone(), recursive: Some(recursive) })
                .await?;
            out.done(&format!("deleted {path}"))
        }
    };
    mux.close();
    result
}
