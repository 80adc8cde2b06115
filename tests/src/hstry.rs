//! A loopback hstry service for tests: the same `.proto`, served by tonic,
//! storing conversations in memory and counting the calls it answers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tonic::{Request, Response, Status};

/// The generated gRPC types and servers.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("hstry.service");
}

use proto::read_service_server::{ReadService, ReadServiceServer};
use proto::search_service_server::{SearchService, SearchServiceServer};
use proto::write_service_server::{WriteService, WriteServiceServer};
use proto::*;

/// What the loopback hstry holds and how often it was asked.
#[derive(Default)]
pub struct Store {
    pub conversations: Mutex<BTreeMap<String, (Conversation, Vec<Message>)>>,
    pub writes: AtomicUsize,
    pub reads: AtomicUsize,
    pub searches: AtomicUsize,
}

#[derive(Clone)]
struct Service(Arc<Store>);

impl Service {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Conversation, Vec<Message>)>> {
        self.0.conversations.lock().unwrap()
    }
}

#[tonic::async_trait]
impl WriteService for Service {
    async fn write_conversation(
        &self,
        r: Request<WriteConversationRequest>,
    ) -> Result<Response<WriteConversationResponse>, Status> {
        self.0.writes.fetch_add(1, Ordering::SeqCst);
        let r = r.into_inner();
        let conversation = r.conversation.ok_or_else(|| Status::invalid_argument("conversation missing"))?;
        let id = conversation.external_id.clone();
        let written = r.messages.len() as i32;
        self.map().insert(id.clone(), (conversation, r.messages));
        Ok(Response::new(WriteConversationResponse { conversation_id: id, messages_written: written }))
    }

    async fn append_messages(
        &self,
        r: Request<AppendMessagesRequest>,
    ) -> Result<Response<AppendMessagesResponse>, Status> {
        self.0.writes.fetch_add(1, Ordering::SeqCst);
        let r = r.into_inner();
        let mut map = self.map();
        let (conversation, messages) =
            map.get_mut(&r.external_id).ok_or_else(|| Status::not_found("no conversation"))?;
        conversation.updated_at_ms = r.updated_at_ms.or(conversation.updated_at_ms);
        let written = r.messages.len() as i32;
        messages.extend(r.messages);
        Ok(Response::new(AppendMessagesResponse {
            conversation_id: r.external_id,
            messages_written: written,
        }))
    }

    async fn update_conversation(
        &self,
        r: Request<UpdateConversationRequest>,
    ) -> Result<Response<UpdateConversationResponse>, Status> {
        self.0.writes.fetch_add(1, Ordering::SeqCst);
        let r = r.into_inner();
        let mut map = self.map();
        let (conversation, _) =
            map.get_mut(&r.external_id).ok_or_else(|| Status::not_found("no conversation"))?;
        if let Some(title) = r.title {
            conversation.title = Some(title).filter(|t| !t.is_empty());
        }
        Ok(Response::new(UpdateConversationResponse { conversation_id: r.external_id }))
    }

    async fn delete_conversation(
        &self,
        r: Request<DeleteConversationRequest>,
    ) -> Result<Response<DeleteConversationResponse>, Status> {
        let r = r.into_inner();
        self.map().remove(&r.external_id);
        Ok(Response::new(DeleteConversationResponse { conversation_id: r.external_id }))
    }

    async fn upload_attachment(
        &self,
        _: Request<UploadAttachmentRequest>,
    ) -> Result<Response<UploadAttachmentResponse>, Status> {
        Err(Status::unimplemented("attachments are not kept by the loopback hstry"))
    }
}

#[tonic::async_trait]
impl ReadService for Service {
    async fn get_conversation(
        &self,
        r: Request<GetConversationRequest>,
    ) -> Result<Response<GetConversationResponse>, Status> {
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        let conversation = self.map().get(&r.into_inner().external_id).map(|(c, _)| c.clone());
        Ok(Response::new(GetConversationResponse { conversation }))
    }

    async fn get_messages(
        &self,
        r: Request<GetMessagesRequest>,
    ) -> Result<Response<GetMessagesResponse>, Status> {
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        let r = r.into_inner();
        let messages = self.map().get(&r.external_id).map(|(_, m)| m.clone()).unwrap_or_default();
        let limit = if r.limit > 0 { r.limit as usize } else { usize::MAX };
        Ok(Response::new(GetMessagesResponse {
            conversation_id: r.external_id,
            messages: messages.into_iter().take(limit).collect(),
        }))
    }

    async fn get_message_events(
        &self,
        r: Request<GetMessageEventsRequest>,
    ) -> Result<Response<GetMessageEventsResponse>, Status> {
        Ok(Response::new(GetMessageEventsResponse {
            conversation_id: r.into_inner().external_id,
            events: Vec::new(),
        }))
    }

    async fn list_conversations(
        &self,
        r: Request<ListConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        self.0.reads.fetch_add(1, Ordering::SeqCst);
        let r = r.into_inner();
        let mut conversations: Vec<ConversationSummary> = self
            .map()
            .values()
            .filter(|(c, _)| r.workspace.is_empty() || c.workspace.as_deref() == Some(r.workspace.as_str()))
            .map(|(c, m)| ConversationSummary {
                conversation: Some(c.clone()),
                message_count: m.len() as i64,
                first_user_message: m
                    .iter()
                    .find(|m| m.role == "user")
                    .map(|m| m.content.clone())
                    .unwrap_or_default(),
            })
            .collect();
        conversations
            .sort_by_key(|s| std::cmp::Reverse(s.conversation.as_ref().and_then(|c| c.updated_at_ms)));
        let conversations =
            conversations.into_iter().skip(r.offset.max(0) as usize).take(r.limit.max(1) as usize).collect();
        Ok(Response::new(ListConversationsResponse { conversations }))
    }
}

#[tonic::async_trait]
impl SearchService for Service {
    async fn search(&self, r: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        self.0.searches.fetch_add(1, Ordering::SeqCst);
        let r = r.into_inner();
        let words: Vec<String> = r.query.split_whitespace().map(str::to_lowercase).collect();
        let mut hits = Vec::new();
        for (c, messages) in self.map().values() {
            for m in messages {
                let text = m.content.to_lowercase();
                if words.iter().all(|w| text.contains(w)) {
                    hits.push(SearchHit {
                        message_id: format!("{}:{}", c.external_id, m.idx),
                        conversation_id: c.external_id.clone(),
                        message_idx: m.idx,
                        role: m.role.clone(),
                        content: m.content.clone(),
                        snippet: m.content.clone(),
                        created_at_ms: m.created_at_ms.unwrap_or(0),
                        score: 1.0,
                        source_id: c.source_id.clone(),
                        external_id: c.external_id.clone(),
                        title: c.title.clone().unwrap_or_default(),
                        workspace: c.workspace.clone().unwrap_or_default(),
                        ..Default::default()
                    });
                }
            }
        }
        hits.truncate(r.limit.max(1) as usize);
        Ok(Response::new(SearchResponse { hits }))
    }
}

/// Starts a loopback hstry; returns its URL and its store.
pub async fn start() -> (String, Arc<Store>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the loopback hstry");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let store = Arc::new(Store::default());
    let service = Service(Arc::clone(&store));
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(WriteServiceServer::new(service.clone()))
            .add_service(ReadServiceServer::new(service.clone()))
            .add_service(SearchServiceServer::new(service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });
    (url, store)
}
