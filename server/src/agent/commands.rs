//! Mux agent commands as the Pi agent's RPC commands.

use oqto_api::mux::{AgentCommand, PromptBody};
use serde_json::{Value, json};

fn prompt(body: &PromptBody, behaviour: Option<&str>) -> Value {
    let mut command = json!({ "type": "prompt", "message": body.message });
    if let Some(images) = &body.images {
        command["images"] = images
            .iter()
            .map(|i| json!({ "type": "image", "source": { "type": "base64", "mediaType": i.media_type, "data": i.data } }))
            .collect();
    }
    if let Some(behaviour) = behaviour {
        command["streamingBehavior"] = Value::String(behaviour.to_string());
    }
    command
}

/// The agent command for `cmd`, given whether a turn is running. `None`
/// for the commands the server answers itself (`session.*`, `list_sessions`,
/// `a2ui.action`).
pub fn to_agent(cmd: &AgentCommand, streaming: bool) -> Option<Value> {
    Some(match cmd {
        AgentCommand::Prompt(body) | AgentCommand::Steer(body) => prompt(body, streaming.then_some("steer")),
        AgentCommand::FollowUp(body) => prompt(body, streaming.then_some("followUp")),
        AgentCommand::Abort => json!({ "type": "abort" }),
        AgentCommand::InputResponse { request_id, value, confirmed, cancelled } => json!({
            "type": "extension_ui_response",
            "requestId": request_id,
            "value": value,
            "confirmed": confirmed,
            "cancelled": cancelled,
        }),
        AgentCommand::GetState => json!({ "type": "get_state" }),
        AgentCommand::GetMessages => json!({ "type": "get_messages" }),
        AgentCommand::GetStats => json!({ "type": "get_session_stats" }),
        AgentCommand::GetModels { .. } => json!({ "type": "get_available_models" }),
        AgentCommand::GetCommands => json!({ "type": "get_commands" }),
        AgentCommand::GetForkPoints => json!({ "type": "get_fork_messages" }),
        AgentCommand::SetModel { provider, model_id } => {
            json!({ "type": "set_model", "provider": provider, "modelId": model_id })
        }
        AgentCommand::CycleModel => json!({ "type": "cycle_model" }),
        AgentCommand::SetThinkingLevel { level } => json!({ "type": "set_thinking_level", "level": level }),
        AgentCommand::CycleThinkingLevel => json!({ "type": "cycle_thinking_level" }),
        AgentCommand::SetAutoCompaction { enabled } => {
            json!({ "type": "set_auto_compaction", "enabled": enabled })
        }
        AgentCommand::SetAutoRetry { enabled } => json!({ "type": "set_auto_retry", "enabled": enabled }),
        AgentCommand::Compact { instructions } => {
            json!({ "type": "compact", "customInstructions": instructions })
        }
        AgentCommand::AbortRetry => json!({ "type": "abort_retry" }),
        AgentCommand::SetSessionName { name } => json!({ "type": "set_session_name", "name": name }),
        AgentCommand::Fork { entry_id } => json!({ "type": "fork", "entryId": entry_id }),
        AgentCommand::SessionCreate { .. }
        | AgentCommand::SessionClose
        | AgentCommand::SessionDelete
        | AgentCommand::ListSessions
        | AgentCommand::A2uiAction(_) => return None,
    })
}
