//! Server-Sent Events read from a response body (`GET /api/admin/metrics`).

use futures::StreamExt;
use progenitor_client::ByteStream;

/// Reads the events of a `text/event-stream` body one at a time.
pub struct EventReader {
    body: ByteStream,
    buffer: Vec<u8>,
}

/// The most one event may hold before the stream is given up.
const MAX_EVENT: usize = 1024 * 1024;

impl EventReader {
    pub fn new(body: ByteStream) -> EventReader {
        EventReader { body, buffer: Vec::new() }
    }

    /// The `data` of the next event (its `data:` lines joined by newlines);
    /// comments and events without data are skipped. `None` when the stream
    /// ends.
    pub async fn next_data(&mut self) -> Option<Result<String, reqwest::Error>> {
        loop {
            while let Some(end) = event_end(&self.buffer) {
                let event: Vec<u8> = self.buffer.drain(..end.1).take(end.0).collect();
                if let Some(data) = data_of(&String::from_utf8_lossy(&event)) {
                    return Some(Ok(data));
                }
            }
            if self.buffer.len() > MAX_EVENT {
                return None;
            }
            match self.body.next().await? {
                Ok(chunk) => self.buffer.extend_from_slice(&chunk),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next event's data parsed as JSON of type `T`.
    pub async fn next_json<T: serde::de::DeserializeOwned>(&mut self) -> Option<anyhow::Result<T>> {
        Some(match self.next_data().await? {
            Ok(data) => serde_json::from_str(&data).map_err(anyhow::Error::from),
            Err(e) => Err(e.into()),
        })
    }
}

/// Where the first event ends: (its length, its length with the blank line).
fn event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    let crlf = buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn data_of(event: &str) -> Option<String> {
    let lines: Vec<&str> = event
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|rest| rest.strip_prefix(' ').unwrap_or(rest))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_lines_make_an_event_and_comments_none() {
        assert_eq!(super::data_of("data: {\"a\":1}"), Some("{\"a\":1}".into()));
        assert_eq!(super::data_of("data:x\ndata: y"), Some("x\ny".into()));
        assert_eq!(super::data_of(": keepalive"), None);
        assert_eq!(super::event_end(b"data: 1\n\ndata: 2"), Some((7, 9)));
        assert_eq!(super::event_end(b"data: 1"), None);
    }
}
