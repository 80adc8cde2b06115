//! A connection's bounded outbound queue. Consecutive text deltas of one
//! message are merged while they wait (so a slow reader gets fewer, larger
//! deltas); a reader that falls further behind than the bounds is closed
//! with [`CLOSE_TOO_SLOW`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use oqto_api::mux::{AgentEvent, AgentEventFrame, CLOSE_TOO_SLOW, ServerFrame};
use tokio::sync::Notify;

/// A frame waiting to be written.
#[derive(Clone, Debug)]
pub enum OutFrame {
    /// Already serialised.
    Json(Arc<str>),
    /// A text or thinking delta, kept structured so that it can be merged.
    Delta {
        session_id: Arc<str>,
        message_id: String,
        content_index: u32,
        thinking: bool,
        delta: String,
        seq: u64,
        ts: i64,
    },
    /// A binary frame (see `oqto_api::mux::binary_frame`).
    Binary(bytes::Bytes),
    /// Close the socket.
    Close { code: u16, reason: String },
}

impl OutFrame {
    /// A frame for any server event.
    pub fn from_frame(frame: &ServerFrame) -> OutFrame {
        if let ServerFrame::Agent(AgentEventFrame { session_id, ts, seq: Some(seq), event }) = frame {
            match event {
                AgentEvent::TextDelta { message_id, delta, content_index }
                | AgentEvent::ThinkingDelta { message_id, delta, content_index } => {
                    return OutFrame::Delta {
                        session_id: Arc::from(session_id.as_str()),
                        message_id: message_id.clone(),
                        content_index: *content_index,
                        thinking: matches!(event, AgentEvent::ThinkingDelta { .. }),
                        delta: delta.clone(),
                        seq: *seq,
                        ts: *ts,
                    };
                }
                _ => {}
            }
        }
        OutFrame::Json(Arc::from(serde_json::to_string(frame).unwrap_or_default()))
    }

    /// The text to send.
    pub fn render(&self) -> String {
        match self {
            OutFrame::Json(s) => s.to_string(),
            OutFrame::Delta { session_id, message_id, content_index, thinking, delta, seq, ts } => {
                let event = if *thinking {
                    AgentEvent::ThinkingDelta {
                        message_id: message_id.clone(),
                        delta: delta.clone(),
                        content_index: *content_index,
                    }
                } else {
                    AgentEvent::TextDelta {
                        message_id: message_id.clone(),
                        delta: delta.clone(),
                        content_index: *content_index,
                    }
                };
                let frame = ServerFrame::Agent(AgentEventFrame {
                    session_id: session_id.to_string(),
                    ts: *ts,
                    seq: Some(*seq),
                    event,
                });
                serde_json::to_string(&frame).unwrap_or_default()
            }
            OutFrame::Binary(_) | OutFrame::Close { .. } => String::new(),
        }
    }

    fn size(&self) -> usize {
        match self {
            OutFrame::Json(s) => s.len(),
            OutFrame::Delta { delta, message_id, .. } => delta.len() + message_id.len() + 128,
            OutFrame::Binary(bytes) => bytes.len(),
            OutFrame::Close { reason, .. } => reason.len(),
        }
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<OutFrame>,
    bytes: usize,
    closing: bool,
}

/// The outbound queue of one connection.
pub struct Outbox {
    pub connection: u64,
    max_frames: usize,
    max_bytes: usize,
    state: Mutex<State>,
    notify: Notify,
}

impl Outbox {
    pub fn new(connection: u64, max_frames: usize, max_bytes: usize) -> Outbox {
        Outbox {
            connection,
            max_frames,
            max_bytes,
            state: Mutex::new(State::default()),
            notify: Notify::new(),
        }
    }

    /// Queues a frame; returns false once the connection is being closed.
    pub fn push(&self, frame: OutFrame) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.closing {
            return false;
        }
        if let (
            Some(OutFrame::Delta {
                session_id: s1,
                message_id: m1,
                content_index: c1,
                thinking: t1,
                delta: d1,
                seq: q1,
                ts: ts1,
            }),
            OutFrame::Delta {
                session_id: s2,
                message_id: m2,
                content_index: c2,
                thinking: t2,
                delta: d2,
                seq: q2,
                ts: ts2,
            },
        ) = (st.queue.back_mut(), &frame)
            && s1 == s2
            && m1 == m2
            && c1 == c2
            && t1 == t2
        {
            d1.push_str(d2);
            *q1 = *q2;
            *ts1 = *ts2;
            st.bytes += d2.len();
        } else {
            st.bytes += frame.size();
            st.queue.push_back(frame);
        }
        if st.queue.len() > self.max_frames || st.bytes > self.max_bytes {
            st.queue.clear();
            st.bytes = 0;
            st.closing = true;
            st.queue.push_back(OutFrame::Close {
                code: CLOSE_TOO_SLOW,
                reason: "client too slow: outbound queue full; reconnect and resume".to_string(),
            });
        }
        drop(st);
        self.notify.notify_one();
        true
    }

    /// Asks the writer to close the socket.
    pub fn close(&self, code: u16, reason: &str) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !st.closing {
            st.closing = true;
            st.queue.push_back(OutFrame::Close { code, reason: reason.to_string() });
        }
        drop(st);
        self.notify.notify_one();
    }

    /// Waits for frames and takes all of them.
    pub async fn take_all(&self) -> Vec<OutFrame> {
        loop {
            let notified = self.notify.notified();
            {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if !st.queue.is_empty() {
                    st.bytes = 0;
                    return st.queue.drain(..).collect();
                }
            }
            notified.await;
        }
    }

    /// Frames waiting now.
    pub fn depth(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(text: &str, seq: u64) -> OutFrame {
        OutFrame::Delta {
            session_id: Arc::from("c1"),
            message_id: "msg_1".into(),
            content_index: 0,
            thinking: false,
            delta: text.into(),
            seq,
            ts: 0,
        }
    }

    #[tokio::test]
    async fn waiting_deltas_are_merged_and_keep_the_last_seq() {
        let outbox = Outbox::new(1, 100, 1 << 20);
        for (i, word) in ["a", "b", "c"].iter().enumerate() {
            assert!(outbox.push(delta(word, i as u64 + 1)));
        }
        outbox.push(OutFrame::Json(Arc::from("{}")));
        outbox.push(delta("d", 5));
        let frames = outbox.take_all().await;
        assert_eq!(frames.len(), 3);
        assert!(matches!(&frames[0], OutFrame::Delta { delta, seq: 3, .. } if delta == "abc"));
        assert!(frames[0].render().contains("\"seq\":3"));
    }

    #[tokio::test]
    async fn a_hopeless_reader_is_closed() {
        let outbox = Outbox::new(1, 3, 1 << 20);
        for _ in 0..4 {
            outbox.push(OutFrame::Json(Arc::from("{}")));
        }
        assert!(!outbox.push(OutFrame::Json(Arc::from("{}"))));
        let frames = outbox.take_all().await;
        assert!(matches!(&frames[..], [OutFrame::Close { code: CLOSE_TOO_SLOW, .. }]));
    }
}
