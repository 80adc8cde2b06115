//! Voice: the speech-to-text and text-to-speech WebSockets. Each is relayed
//! frame for frame to the configured service; text to speech, when no
//! service is configured, is spoken by the server itself with espeak-ng
//! (in the caller's sandbox), in the protocol the original's TTS service
//! speaks, so that voice output works out of the box.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use dropshot::WebsocketConnection;
use futures::{SinkExt, StreamExt};
use oqto_api::misc::{VisualizerVoice, VoiceFeatures};
use oqto_api::voice::CLOSE_UNAVAILABLE;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::auth::Caller;
use crate::context::ServerContext;

/// Connecting to a speech service.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One synthesis by espeak-ng.
const SPEAK_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest text spoken at once, in bytes.
const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The most audio one synthesis may make.
const MAX_AUDIO_BYTES: usize = 64 * 1024 * 1024;

/// Who speaks.
pub enum Speaker {
    /// A configured service, relayed to.
    Remote(String),
    /// The server, with this espeak-ng.
    Espeak(PathBuf),
    None,
}

pub fn speaker(ctx: &ServerContext) -> Speaker {
    let voice = &ctx.config.voice;
    if !voice.tts_url.trim().is_empty() {
        return Speaker::Remote(voice.tts_url.trim().to_string());
    }
    match crate::sandbox::launch::find_program(&voice.espeak_ng.to_string_lossy()).filter(|p| p.is_file()) {
        Some(program) => Speaker::Espeak(program),
        None => Speaker::None,
    }
}

fn listener(ctx: &ServerContext) -> Option<String> {
    Some(ctx.config.voice.stt_url.trim().to_string()).filter(|u| !u.is_empty())
}

/// The voice block of `/api/features`: present when voice is on and
/// something listens or speaks.
pub fn features(ctx: &ServerContext) -> Option<VoiceFeatures> {
    let v = &ctx.config.voice;
    let speaker = speaker(ctx);
    let stt_available = listener(ctx).is_some();
    let tts_available = !matches!(speaker, Speaker::None);
    if !v.enabled || !(stt_available || tts_available) {
        return None;
    }
    Some(VoiceFeatures {
        stt_url: "/api/voice/stt".into(),
        tts_url: "/api/voice/tts".into(),
        vad_timeout_ms: v.vad_timeout_ms,
        default_voice: v.default_voice.clone(),
        default_speed: v.default_speed,
        auto_language_detect: v.auto_language_detect,
        tts_muted: v.tts_muted,
        continuous_mode: v.continuous_mode,
        default_visualizer: v.default_visualizer.clone(),
        interrupt_word_count: v.interrupt_word_count,
        interrupt_backoff_ms: v.interrupt_backoff_ms,
        visualizer_voices: v
            .visualizer_voices
            .iter()
            .map(|(name, vv)| (name.clone(), VisualizerVoice { voice: vv.voice.clone(), speed: vv.speed }))
            .collect::<BTreeMap<_, _>>(),
        stt_available,
        tts_available,
        tts_engine: match speaker {
            Speaker::Espeak(_) => "espeak-ng",
            _ => "remote",
        }
        .into(),
    })
}

fn config(ctx: &ServerContext) -> WebSocketConfig {
    let max = ctx.config.voice.max_frame_bytes.max(1024);
    WebSocketConfig::default().max_message_size(Some(max)).max_frame_size(Some(max))
}

async fn accept(
    ctx: &ServerContext,
    upgraded: WebsocketConnection,
) -> WebSocketStream<impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> {
    WebSocketStream::from_raw_socket(upgraded.into_inner(), Role::Server, Some(config(ctx))).await
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.to_string().into() }))
}

/// `GET /api/voice/stt`, upgraded.
pub async fn listen(ctx: Arc<ServerContext>, upgraded: WebsocketConnection) {
    let mut client = accept(&ctx, upgraded).await;
    match listener(&ctx) {
        Some(url) => relay(&ctx, client, &url).await,
        None => {
            let _ = client.send(close(CLOSE_UNAVAILABLE, "no speech-to-text service is configured")).await;
        }
    }
}

/// `GET /api/voice/tts`, upgraded.
pub async fn speak(ctx: Arc<ServerContext>, caller: Caller, upgraded: WebsocketConnection) {
    let mut client = accept(&ctx, upgraded).await;
    match speaker(&ctx) {
        Speaker::Remote(url) => relay(&ctx, client, &url).await,
        Speaker::Espeak(program) => espeak_session(&ctx, &caller, client, &program).await,
        Speaker::None => {
            let reason = "no text-to-speech service is configured and espeak-ng is not installed";
            let _ = client.send(close(CLOSE_UNAVAILABLE, reason)).await;
        }
    }
}

/// Relays frames both ways until either side closes; a close frame goes
/// through with its code and reason.
async fn relay<S>(ctx: &ServerContext, mut client: WebSocketStream<S>, url: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let connect = tokio_tungstenite::connect_async_with_config(url, Some(config(ctx)), false);
    let upstream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok((upstream, _))) => upstream,
        _ => {
            let _ = client.send(close(CLOSE_UNAVAILABLE, "the speech service cannot be reached")).await;
            return;
        }
    };
    let (mut to_client, mut from_client) = client.split();
    let (mut to_upstream, mut from_upstream) = upstream.split();
    loop {
        tokio::select! {
            message = from_client.next() => match message {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if to_upstream.send(message).await.is_err() {
                        let _ = to_client.send(close(CLOSE_UNAVAILABLE, "the speech service went away")).await;
                        break;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let _ = to_upstream.send(Message::Close(frame)).await;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if let WsError::Capacity(_) = e {
                        let _ = to_client.send(close(1009, "frame too large")).await;
                    }
                    let _ = to_upstream.send(close(1001, "the client went away")).await;
                    break;
                }
                None => {
                    let _ = to_upstream.send(close(1001, "the client went away")).await;
                    break;
                }
            },
            message = from_upstream.next() => match message {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    if to_client.send(message).await.is_err() {
                        let _ = to_upstream.send(close(1001, "the client went away")).await;
                        break;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let _ = to_client.send(Message::Close(frame)).await;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = to_client.send(close(CLOSE_UNAVAILABLE, "the speech service went away")).await;
                    break;
                }
            },
        }
    }
}

/// The embedded speaker's state for one socket.
struct Voice {
    voice: String,
    speed: f64,
    /// Text of a stream not spoken yet.
    pending: String,
    /// Chunks of the current stream sent so far.
    index: u64,
}

/// espeak-ng's voice for a requested one: espeak-ng names (`en`,
/// `en-us`, `de`) as they are; anything else (the original's kokoro
/// voices such as `af_heart`) as English.
fn espeak_voice(requested: &str) -> String {
    let ok = !requested.is_empty()
        && requested.len() <= 32
        && !requested.contains('_')
        && requested.starts_with(|c: char| c.is_ascii_alphanumeric())
        && requested.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+'));
    if ok { requested.to_ascii_lowercase() } else { "en".into() }
}

async fn espeak_session<S>(
    ctx: &ServerContext,
    caller: &Caller,
    client: WebSocketStream<S>,
    program: &std::path::Path,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut out, mut input) = client.split();
    let mut state = Voice {
        voice: espeak_voice(&ctx.config.voice.default_voice),
        speed: ctx.config.voice.default_speed,
        pending: String::new(),
        index: 0,
    };
    while let Some(message) = input.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let answers = match serde_json::from_str::<Value>(&text) {
            Ok(command) => handle(ctx, caller, program, &mut state, &command).await,
            Err(_) => vec![error("commands are JSON objects with a \"command\" field")],
        };
        for answer in answers {
            if out.send(Message::Text(answer.to_string().into())).await.is_err() {
                return;
            }
        }
    }
}

fn error(message: &str) -> Value {
    json!({ "type": "error", "message": message })
}

/// The answers to one command.
async fn handle(
    ctx: &ServerContext,
    caller: &Caller,
    program: &std::path::Path,
    state: &mut Voice,
    command: &Value,
) -> Vec<Value> {
    let text = command["text"].as_str().unwrap_or_default();
    match command["command"].as_str().unwrap_or_default() {
        "synthesize" => match synthesize(ctx, caller, program, state, text).await {
            Ok(wav) => vec![json!({ "type": "audio_chunk", "chunk": wav, "index": 0, "total": 1 })],
            Err(why) => vec![error(&why)],
        },
        "stream_append" => {
            state.pending.push_str(text);
            if state.pending.len() > MAX_TEXT_BYTES * 4 {
                state.pending.clear();
                return vec![error("the stream's text is too long; it was dropped")];
            }
            // Sentences are spoken as they complete.
            let Some(end) = state.pending.rfind(['.', '!', '?', '\n']) else { return Vec::new() };
            let sentence: String = state.pending.drain(..=end).collect();
            stream_chunk(ctx, caller, program, state, &sentence).await.into_iter().collect()
        }
        "stream_end" => {
            let rest = std::mem::take(&mut state.pending);
            let mut answers: Vec<Value> =
                stream_chunk(ctx, caller, program, state, &rest).await.into_iter().collect();
            answers.push(json!({ "type": "stream_ended", "chunks": state.index }));
            state.index = 0;
            answers
        }
        "stream_cancel" => {
            state.pending.clear();
            state.index = 0;
            vec![json!({ "type": "stream_ended", "cancelled": true })]
        }
        "list_voices" => vec![json!({ "type": "voices", "voices": voices(program).await })],
        "set_voice" => {
            state.voice = espeak_voice(command["voice"].as_str().unwrap_or_default());
            vec![json!({ "type": "voice_changed", "voice": state.voice })]
        }
        "set_speed" => match command["speed"].as_f64().filter(|s| (0.25..=4.0).contains(s)) {
            Some(speed) => {
                state.speed = speed;
                vec![json!({ "type": "speed_changed", "speed": speed })]
            }
            None => vec![error("speed must be a number from 0.25 to 4")],
        },
        "set_language" => {
            state.voice = espeak_voice(command["language"].as_str().unwrap_or_default());
            vec![json!({ "type": "language_changed", "language": state.voice })]
        }
        "set_auto_detect" => vec![json!({ "type": "auto_detect_changed", "auto_detect": false })],
        other => vec![error(&format!("unknown command {other:?}"))],
    }
}

async fn stream_chunk(
    ctx: &ServerContext,
    caller: &Caller,
    program: &std::path::Path,
    state: &mut Voice,
    text: &str,
) -> Option<Value> {
    if text.trim().is_empty() {
        return None;
    }
    Some(match synthesize(ctx, caller, program, state, text).await {
        Ok(wav) => {
            let chunk = json!({ "type": "stream_chunk", "chunk": wav, "index": state.index });
            state.index += 1;
            chunk
        }
        Err(why) => error(&why),
    })
}

/// Speaks `text`: a WAV, base64.
async fn synthesize(
    ctx: &ServerContext,
    caller: &Caller,
    program: &std::path::Path,
    state: &Voice,
    text: &str,
) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("there is no text to speak".into());
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!("at most {MAX_TEXT_BYTES} bytes of text at once"));
    }
    let root = crate::sessions::resolve(ctx, &caller.user_id, ".").await.map_err(|e| e.public_message())?;
    root.create().map_err(|e| e.public_message())?;
    let words_per_minute = ((175.0 * state.speed).round() as i64).clamp(80, 500);
    let spec = crate::sandbox::launch::Spec {
        program: program.to_string_lossy().into_owned(),
        args: vec![
            "--stdout".into(),
            "-v".into(),
            state.voice.clone(),
            "-s".into(),
            words_per_minute.to_string(),
        ],
        cwd: root.path.clone(),
        home: root.root.clone(),
        writable: vec![root.root.clone()],
        env: Vec::new(),
        profile: ctx.sandbox.profile_for(&root.path),
        new_session: true,
        api_socket: None,
    };
    let launch = ctx.sandbox.launch(&spec).map_err(|e| e.public_message())?;
    let mut child = launch
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("espeak-ng could not start ({})", e.kind()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let text = text.to_string();
    let work = async move {
        let write = async move {
            let _ = stdin.write_all(text.as_bytes()).await;
            // Closing its input ends the text.
        };
        let mut wav = Vec::new();
        let mut limited = (&mut stdout).take(MAX_AUDIO_BYTES as u64);
        let (_, read) = tokio::join!(write, limited.read_to_end(&mut wav));
        read.map(|_| wav)
    };
    let wav = match tokio::time::timeout(SPEAK_TIMEOUT, work).await {
        Ok(Ok(wav)) => wav,
        Ok(Err(e)) => return Err(format!("reading espeak-ng's audio failed ({})", e.kind())),
        Err(_) => return Err(format!("espeak-ng took longer than {} s", SPEAK_TIMEOUT.as_secs())),
    };
    let status = child.wait().await.map_err(|e| format!("espeak-ng failed ({})", e.kind()))?;
    if !status.success() || wav.len() < 44 {
        return Err("espeak-ng could not speak this (unknown voice?)".into());
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(sized_wav(wav)))
}

/// espeak-ng writes a WAV to a pipe with unknown sizes (0x7fffffff): the
/// RIFF and data chunk sizes are set from what was written.
fn sized_wav(mut wav: Vec<u8>) -> Vec<u8> {
    if wav.len() >= 44 && &wav[0..4] == b"RIFF" && &wav[8..12] == b"WAVE" {
        let riff = (wav.len() - 8) as u32;
        wav[4..8].copy_from_slice(&riff.to_le_bytes());
        if let Some(at) = wav.windows(4).position(|w| w == b"data").filter(|at| at + 8 <= wav.len()) {
            let data = (wav.len() - at - 8) as u32;
            wav[at + 4..at + 8].copy_from_slice(&data.to_le_bytes());
        }
    }
    wav
}

/// espeak-ng's voices (`--voices`): language, name.
async fn voices(program: &std::path::Path) -> Vec<Value> {
    let listed = tokio::process::Command::new(program)
        .arg("--voices")
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let Ok(Ok(output)) = tokio::time::timeout(Duration::from_secs(10), listed).await else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 4).then(
                || json!({ "id": fields[1], "name": fields[3].replace('_', " "), "language": fields[1] }),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn voices_and_wav_sizes() {
        assert_eq!(super::espeak_voice("en-us"), "en-us");
        assert_eq!(super::espeak_voice("af_heart"), "en");
        assert_eq!(super::espeak_voice("--help"), "en");
        let mut wav = b"RIFF\xff\xff\xff\x7fWAVEfmt ".to_vec();
        wav.extend_from_slice(&[0u8; 20]);
        wav.extend_from_slice(b"data\xff\xff\xff\x7f");
        wav.extend_from_slice(&[1u8; 100]);
        let sized = super::sized_wav(wav.clone());
        assert_eq!(u32::from_le_bytes(sized[4..8].try_into().unwrap()) as usize, wav.len() - 8);
        assert_eq!(u32::from_le_bytes(sized[40..44].try_into().unwrap()), 100);
    }
}
