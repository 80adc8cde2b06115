//! Password hashing with argon2id (PHC strings), off the async threads.
//!
//! Each hash or verification holds about 19 MiB for its duration, so they
//! run on one thread per core, kept for the server's life, which reuses its
//! block while logins keep coming and hands it back after a second idle;
//! the rest queue (boundedly, for a bounded time) and are then refused with
//! 503 and `Retry-After`.
//! Memory stays flat whatever the login load.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};

use crate::error::{Error, Result};

/// Shortest accepted password.
pub const MIN_LEN: usize = 8;
/// Longest accepted password (argon2 is linear in it).
pub const MAX_LEN: usize = 1024;

/// Most hashing requests waiting for a core before new ones are refused.
const MAX_WAITING: usize = 256;
/// How long a hashing thread idles before it hands its block back.
const IDLE_TRIM: std::time::Duration = std::time::Duration::from_secs(1);
/// Longest a hashing request waits for a core.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

type Job = (std::time::Instant, Box<dyn FnOnce() + Send>);

/// Runs `work` on one of the hashing threads (one per core, started once
/// and kept: their memory is reused, so the process does not keep a freed
/// argon2 block per passing thread). Refused as busy when the queue is
/// full or the work did not start within [`MAX_WAIT`].
async fn on_hashing_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static QUEUE: std::sync::OnceLock<crossbeam_channel::Sender<Job>> = std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        // Every thread waits on the queue itself, each with its own idle
        // timer (a receiver shared behind a lock let only the thread holding
        // the lock time out, so the others kept their block until the next
        // login).
        let (tx, rx) = crossbeam_channel::bounded::<Job>(MAX_WAITING);
        for n in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
            let rx = rx.clone();
            let _ = std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || {
                loop {
                    let job = match rx.recv_timeout(IDLE_TRIM) {
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                            release_blocks();
                            rx.recv().ok()
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
        BLOCKS.with(|blocks| {
            let mut blocks = blocks.borrow_mut();
            let had = !blocks.is_empty();
            let ok = matches(&mut blocks, password.as_bytes(), &stored);
            if !had && !blocks.is_empty() {
                HOLDING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            ok
        })
    })
    .await?;
    Ok(known && ok)
}

/// Hashing threads holding argon2 memory now.
static HOLDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Gives this hashing thread's argon2 memory back to the system (idle).
fn release_blocks() {
    let held = BLOCKS.with(|blocks| std::mem::take(&mut *blocks.borrow_mut()));
    if !held.is_empty() {
        drop(held);
        HOLDING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: malloc_trim only releases free memory.
        unsafe { nix::libc::malloc_trim(0) };
    }
}

thread_local! {
    /// A hashing thread's argon2 memory, kept between verifications while
    /// logins keep coming (the allocator would map and fault in 19 MiB
    /// for each of them otherwise: a quarter of a login's time).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC string `stored` (any argon2 variant,
/// version and parameters), computed in `blocks`. What `verify_password`
/// does, without allocating the memory each time; every block is written
/// before it is read, so what `blocks` held does not matter.
fn matches(blocks: &mut Vec<argon2::Block>, password: &[u8], stored: &str) -> bool {
    use argon2::password_hash::Output;
    use argon2::{Algorithm, Params, Version};
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed))
    else {
        return false;
    };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, argon2::Block::default());
    }
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let computed = Output::init_with(expected.len(), |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])?)
    });
    // `Output`'s equality takes the same time wherever the bytes differ.
    computed.is_ok_and(|computed| computed == expected)
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

    /// Every hashing thread gives its memory back after a second idle, not
    /// only one of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_hashing_thread_releases_its_memory_when_idle() {
        let stored = super::hash("correct horse").await.unwrap();
        let logins = (0..4).map(|_| super::verify("correct horse", Some(&stored)));
        for ok in futures::future::join_all(logins).await {
            assert!(ok.unwrap());
        }
        let released = async {
            while super::HOLDING.load(std::sync::atomic::Ordering::Relaxed) > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        let idle = super::IDLE_TRIM * 5;
        assert!(tokio::time::timeout(idle, released).await.is_ok(), "a hashing thread kept its memory");
    }

    #[test]
    fn reused_memory_verifies_like_verify_password() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
        use argon2::{Algorithm, Argon2, Params, Version};
        let mut blocks = Vec::new();
        let cheap = Params::new(64, 1, 1, None).unwrap();
        for (algorithm, version, params) in [
            (Algorithm::Argon2id, Version::V0x13, Params::default()),
            (Algorithm::Argon2id, Version::V0x13, cheap.clone()),
            (Algorithm::Argon2i, Version::V0x10, cheap.clone()),
            (Algorithm::Argon2d, Version::V0x13, Params::new(128, 3, 2, Some(16)).unwrap()),
        ] {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            let argon2 = Argon2::new(algorithm, version, params);
            let stored = argon2.hash_password(b"correct horse", &salt).unwrap().to_string();
            let parsed = argon2::PasswordHash::new(&stored).unwrap();
            assert!(argon2.verify_password(b"correct horse", &parsed).is_ok());
            // Twice each, the second time in memory another hash filled.
            for _ in 0..2 {
                assert!(super::matches(&mut blocks, b"correct horse", &stored), "{stored}");
                assert!(!super::matches(&mut blocks, b"correct horsf", &stored), "{stored}");
            }
        }
        assert!(!super::matches(&mut blocks, b"x", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ"));
        assert!(!super::matches(&mut blocks, b"x", "$argon2id$v=19$m=64,t=1,p=1"));
    }
}
