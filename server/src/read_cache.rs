//! Serialised list pages kept per user, so that reading a list again costs
//! no database round trip and no serialisation until something in it
//! changes.
//!
//! The area code that writes calls [`Pages::changed`] after each committed
//! write; a page computed from a read that a write overtook is never kept
//! (see [`Ticket`]). A page may also carry a stamp of state that lives
//! outside the database (the running agents of the session list): a page
//! whose stamp differs from the current one is a miss.
//!
//! Bounded: [`MAX_USERS`] users, [`MAX_PAGES`] pages per user, pages up to
//! [`MAX_PAGE_BYTES`], [`MAX_BYTES`] in all. The cache is per process, like
//! the auth cache: replicas sharing one database would each need the
//! others' writes announced (not built; one server per database today).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Mutex;

use bytes::Bytes;
use dropshot::Body;
use http::Response;
use serde::Serialize;

use crate::error::{Error, Result};

/// Most users with cached pages.
const MAX_USERS: usize = 10_000;
/// Most pages kept per user.
const MAX_PAGES: usize = 16;
/// Largest page kept.
const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// Most bytes kept in all pages of one cache.
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// A response body of type `T`, serialised once.
pub struct Page<T> {
    bytes: Bytes,
    _of: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Page<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Page({} bytes)", self.bytes.len())
    }
}

impl<T> Clone for Page<T> {
    fn clone(&self) -> Self {
        Page { bytes: self.bytes.clone(), _of: PhantomData }
    }
}

impl<T: Serialize> Page<T> {
    /// Serialises `value` as its JSON response body.
    pub fn of(value: &T) -> Result<Page<T>> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::Internal(anyhow::anyhow!("serialising a response: {e}")))?;
        Ok(Page { bytes: bytes.into(), _of: PhantomData })
    }
}

impl<T> Page<T> {
    /// The `200 OK` JSON response Dropshot would make of the value.
    pub fn response(&self) -> Response<Body> {
        let mut response = Response::new(Body::from(self.bytes.clone()));
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }
}

/// When a read began: a page computed from it is kept only if no write
/// for its user was announced since.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

/// One kind of list's pages, per user.
#[derive(Default)]
pub struct Pages {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Counts announced writes.
    epoch: u64,
    /// The latest write of any user no longer tracked (evicted).
    floor: u64,
    users: HashMap<String, UserPages>,
    bytes: usize,
}

#[derive(Default)]
struct UserPages {
    /// The epoch of this user's latest announced write.
    changed: u64,
    /// Page key → (stamp, body).
    pages: HashMap<String, (u64, Bytes)>,
}

impl Inner {
    fn drop_user(&mut self, user_id: &str) {
        if let Some(user) = self.users.remove(user_id) {
            self.floor = self.floor.max(user.changed);
            self.bytes -= user.pages.values().map(|(_, b)| b.len()).sum::<usize>();
        }
    }

    /// Makes room for one more user.
    fn room_for_user(&mut self) {
        if self.users.len() >= MAX_USERS
            && let Some(victim) = self.users.keys().next().cloned()
        {
            self.drop_user(&victim);
        }
    }
}

impl Pages {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached page `key` of `user_id` with `stamp`, or the ticket to
    /// [`Pages::put`] the page computed now.
    pub fn get<T>(&self, user_id: &str, key: &str, stamp: u64) -> std::result::Result<Page<T>, Ticket> {
        let inner = self.lock();
        match inner.users.get(user_id).and_then(|u| u.pages.get(key)) {
            Some((kept, bytes)) if *kept == stamp => Ok(Page { bytes: bytes.clone(), _of: PhantomData }),
            _ => Err(Ticket(inner.epoch)),
        }
    }

    /// Keeps a page computed from a read begun at `ticket`, unless a write
    /// of the user was announced since or the page is out of bounds.
    pub fn put<T>(&self, user_id: &str, key: &str, stamp: u64, ticket: Ticket, page: &Page<T>) {
        let size = page.bytes.len();
        if size > MAX_PAGE_BYTES {
            return;
        }
        let mut inner = self.lock();
        let changed = inner.users.get(user_id).map_or(inner.floor, |u| u.changed);
        if changed > ticket.0 {
            return;
        }
        if inner.bytes + size > MAX_BYTES {
            // Rare (64 MiB of pages): start over rather than track ages.
            let users: Vec<String> = inner.users.keys().cloned().collect();
            users.iter().for_each(|u| inner.drop_user(u));
        }
        if !inner.users.contains_key(user_id) {
            inner.room_for_user();
        }
        let floor = inner.floor;
        let user = inner
            .users
            .entry(user_id.to_string())
            .or_insert_with(|| UserPages { changed: floor, ..Default::default() });
        let mut freed = 0;
        if user.pages.len() >= MAX_PAGES
            && !user.pages.contains_key(key)
            && let Some(victim) = user.pages.keys().next().cloned()
        {
            freed += user.pages.remove(&victim).map_or(0, |(_, b)| b.len());
        }
        freed += user.pages.insert(key.to_string(), (stamp, page.bytes.clone())).map_or(0, |(_, b)| b.len());
        inner.bytes = inner.bytes + size - freed;
    }

    /// Announces a committed write of `user_id`'s data: its pages go, and
    /// pages computed from reads begun before now are not kept.
    pub fn changed(&self, user_id: &str) {
        let mut inner = self.lock();
        inner.epoch += 1;
        let epoch = inner.epoch;
        match inner.users.get_mut(user_id) {
            Some(user) => {
                let freed: usize = user.pages.drain().map(|(_, (_, b))| b.len()).sum();
                user.changed = epoch;
                inner.bytes -= freed;
            }
            None => {
                inner.room_for_user();
                inner.users.insert(user_id.to_string(), UserPages { changed: epoch, pages: HashMap::new() });
            }
        }
    }
}

/// The page `key` of `user_id` from `pages`, or `compute`d, serialised and
/// kept there.
pub async fn cached<T: Serialize>(
    pages: &Pages,
    user_id: &str,
    key: &str,
    stamp: u64,
    compute: impl Future<Output = Result<T>>,
) -> Result<Page<T>> {
    match pages.get(user_id, key, stamp) {
        Ok(page) => Ok(page),
        Err(ticket) => {
            let page = Page::of(&compute.await?)?;
            pages.put(user_id, key, stamp, ticket, &page);
            Ok(page)
        }
    }
}

/// The server's cached lists.
#[derive(Default)]
pub struct ReadCache {
    /// `GET /api/sessions`, stamped with the running agents' changes.
    pub sessions: Pages,
    /// `GET /api/chat-history` pages.
    pub history: Pages,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> Page<String> {
        Page::of(&text.to_string()).unwrap()
    }

    #[test]
    fn a_page_is_kept_until_its_user_changes() {
        let pages = Pages::default();
        let ticket = pages.get::<String>("u", "k", 0).unwrap_err();
        pages.put("u", "k", 0, ticket, &page("a"));
        assert_eq!(pages.get::<String>("u", "k", 0).ok().unwrap().text(), "\"a\"");
        assert!(pages.get::<String>("u", "k", 1).is_err(), "another stamp is a miss");
        assert!(pages.get::<String>("v", "k", 0).is_err(), "another user's page is not shared");
        pages.changed("v");
        assert!(pages.get::<String>("u", "k", 0).is_ok(), "another user's write keeps the page");
        pages.changed("u");
        assert!(pages.get::<String>("u", "k", 0).is_err());
    }

    #[test]
    fn a_read_overtaken_by_a_write_is_not_kept() {
        let pages = Pages::default();
        let ticket = pages.get::<String>("u", "k", 0).unwrap_err();
        pages.changed("u");
        pages.put("u", "k", 0, ticket, &page("stale"));
        assert!(pages.get::<String>("u", "k", 0).is_err());
        // Also when the user's record was evicted in between.
        let pages = Pages::default();
        let ticket = pages.get::<String>("u", "k", 0).unwrap_err();
        pages.changed("u");
        pages.lock().drop_user("u");
        pages.put("u", "k", 0, ticket, &page("stale"));
        assert!(pages.get::<String>("u", "k", 0).is_err());
    }

    #[test]
    fn pages_are_bounded() {
        let pages = Pages::default();
        for n in 0..(MAX_PAGES * 2) {
            let key = n.to_string();
            let ticket = pages.get::<String>("u", &key, 0).unwrap_err();
            pages.put("u", &key, 0, ticket, &page("x"));
        }
        let inner = pages.lock();
        assert_eq!(inner.users["u"].pages.len(), MAX_PAGES);
        assert_eq!(inner.bytes, MAX_PAGES * 3);
        drop(inner);
        let big = Page::of(&"x".repeat(MAX_PAGE_BYTES)).unwrap();
        let ticket = pages.get::<String>("u", "big", 0).unwrap_err();
        pages.put("u", "big", 0, ticket, &big);
        assert!(pages.get::<String>("u", "big", 0).is_err(), "a page over the bound is not kept");
        pages.changed("u");
        assert_eq!(pages.lock().bytes, 0);
    }
}
