//! Credentials never reach the log: a drain in front of the logger that
//! rewrites every logged value which looks like a URI with a `token=`,
//! `ticket=` or `password=` query parameter (Dropshot logs each request's
//! URI itself, and browsers can only pass mux credentials in the query).

use std::fmt;

use slog::{Drain, KV, Key, OwnedKV, OwnedKVList, Record, Serializer};

/// Query parameters whose values are replaced by `REDACTED`.
const SECRET_PARAMS: &[&str] = &["token", "ticket", "password", "access_token"];

/// `text` with the values of secret query parameters replaced.
pub fn redact_uri(text: &str) -> std::borrow::Cow<'_, str> {
    let Some((path, query)) = text.split_once('?') else { return text.into() };
    if !SECRET_PARAMS.iter().any(|p| query.contains(&format!("{p}="))) {
        return text.into();
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if SECRET_PARAMS.contains(&name) => format!("{name}=REDACTED"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&")).into()
}

/// The drain: passes every record on with its values redacted.
pub struct Redacting<D>(pub D);

impl<D: Drain> Drain for Redacting<D> {
    type Ok = D::Ok;
    type Err = D::Err;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<Self::Ok, Self::Err> {
        let values = OwnedKVList::from(OwnedKV(Redacted(values.clone())));
        let kv = Redacted(record.kv());
        let borrowed = slog::BorrowedKV(&kv);
        let statics =
            slog::RecordStatic { location: record.location(), level: record.level(), tag: record.tag() };
        self.0.log(&Record::new(&statics, record.msg(), borrowed), &values)
    }
}

/// Key-values whose string values are redacted as they are serialized.
struct Redacted<T>(T);

impl<T: KV> KV for Redacted<T> {
    fn serialize(&self, record: &Record<'_>, serializer: &mut dyn Serializer) -> slog::Result {
        self.0.serialize(record, &mut RedactingSerializer(serializer))
    }
}

struct RedactingSerializer<'a>(&'a mut dyn Serializer);

/// Typed values pass through unchanged (and keep their type).
macro_rules! forward {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(&mut self, key: Key, value: $ty) -> slog::Result {
            self.0.$method(key, value)
        })*
    };
}

impl Serializer for RedactingSerializer<'_> {
    fn emit_arguments(&mut self, key: Key, value: &fmt::Arguments<'_>) -> slog::Result {
        let text = value.to_string();
        match redact_uri(&text) {
            std::borrow::Cow::Borrowed(_) => self.0.emit_arguments(key, value),
            std::borrow::Cow::Owned(clean) => self.0.emit_str(key, &clean),
        }
    }

    fn emit_str(&mut self, key: Key, value: &str) -> slog::Result {
        self.0.emit_str(key, &redact_uri(value))
    }

    forward! {
        emit_usize: usize, emit_isize: isize, emit_bool: bool, emit_char: char, emit_u8: u8, emit_i8: i8,
        emit_u16: u16, emit_i16: i16, emit_u32: u32, emit_i32: i32, emit_u64: u64, emit_i64: i64,
        emit_f32: f32, emit_f64: f64, emit_u128: u128, emit_i128: i128,
    }

    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.0.emit_unit(key)
    }

    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.0.emit_none(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_queries_are_replaced() {
        assert_eq!(redact_uri("/api/ws/mux?token=abc.def&x=1"), "/api/ws/mux?token=REDACTED&x=1");
        assert_eq!(redact_uri("/api/x?a=1&ticket=t"), "/api/x?a=1&ticket=REDACTED");
        assert_eq!(redact_uri("/api/chat-history?limit=5"), "/api/chat-history?limit=5");
        assert_eq!(redact_uri("plain text"), "plain text");
    }
}
