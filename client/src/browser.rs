//! The typed client of a chat's browser stream
//! (`/api/sessions/{session_id}/browser/stream`): JPEG frames of the page,
//! and mouse and key input played into it.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use futures::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::mux::{Socket, open, ws_url};
use crate::voice::next_json;

/// One frame of the page.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The JPEG's bytes.
    pub jpeg: Vec<u8>,
    /// The browser's metadata (device size, scroll offsets, timestamp).
    pub metadata: Value,
}

/// A chat's browser stream.
pub struct Screen {
    socket: Socket,
    /// The first message: `{"type": "status", "viewportWidth", …}`.
    pub status: Value,
}

impl Screen {
    /// Opens the stream of the browser of the chat `chat_id`.
    pub async fn connect(base_url: &str, token: &str, chat_id: &str) -> Result<Screen> {
        let path = format!("/api/sessions/{chat_id}/browser/stream");
        let mut socket = open(&ws_url(base_url, &path), token).await?;
        let status = match next_json(&mut socket).await? {
            Ok(status) => status,
            Err(closed) => bail!("the server closed the stream ({}): {}", closed.code, closed.reason),
        };
        Ok(Screen { socket, status })
    }

    /// The next frame.
    pub async fn next_frame(&mut self) -> Result<Frame> {
        loop {
            match next_json(&mut self.socket).await? {
                Ok(message) if message["type"] == "frame" => {
                    let data = message["data"].as_str().context("a frame without data")?;
                    let jpeg = base64::engine::general_purpose::STANDARD.decode(data)?;
                    return Ok(Frame { jpeg, metadata: message["metadata"].clone() });
                }
                Ok(_) => {}
                Err(closed) => bail!("the stream closed ({}): {}", closed.code, closed.reason),
            }
        }
    }

    /// Plays an input message (`{"type": "input_mouse", "eventType":
    /// "mousePressed", "x", "y", "button", "clickCount"}` or
    /// `input_keyboard`) into the page.
    pub async fn input(&mut self, message: &Value) -> Result<()> {
        self.socket.send(Message::Text(message.to_string().into())).await?;
        Ok(())
    }
}
