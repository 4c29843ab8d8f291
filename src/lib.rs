//! A deterministic, in-memory harness for testing streaming, connection-oriented protocol code.
//!
//! piecemeal delivers bytes to your protocol cut into arbitrary pieces — down to one byte —
//! over a simulated connection with real-TCP close, abort, half-close and flow-control
//! semantics, and records everything that happened in an event log you can assert on, diff and
//! print.
//!
//! # Quickstart
//!
//! ```
//! use bytes::Bytes;
//! use piecemeal::{Chunking, Harness, Protocol, Reason, Transport};
//!
//! /// Echoes complete lines; a classic place for chunk-boundary bugs.
//! #[derive(Default)]
//! struct LineEcho { buf: Vec<u8>, lines: Vec<String> }
//!
//! impl Protocol for LineEcho {
//!     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
//!         self.buf.extend_from_slice(&data);
//!         while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
//!             let line: Vec<u8> = self.buf.drain(..i + 2).collect();
//!             tx.write(&line);
//!             self.lines.push(String::from_utf8_lossy(&line[..i]).into_owned());
//!         }
//!     }
//! }
//!
//! let mut h = Harness::new(LineEcho::default());
//! h.connect();
//! h.deliver(b"hello\r\nwor", Chunking::every_byte());
//! h.deliver(b"ld\r\n", Chunking::whole());
//! assert_eq!(h.written(), b"hello\r\nworld\r\n");
//! h.peer_close();
//! assert_eq!(h.protocol().lines, ["hello", "world"]);
//! assert_eq!(h.lost(), Some(&Reason::Done));
//! ```
//!
//! # Map of the code
//!
//! - [`Harness`] (**start here**): one protocol under test; the test plays the peer.
//! - [`Pair`]: two protocols on one connection, a [`Chunking`] and a latency per direction.
//! - [`Reactor`]: many connections; listeners with factories, connect, refuse, time out.
//! - [`Schedule`]: which ready action runs next when several are; explore interleavings.
//! - [`Protocol`] and [`Transport`]: the callbacks the harness makes, and what a protocol may do
//!   from them (write, close, abort, half-close, pause reading, produce, timers).
//! - [`chunking`]: how a direction's byte stream is cut into pieces; plans print as literals
//!   that parse back, and enumerate exhaustively for short inputs.
//! - [`event`]: the event log, its transcript, and the normalised views used to compare runs.
//! - [`clock`]: virtual time and timer ids.
//! - [`protocols`]: ready-made peers and probes (accumulating, closing-later, aborting family,
//!   producers, echo, scripted peers).
//! - [`check`]: oracles — the chunking-invariance oracle, fault sweeps, the lifecycle-contract
//!   driver the fuzz targets use.
//! - `strategy` (feature `proptest`): proptest strategies for payloads with chunkings that
//!   shrink to the smallest failing case, for schedules and for contract scenarios.
//! - [`adapters`]: the same plans and oracle for code that is not a [`Protocol`]: `Read`/
//!   `BufRead` parsers and `Write` sinks ([`adapters::io`]), tokio-util codecs (feature
//!   `codec`), async streams (features `tokio`, `futures`).
//! - [`Config`]: step limit, high-water mark, panic policy, strict mode, recording, schedule.
//!
//! # Semantics
//!
//! Where Twisted's in-memory fakes and real TCP disagree, piecemeal follows real TCP: a
//! protocol that called `lose_connection` receives nothing more, but its later writes are still
//! sent before the EOF; `abort_connection` discards unsent bytes and resets the peer
//! ([`Reason::Lost`]); a peer's EOF ends a protocol that is not half-closeable and drops its
//! unsent writes; a paused reader pushes back on the writer's buffer. `docs/semantics.md` has
//! the full table and the 25 reference scenarios.
//!
//! # Determinism
//!
//! There is no wall clock and no unseeded randomness. Time moves only when the test advances
//! it. When several things are ready at once, they happen in the order in which they became
//! ready; the peer of an end that closes hears of the close before the closer's own
//! `connection_lost`. The same inputs give the same event log, byte for byte.
//!
//! # Feature flags
//!
//! - `proptest` (default): [`strategy`], proptest strategies that generate payloads with
//!   chunkings (shrinking to the smallest failing case), schedules and contract scenarios.
//! - `arbitrary` (opt-in): `Arbitrary` for [`Chunking`] and the contract scenarios, so a
//!   cargo-fuzz target decodes them from raw bytes; a crash prints the same literals.
//! - `codec` (opt-in): `adapters::codec`, the oracle for tokio-util `Decoder`s and `Encoder`s,
//!   driven the way `FramedRead` drives them.
//! - `tokio`, `futures` (opt-in): `adapters::tokio`, `adapters::futures`, a connection end as
//!   an `AsyncRead`/`AsyncWrite` stream.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

pub mod adapters;
pub mod check;
pub mod chunking;
pub mod clock;
mod config;
mod engine;
pub mod event;
mod harness;
mod pair;
mod protocol;
pub mod protocols;
mod reactor;
mod rng;
pub mod schedule;
#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
pub mod strategy;
mod transport;

pub use crate::chunking::Chunking;
pub use crate::config::{Config, PanicPolicy};
pub use crate::event::{ConnId, End, Event, EventLog, Misuse, Reason};
pub use crate::harness::Harness;
pub use crate::pair::Pair;
pub use crate::protocol::Protocol;
pub use crate::reactor::{ConnectOptions, EndStatus, Reactor};
pub use crate::schedule::Schedule;
pub use crate::transport::{ProducerKind, Transport};

/// The Rust examples of the README and of `docs/`, run as doctests.
#[cfg(doctest)]
mod doc_pages {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/guide.md")]
    struct Guide;
    #[doc = include_str!("../docs/chunking.md")]
    struct ChunkingPage;
    #[doc = include_str!("../docs/determinism.md")]
    struct Determinism;
    #[doc = include_str!("../docs/semantics.md")]
    struct Semantics;
    #[doc = include_str!("../docs/protocols.md")]
    struct ProtocolsPage;
    #[doc = include_str!("../docs/reactor.md")]
    struct ReactorPage;
    #[cfg(feature = "proptest")]
    #[doc = include_str!("../docs/property-testing.md")]
    struct PropertyTesting;
    #[cfg(all(feature = "codec", feature = "tokio", feature = "futures"))]
    #[doc = include_str!("../docs/adapters.md")]
    struct Adapters;
}
