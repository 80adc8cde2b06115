//! Watching a browser: its screen as JPEG frames at a bounded rate, and
//! the viewer's mouse and keys played into the page, in the message shapes
//! of the original's agent-browser stream.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use dropshot::WebsocketConnection;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::Browser;
use crate::context::ServerContext;
use crate::error::Result;

/// The largest message a viewer may send (input events are small).
const MAX_INPUT_BYTES: usize = 16 * 1024;

const MOUSE_EVENTS: &[&str] = &["mousePressed", "mouseReleased", "mouseMoved", "mouseWheel"];
const KEY_EVENTS: &[&str] = &["keyDown", "keyUp", "rawKeyDown", "char"];

/// Checks before the upgrade that the caller's chat has a browser.
pub fn viewed(ctx: &ServerContext, user_id: &str, chat_id: &str) -> Result<Arc<Browser>> {
    super::find(ctx, user_id, chat_id)
}

/// Serves one viewer until either side goes.
pub async fn stream(ctx: Arc<ServerContext>, browser: Arc<Browser>, upgraded: WebsocketConnection) {
    let config = WebSocketConfig::default().max_message_size(Some(MAX_INPUT_BYTES));
    let socket = WebSocketStream::from_raw_socket(upgraded.into_inner(), Role::Server, Some(config)).await;
    if browser.viewers.fetch_add(1, Ordering::SeqCst) == 0 {
        start_screencast(&browser).await;
    }
    let reason = watch(&ctx, &browser, socket).await;
    slog::debug!(ctx.log, "browser viewer left"; "browser" => &browser.id, "reason" => reason);
    if browser.viewers.fetch_sub(1, Ordering::SeqCst) == 1 {
        let _ = browser.page_call("Page.stopScreencast", json!({})).await;
    }
    browser.touch();
}

async fn start_screencast(browser: &Browser) {
    let (width, height) = browser.viewport();
    let params = json!({
        "format": "jpeg", "quality": 70, "maxWidth": width, "maxHeight": height, "everyNthFrame": 1,
    });
    let _ = browser.page_call("Page.startScreencast", params).await;
}

async fn watch<S>(ctx: &ServerContext, browser: &Browser, socket: WebSocketStream<S>) -> &'static str
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = socket.split();
    let (width, height) = browser.viewport();
    let status = json!({
        "type": "status", "connected": true, "screencasting": true,
        "viewportWidth": width, "viewportHeight": height,
    });
    if tx.send(Message::text(status.to_string())).await.is_err() {
        return "gone";
    }
    let mut frames = browser.frames.subscribe();
    frames.mark_changed();
    let interval = Duration::from_millis(ctx.config.browser.frame_interval_ms.max(20));
    let mut next_frame = tokio::time::Instant::now();
    loop {
        tokio::select! {
            changed = frames.changed() => {
                if changed.is_err() {
                    return "the browser closed";
                }
                let frame = frames.borrow_and_update().clone();
                let Some(frame) = frame else {
                    if !browser.cdp.is_closed() {
                        continue; // none yet
                    }
                    let close = CloseFrame { code: CloseCode::Away, reason: "the browser closed".into() };
                    let _ = tx.send(Message::Close(Some(close))).await;
                    return "the browser closed";
                };
                tokio::time::sleep_until(next_frame).await;
                next_frame = tokio::time::Instant::now() + interval;
                // The newest frame after the pause.
                let frame = frames.borrow_and_update().clone().unwrap_or(frame);
                let message = json!({ "type": "frame", "data": frame.data, "metadata": frame.metadata });
                if tx.send(Message::text(message.to_string())).await.is_err() {
                    return "gone";
                }
            }
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    browser.touch();
                    if let Ok(input) = serde_json::from_str::<Value>(&text) {
                        play(browser, &input).await;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return "closed by the viewer",
                Some(Ok(_)) => {}
            }
        }
    }
}

/// Plays a viewer's `input_mouse` or `input_keyboard` into the page;
/// anything else is ignored.
async fn play(browser: &Browser, input: &Value) {
    let kind = input["eventType"].as_str().unwrap_or_default();
    let number = |key: &str| input[key].as_f64().unwrap_or(0.0);
    let (method, params) = match input["type"].as_str() {
        Some("input_mouse") if MOUSE_EVENTS.contains(&kind) => (
            "Input.dispatchMouseEvent",
            json!({
                "type": kind, "x": number("x"), "y": number("y"),
                "button": input["button"].as_str().unwrap_or("none"),
                "clickCount": input["clickCount"].as_u64().unwrap_or(0),
                "deltaX": number("deltaX"), "deltaY": number("deltaY"),
                "modifiers": input["modifiers"].as_u64().unwrap_or(0),
            }),
        ),
        Some("input_keyboard") if KEY_EVENTS.contains(&kind) => {
            let text =
                |key: &str| input[key].as_str().unwrap_or_default().chars().take(32).collect::<String>();
            (
                "Input.dispatchKeyEvent",
                json!({
                    "type": kind, "key": text("key"), "code": text("code"), "text": text("text"),
                    "modifiers": input["modifiers"].as_u64().unwrap_or(0),
                }),
            )
        }
        _ => return,
    };
    let _ = browser.page_call(method, params).await;
}
