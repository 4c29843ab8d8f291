//! [`LineSender`]: sends lines, records the lines it receives (Twisted's
//! `LineSendingProtocol`).

use bytes::{Buf, Bytes, BytesMut};

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Sends its lines, each followed by `\r\n`, and records every `\r\n`-terminated line it
/// receives (without the delimiter).
///
/// Twisted's `LineSendingProtocol(lines, start)`: with [`new`](Self::new) (`start=True`) it
/// sends every line in `connection_made`, as one write per line; with
/// [`on_first_line`](Self::on_first_line) (`start=False`) it sends them when its first line
/// arrives. It never closes by itself. Bytes after the last `\r\n` are kept in
/// [`pending`](Self::pending) until their delimiter arrives; a line split across pieces (even
/// between `\r` and `\n`) is put back together.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::LineSender;
/// use piecemeal::{Chunking, Harness, Reason};
///
/// let mut h = Harness::new(LineSender::new(["HELO a", "QUIT"]));
/// h.connect();
/// assert_eq!(h.written(), b"HELO a\r\nQUIT\r\n");
/// h.deliver(b"250 ok\r\n221 bye\r\n22", Chunking::every_byte());
/// h.peer_close();
/// let p = h.protocol();
/// assert_eq!(p.lines(), ["250 ok", "221 bye"]);
/// assert_eq!(p.pending(), b"22");
/// assert_eq!(p.reason(), Some(&Reason::Done));
/// ```
#[derive(Clone, Debug, Default)]
pub struct LineSender {
    to_send: Vec<Bytes>,
    start: bool,
    partial: BytesMut,
    lines: Vec<Bytes>,
    reason: Option<Reason>,
}

/// The line delimiter, as in Twisted's `LineReceiver`.
const DELIMITER: &[u8] = b"\r\n";

impl LineSender {
    /// Send `lines` on connect (`start=True`).
    #[must_use]
    pub fn new<I>(lines: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        Self {
            to_send: lines
                .into_iter()
                .map(|l| Bytes::copy_from_slice(l.as_ref()))
                .collect(),
            start: true,
            ..Self::default()
        }
    }

    /// Send the lines when the first line arrives instead of on connect (`start=False`).
    #[must_use]
    pub fn on_first_line(mut self) -> Self {
        self.start = false;
        self
    }

    /// The lines received, without their `\r\n` (Twisted's `response`).
    #[must_use]
    pub fn lines(&self) -> &[Bytes] {
        &self.lines
    }

    /// Received bytes not yet ended by a `\r\n`.
    #[must_use]
    pub fn pending(&self) -> &[u8] {
        &self.partial
    }

    /// Whether the connection ended (Twisted's `lostConn`).
    #[must_use]
    pub fn is_lost(&self) -> bool {
        self.reason.is_some()
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }

    fn send(&mut self, tx: &mut Transport<'_>) {
        for line in std::mem::take(&mut self.to_send) {
            tx.write_sequence([&line[..], DELIMITER]);
        }
    }
}

impl Protocol for LineSender {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        if self.start {
            self.send(tx);
        }
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.partial.extend_from_slice(&data);
        while let Some(i) = self.partial.windows(2).position(|w| w == DELIMITER) {
            let line = self.partial.split_to(i).freeze();
            self.partial.advance(DELIMITER.len());
            self.lines.push(line);
            if !self.start {
                self.start = true;
                self.send(tx);
            }
        }
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }
}
