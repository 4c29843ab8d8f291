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

use crate::event::TRANSCRIPT_TAIL;

/// The transcript of an adapter oracle's failing run: its last [`TRANSCRIPT_TAIL`] calls, one
/// indented line each, after a line counting the ones left out.
fn transcript_tail<T: std::fmt::Display>(calls: &[T]) -> String {
    use std::fmt::Write as _;
    let skip = calls.len().saturating_sub(TRANSCRIPT_TAIL);
    let mut out = String::new();
    if skip > 0 {
        let _ = writeln!(out, "  … {skip} earlier calls");
    }
    for call in &calls[skip..] {
        let _ = writeln!(out, "  {call}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_tail_shows_the_last_calls_after_a_count_of_the_rest() {
        assert_eq!(transcript_tail(&["a", "b"]), "  a\n  b\n");
        let calls: Vec<usize> = (0..TRANSCRIPT_TAIL + 3).collect();
        let shown = transcript_tail(&calls);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), TRANSCRIPT_TAIL + 1);
        assert_eq!(lines[0], "  … 3 earlier calls");
        assert_eq!(lines[1], "  3");
        assert_eq!(lines[TRANSCRIPT_TAIL], format!("  {}", TRANSCRIPT_TAIL + 2));
    }
}
