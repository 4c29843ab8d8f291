//! Adapters: chunked delivery for the APIs Rust protocol code actually uses.
//!
//! Most protocol code is not written against [`Protocol`](crate::Protocol): it is a parser
//! that reads from [`std::io::Read`] or [`BufRead`](std::io::BufRead), a sink you push bytes
//! into through [`Write`](std::io::Write), a `tokio_util::codec::Decoder`, or async code over
//! `AsyncRead`/`AsyncWrite`. Each adapter feeds such code the same [`Chunking`](crate::Chunking)
//! plans as the harness does and checks it with the same oracle
//! ([`check::Invariant`](crate::check::Invariant)): it must give the same result under every
//! plan as with its input whole, and a failure is a [`Divergence`](crate::check::Divergence)
//! with the fewest cuts found and a line to paste into a regression test.
//!
//! - [`io`] (always compiled, no extra dependency): [`io::ChunkedReader`], a `Read + BufRead`
//!   source that hands out one piece per call (optionally with `Interrupted` and `WouldBlock`
//!   faults, [`io::Faults`]); [`io::ChunkedWriter`], a driver that pushes an input into any
//!   `Write` one piece per call; and their oracles [`io::read_invariant`],
//!   [`io::buf_read_invariant`], [`io::write_invariant`].
//! - `codec` (feature `codec`, tokio-util): drives any `Decoder` the way `FramedRead` does, and
//!   an `Encoder` whose output is re-cut into a `Decoder`; `decoder_invariant`,
//!   `encode_decode_invariant`.
//! - `tokio` (feature `tokio`) and `futures` (feature `futures`): a connection end as an async
//!   stream (`AsyncRead`/`AsyncWrite`) over the simulated wire.
//!
//! `docs/adapters.md` has a runnable example for each.

#[cfg(feature = "codec")]
#[cfg_attr(docsrs, doc(cfg(feature = "codec")))]
pub mod codec;
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub mod futures;
pub mod io;
#[cfg(any(feature = "tokio", feature = "futures"))]
mod stream;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
