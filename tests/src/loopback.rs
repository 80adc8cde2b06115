//! A loopback HTTP server for the counterparts of outbound requests (feed
//! servers, proxied services): answers with a handler and records what it
//! received.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// The path with its query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the handler answers.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// One chunk is sent with a `Content-Length`; several are streamed
    /// (chunked), the way a server that does not know the length sends.
    pub chunks: Vec<Bytes>,
}

impl Answer {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            chunks: vec![body.into()],
        }
    }

    pub fn redirect(to: &str) -> Answer {
        Answer { status: 302, headers: vec![("location".into(), to.into())], chunks: vec![Bytes::new()] }
    }
}

pub type Handler = Arc<dyn Fn(&Received) -> Answer + Send + Sync>;

/// A running loopback server.
pub struct Loopback {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Loopback {
    pub async fn start(handler: impl Fn(&Received) -> Answer + Send + Sync + 'static) -> Loopback {
        let handler: Handler = Arc::new(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let handler = Arc::clone(&handler);
                        let log = Arc::clone(&log);
                        async move {
                            let (parts, body) = req.into_parts();
                            let body =
                                body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                            let received = Received {
                                method: parts.method.to_string(),
                                target: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into())
                                    })
                                    .collect(),
                                body,
                            };
                            let answer = handler(&received);
                            log.lock().unwrap().push(received);
                            Ok::<_, Infallible>(response(answer))
                        }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Loopback { url: format!("http://127.0.0.1:{port}"), port, received }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn response(answer: Answer) -> hyper::Response<BoxBody<Bytes, Infallible>> {
    let body = if answer.chunks.len() == 1 {
        Full::new(answer.chunks.into_iter().next().unwrap_or_default()).boxed()
    } else {
        let frames = futures::stream::iter(answer.chunks).map(|c| Ok::<_, Infallible>(Frame::data(c)));
        BodyExt::boxed(StreamBody::new(frames))
    };
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::from_u16(answer.status).unwrap_or(hyper::StatusCode::OK);
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) =
            (hyper::header::HeaderName::try_from(name), hyper::header::HeaderValue::try_from(value))
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
