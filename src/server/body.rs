//! The bytes of one HTTP answer, as hyper sends them.
//!
//! An AsymmetricDecrypt answer carries the plaintext (base64), so its body is built in a
//! `Zeroizing` buffer and handed to hyper as `Bytes` that *own* that buffer
//! (`Bytes::from_owner`): no copy is made on the way, and the buffer is wiped when hyper
//! drops the last reference, which for a plain TCP connection is once it has been written
//! to the socket (hyper queues the body beside the headers for a vectored write rather
//! than copying it into its own buffer). Every answer goes the same way; the cost is nil.
//!
//! The same owner carries the request's [`InProgress`] guard, so the connection counts as
//! busy, and is never closed to make room, until its answer has left.

use super::connections::InProgress;
use http_body_util::Full;
use hyper::body::Bytes;
use zeroize::Zeroizing;

/// An answer's bytes and what must live exactly as long as they do.
struct Answer {
    bytes: Zeroizing<Vec<u8>>,
    _in_progress: Option<InProgress>,
}

impl AsRef<[u8]> for Answer {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The body hyper sends for `bytes`: wiped on drop; `in_progress` ends with it.
pub fn answer(bytes: Zeroizing<Vec<u8>>, in_progress: Option<InProgress>) -> Full<Bytes> {
    Full::new(Bytes::from_owner(Answer { bytes, _in_progress: in_progress }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::connections::{Admission, Connections};
    use http_body_util::BodyExt;
    use std::time::Duration;

    /// If the body were copied out of its buffer (e.g. `Bytes::from(vec)`), the guard and
    /// the zeroizing buffer would be dropped before hyper was done with the copy.
    #[tokio::test]
    async fn the_body_owns_its_buffer_until_the_last_reference_goes() {
        let connections = Connections::new(1);
        let Admission::Room(held) = connections.admit(Duration::ZERO).await else { panic!("room") };
        let mut body = answer(Zeroizing::new(b"secret".to_vec()), Some(held.slot().begin()));
        assert!(held.slot().in_progress());
        // Taken from the body the way hyper takes it.
        let bytes = body.frame().await.unwrap().unwrap().into_data().unwrap();
        drop(body);
        assert_eq!(&bytes[..], b"secret");
        let part = bytes.slice(1..);
        drop(bytes);
        assert!(held.slot().in_progress(), "a slice still refers to the buffer");
        drop(part);
        assert!(!held.slot().in_progress(), "the buffer (and its guard) went with the last reference");
    }
}
