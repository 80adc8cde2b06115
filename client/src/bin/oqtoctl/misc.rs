//! `health`, `features`.

use anyhow::Result;
use oqto_client::Client;

use crate::auth::sdk_error;
use crate::output::Output;

pub async fn health(client: &Client, out: &Output) -> Result<()> {
    out.object(&client.health_view().send().await.map_err(sdk_error)?.into_inner())
}

pub async fn features(client: &Client, out: &Output) -> Result<()> {
    out.object(&client.feature_list().send().await.map_err(sdk_error)?.into_inner())
}
