//! Password hashing with argon2id (PHC strings), off the async threads.
//!
//! Each hash or verification holds about 19 MiB for its duration, so they
//! run on one thread per core, kept for the server's life, which reuses its
//! block while work is queued and hands it back to the system when idle; the rest queue (boundedly,
//! for a bounded time) and are then refused with 503 and `Retry-After`.
//! Memory stays flat whatever the login load.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{Error, Result};

/// Shortest accepted password.
pub const MIN_LEN: usize = 8;
/// Longest accepted password (argon2 is linear in it).
pub const MAX_LEN: usize = 1024;

/// Most hashing requests waiting for a core before new ones are refused.
const MAX_WAITING: usize = 256;
/// Longest a hashing request waits for a core.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

type Job = (std::time::Instant, Box<dyn FnOnce() + Send>);

/// Runs `work` on one of the hashing threads (one per core, started once
/// and kept: their memory is reused, so the process does not keep a freed
/// argon2 block per passing thread). Refused as busy when the queue is
/// full or the work did not start within [`MAX_WAIT`].
async fn on_hashing_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static QUEUE: std::sync::OnceLock<std::sync::mpsc::SyncSender<Job>> = std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(MAX_WAITING);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for n in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
            let rx = std::sync::Arc::clone(&rx);
            let _ = std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || {
                let next = || rx.lock().unwrap_or_else(|p| p.into_inner()).try_recv();
                loop {
                    let job = match next() {
                        Err(std::sync::mpsc::TryRecvError::Empty) => {
                            // Idle: give argon2's block back to the system
                            // between bursts. Not between jobs: a returned
                            // block costs its 19 MiB of page faults again
                            // at the next hash (a quarter of a login).
                            // SAFETY: malloc_trim only releases free memory.
                            unsafe { nix::libc::malloc_trim(0) };
                            rx.lock().unwrap_or_else(|p| p.into_inner()).recv().ok()
                        }
                        job => job.ok(),
                    };
                    let Some((deadline, job)) = job else { return };
                    // A request that gave up waiting is not worth a hash.
                    if std::time::Instant::now() < deadline {
                        job();
                    }
                }
            });
        }
        tx
    });
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let job: Box<dyn FnOnce() + Send> = Box::new(move || {
        let _ = done_tx.send(work());
    });
    let busy = || Error::Busy { retry_after_secs: 2 };
    queue.try_send((std::time::Instant::now() + MAX_WAIT, job)).map_err(|_| busy())?;
    match tokio::time::timeout(MAX_WAIT + std::time::Duration::from_secs(5), done_rx).await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(busy()),
    }
}

/// Refuses passwords that are too short or too long.
pub fn validate(password: &str, field: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(Error::Invalid(format!("{field} must be at least {MIN_LEN} characters")));
    }
    if password.len() > MAX_LEN {
        return Err(Error::Invalid(format!("{field} must be at most {MAX_LEN} bytes")));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt.
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_string();
    on_hashing_thread(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await?
}

/// Checks a password against a stored hash. With no hash (unknown user) a
/// dummy hash is checked so that the answer takes as long either way.
pub async fn verify(password: &str, stored: Option<&str>) -> Result<bool> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let known = stored.is_some();
    let stored = match stored {
        Some(s) => s.to_string(),
        None => DUMMY
            .get_or_init(|| {
                let salt = SaltString::generate(&mut OsRng);
                Argon2::default()
                    .hash_password(b"not a real password", &salt)
                    .map(|h| h.to_string())
                    .unwrap_or_default()
            })
            .clone(),
    };
    let password = password.to_string();
    let ok = on_hashing_thread(move || {
        PasswordHash::new(&stored)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await?;
    Ok(known && ok)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_round_trip() {
        let h = super::hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", Some(&h)).await.unwrap());
        assert!(!super::verify("wrong horse", Some(&h)).await.unwrap());
        assert!(!super::verify("correct horse", None).await.unwrap());
        assert!(!super::verify("x", Some("not a hash")).await.unwrap());
    }
}
