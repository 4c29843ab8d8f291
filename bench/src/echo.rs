//! W1, echo: a client sends a payload, the server echoes every piece it receives, the client
//! collects what comes back; every contender's output is checked byte for byte.
//!
//! The echo and the collecting are plain functions shared by the piecemeal protocols and by
//! the floor, a plain loop that calls them with the same pieces and no harness at all. The
//! difference between the two is what the engine costs. The peers (`tokio::io::duplex`,
//! partial-io, turmoil) run the same shape of exchange with async code; see `peers.rs`.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use piecemeal::{Chunking, Config, Event, Pair, Protocol, Schedule, Transport};

use crate::peers;

// ----- the logic every contender shares -----------------------------------------------------

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
    pub fn receive(&mut self, data: &[u8]) {
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

/// Echoes every piece back with `write_bytes` (no copy), or, with `copy`, with `write` (a
/// copy of each piece, as a protocol that writes from its own buffers does).
#[derive(Default)]
struct EchoServer {
    pieces: u64,
    copy: bool,
}

impl Protocol for EchoServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.pieces += 1;
        if self.copy {
            echo(data, &mut |b| tx.write(&b));
        } else {
            echo(data, &mut |b| tx.write_bytes(b));
        }
    }
}

// ----- contenders --------------------------------------------------------------------------

/// What is measured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Contender {
    /// The shared logic in a plain loop.
    Floor,
    /// The floor, also keeping a handle on every echoed piece in a `Vec`: the least a
    /// zero-copy record of the writes adds (one reference count and one store a write).
    FloorHistory,
    /// `Pair`, with the event log recorded (the default) or not.
    Pair { record: bool },
    /// `Pair`, recording, under `Schedule::seeded(7)`: every step picks among the ready tasks
    /// (the cost of exploring interleavings).
    PairSeeded,
    /// `Pair`, recording, with a server that echoes a copy of each piece (`Transport::write`)
    /// instead of the piece itself.
    PairCopy,
    /// `tokio::io::duplex` with a 64 KiB buffer; writes and reads of one piece each.
    Duplex,
    /// `tokio::io::duplex(piece)`: the pipe's capacity is one piece, so every piece waits for
    /// the reader (the reference pilot's setup, for comparison).
    DuplexTight,
    /// partial-io's wrappers cutting every read and write of a 64 KiB `duplex` to one piece.
    PartialIo,
    /// turmoil's simulated TCP, `tcp_capacity(64)` (its default, pinned).
    Turmoil,
}

impl Contender {
    pub const ALL: [Self; 10] = [
        Self::Floor,
        Self::FloorHistory,
        Self::Pair { record: true },
        Self::Pair { record: false },
        Self::PairSeeded,
        Self::PairCopy,
        Self::Duplex,
        Self::DuplexTight,
        Self::PartialIo,
        Self::Turmoil,
    ];

    /// The reference the ratios are taken against.
    pub const PIECEMEAL: Self = Self::Pair { record: true };

    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::FloorHistory => "floor-history",
            Self::Pair { record: true } => "pair",
            Self::Pair { record: false } => "pair-norec",
            Self::PairSeeded => "pair-seeded",
            Self::PairCopy => "pair-copy",
            Self::Duplex => "duplex",
            Self::DuplexTight => "duplex-tight",
            Self::PartialIo => "partial-io",
            Self::Turmoil => "turmoil",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Floor => "floor (plain loop)",
            Self::FloorHistory => "floor, keeping each write",
            Self::Pair { record: true } => "piecemeal Pair, recording",
            Self::Pair { record: false } => "piecemeal Pair, record(false)",
            Self::PairSeeded => "piecemeal Pair, Schedule::seeded",
            Self::PairCopy => "piecemeal Pair, echo copying (write)",
            Self::Duplex => "tokio::io::duplex(64 KiB)",
            Self::DuplexTight => "tokio::io::duplex(piece)",
            Self::PartialIo => "partial-io over duplex",
            Self::Turmoil => "turmoil, tcp_capacity 64",
        }
    }

    /// Whether the contender delivers exactly the planned pieces. The async peers count the
    /// reads that returned data: each returns at most one piece, but may return less.
    fn exact_pieces(self) -> bool {
        matches!(
            self,
            Self::Floor
                | Self::FloorHistory
                | Self::Pair { .. }
                | Self::PairSeeded
                | Self::PairCopy
        )
    }
}

/// One size of the workload: the payload and how both directions are cut.
#[derive(Clone, Debug)]
pub struct Echo {
    pub len: usize,
    /// Bytes per piece (the chunking is `Chunking::fixed(piece)`).
    pub piece: usize,
    /// Short label for ids and the table (`1B`, `4KiB`).
    pub label: &'static str,
}

/// Set in a peak-memory child: skip the check that materialises the whole event log.
pub static SKIP_LOG_CHECK: AtomicBool = AtomicBool::new(false);

/// One timed run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub nanos: f64,
    /// Pieces delivered, both directions.
    pub pieces: u64,
    /// Bytes delivered, both directions.
    pub bytes: u64,
}

/// What an async peer hands back from one run.
#[derive(Debug)]
pub struct PeerRun {
    pub nanos: f64,
    pub got: Collector,
    /// Reads that returned data at the server.
    pub server_pieces: u64,
}

/// The payload every contender sends: `byte[i] = (i * 31) % 251` (reference §6.2). Not a
/// repeating byte, so a piece delivered twice or out of order shows.
pub fn payload(len: usize) -> Bytes {
    let v: Vec<u8> = (0..len).map(|i| ((i * 31) % 251) as u8).collect();
    Bytes::from(v)
}

impl Echo {
    pub fn chunking(&self) -> Chunking {
        Chunking::fixed(self.piece)
    }

    /// Pieces a run must deliver: every piece of the payload, once each way.
    pub fn expected_pieces(&self) -> u64 {
        2 * self.len.div_ceil(self.piece) as u64
    }

    pub fn id(&self, who: Contender) -> String {
        format!("{}/{}", who.name(), self.label)
    }

    pub fn run(&self, who: Contender) -> Sample {
        match who {
            Contender::Floor => self.run_floor::<false>(),
            Contender::FloorHistory => self.run_floor::<true>(),
            Contender::Pair { .. } | Contender::PairSeeded | Contender::PairCopy => {
                self.run_pair(who)
            }
            Contender::Duplex
            | Contender::DuplexTight
            | Contender::PartialIo
            | Contender::Turmoil => {
                let payload = payload(self.len);
                let run = match who {
                    Contender::Duplex => peers::duplex(&payload, self.piece, false),
                    Contender::DuplexTight => peers::duplex(&payload, self.piece, true),
                    Contender::PartialIo => peers::partial_io(&payload, self.piece),
                    _ => peers::turmoil(&payload, self.piece),
                };
                let pieces = run.server_pieces + run.got.pieces;
                self.check(who, &payload, &run.got.buf, pieces);
                Sample {
                    nanos: run.nanos,
                    pieces,
                    bytes: 2 * self.len as u64,
                }
            }
        }
    }

    /// The floor; with `KEEP`, it also keeps a handle on every write the echo makes, as an
    /// event log must. A constant, so that the plain floor's timed loop has no test of it (a
    /// runtime flag made that loop about 5% slower, and every ratio to it that much better).
    fn run_floor<const KEEP: bool>(&self) -> Sample {
        // Setup, not timed: the payload, the ranges, the collector's buffer, and the history's
        // buffer (touched, so that no page faults land in the timed region).
        let payload = payload(self.len);
        let ranges: Vec<Range<usize>> = self.chunking().pieces(self.len);
        let mut got = Collector::with_capacity(self.len);
        let mut history: Vec<Bytes> = Vec::new();
        if KEEP {
            history.resize(ranges.len(), Bytes::new());
            history.clear();
        }
        let mut echoed = 0u64;

        let start = Instant::now();
        for r in &ranges {
            let piece = payload.slice(r.clone());
            echoed += 1;
            echo(piece, &mut |b| {
                if KEEP {
                    history.push(b.clone());
                }
                got.receive(&b);
            });
        }
        let nanos = start.elapsed().as_secs_f64() * 1e9;

        let who = if KEEP {
            assert_eq!(
                history.len(),
                ranges.len(),
                "floor-history kept every write"
            );
            Contender::FloorHistory
        } else {
            Contender::Floor
        };
        drop(history);
        self.check(who, &payload, &got.buf, echoed + got.pieces);
        Sample {
            nanos,
            pieces: echoed + got.pieces,
            bytes: 2 * self.len as u64,
        }
    }

    fn run_pair(&self, who: Contender) -> Sample {
        let record = who != Contender::Pair { record: false };
        let mut config = Config::new().step_limit(u64::MAX).record(record);
        if who == Contender::PairSeeded {
            config = config.schedule(Schedule::seeded(7));
        }
        // Setup, not timed.
        let payload = payload(self.len);
        let client = Client {
            payload: Some(payload.clone()),
            got: Collector::with_capacity(self.len),
        };
        let server = EchoServer {
            pieces: 0,
            copy: who == Contender::PairCopy,
        };
        let mut pair = Pair::new(client, server)
            .config(config)
            .client_to_server(self.chunking())
            .server_to_client(self.chunking());

        let start = Instant::now();
        pair.run();
        let nanos = start.elapsed().as_secs_f64() * 1e9;

        let pieces = pair.server().pieces + pair.client().got.pieces;
        self.check(who, &payload, &pair.client().got.buf, pieces);
        // Counting the log's Received events builds every record; a peak-memory child skips it
        // so that its figure is the engine's own.
        if record && !SKIP_LOG_CHECK.load(Ordering::Relaxed) {
            let received = pair
                .log()
                .records()
                .iter()
                .filter(|r| matches!(r.event, Event::Received(_)))
                .count() as u64;
            assert_eq!(
                received,
                pieces,
                "W1 echo {}: the log records {received} Received events but the protocols \
                 counted {pieces} pieces",
                self.id(who)
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
    /// number of pieces (for the async peers: at least that many, each read holding at most
    /// one piece).
    fn check(&self, who: Contender, payload: &[u8], got: &[u8], pieces: u64) {
        let ctx = format!("W1 echo {}", self.id(who));
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
        if who.exact_pieces() {
            assert_eq!(
                pieces, want,
                "{ctx}: delivered {pieces} pieces, expected {want}"
            );
        } else {
            assert!(
                pieces >= want,
                "{ctx}: delivered {pieces} pieces, expected at least {want}"
            );
        }
    }
}
