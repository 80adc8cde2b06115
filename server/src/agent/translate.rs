//! Translating the Pi agent's events into Oqto's canonical mux events.

use std::collections::HashMap;
use std::time::Instant;

use oqto_api::mux::AgentEvent;
use serde_json::{Map, Value};

/// Per-chat translation state (message ids, tool timings, run state).
#[derive(Default)]
pub struct Translator {
    messages: u64,
    message_id: Option<String>,
    tool_started: HashMap<String, Instant>,
    last_error: Option<String>,
    /// Whether the agent is running a turn (between `agent_start` and `agent_end`).
    pub streaming: bool,
}

fn text(v: &Map<String, Value>, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn index(v: &Value) -> u32 {
    v.get("contentIndex").and_then(Value::as_u64).unwrap_or(0) as u32
}

impl Translator {
    fn current_message(&self) -> String {
        self.message_id.clone().unwrap_or_else(|| format!("msg_{}", self.messages))
    }

    /// The canonical events for one agent event (often none or one).
    pub fn translate(&mut self, ev: &Map<String, Value>) -> Vec<AgentEvent> {
        let kind = ev.get("type").and_then(Value::as_str).unwrap_or_default();
        let message = ev.get("message").cloned().unwrap_or(Value::Null);
        let role = message.get("role").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "agent_start" => {
                self.streaming = true;
                self.last_error = None;
                vec![AgentEvent::AgentWorking { phase: "generating".into(), detail: None }]
            }
            "agent_end" => {
                self.streaming = false;
                let mut out = Vec::new();
                if let Some(error) = self.last_error.take() {
                    out.push(AgentEvent::AgentError { error, recoverable: true, phase: None });
                }
                out.push(AgentEvent::AgentIdle);
                out
            }
            "message_start" if role == "assistant" => {
                self.messages += 1;
                let id = format!("msg_{}", self.messages);
                self.message_id = Some(id.clone());
                vec![AgentEvent::MessageStart { message_id: id, role: role.to_string() }]
            }
            "message_end" if role == "assistant" => {
                if message.get("stopReason").and_then(Value::as_str) == Some("error") {
                    let error =
                        message.get("errorMessage").and_then(Value::as_str).unwrap_or("the model failed");
                    self.last_error = Some(error.to_string());
                }
                vec![AgentEvent::MessageEnd { message }]
            }
            "message_update" => self.message_update(ev.get("assistantMessageEvent").unwrap_or(&Value::Null)),
            "tool_execution_start" => {
                let id = text(ev, "toolCallId");
                let name = text(ev, "toolName");
                self.tool_started.insert(id.clone(), Instant::now());
                vec![
                    AgentEvent::AgentWorking { phase: "tool_running".into(), detail: Some(name.clone()) },
                    AgentEvent::ToolStart { tool_call_id: id, name, input: ev.get("args").cloned() },
                ]
            }
            "tool_execution_update" => vec![AgentEvent::ToolProgress {
                tool_call_id: text(ev, "toolCallId"),
                name: text(ev, "toolName"),
                partial_output: ev.get("partialResult").cloned().unwrap_or(Value::Null),
            }],
            "tool_execution_end" => {
                let id = text(ev, "toolCallId");
                let duration_ms = self.tool_started.remove(&id).map(|t| t.elapsed().as_millis() as u64);
                vec![AgentEvent::ToolEnd {
                    tool_call_id: id,
                    name: text(ev, "toolName"),
                    output: ev.get("result").cloned().unwrap_or(Value::Null),
                    is_error: ev.get("isError").and_then(Value::as_bool).unwrap_or(false),
                    duration_ms,
                }]
            }
            "auto_retry_start" => vec![AgentEvent::RetryStart { details: Value::Object(ev.clone()) }],
            "auto_retry_end" => vec![AgentEvent::RetryEnd { details: Value::Object(ev.clone()) }],
            "auto_compaction_start" => {
                vec![AgentEvent::CompactStart {
                    reason: ev.get("reason").and_then(Value::as_str).unwrap_or("auto").into(),
                }]
            }
            "auto_compaction_end" => vec![AgentEvent::CompactEnd { details: Value::Object(ev.clone()) }],
            "extension_ui_request" => vec![AgentEvent::InputNeeded { request: Value::Object(ev.clone()) }],
            "extension_error" => {
                vec![AgentEvent::Notify { level: "error".into(), message: text(ev, "error") }]
            }
            _ => Vec::new(),
        }
    }

    fn message_update(&mut self, update: &Value) -> Vec<AgentEvent> {
        let message_id = self.current_message();
        let content_index = index(update);
        let delta = || update.get("delta").and_then(Value::as_str).unwrap_or_default().to_string();
        match update.get("type").and_then(Value::as_str).unwrap_or_default() {
            "text_delta" => vec![AgentEvent::TextDelta { message_id, delta: delta(), content_index }],
            "thinking_delta" => vec![AgentEvent::ThinkingDelta { message_id, delta: delta(), content_index }],
            "toolcall_start" => {
                let call = update.pointer("/partial/content").and_then(|c| c.get(content_index as usize));
                vec![AgentEvent::ToolCallStart {
                    message_id,
                    content_index,
                    tool_call_id: call.and_then(|c| c.get("id")).and_then(Value::as_str).map(str::to_string),
                    name: call.and_then(|c| c.get("name")).and_then(Value::as_str).map(str::to_string),
                }]
            }
            "toolcall_delta" => vec![AgentEvent::ToolCallDelta { message_id, content_index, delta: delta() }],
            "toolcall_end" => {
                vec![AgentEvent::ToolCallEnd {
                    message_id,
                    content_index,
                    tool_call: update.get("toolCall").cloned(),
                }]
            }
            "done" => vec![AgentEvent::StreamDone {
                reason: update.get("reason").and_then(Value::as_str).unwrap_or("stop").to_string(),
            }],
            "error" => vec![AgentEvent::StreamDone {
                reason: update.get("reason").and_then(Value::as_str).unwrap_or("error").to_string(),
            }],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(t: &mut Translator, v: Value) -> Vec<String> {
        t.translate(v.as_object().unwrap()).iter().map(AgentEvent::name).collect()
    }

    #[test]
    fn a_turn_with_a_tool_call() {
        let mut t = Translator::default();
        assert_eq!(run(&mut t, json!({"type":"agent_start"})), vec!["agent.working"]);
        assert!(t.streaming);
        assert!(run(&mut t, json!({"type":"message_start","message":{"role":"user"}})).is_empty());
        assert_eq!(
            run(&mut t, json!({"type":"message_start","message":{"role":"assistant"}})),
            vec!["stream.message_start"]
        );
        let delta = t.translate(json!({"type":"message_update","assistantMessageEvent":{"type":"text_delta","delta":"hi","contentIndex":0}}).as_object().unwrap());
        assert!(
            matches!(&delta[0], AgentEvent::TextDelta { message_id, delta, .. } if message_id == "msg_1" && delta == "hi")
        );
        assert_eq!(
            run(
                &mut t,
                json!({"type":"tool_execution_start","toolCallId":"c1","toolName":"bash","args":{"command":"ls"}})
            ),
            vec!["agent.working", "tool.start"]
        );
        let end = t.translate(json!({"type":"tool_execution_end","toolCallId":"c1","toolName":"bash","result":{"content":[]},"isError":false}).as_object().unwrap());
        assert!(matches!(&end[0], AgentEvent::ToolEnd { duration_ms: Some(_), is_error: false, .. }));
        assert_eq!(
            run(
                &mut t,
                json!({"type":"message_end","message":{"role":"assistant","stopReason":"error","errorMessage":"boom"}})
            ),
            vec!["stream.message_end"]
        );
        assert_eq!(run(&mut t, json!({"type":"agent_end"})), vec!["agent.error", "agent.idle"]);
        assert!(!t.streaming);
        assert!(run(&mut t, json!({"type":"something_new"})).is_empty());
    }
}
