//! JWTs (HS256): issuing, verifying, and the signing secret on disk.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use oqto_api::users::Role;
use serde::{Deserialize, Serialize};

use crate::db::users::UserRow;
use crate::error::{Error, Result};

/// What a token says. `ver` is the user's token version when it was issued:
/// bumping the stored version (password change, role change,
/// deactivation) refuses every older token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub roles: Vec<String>,
    pub ver: i64,
    /// `ws` on a mux ticket (only valid to open `/api/ws/mux`); absent on
    /// session tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// On a mux ticket: the session token it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentToken>,
}

/// The session token behind a mux ticket (the socket lives as long as it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParentToken {
    pub jti: String,
    pub exp: i64,
}

/// The scope of mux tickets.
pub const WS_SCOPE: &str = "ws";
/// The scope of the tokens an agent presents to the model proxy (they
/// open nothing else).
pub const LLM_SCOPE: &str = "llm";
/// How long a model proxy token lasts: until the account's token version
/// changes, in practice (a password change, a role change, deactivation).
pub const LLM_TOKEN_TTL_SECS: i64 = 10 * 365 * 24 * 3600;
/// How long a mux ticket can be used to open a socket.
pub const WS_TICKET_TTL_SECS: i64 = 60;

/// The signing keys and token lifetime.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

/// A freshly issued token.
pub struct Issued {
    pub token: String,
    pub claims: Claims,
}

impl Issued {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.claims.exp, 0).unwrap_or_default()
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: u64) -> anyhow::Result<TokenKeys> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
        })
    }

    /// Issues a token for `user`.
    pub fn issue(&self, user: &UserRow) -> Result<Issued> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.clone(),
            exp: now.saturating_add(self.ttl_secs),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            email: user.email.clone(),
            name: user.display_name.clone(),
            role: user.role.clone(),
            roles: vec![user.role.clone()],
            ver: user.token_version,
            scope: None,
            parent: None,
        };
        self.sign(claims)
    }

    /// Issues a short-lived, single-use ticket that opens the mux for the
    /// holder of the session token `parent` (browsers cannot send headers on
    /// a WebSocket, and a ticket in a URL is worth little once used).
    pub fn issue_ticket(&self, parent: &Claims) -> Result<Issued> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            exp: now + WS_TICKET_TTL_SECS,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: Some(WS_SCOPE.to_string()),
            parent: Some(ParentToken { jti: parent.jti.clone(), exp: parent.exp }),
            ..parent.clone()
        };
        self.sign(claims)
    }

    /// Issues the model proxy token of `user` (`LLM_SCOPE`).
    pub fn issue_llm(&self, user: &UserRow) -> Result<Issued> {
        let mut issued = self.issue(user)?;
        issued.claims.exp = issued.claims.iat.saturating_add(LLM_TOKEN_TTL_SECS);
        issued.claims.scope = Some(LLM_SCOPE.to_string());
        self.sign(issued.claims)
    }

    fn sign(&self, claims: Claims) -> Result<Issued> {
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(anyhow::anyhow!("signing a token: {e}")))?;
        Ok(Issued { token, claims })
    }

    /// Verifies signature and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthenticated("invalid or expired token".to_string()))
    }
}

/// Parses a stored role; the database only holds valid ones.
pub fn parse_role(role: &str) -> Role {
    role.parse().unwrap_or(Role::User)
}

/// Reads the signing secret, creating it (mode 0600) when missing.
pub fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(bytes),
        Ok(_) => anyhow::bail!("{} holds fewer than 32 bytes", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let secret = crate::util::random_token(64);
    crate::util::write_private(path, secret.as_bytes())?;
    Ok(secret.into_bytes())
}
