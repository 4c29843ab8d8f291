//! Ready-made protocols: the peers and probes a protocol test needs, so nobody writes an
//! accumulating protocol or an aborting client again.
//!
//! Batteries included; drop to [`Protocol`](crate::Protocol) when you outgrow them. Each is
//! built only on the public API, and each can play either end of a connection.
//!
//! | protocol | what it does | use it for |
//! |---|---|---|
//! | [`Accumulating`] | collects every piece, records made / closed / reason | the passive peer of most tests |
//! | [`Echo`] | writes back every piece | a live peer for a client under test |
//! | [`Discard`] | reads and counts | a sink for a writer under test |
//! | [`HalfCloseEcho`] | echoes; on EOF finishes and closes | half-close exchanges |
//! | [`ClosingLater`] | closes after its first piece (optionally replying) | "one exchange, then disconnect" |
//! | [`LineSender`] | sends `\r\n` lines, records the lines it gets | line protocols |
//! | [`Scripted`] | plays a [`Script`]: expect, send, wait, close | exact conversations, with diffs |
//! | [`AbortingClient`] | writes, aborts, writes again (or aborts twice, or then closes) | abort semantics |
//! | [`AbortingServer`] | aborts on data, twice or then closes | abort semantics |
//! | [`ReadAbortServer`] | writes `ready`, flags any byte but `X` | the peer of an aborting client |
//! | [`ProducerAborting`] | pull producer that aborts from `resume_producing` | aborts with a producer registered |
//! | [`StreamingProducer`] | push producer that writes until paused, then aborts | aborts with full buffers |
//! | [`NoReadServer`] | stops reading at once | a dead peer |
//! | [`EventualNoReadServer`] | stops reading after one exchange | a peer that dies later |
//!
//! The aborting family re-enacts Twisted's `AbortConnectionMixin` protocols, with their checks:
//! what the originals raise for (a re-entrant `connection_lost`, `connection_lost` without
//! `stop_producing` first, data written after an abort arriving) is recorded in their
//! `problems()`, or panics with `strict()`. The crate's `docs/protocols.md` is the catalogue,
//! with an example for each.

mod aborting_client;
mod aborting_server;
mod accumulating;
mod closing_later;
mod common;
mod discard;
mod echo;
mod eventual_no_read_server;
mod half_close_echo;
mod line_sender;
mod no_read_server;
mod producer_aborting;
mod read_abort_server;
mod scripted;
mod streaming_producer;

pub(crate) use self::common::ByteLit;

pub use self::aborting_client::{AbortingClient, AfterAbort};
pub use self::aborting_server::AbortingServer;
pub use self::accumulating::{Accumulating, AccumulatingHandle};
pub use self::closing_later::ClosingLater;
pub use self::discard::Discard;
pub use self::echo::Echo;
pub use self::eventual_no_read_server::EventualNoReadServer;
pub use self::half_close_echo::HalfCloseEcho;
pub use self::line_sender::LineSender;
pub use self::no_read_server::NoReadServer;
pub use self::producer_aborting::ProducerAborting;
pub use self::read_abort_server::ReadAbortServer;
pub use self::scripted::{Script, Scripted, Step};
pub use self::streaming_producer::StreamingProducer;
