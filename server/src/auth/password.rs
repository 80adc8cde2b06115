//! Password hashing with argon2id (PHC strings), off the async threads.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{Error, Result};

/// Shortest accepted password.
pub const MIN_LEN: usize = 8;
/// Longest accepted password (argon2 is linear in it).
pub const MAX_LEN: usize = 1024;

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
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
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
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?;
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
