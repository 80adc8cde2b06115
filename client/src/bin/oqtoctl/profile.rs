//! Profiles: server URL and token per name, in
//! `$XDG_CONFIG_HOME/oqto/credentials.toml` (mode 0600).
//! `OQTO_URL` and `OQTO_TOKEN` override the profile.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use oqto_client::Client;
use serde::{Deserialize, Serialize};

/// Server used when neither a profile nor `OQTO_URL` names one.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Profile {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct Credentials {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

fn path() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("oqto").join("credentials.toml")
}

fn read_all() -> Result<Credentials> {
    match std::fs::read_to_string(path()) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("parsing {}", path().display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path().display())),
    }
}

/// The stored profile (empty when there is none).
pub fn load(name: &str) -> Result<Option<Profile>> {
    Ok(read_all()?.profiles.remove(name))
}

/// Stores (or, with `None`, removes) a profile.
pub fn store(name: &str, profile: Option<Profile>) -> Result<()> {
    let mut all = read_all()?;
    match profile {
        Some(p) => all.profiles.insert(name.to_string(), p),
        None => all.profiles.remove(name),
    };
    let file = path();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&file).with_context(|| format!("writing {}", file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(toml::to_string(&all)?.as_bytes())?;
    Ok(())
}

/// The server URL: `OQTO_URL`, the profile's, or the default.
pub fn url(name: &str) -> Result<String> {
    if let Ok(url) = std::env::var("OQTO_URL") {
        return Ok(url);
    }
    Ok(load(name)?.map(|p| p.url).unwrap_or_else(|| DEFAULT_URL.to_string()))
}

/// The token: `OQTO_TOKEN`, or the profile's.
pub fn token(name: &str) -> Result<String> {
    match std::env::var("OQTO_TOKEN") {
        Ok(token) => Ok(token),
        Err(_) => load(name)?
            .and_then(|p| p.token)
            .with_context(|| format!("not logged in (profile {name:?}): run `oqtoctl login`")),
    }
}

/// An SDK client with the profile's (or `OQTO_TOKEN`'s) token.
pub fn connect(name: &str) -> Result<Client> {
    Ok(oqto_client::client_with_token(&url(name)?, Some(&token(name)?))?)
}

/// An SDK client with the profile's token when there is one, for public
/// operations.
pub fn connect_optional(name: &str) -> Result<Client> {
    let token = token(name).ok();
    Ok(oqto_client::client_with_token(&url(name)?, token.as_deref())?)
}

/// A mux connection with the profile's URL and token.
pub async fn mux(name: &str) -> Result<oqto_client::mux::MuxClient> {
    oqto_client::mux::MuxClient::connect(&url(name)?, &token(name)?).await
}
