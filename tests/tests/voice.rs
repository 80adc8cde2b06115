//! Voice: the server speaks itself with espeak-ng when no TTS service is
//! configured; both sockets relay to loopback WebSocket services frame for
//! frame with close codes carried through; an unreachable or missing
//! service closes with a reason; frames are capped.

use futures::{SinkExt, StreamExt};
use oqto_client::voice::{Speech, listen, next_json};
use oqto_tests::{Options, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

fn espeak_installed() -> bool {
    let found =
        std::process::Command::new("espeak-ng").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "CI must test the embedded speech: install espeak-ng (.ci/run)"
        );
        eprintln!("\n!!! SKIPPED the embedded speech test: espeak-ng is not installed\n");
    }
    found
}

fn is_wav(bytes: &[u8]) -> bool {
    bytes.len() > 1000
        && &bytes[0..4] == b"RIFF"
        && &bytes[8..12] == b"WAVE"
        && u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize == bytes.len() - 8
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_speaks_itself_without_a_tts_service() {
    if !espeak_installed() {
        return;
    }
    let server = TestServer::start().await;
    let (client, _) = server.user_client("speaker").await;
    let token = server.login("speaker", oqto_tests::TEST_PASSWORD).await;
    let features = server.anonymous().feature_list().send().await.unwrap().into_inner();
    let voice = features.voice.expect("voice works out of the box");
    assert_eq!((voice.tts_url.as_str(), voice.stt_url.as_str()), ("/api/voice/tts", "/api/voice/stt"));
    assert_eq!(
        (voice.tts_engine.as_str(), voice.tts_available, voice.stt_available),
        ("espeak-ng", true, false)
    );
    drop(client);

    let mut speech = Speech::connect(&server.url, &token).await.unwrap();
    let wav = speech.synthesize("Hello from Oqto.").await.unwrap();
    assert!(is_wav(&wav), "not a WAV: {:?}", &wav[..wav.len().min(16)]);

    let voices = speech.command(json!({ "command": "list_voices" })).await.unwrap();
    assert!(
        voices["voices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == "en-us" && v["name"] == "English (America)"),
        "{voices}"
    );
    let changed = speech.command(json!({ "command": "set_voice", "voice": "de" })).await.unwrap();
    assert_eq!(changed, json!({ "type": "voice_changed", "voice": "de" }));
    let bad = speech.command(json!({ "command": "set_speed", "speed": 99 })).await.unwrap();
    assert_eq!(bad["type"], "error");
    let unknown = speech.command(json!({ "command": "rm -rf" })).await.unwrap();
    assert_eq!(unknown["type"], "error");

    // A stream: complete sentences are spoken as they come, the rest at the end.
    let first =
        speech.command(json!({ "command": "stream_append", "text": "Guten Tag. Wie" })).await.unwrap();
    assert_eq!((first["type"].as_str(), first["index"].as_u64()), (Some("stream_chunk"), Some(0)));
    let second = speech.command(json!({ "command": "stream_end", "text": "" })).await.unwrap();
    assert_eq!((second["type"].as_str(), second["index"].as_u64()), (Some("stream_chunk"), Some(1)));
    let ended = next_json(speech.socket()).await.unwrap().unwrap();
    assert_eq!(ended, json!({ "type": "stream_ended", "chunks": 2 }));
    let chunk = base64_decode(second["chunk"].as_str().unwrap());
    assert!(is_wav(&chunk));

    // The CLI writes the WAV.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hi.wav");
    let out = server
        .oqtoctl()
        .env("OQTO_TOKEN", &token)
        .args(["voice", "say", "Hi there", "-f", path.to_str().unwrap(), "--voice", "en-us"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(is_wav(&std::fs::read(&path).unwrap()));

    // No speech-to-text service: a clear close.
    let mut stt = listen(&server.url, &token).await.unwrap();
    let closed = next_json(&mut stt).await.unwrap().unwrap_err();
    assert_eq!(closed.code, 1011);
    assert_eq!(closed.reason, "no speech-to-text service is configured");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

/// A loopback speech service: echoes frames; `stop` ends with a final
/// result and 1000; `bye` closes with 4001.
async fn speech_service() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    let answer = match message {
                        Message::Text(t) if t.contains("stop") => {
                            let _ = ws.send(Message::Text(r#"{"type":"final","text":"done"}"#.into())).await;
                            Message::Close(Some(CloseFrame { code: 1000.into(), reason: "".into() }))
                        }
                        Message::Text(t) if t.as_str() == "bye" => {
                            Message::Close(Some(CloseFrame { code: 4001.into(), reason: "bye now".into() }))
                        }
                        Message::Text(t) => Message::Text(format!("{{\"echo\":{:?}}}", t.as_str()).into()),
                        Message::Binary(b) => Message::Binary(b),
                        _ => continue,
                    };
                    let closing = matches!(answer, Message::Close(_));
                    let _ = ws.send(answer).await;
                    if closing {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sockets_relay_to_their_services() {
    let port = speech_service().await;
    let service = format!("ws://127.0.0.1:{port}");
    let options = Options::default()
        .env("OQTO_VOICE__STT_URL", &service)
        .env("OQTO_VOICE__TTS_URL", &service)
        .env("OQTO_VOICE__MAX_FRAME_BYTES", "65536");
    let server = TestServer::start_with(options).await;
    let (_, _) = server.user_client("listener").await;
    let token = server.login("listener", oqto_tests::TEST_PASSWORD).await;
    let features = server.anonymous().feature_list().send().await.unwrap().into_inner();
    let voice = features.voice.unwrap();
    assert_eq!((voice.tts_engine.as_str(), voice.stt_available), ("remote", true));

    let mut stt = listen(&server.url, &token).await.unwrap();
    stt.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(next_json(&mut stt).await.unwrap().unwrap(), json!({ "echo": "hello" }));
    let pcm: Vec<u8> = (0..32 * 1024).map(|i| (i % 256) as u8).collect();
    stt.send(Message::Binary(pcm.clone().into())).await.unwrap();
    let echoed = loop {
        if let Message::Binary(b) = stt.next().await.unwrap().unwrap() {
            break b;
        }
    };
    assert_eq!(echoed.to_vec(), pcm);
    stt.send(Message::Text("bye".into())).await.unwrap();
    let closed = next_json(&mut stt).await.unwrap().unwrap_err();
    assert_eq!((closed.code, closed.reason.as_str()), (4001, "bye now"), "the close code comes through");

    // The TTS socket relays the same way.
    let mut speech = Speech::connect(&server.url, &token).await.unwrap();
    let answer = speech.command(json!({ "command": "synthesize", "text": "x" })).await.unwrap();
    assert_eq!(answer["echo"], r#"{"command":"synthesize","text":"x"}"#);

    // A frame over the cap ends the socket.
    let mut stt = listen(&server.url, &token).await.unwrap();
    let _ = stt.send(Message::Binary(vec![0u8; 100 * 1024].into())).await;
    match next_json(&mut stt).await {
        Ok(Err(closed)) => assert_eq!(closed.code, 1009, "{closed:?}"),
        Ok(Ok(message)) => panic!("an oversized frame was relayed: {message}"),
        Err(_) => {} // the connection was dropped
    }

    // The CLI: sends the file, prints what comes back.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("speech.pcm");
    std::fs::write(&file, vec![1u8; 100_000]).unwrap();
    let out =
        server.oqtoctl().env("OQTO_TOKEN", &token).args(["voice", "listen"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""type":"final""#));
}

#[tokio::test]
async fn an_unreachable_service_closes_with_a_reason_and_voice_can_be_off() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = TestServer::start_with(
        Options::default().env("OQTO_VOICE__STT_URL", &format!("ws://127.0.0.1:{closed_port}")),
    )
    .await;
    let (_, _) = server.user_client("listener").await;
    let token = server.login("listener", oqto_tests::TEST_PASSWORD).await;
    let mut stt = listen(&server.url, &token).await.unwrap();
    let closed = next_json(&mut stt).await.unwrap().unwrap_err();
    assert_eq!((closed.code, closed.reason.as_str()), (1011, "the speech service cannot be reached"));

    server.restart_with(Options::default().env("OQTO_VOICE__ENABLED", "false")).await;
    let token = server.login("listener", oqto_tests::TEST_PASSWORD).await;
    let refused = listen(&server.url, &token).await.unwrap_err().to_string();
    assert!(refused.contains("503"), "{refused}");
    assert!(server.anonymous().feature_list().send().await.unwrap().into_inner().voice.is_none());
}
