//! A response body fed through a channel by a task: streams that last (the
//! metrics events) and streams relayed from elsewhere (the sldr proxy).
//! Dropshot's body must be `Sync`; a channel's receiver is, whatever feeds
//! it. When the client goes the body is dropped, and the feeding task
//! sees its sends fail.

use bytes::Bytes;
use tokio::sync::mpsc;

/// The receiving end, as a response body.
pub struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

/// A body and the sender that feeds it (`capacity` chunks in flight).
pub fn channel(capacity: usize) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, dropshot::Body) {
    let (tx, rx) = mpsc::channel(capacity);
    (tx, dropshot::Body::wrap(ChannelBody(rx)))
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|result| result.map(http_body::Frame::data)))
    }
}
