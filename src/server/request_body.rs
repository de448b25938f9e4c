//! Reading one request body, for the KMS API and for `/tsa` alike: it must arrive whole,
//! within its size limit and within the time allowed, so a client cannot hold a worker
//! with a body dripped a byte at a time or grown without end. Each way it can fail has its
//! own HTTP status: a body over the limit is 413 Content Too Large, one still arriving
//! when the time is up is 408 Request Timeout (RFC 9110 §15.5.9: the client may send it
//! again, faster), and one the connection cut off is 400.

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body, Bytes};
use std::time::Duration;

/// Why a request body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRefused {
    /// It is larger than the limit, in bytes.
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// It had not all arrived when the time allowed ran out.
    TimedOut {
        /// The time allowed.
        after: Duration,
    },
    /// The connection failed or ended before the body did.
    CutOff,
}

impl BodyRefused {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            BodyRefused::TooLarge { .. } => 413,
            BodyRefused::TimedOut { .. } => 408,
            BodyRefused::CutOff => 400,
        }
    }

    /// What happened and what to do, for the client.
    pub fn message(self, what: &str) -> String {
        match self {
            BodyRefused::TooLarge { max } => format!("{what} is over {max} bytes; send a smaller one"),
            BodyRefused::TimedOut { after } => {
                format!("{what} did not arrive whole within {} s; send it again, at once", after.as_secs_f64())
            }
            BodyRefused::CutOff => format!("{what} was cut off before its end; send it again"),
        }
    }
}

/// The whole of `body`, at most `max` bytes, arrived within `timeout`.
pub async fn read<B>(body: B, max: usize, timeout: Duration) -> Result<Bytes, BodyRefused>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(timeout, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.is::<LengthLimitError>() => Err(BodyRefused::TooLarge { max }),
        Ok(Err(_)) => Err(BodyRefused::CutOff),
        Err(_) => Err(BodyRefused::TimedOut { after: timeout }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use hyper::body::Frame;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body that sends one byte and then nothing more, never ending: a client dripping
    /// it slower than the time allowed.
    struct Dripping {
        sent: bool,
    }

    impl Body for Dripping {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.sent {
                return Poll::Pending;
            }
            self.sent = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{")))))
        }
    }

    /// Regression (issue 27, finding 13): a body still arriving when the time is up is a
    /// 408, not a 413 as if it were too large.
    #[tokio::test]
    async fn a_slow_body_is_a_timeout_and_a_large_one_too_large() {
        let timeout = Duration::from_millis(50);
        let slow = read(Dripping { sent: false }, 1024, timeout).await.unwrap_err();
        assert_eq!(slow, BodyRefused::TimedOut { after: timeout });
        assert_eq!(slow.status(), 408);
        let large = read(Full::new(Bytes::from(vec![b'x'; 1025])), 1024, timeout).await.unwrap_err();
        assert_eq!(large, BodyRefused::TooLarge { max: 1024 });
        assert_eq!(large.status(), 413);
        let whole = read(Full::new(Bytes::from_static(b"{}")), 1024, timeout).await.unwrap();
        assert_eq!(&whole[..], b"{}");
    }
}
