//! The property of the `line_invariance` fuzz target (`fuzz/fuzz_targets/line_invariance.rs`)
//! and of its proptest twin `line_protocol_is_chunking_invariant` (`tests/it/properties.rs`).
//! Both include this one file as a module, so the two always check the same protocol and the
//! same property.

use bytes::Bytes;
use piecemeal::check::{self, Divergence};
use piecemeal::{Chunking, Protocol, Transport};

/// Answers each `\r\n`-terminated line with `ok <line length>`, and closes on `quit`.
#[derive(Default)]
pub(crate) struct LineServer {
    buf: Vec<u8>,
}

impl Protocol for LineServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
            if line == b"quit" {
                tx.write("bye\r\n");
                tx.lose_connection();
                return;
            }
            tx.write(format!("ok {}\r\n", line.len()));
        }
    }
}

/// The property: `payload` cut by `plan` gives a `LineServer` the same events and replies as
/// `payload` delivered whole.
///
/// # Errors
///
/// The [`Divergence`] if the cut changes what the server does.
pub(crate) fn holds(payload: &[u8], plan: Chunking) -> Result<(), Divergence> {
    check::same_as_whole(payload, plan, LineServer::default)
}
