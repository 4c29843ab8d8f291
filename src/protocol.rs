//! The [`Protocol`] trait: the callbacks the harness makes on the code under test.

use std::borrow::Cow;

use bytes::Bytes;

use crate::clock::TimerId;
use crate::event::Reason;
use crate::transport::Transport;

/// A streaming, connection-oriented protocol: what the harness calls.
///
/// This is Twisted's `IProtocol` (with `IHalfCloseableProtocol` and the producer interfaces
/// folded in), in sans-IO form: each callback gets a [`Transport`] through which the protocol
/// writes, closes, pauses reading and schedules timers. Everything asked of the transport takes
/// effect after the callback returns, and no callback of a connection is ever called while
/// another is on the stack.
///
/// The harness guarantees the lifecycle contract:
/// 1. [`connection_made`](Self::connection_made) is called once, before anything else.
/// 2. [`data_received`](Self::data_received) delivers the peer's bytes in order, without loss
///    or duplication, cut as the direction's [`Chunking`](crate::Chunking) says, each piece
///    non-empty.
/// 3. No callback runs while another callback of the same connection is on the stack.
/// 4. [`connection_lost`](Self::connection_lost) is called exactly once, last.
/// 5. No `data_received` after the protocol called `lose_connection`, `abort_connection` or
///    `fail`, nor while it has paused reading.
/// 6. Writes after `lose_write_connection` are dropped and recorded as misuse.
///
/// Only `data_received` is required.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{Chunking, Harness, Protocol, Transport};
///
/// /// Answers every line with its length.
/// #[derive(Default)]
/// struct LineLength { partial: Vec<u8> }
///
/// impl Protocol for LineLength {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         for &b in &data {
///             if b == b'\n' {
///                 tx.write(format!("{}\n", self.partial.len()));
///                 self.partial.clear();
///             } else {
///                 self.partial.push(b);
///             }
///         }
///     }
/// }
///
/// let mut h = Harness::new(LineLength::default());
/// h.deliver(b"hello\nhi\n", Chunking::every_byte());
/// assert_eq!(h.written(), b"5\n2\n");
/// ```
pub trait Protocol {
    /// The connection is established. Called once, before any other callback.
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        let _ = tx;
    }

    /// A piece of the peer's byte stream arrived. Never empty.
    ///
    /// The piece is a [`Bytes`] slice of what the peer wrote (no copy), unless the piece joins
    /// several of the peer's writes, in which case it is one new buffer.
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>);

    /// The peer closed its write half (EOF).
    ///
    /// Only called when [`half_closeable`](Self::half_closeable) returns `true`; the connection
    /// then stays open until this end closes it. Otherwise EOF ends the connection with
    /// [`Reason::Done`], and this end's unsent writes are dropped, as real TCP does.
    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        let _ = tx;
    }

    /// This end's write half finished closing after
    /// [`Transport::lose_write_connection`]: everything written before it was delivered and the
    /// peer got EOF. The connection stays open for reading.
    fn write_connection_lost(&mut self, tx: &mut Transport<'_>) {
        let _ = tx;
    }

    /// The connection ended. Called exactly once, last; nothing is called after it.
    ///
    /// There is no transport here: a connection that is lost takes no more writes.
    fn connection_lost(&mut self, reason: &Reason) {
        let _ = reason;
    }

    /// A timer scheduled with [`Transport::call_later`] is due.
    fn timer_fired(&mut self, timer: TimerId, tx: &mut Transport<'_>) {
        let _ = (timer, tx);
    }

    /// The write buffer went over the high-water mark while this protocol is registered as a
    /// push producer ([`Transport::register_producer`]): stop writing until
    /// [`resume_producing`](Self::resume_producing).
    fn pause_producing(&mut self, tx: &mut Transport<'_>) {
        let _ = tx;
    }

    /// Write more. For a push producer: the buffer drained after a pause. For a pull producer:
    /// called once at registration and each time the write buffer drains.
    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        let _ = tx;
    }

    /// The connection is ending while this protocol is registered as a producer: stop for good.
    /// Called just before [`connection_lost`](Self::connection_lost).
    fn stop_producing(&mut self) {}

    /// Whether this protocol handles the peer's EOF itself
    /// ([`read_connection_lost`](Self::read_connection_lost)) instead of the connection ending.
    /// Twisted's `IHalfCloseableProtocol`.
    fn half_closeable(&self) -> bool {
        false
    }

    /// Labels this end in transcripts and failure messages (Twisted's `logPrefix`). Defaults to
    /// the type's name without its module path or generic arguments.
    fn log_prefix(&self) -> Cow<'static, str> {
        Cow::Borrowed(short_type_name(std::any::type_name::<Self>()))
    }
}

/// `a::b::Foo<c::Bar>` → `Foo`.
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl Protocol for Plain {
        fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
    }

    #[test]
    fn log_prefix_is_the_short_type_name() {
        assert_eq!(Plain.log_prefix(), "Plain");
        assert_eq!(
            short_type_name("alloc::vec::Vec<core::option::Option<u8>>"),
            "Vec"
        );
        assert_eq!(short_type_name("u8"), "u8");
    }
}
