//! Reading the agent's stdout: JSON objects separated by newlines, robust to
//! two objects on one line, one object split across lines, and garbage
//! (skipped up to the next newline, never fatal).

use serde_json::Value;

/// Bytes kept while waiting for the end of one object.
const MAX_PENDING: usize = 32 * 1024 * 1024;

/// An incremental decoder of the agent's output.
#[derive(Default)]
pub struct JsonLines {
    buf: Vec<u8>,
    skipping: bool,
}

/// What one chunk of output yielded.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A JSON object.
    Object(serde_json::Map<String, Value>),
    /// Something that was skipped, and why.
    Skipped(String),
}

impl JsonLines {
    /// Feeds bytes; returns every complete object (and every skipped piece).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        let mut out = Vec::new();
        let mut bytes = bytes;
        if self.skipping {
            match bytes.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    self.skipping = false;
                    bytes = &bytes[i + 1..];
                }
                None => return out,
            }
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let start = self.buf.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(self.buf.len());
            self.buf.drain(..start);
            if self.buf.is_empty() {
                break;
            }
            let mut stream = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
            match stream.next() {
                Some(Ok(value)) => {
                    let end = stream.byte_offset();
                    self.buf.drain(..end);
                    match value {
                        Value::Object(map) => out.push(Decoded::Object(map)),
                        other => out.push(Decoded::Skipped(format!("not an object: {other}"))),
                    }
                }
                Some(Err(e)) if e.is_eof() => {
                    if self.buf.len() > MAX_PENDING {
                        self.buf.clear();
                        self.skipping = true;
                        out.push(Decoded::Skipped("an unterminated object over 32 MiB".to_string()));
                    }
                    break;
                }
                Some(Err(e)) => {
                    let line_end = self.buf.iter().position(|b| *b == b'\n');
                    let end = line_end.map_or(self.buf.len(), |i| i + 1);
                    let garbage = String::from_utf8_lossy(&self.buf[..end.min(200)]).trim().to_string();
                    self.buf.drain(..end);
                    self.skipping = line_end.is_none();
                    out.push(Decoded::Skipped(format!("{e}: {garbage}")));
                }
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(decoded: Vec<Decoded>) -> Vec<String> {
        decoded
            .into_iter()
            .map(|d| match d {
                Decoded::Object(m) => m["type"].as_str().unwrap_or("?").to_string(),
                Decoded::Skipped(_) => "skipped".to_string(),
            })
            .collect()
    }

    #[test]
    fn two_objects_on_one_line_and_one_split_across_lines() {
        let mut codec = JsonLines::default();
        assert_eq!(objects(codec.push(b"{\"type\":\"a\"}{\"type\":\"b\"}\n{\"type\":")), vec!["a", "b"]);
        assert_eq!(objects(codec.push(b"\n\"c\"}\n")), vec!["c"]);
    }

    #[test]
    fn garbage_is_skipped_up_to_the_newline() {
        let mut codec = JsonLines::default();
        let out = objects(codec.push(b"not json at all\n{\"type\":\"ok\"}\n[1,2]\n"));
        assert_eq!(out, vec!["skipped", "ok", "skipped"]);
        // Garbage without a newline yet: the rest of its line is skipped later.
        assert_eq!(objects(codec.push(b"oops {\"type\":\"x\"}")), vec!["skipped"]);
        assert_eq!(objects(codec.push(b" still garbage\n{\"type\":\"y\"}\n")), vec!["y"]);
    }
}
