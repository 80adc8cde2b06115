//! The client of the external hstry chat-history service (gRPC, generated
//! from `proto/hstry.proto` by tonic). When `history.hstry_url` is set, the
//! history area mirrors every newly indexed message to hstry and serves
//! listing, reading and search from it.

use oqto_api::history::{ChatHistoryEntry, ChatMessage, ChatStats, SearchHit};
use tonic::transport::{Channel, Endpoint};

use crate::db::history::{IndexRow, MessageRow};
use crate::error::{Error, Result};

/// The generated gRPC types and clients.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("hstry.service");
}

use proto::read_service_client::ReadServiceClient;
use proto::search_service_client::SearchServiceClient;
use proto::write_service_client::WriteServiceClient;

/// Conversations Oqto writes are from this source.
pub const SOURCE: &str = "pi";

/// A connection (made lazily) to hstry.
#[derive(Clone)]
pub struct Hstry {
    channel: Channel,
}

fn unavailable(e: tonic::Status) -> Error {
    Error::Unavailable(format!("the history service failed: {}", e.message()))
}

impl Hstry {
    pub fn new(url: &str) -> anyhow::Result<Hstry> {
        let channel = Endpoint::from_shared(url.to_string())?
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(30))
            .connect_lazy();
        Ok(Hstry { channel })
    }

    fn conversation(index: &IndexRow) -> proto::Conversation {
        proto::Conversation {
            source_id: SOURCE.into(),
            external_id: index.chat_id.clone(),
            title: index.title.clone(),
            created_at_ms: index.created_at,
            updated_at_ms: Some(index.updated_at),
            model: index.model.clone(),
            provider: index.provider.clone(),
            workspace: Some(index.cwd.clone()),
            tokens_in: Some(index.tokens_in),
            tokens_out: Some(index.tokens_out),
            cost_usd: Some(index.cost_usd),
            metadata_json: "{}".into(),
            harness: Some("pi".into()),
        }
    }

    fn message(m: &MessageRow) -> proto::Message {
        proto::Message {
            idx: m.idx as i32,
            role: m.role.clone(),
            content: m.content.clone(),
            parts_json: m.parts.clone(),
            created_at_ms: m.created_at,
            model: m.model.clone(),
            provider: m.provider.clone(),
            metadata_json: "{}".into(),
            sender_json: "{}".into(),
            harness: Some("pi".into()),
            ..Default::default()
        }
    }

    /// Mirrors newly indexed messages: the whole conversation when it is new
    /// (or its session file was replaced), else only the appended messages.
    pub async fn push(&self, index: &IndexRow, messages: &[MessageRow], fresh: bool) -> Result<()> {
        let mut client = WriteServiceClient::new(self.channel.clone());
        if fresh {
            let request = proto::WriteConversationRequest {
                conversation: Some(Self::conversation(index)),
                messages: messages.iter().map(Self::message).collect(),
            };
            client.write_conversation(request).await.map_err(unavailable)?;
        } else if !messages.is_empty() {
            let request = proto::AppendMessagesRequest {
                source_id: SOURCE.into(),
                external_id: index.chat_id.clone(),
                messages: messages.iter().map(Self::message).collect(),
                updated_at_ms: Some(index.updated_at),
            };
            client.append_messages(request).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// Conversations of a workspace (or all), newest first as hstry orders them.
    pub async fn list(
        &self,
        workspace: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ChatHistoryEntry>> {
        let mut client = ReadServiceClient::new(self.channel.clone());
        let request = proto::ListConversationsRequest {
            source_id: SOURCE.into(),
            workspace: workspace.unwrap_or_default().into(),
            limit,
            offset,
        };
        let response = client.list_conversations(request).await.map_err(unavailable)?.into_inner();
        Ok(response
            .conversations
            .into_iter()
            .filter_map(|s| Some(entry(s.conversation?, s.message_count)))
            .collect())
    }

    pub async fn messages(&self, chat_id: &str, limit: i64) -> Result<Vec<ChatMessage>> {
        let mut client = ReadServiceClient::new(self.channel.clone());
        let request = proto::GetMessagesRequest {
            source_id: SOURCE.into(),
            external_id: chat_id.into(),
            limit,
            ..Default::default()
        };
        let response = client.get_messages(request).await.map_err(unavailable)?.into_inner();
        Ok(response
            .messages
            .into_iter()
            .map(|m| {
                let id = crate::history::message_id(chat_id, i64::from(m.idx));
                let parts = serde_json::from_str(&m.parts_json).unwrap_or(serde_json::Value::Null);
                ChatMessage {
                    parts: crate::history::with_part_ids(&id, parts),
                    id,
                    idx: i64::from(m.idx),
                    role: m.role,
                    content: m.content,
                    created_at: m.created_at_ms,
                    model: m.model,
                    provider: m.provider,
                    client_id: None,
                }
            })
            .collect())
    }

    pub async fn search(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let mut client = SearchServiceClient::new(self.channel.clone());
        let request =
            proto::SearchRequest { query: query.into(), limit, source: SOURCE.into(), ..Default::default() };
        let response = client.search(request).await.map_err(unavailable)?.into_inner();
        Ok(response
            .hits
            .into_iter()
            .map(|h| SearchHit {
                message_id: Some(format!("{}:{}", h.external_id, h.message_idx)),
                session_id: h.external_id,
                workspace: Some(h.workspace).filter(|w| !w.is_empty()),
                snippet: Some(h.snippet),
                score: Some(f64::from(h.score)),
                timestamp: Some(h.created_at_ms),
                role: Some(h.role),
                title: Some(h.title).filter(|t| !t.is_empty()),
            })
            .collect())
    }

    pub async fn rename(&self, chat_id: &str, title: Option<&str>) -> Result<()> {
        let mut client = WriteServiceClient::new(self.channel.clone());
        let request = proto::UpdateConversationRequest {
            source_id: SOURCE.into(),
            external_id: chat_id.into(),
            title: Some(title.unwrap_or_default().to_string()),
            ..Default::default()
        };
        client.update_conversation(request).await.map_err(unavailable)?;
        Ok(())
    }
}

fn entry(c: proto::Conversation, message_count: i64) -> ChatHistoryEntry {
    let workspace = c.workspace.unwrap_or_else(|| ".".into());
    let project_name = std::path::Path::new(&workspace)
        .file_name()
        .map_or("workspace".to_string(), |n| n.to_string_lossy().into_owned());
    ChatHistoryEntry {
        id: c.external_id,
        readable_id: None,
        title: c.title.filter(|t| !t.is_empty()),
        parent_id: None,
        workspace_path: workspace,
        project_name,
        created_at: c.created_at_ms,
        updated_at: c.updated_at_ms.unwrap_or(c.created_at_ms),
        is_child: false,
        message_count,
        stats: Some(ChatStats {
            tokens_in: c.tokens_in.unwrap_or(0),
            tokens_out: c.tokens_out.unwrap_or(0),
            cache_read: 0,
            cache_write: 0,
            cost_usd: c.cost_usd.unwrap_or(0.0),
        }),
        model: c.model,
        provider: c.provider,
    }
}
