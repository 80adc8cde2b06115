//! The framework's ceiling: a Dropshot server with one endpoint answering
//! the same small JSON body as `GET /api/health`, logging as the server does
//! (Dropshot's request logging on stderr at `info`). Whatever Oqto costs
//! beyond this is its own. Usage: `dropshot_hello ADDR` (prints `listening
//! on http://ADDR`).

use dropshot::{
    ApiDescription, ConfigDropshot, ConfigLogging, ConfigLoggingLevel, HttpError, HttpResponseOk,
};
use dropshot::{RequestContext, ServerBuilder, endpoint};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
struct Hello {
    status: &'static str,
    version: &'static str,
}

/// The hello-world.
#[endpoint { method = GET, path = "/api/health" }]
async fn hello(_rqctx: RequestContext<()>) -> Result<HttpResponseOk<Hello>, HttpError> {
    Ok(HttpResponseOk(Hello { status: "ok", version: "0.1.0" }))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_string());
    let log = ConfigLogging::StderrTerminal { level: ConfigLoggingLevel::Info }
        .to_logger("dropshot_hello")
        .map_err(|e| e.to_string())?;
    let mut api = ApiDescription::new();
    api.register(hello).map_err(|e| e.to_string())?;
    let config =
        ConfigDropshot { bind_address: addr.parse().map_err(|e| format!("{e}"))?, ..Default::default() };
    let server = ServerBuilder::new(api, (), log).config(config).start().map_err(|e| e.to_string())?;
    println!("listening on http://{}", server.local_addr());
    server.await
}
