//! `oqtoctl voice say|listen`: the voice WebSockets from a terminal.

use anyhow::{Result, bail};
use clap::Subcommand;
use futures::SinkExt;
use oqto_client::voice::{Speech, listen, next_json};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::output::Output;

#[derive(Subcommand)]
pub enum VoiceCommand {
    /// Speak a text and write the WAV.
    Say {
        text: String,
        /// Where the WAV goes.
        #[arg(long, short = 'f', default_value = "speech.wav")]
        file: std::path::PathBuf,
        /// A voice of the server's speaker (`en-us`, `de`, …).
        #[arg(long)]
        voice: Option<String>,
    },
    /// Send an audio file (24 kHz Float32 PCM) to speech to text and print
    /// each message that comes back.
    Listen { file: std::path::PathBuf },
}

pub async fn run(profile: &str, cmd: VoiceCommand, out: &Output) -> Result<()> {
    let url = crate::profile::url(profile)?;
    let token = crate::profile::token(profile)?;
    match cmd {
        VoiceCommand::Say { text, file: path, voice } => {
            let mut speech = Speech::connect(&url, &token).await?;
            if let Some(voice) = voice {
                speech.command(json!({ "command": "set_voice", "voice": voice })).await?;
            }
            let wav = speech.synthesize(&text).await?;
            std::fs::write(&path, &wav)?;
            out.done(&format!("wrote {} ({} bytes)", path.display(), wav.len()))
        }
        VoiceCommand::Listen { file } => {
            let audio = std::fs::read(&file)?;
            let mut socket = listen(&url, &token).await?;
            for chunk in audio.chunks(64 * 1024) {
                socket.send(Message::Binary(chunk.to_vec().into())).await?;
            }
            socket.send(Message::Text(json!({ "type": "stop" }).to_string().into())).await?;
            loop {
                match next_json(&mut socket).await? {
                    Ok(message) => println!("{message}"),
                    Err(closed) if closed.code == 1000 => return Ok(()),
                    Err(closed) => bail!("speech to text closed ({}): {}", closed.code, closed.reason),
                }
            }
        }
    }
}
