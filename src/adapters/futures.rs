//! futures: a connection end as a `futures_io::AsyncRead + AsyncWrite + AsyncBufRead` stream.
//!
//! [`SimStream`] is one end of a simulated connection (the engine behind
//! [`Harness`](crate::Harness) and [`Pair`](crate::Pair)); [`SimPeer`] is its other end, played
//! by the test or by any [`Protocol`](crate::Protocol). Async code reads the peer's bytes cut
//! by a [`Chunking`](crate::Chunking) one piece per read, sees the EOF (a read returns 0), a reset
//! (`ConnectionReset`), `BrokenPipe` on a write after a reset or after its own `shutdown`, and
//! `Pending` on a write while its unread bytes are over [`Config::high_water`](crate::Config::high_water).
//! The stream stores wakers and works on any executor (`futures_executor::block_on` in the
//! examples). The stream type is the one of `adapters::tokio` when both features are on.
//!
//! [`read_invariant`] is the oracle in one line: the reader's output must not depend on the
//! chunking or on the [`Delivery`] policy.
//!
//! # Examples
//!
//! ```
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//! use piecemeal::adapters::futures::SimStream;
//! use piecemeal::Chunking;
//!
//! # futures_executor::block_on(async {
//! let (mut stream, peer) = SimStream::new();
//! peer.deliver(b"hello", Chunking::fixed(2));
//! peer.half_close(); // EOF; the peer still reads
//! let mut buf = [0; 16];
//! assert_eq!(stream.read(&mut buf).await.unwrap(), 2); // one piece per read
//! let mut rest = Vec::new();
//! stream.read_to_end(&mut rest).await.unwrap();
//! assert_eq!(rest, b"llo");
//! stream.write_all(b"bye").await.unwrap();
//! assert_eq!(peer.written(), b"bye");
//! # });
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::stream;
pub use super::stream::{Delivery, SimPeer, SimStream, StreamBuilder};

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_with(cx, buf.len(), |piece| {
            buf[..piece.len()].copy_from_slice(piece)
        })
    }
}

impl AsyncBufRead for SimStream {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill_buf_from(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume(amt);
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_from(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_out(cx)
    }

    /// Closes the write half (EOF after what was written); reading goes on.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_write()
    }
}

stream::async_oracles!("futures", "futures_util::io::AsyncReadExt");
