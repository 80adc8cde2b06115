//! Typed clients of the voice WebSockets: text to speech
//! (`/api/voice/tts`, the original's TTS protocol) and speech to text
//! (`/api/voice/stt`, relayed to the configured service).

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::mux::{Socket, open, ws_url};

/// How a socket ended: the close code and reason the server sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// The next JSON message, or how the socket closed.
pub async fn next_json(socket: &mut Socket) -> Result<std::result::Result<Value, Closed>> {
    loop {
        match socket.next().await.context("the socket ended")?? {
            Message::Text(text) => return Ok(Ok(serde_json::from_str(&text)?)),
            Message::Close(frame) => {
                let (code, reason) =
                    frame.map_or((1005, String::new()), |f| (f.code.into(), f.reason.to_string()));
                return Ok(Err(Closed { code, reason }));
            }
            _ => {}
        }
    }
}

/// A text-to-speech socket.
pub struct Speech {
    socket: Socket,
}

impl Speech {
    pub async fn connect(base_url: &str, token: &str) -> Result<Speech> {
        Ok(Speech { socket: open(&ws_url(base_url, "/api/voice/tts"), token).await? })
    }

    /// Sends a command and returns the next answer.
    pub async fn command(&mut self, command: Value) -> Result<Value> {
        self.socket.send(Message::Text(command.to_string().into())).await?;
        match next_json(&mut self.socket).await? {
            Ok(answer) => Ok(answer),
            Err(closed) => bail!("the server closed the socket ({}): {}", closed.code, closed.reason),
        }
    }

    /// Speaks `text`: the WAV's bytes.
    pub async fn synthesize(&mut self, text: &str) -> Result<Vec<u8>> {
        let answer = self.command(json!({ "command": "synthesize", "text": text })).await?;
        if answer["type"] != "audio_chunk" {
            bail!("{}", answer["message"].as_str().unwrap_or("no audio came back"));
        }
        let chunk = answer["chunk"].as_str().context("an audio chunk without audio")?;
        Ok(base64::engine::general_purpose::STANDARD.decode(chunk)?)
    }

    /// The underlying socket, for frames of one's own.
    pub fn socket(&mut self) -> &mut Socket {
        &mut self.socket
    }
}

/// Opens a speech-to-text socket.
pub async fn listen(base_url: &str, token: &str) -> Result<Socket> {
    Ok(open(&ws_url(base_url, "/api/voice/stt"), token).await?)
}
