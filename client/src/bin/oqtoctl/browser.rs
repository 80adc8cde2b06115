//! `oqtoctl browser screenshot|watch`: a chat's browser as pictures;
//! `browser start` and `browser action` are generated.

use anyhow::{Context, Result};
use base64::Engine as _;
use clap::Subcommand;
use oqto_client::browser::Screen;

use crate::failure::sdk_error;
use crate::output::Output;

#[derive(Subcommand)]
pub enum BrowserCommand {
    /// Save a PNG screenshot of a chat's browser.
    Screenshot {
        /// The chat.
        session_id: String,
        /// Where the PNG goes.
        #[arg(long, short = 'f', default_value = "screenshot.png")]
        file: std::path::PathBuf,
    },
    /// Save frames of a chat's browser screen as they come (JPEG files
    /// `frame-0001.jpg`, … in a directory).
    Watch {
        /// The chat.
        session_id: String,
        /// Stop after this many frames.
        #[arg(long, short = 'n', default_value_t = 1)]
        count: u64,
        /// Where the frames go.
        #[arg(long, short = 'd', default_value = ".")]
        dir: std::path::PathBuf,
    },
}

pub async fn run(profile: &str, cmd: BrowserCommand, out: &Output) -> Result<()> {
    match cmd {
        BrowserCommand::Screenshot { session_id, file } => {
            let client = crate::profile::connect(profile)?;
            let action: oqto_client::types::BrowserAction = serde_json::from_value(
                serde_json::json!({ "session_id": session_id, "action": "screenshot" }),
            )?;
            let shot = client.browser_action().body(action).send().await.map_err(sdk_error)?.into_inner();
            let png = shot.screenshot.context("the server sent no screenshot")?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(png)?;
            std::fs::write(&file, &bytes)?;
            out.done(&format!("wrote {} ({} bytes) of {}", file.display(), bytes.len(), shot.url))
        }
        BrowserCommand::Watch { session_id, count, dir } => {
            let url = crate::profile::url(profile)?;
            let token = crate::profile::token(profile)?;
            let mut screen = Screen::connect(&url, &token, &session_id).await?;
            std::fs::create_dir_all(&dir)?;
            for n in 1..=count {
                let frame = screen.next_frame().await?;
                let path = dir.join(format!("frame-{n:04}.jpg"));
                std::fs::write(&path, &frame.jpeg)?;
                out.done(&format!("wrote {} ({} bytes)", path.display(), frame.jpeg.len()))?;
            }
            Ok(())
        }
    }
}
