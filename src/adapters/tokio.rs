//! tokio: a connection end as a `tokio::io::AsyncRead + AsyncWrite + AsyncBufRead` stream.
//!
//! [`SimStream`] is one end of a simulated connection (the engine behind
//! [`Harness`](crate::Harness) and [`Pair`](crate::Pair)); [`SimPeer`] is its other end, played
//! by the test or by any [`Protocol`](crate::Protocol). Async code reads the peer's bytes cut
//! by a [`Chunking`] one piece per read, sees the EOF (a read returns 0), a reset
//! (`ConnectionReset`), `BrokenPipe` on a write after a reset or after its own `shutdown`, and
//! `Pending` on a write while its unread bytes are over [`Config::high_water`](crate::Config::high_water).
//! Nothing here needs a tokio runtime: the stream stores wakers and works on any executor.
//!
//! [`read_invariant`] is the oracle in one line: the reader's output must not depend on the
//! chunking or on the [`Delivery`] policy.
//!
//! # Examples
//!
//! ```
//! use piecemeal::adapters::tokio::SimStream;
//! use piecemeal::Chunking;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
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

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use super::stream;
pub use super::stream::{Delivery, SimPeer, SimStream, StreamBuilder};
use crate::check::Divergence;
use crate::chunking::Chunking;

const PATH: &str = "piecemeal::adapters::tokio";

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_read_into(cx, buf.initialize_unfilled()) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncBufRead for SimStream {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        match this.poll_fill(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(this.current())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
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
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_write()
    }
}

/// Checks that an async reader gives the same output (and writes back the same bytes)
/// whatever the chunking of its input and whichever the [`Delivery`] policy; panics with the
/// report of the [`Divergence`] otherwise.
///
/// `reader` gets a fresh [`SimStream`] whose peer has delivered `input` cut by one plan and
/// then closed, and returns a future (run to completion on a minimal single-threaded
/// executor, so it needs no runtime). Its output is compared with that of the input whole
/// under [`Delivery::Eager`]: first under every plan the search tries with eager delivery,
/// then with [`Delivery::Starved`] (one piece, then every plan). A future that returns
/// `Pending` with nothing left to wake it counts as *stalled*, an output like any other.
/// The search is that of [`check::Invariant`](crate::check::Invariant): every plan for
/// inputs up to 16 bytes, fewest cuts first.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::tokio as adapter;
/// use tokio::io::AsyncReadExt;
/// use adapter::SimStream;
///
/// /// Reads everything (correct: loops until a read returns 0).
/// async fn read_all(mut stream: SimStream) -> Vec<u8> {
///     let mut out = Vec::new();
///     stream.read_to_end(&mut out).await.unwrap();
///     out
/// }
///
/// adapter::read_invariant(b"hello, world", read_all);
/// ```
///
/// # Panics
///
/// If some plan or policy changes the output, with the full report.
#[track_caller]
pub fn read_invariant<F, Fut>(input: impl AsRef<[u8]>, reader: F)
where
    F: Fn(SimStream) -> Fut,
    Fut: Future,
    Fut::Output: PartialEq + Debug,
{
    if let Err(divergence) = check_read(input, reader) {
        panic!("{divergence}");
    }
}

/// [`read_invariant`] that returns the [`Divergence`] instead of panicking.
///
/// # Errors
///
/// The [`Divergence`] with the fewest cuts found (its subject names the delivery policy);
/// its `Display` is the full report.
pub fn check_read<F, Fut>(input: impl AsRef<[u8]>, reader: F) -> Result<(), Divergence>
where
    F: Fn(SimStream) -> Fut,
    Fut: Future,
    Fut::Output: PartialEq + Debug,
{
    stream::check_read(PATH, input.as_ref(), reader)
}

/// Compares one plan under one delivery policy with the input whole under eager delivery:
/// the form to call from inside `proptest!` (with `?`, see [`delivery`]) or in a regression
/// test.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::tokio as adapter;
/// use tokio::io::AsyncReadExt;
/// use adapter::{Delivery, SimStream};
/// use piecemeal::{strategy, Chunking};
/// use proptest::prelude::*;
///
/// async fn read_all(mut stream: SimStream) -> Vec<u8> {
///     let mut out = Vec::new();
///     stream.read_to_end(&mut out).await.unwrap();
///     out
/// }
///
/// adapter::check_read_plan(b"abc", Chunking::every_byte(), Delivery::Starved, read_all).unwrap();
///
/// proptest!(|((input, plan) in strategy::chunked("[a-z]{0,12}"), delivery in adapter::delivery())| {
///     adapter::check_read_plan(&input, plan, delivery, read_all)?;
/// });
/// ```
///
/// # Errors
///
/// A [`Divergence`] if the output differs; it converts into a proptest `TestCaseError` with
/// `?`.
pub fn check_read_plan<F, Fut>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    delivery: Delivery,
    reader: F,
) -> Result<(), Divergence>
where
    F: Fn(SimStream) -> Fut,
    Fut: Future,
    Fut::Output: PartialEq + Debug,
{
    stream::check_read_plan(PATH, input.as_ref(), chunking, delivery, reader)
}

/// [`check_read_plan`] that panics with the report: the regression test a failure report
/// tells you to paste.
///
/// # Panics
///
/// If the output under `chunking` and `delivery` differs from the input whole.
#[track_caller]
pub fn assert_read_plan<F, Fut>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    delivery: Delivery,
    reader: F,
) where
    F: Fn(SimStream) -> Fut,
    Fut: Future,
    Fut::Output: PartialEq + Debug,
{
    if let Err(divergence) = check_read_plan(input, chunking, delivery, reader) {
        panic!("{divergence}");
    }
}

/// Both [`Delivery`] policies, for `proptest!` (feature `proptest`).
#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
pub fn delivery() -> impl proptest::strategy::Strategy<Value = Delivery> + Clone {
    stream::delivery_strategy()
}
