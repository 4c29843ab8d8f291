//! W1, echo: a client writes a payload in one write, the server echoes every piece it
//! receives, the client collects what comes back.
//!
//! The echo and the collecting are plain functions shared by the piecemeal protocols and by
//! the floor, a plain loop that calls them with the same pieces and no harness at all. The
//! difference between the two is what the engine costs.

use std::ops::Range;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use piecemeal::{Chunking, Config, Event, Pair, Protocol, Transport};

// ----- the logic both contenders share ------------------------------------------------------

/// The server's logic: hand every piece straight back.
#[inline]
pub fn echo(data: Bytes, out: &mut impl FnMut(Bytes)) {
    out(data);
}

/// The client's logic: append every piece, count the pieces.
#[derive(Debug)]
pub struct Collector {
    pub buf: BytesMut,
    pub pieces: u64,
}

impl Collector {
    /// An empty collector whose buffer already holds `n` bytes of touched memory, so that
    /// neither allocation nor first-touch page faults land in the timed region.
    pub fn with_capacity(n: usize) -> Self {
        let mut buf = BytesMut::with_capacity(n);
        // `zeroed` may hand back untouched calloc pages; writing a byte pattern touches them.
        buf.resize(n, 0xA5);
        buf.clear();
        Self { buf, pieces: 0 }
    }

    #[inline]
    pub fn receive(&mut self, data: &Bytes) {
        self.pieces += 1;
        self.buf.extend_from_slice(data);
    }
}

// ----- the piecemeal protocols ----------------------------------------------------------------

/// Writes the whole payload at connection time (one `Bytes`, so pieces are zero-copy slices)
/// and collects the echo.
struct Client {
    payload: Option<Bytes>,
    got: Collector,
}

impl Protocol for Client {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        if let Some(payload) = self.payload.take() {
            tx.write_bytes(payload);
        }
    }

    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.got.receive(&data);
    }
}

/// Echoes every piece back with `write_bytes` (no copy).
#[derive(Default)]
struct EchoServer {
    pieces: u64,
}

impl Protocol for EchoServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.pieces += 1;
        echo(data, &mut |b| tx.write_bytes(b));
    }
}

// ----- contenders --------------------------------------------------------------------------

/// What is measured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Contender {
    /// The shared logic in a plain loop.
    Floor,
    /// `Pair`, with the event log recorded (the default) or not.
    Pair { record: bool },
}

impl Contender {
    pub const ALL: [Self; 3] = [
        Self::Floor,
        Self::Pair { record: true },
        Self::Pair { record: false },
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Pair { record: true } => "pair",
            Self::Pair { record: false } => "pair-norec",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Floor => "floor (plain loop)",
            Self::Pair { record: true } => "Pair, recording",
            Self::Pair { record: false } => "Pair, record(false)",
        }
    }
}

/// One size of the workload: the payload and how both directions are cut.
#[derive(Clone, Debug)]
pub struct Echo {
    pub len: usize,
    pub chunking: Chunking,
    /// Short label for ids and the table (`1B`, `4KiB`).
    pub label: &'static str,
}

/// One timed run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub nanos: f64,
    /// Pieces delivered, both directions.
    pub pieces: u64,
    /// Bytes delivered, both directions.
    pub bytes: u64,
}

impl Echo {
    /// Pieces a run must deliver: every piece of the payload, once each way.
    pub fn expected_pieces(&self) -> u64 {
        2 * self.chunking.pieces(self.len).len() as u64
    }

    fn payload(&self) -> Bytes {
        // Not a repeating byte, so a piece delivered twice or out of order shows.
        let v: Vec<u8> = (0..self.len)
            .map(|i| (i.wrapping_mul(131) ^ (i >> 8)) as u8)
            .collect();
        Bytes::from(v)
    }

    pub fn run(&self, who: Contender) -> Sample {
        match who {
            Contender::Floor => self.run_floor(),
            Contender::Pair { record } => self.run_pair(record),
        }
    }

    fn run_floor(&self) -> Sample {
        // Setup, not timed: the payload, the ranges, the collector's buffer.
        let payload = self.payload();
        let ranges: Vec<Range<usize>> = self.chunking.pieces(self.len);
        let mut got = Collector::with_capacity(self.len);
        let mut echoed = 0u64;

        let start = Instant::now();
        for r in &ranges {
            let piece = payload.slice(r.clone());
            echoed += 1;
            echo(piece, &mut |b| got.receive(&b));
        }
        let nanos = start.elapsed().as_secs_f64() * 1e9;

        self.check(Contender::Floor, &payload, &got.buf, echoed + got.pieces);
        Sample {
            nanos,
            pieces: echoed + got.pieces,
            bytes: 2 * self.len as u64,
        }
    }

    fn run_pair(&self, record: bool) -> Sample {
        let who = Contender::Pair { record };
        // Setup, not timed.
        let payload = self.payload();
        let client = Client {
            payload: Some(payload.clone()),
            got: Collector::with_capacity(self.len),
        };
        let mut pair = Pair::new(client, EchoServer::default())
            .config(Config::new().step_limit(u64::MAX).record(record))
            .client_to_server(self.chunking.clone())
            .server_to_client(self.chunking.clone());

        let start = Instant::now();
        pair.run();
        let nanos = start.elapsed().as_secs_f64() * 1e9;

        let pieces = pair.server().pieces + pair.client().got.pieces;
        self.check(who, &payload, &pair.client().got.buf, pieces);
        if record {
            let received = pair
                .log()
                .records()
                .iter()
                .filter(|r| matches!(r.event, Event::Received(_)))
                .count() as u64;
            assert_eq!(
                received,
                pieces,
                "W1 echo {} {}: the log records {received} Received events but the protocols \
                 counted {pieces} pieces",
                who.name(),
                self.label
            );
        }
        // The pair (and its log) is dropped here, after the clock stopped.
        drop(pair);
        Sample {
            nanos,
            pieces,
            bytes: 2 * self.len as u64,
        }
    }

    /// Fails loudly unless the client got the payload back byte for byte, in the expected
    /// number of pieces.
    fn check(&self, who: Contender, payload: &[u8], got: &[u8], pieces: u64) {
        let ctx = format!("W1 echo {} {}", who.name(), self.label);
        if got != payload {
            let at = payload
                .iter()
                .zip(got)
                .position(|(a, b)| a != b)
                .unwrap_or(payload.len().min(got.len()));
            panic!(
                "{ctx}: WRONG OUTPUT: the client got {} bytes back for a payload of {}; first \
                 difference at offset {at}",
                got.len(),
                payload.len()
            );
        }
        let want = self.expected_pieces();
        assert_eq!(
            pieces, want,
            "{ctx}: delivered {pieces} pieces, expected {want}"
        );
    }
}
