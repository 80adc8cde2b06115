//! Authentication: login, registration with an invite code, logout, password change.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::users::Role;

/// Credentials for `POST /api/auth/login`.
///
/// `username` accepts either the account's username or its email address
/// (the original's clients send the field as `username`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct LoginCredentials {
    /// Username or email address.
    pub username: String,
    /// The account's password.
    pub password: String,
}

/// Body of `POST /api/auth/dev-login` (development mode only).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct DevLogin {
    /// Username or email of an existing, active account. When absent, the
    /// oldest active administrator is used.
    #[serde(default)]
    pub username: Option<String>,
}

/// A new account created with an invite code.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Registration {
    /// Unique login name: 3 to 64 characters of letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// Unique email address.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    /// The invite code to redeem; one use of it is consumed.
    pub invite_code: String,
    /// Name shown in the UI; defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Body of `POST /api/auth/change-password`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct PasswordChange {
    /// The password in use now.
    pub current_password: String,
    /// The new password (at least 8 characters).
    pub new_password: String,
}

/// The user as carried in a login response.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct AuthUser {
    /// User id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Role of the account.
    pub role: Role,
}

/// A signed session token and the user it belongs to.
///
/// The same token is also set as the `auth_token` HttpOnly cookie; send it
/// back either as that cookie or as `Authorization: Bearer <token>`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct AuthToken {
    /// The JWT.
    pub token: String,
    /// When the token stops being accepted.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The logged-in user.
    pub user: AuthUser,
}
