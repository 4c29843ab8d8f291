//! W2 and W3: a CRLF line decoder under many chunkings.
//!
//! W2 runs K proptest cases with each contender's way of generating a chunking and of
//! delivering the bytes cut that way: piecemeal's strategy and a `Harness`; partial-io's
//! `PartialOp` strategy over a `PartialRead`; cut offsets over tokio-test's scripted mock
//! (one `read` per piece). Then it plants a split-CRLF bug (a piece that starts with `\n`
//! loses it) and measures how soon each finds it and what its shrunk counterexample is.
//!
//! W3 runs every plan of a 16-byte input (`Chunking::all(16)`) through a line-echo protocol
//! in a `Harness`, against the same logic fed the same pieces by a plain loop.
//!
//! The decoder is one plain struct shared by every contender, so only the chunking and the
//! delivery differ.

use std::cell::Cell;
use std::io::{Cursor, Read};
use std::time::Instant;

use bytes::Bytes;
use partial_io::proptest_types::partial_op_strategy;
use partial_io::{PartialOp, PartialRead};
use piecemeal::{Chunking, Config, Harness, Protocol, Transport};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as RunConfig, RngAlgorithm, TestError, TestRng, TestRunner};
use tokio::io::AsyncReadExt;

// ----- the decoder every contender shares ---------------------------------------------------

/// Splits a byte stream into CRLF-terminated lines. With `bug`, a piece that starts with `\n`
/// loses it (the planted split-CRLF bug: it bites only when a cut falls inside a `\r\n`).
#[derive(Debug, Default)]
pub struct LineDecoder {
    buf: Vec<u8>,
    /// Where the next search for `\n` starts.
    scan: usize,
    pub lines: Vec<Vec<u8>>,
    pub pieces: usize,
    bug: bool,
}

impl LineDecoder {
    pub fn new(bug: bool) -> Self {
        Self {
            bug,
            ..Self::default()
        }
    }

    /// Takes one piece; returns the lines it completed (as a range of `self.lines`).
    pub fn feed(&mut self, mut piece: &[u8]) -> std::ops::Range<usize> {
        self.pieces += 1;
        if self.bug && piece.first() == Some(&b'\n') {
            piece = &piece[1..];
        }
        self.buf.extend_from_slice(piece);
        let first = self.lines.len();
        let mut start = 0;
        for i in self.scan..self.buf.len() {
            if self.buf[i] == b'\n' && i > start && self.buf[i - 1] == b'\r' {
                self.lines.push(self.buf[start..i - 1].to_vec());
                start = i + 1;
            }
        }
        self.buf.drain(..start);
        self.scan = self.buf.len();
        first..self.lines.len()
    }
}

pub type Lines = Vec<Vec<u8>>;

/// `vec("[a-z]{0,40}", 0..40)` of the reference (§6.3), as bytes.
fn lines_strategy() -> impl Strategy<Value = Lines> + Clone {
    vec(vec(b'a'..=b'z', 0..=40), 0..40)
}

fn encode(lines: &Lines) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
    for l in lines {
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn encoded_len(lines: &Lines) -> usize {
    lines.iter().map(|l| l.len() + 2).sum()
}

/// The decoder as a piecemeal protocol.
struct LineProto(LineDecoder);

impl Protocol for LineProto {
    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.0.feed(&data);
    }
}

// ----- W2 contenders ------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum W2 {
    /// `strategy::chunked(payload)`: payload and cuts generated and shrunk together.
    Piecemeal,
    /// `prop_flat_map` from the lines to `strategy::chunking(len)`.
    PiecemealFlatMap,
    PartialIo,
    TokioTest,
}

impl W2 {
    pub const ALL: [Self; 4] = [
        Self::Piecemeal,
        Self::PiecemealFlatMap,
        Self::PartialIo,
        Self::TokioTest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Piecemeal => "piecemeal",
            Self::PiecemealFlatMap => "piecemeal-flatmap",
            Self::PartialIo => "partial-io",
            Self::TokioTest => "tokio-test",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Piecemeal => "piecemeal: strategy::chunked(payload) + Harness",
            Self::PiecemealFlatMap => "piecemeal: flat_map to strategy::chunking(len) + Harness",
            Self::PartialIo => "partial-io: vec(partial_op_strategy, 0..128) + PartialRead",
            Self::TokioTest => "tokio-test: vec(Index, 0..64) cuts + io::Builder mock",
        }
    }
}

/// What one delivery produced.
struct Outcome {
    lines: Lines,
    /// Pieces that reached the decoder.
    pieces: usize,
    /// Cut offsets of the delivery actually made (between pieces that reached the decoder).
    cuts: Vec<usize>,
}

fn cuts_of(piece_lens: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut at = 0;
    let mut cuts: Vec<usize> = piece_lens
        .into_iter()
        .map(|n| {
            at += n;
            at
        })
        .collect();
    cuts.pop();
    cuts
}

/// The lines of an encoded payload (the inverse of `encode`: lines never hold `\r\n`).
fn decode_whole(bytes: &[u8]) -> Lines {
    let mut dec = LineDecoder::new(false);
    dec.feed(bytes);
    dec.lines
}

fn deliver_piecemeal(bytes: &[u8], plan: &Chunking, bug: bool) -> Outcome {
    let mut h = Harness::new(LineProto(LineDecoder::new(bug)));
    h.deliver(bytes, plan.clone());
    let dec = h.into_protocol().0;
    Outcome {
        pieces: dec.pieces,
        lines: dec.lines,
        cuts: plan.cut_offsets(bytes.len()),
    }
}

fn deliver_partial_io(lines: &Lines, ops: &[PartialOp], bug: bool) -> Outcome {
    let bytes = encode(lines);
    let mut r = PartialRead::new(Cursor::new(bytes), ops.to_vec());
    let mut dec = LineDecoder::new(bug);
    let mut buf = vec![0u8; 64 << 10];
    let mut lens = Vec::new();
    loop {
        let n = r
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("W2 partial-io: read failed: {e}"));
        if n == 0 {
            break;
        }
        lens.push(n);
        dec.feed(&buf[..n]);
    }
    Outcome {
        pieces: dec.pieces,
        lines: dec.lines,
        cuts: cuts_of(lens),
    }
}

/// Cut offsets from proptest indices: inside the input, sorted, without repeats.
fn index_cuts(len: usize, idx: &[Index]) -> Vec<usize> {
    if len < 2 {
        return Vec::new();
    }
    let mut cuts: Vec<usize> = idx.iter().map(|i| i.index(len - 1) + 1).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

fn deliver_tokio_test(
    rt: &tokio::runtime::Runtime,
    lines: &Lines,
    idx: &[Index],
    bug: bool,
) -> Outcome {
    let bytes = encode(lines);
    let cuts = index_cuts(bytes.len(), idx);
    let mut builder = tokio_test::io::Builder::new();
    let mut from = 0;
    for &c in cuts.iter().chain([bytes.len()].iter()) {
        if c > from {
            builder.read(&bytes[from..c]);
        }
        from = c;
    }
    let mut dec = LineDecoder::new(bug);
    let mut lens = Vec::new();
    rt.block_on(async {
        let mut mock = builder.build();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = mock
                .read(&mut buf)
                .await
                .unwrap_or_else(|e| panic!("W2 tokio-test: read failed: {e}"));
            if n == 0 {
                break;
            }
            lens.push(n);
            dec.feed(&buf[..n]);
        }
    });
    Outcome {
        pieces: dec.pieces,
        lines: dec.lines,
        cuts: cuts_of(lens),
    }
}

fn check(lines: &Lines, out: &Outcome) -> Result<(), TestCaseError> {
    if &out.lines == lines {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "decoded {} lines, expected {}",
            out.lines.len(),
            lines.len()
        )))
    }
}

// ----- W2 runs ------------------------------------------------------------------------------

/// The base seeds: W2 repeats over these instead of repeating one seed.
pub fn seed(i: usize) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(0x9E37_79B9_7F4A_7C15u64 ^ i as u64).to_le_bytes());
    s
}

fn runner(cases: u32, seed: [u8; 32]) -> TestRunner {
    let config = RunConfig {
        cases,
        failure_persistence: None,
        ..RunConfig::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// One W2 run: K cases, or a hunt for the planted bug.
#[derive(Clone, Debug)]
pub struct W2Run {
    pub nanos: f64,
    /// Test calls made (cases, plus shrink steps after a failure).
    pub calls: u64,
    /// Pieces delivered over all test calls.
    pub pieces: u64,
    /// With the bug: the case (1-based) that failed first; `None` if all passed.
    pub first_failure: Option<u64>,
    /// With the bug: wall time spent shrinking.
    pub shrink_nanos: f64,
    /// With the bug: the shrunk counterexample.
    pub shrunk: Option<Shrunk>,
}

#[derive(Clone, Debug)]
pub struct Shrunk {
    pub bytes: usize,
    pub lines: usize,
    pub cuts: Vec<usize>,
    /// The counterexample as the contender's own value (for the report).
    pub literal: String,
}

impl Shrunk {
    /// The true minimum: one empty line, `"\r\n"`, cut once between `\r` and `\n`.
    pub fn is_minimal(&self) -> bool {
        self.bytes == 2 && self.lines == 1 && self.cuts == [1]
    }
}

fn shrunk(lines: &Lines, out: &Outcome, value: String) -> Shrunk {
    Shrunk {
        bytes: encoded_len(lines),
        lines: lines.len(),
        cuts: out.cuts.clone(),
        literal: value,
    }
}

fn show_lines(lines: &Lines) -> String {
    let shown: Vec<String> = lines
        .iter()
        .take(3)
        .map(|l| format!("{:?}", String::from_utf8_lossy(l)))
        .collect();
    let more = if lines.len() > 3 {
        format!(", … {} more", lines.len() - 3)
    } else {
        String::new()
    };
    format!("[{}{more}]", shown.join(", "))
}

/// Runs `cases` cases of contender `who` from base seed `seed`; with `bug`, until the first
/// failure and through shrinking.
pub fn run_w2(who: W2, cases: u32, seed: [u8; 32], bug: bool) -> W2Run {
    let calls = Cell::new(0u64);
    let pieces = Cell::new(0u64);
    let first = Cell::new(None::<(u64, Instant)>);
    let note = |out: &Outcome, ok: bool| {
        calls.set(calls.get() + 1);
        pieces.set(pieces.get() + out.pieces as u64);
        if !ok && first.get().is_none() {
            first.set(Some((calls.get(), Instant::now())));
        }
    };
    let mut runner = runner(cases, seed);
    let start = Instant::now();
    let (result, shrunk_value): (Result<(), String>, Option<Shrunk>) = match who {
        W2::Piecemeal => {
            let strategy = piecemeal::strategy::chunked(lines_strategy().prop_map(|l| encode(&l)));
            let r = runner.run(&strategy, |(bytes, plan)| {
                let lines = decode_whole(&bytes);
                let out = deliver_piecemeal(&bytes, &plan, bug);
                let r = check(&lines, &out);
                note(&out, r.is_ok());
                r
            });
            split(r, |(bytes, plan)| {
                let lines = decode_whole(&bytes);
                let out = deliver_piecemeal(&bytes, &plan, bug);
                let lit = format!("{:?} cut by {plan}", String::from_utf8_lossy(&bytes));
                shrunk(&lines, &out, lit)
            })
        }
        W2::PiecemealFlatMap => {
            let strategy = lines_strategy().prop_flat_map(|lines| {
                let len = encoded_len(&lines);
                (Just(lines), piecemeal::strategy::chunking(len))
            });
            let r = runner.run(&strategy, |(lines, plan)| {
                let out = deliver_piecemeal(&encode(&lines), &plan, bug);
                let r = check(&lines, &out);
                note(&out, r.is_ok());
                r
            });
            split(r, |(lines, plan)| {
                let out = deliver_piecemeal(&encode(&lines), &plan, bug);
                let lit = format!("{} cut by {plan}", show_lines(&lines));
                shrunk(&lines, &out, lit)
            })
        }
        W2::PartialIo => {
            let strategy = (
                lines_strategy(),
                vec(partial_op_strategy(Just(None), 64), 0..128),
            );
            let r = runner.run(&strategy, |(lines, ops)| {
                let out = deliver_partial_io(&lines, &ops, bug);
                let r = check(&lines, &out);
                note(&out, r.is_ok());
                r
            });
            split(r, |(lines, ops)| {
                let out = deliver_partial_io(&lines, &ops, bug);
                let ops: Vec<String> = ops
                    .iter()
                    .map(|op| match op {
                        PartialOp::Limited(n) => format!("Limited({n})"),
                        other => format!("{other:?}"),
                    })
                    .collect();
                let lit = format!("{} read by [{}]", show_lines(&lines), ops.join(", "));
                shrunk(&lines, &out, lit)
            })
        }
        W2::TokioTest => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"));
            let strategy = (lines_strategy(), vec(any::<Index>(), 0..64));
            let r = runner.run(&strategy, |(lines, idx)| {
                let out = deliver_tokio_test(&rt, &lines, &idx, bug);
                let r = check(&lines, &out);
                note(&out, r.is_ok());
                r
            });
            split(r, |(lines, idx)| {
                let out = deliver_tokio_test(&rt, &lines, &idx, bug);
                let lit = format!(
                    "{} read as pieces cut at {:?}",
                    show_lines(&lines),
                    out.cuts
                );
                shrunk(&lines, &out, lit)
            })
        }
    };
    let end = Instant::now();
    let nanos = (end - start).as_secs_f64() * 1e9;
    match (&result, bug) {
        (Err(e), false) => panic!("W2 {} (no bug): a case failed: {e}", who.name()),
        (Ok(()), true) => {}
        (Err(_), true) => {
            assert!(
                shrunk_value.is_some(),
                "W2 {}: failed without a counterexample",
                who.name()
            );
        }
        (Ok(()), false) => {
            assert_eq!(
                calls.get(),
                u64::from(cases),
                "W2 {}: ran {} cases, expected {cases}",
                who.name(),
                calls.get()
            );
        }
    }
    let first = first.get();
    W2Run {
        nanos,
        calls: calls.get(),
        pieces: pieces.get(),
        first_failure: first.map(|(n, _)| n),
        shrink_nanos: first.map_or(0.0, |(_, t)| (end - t).as_secs_f64() * 1e9),
        shrunk: shrunk_value,
    }
}

/// The run's verdict, and the shrunk counterexample measured with `measure`.
fn split<V>(
    r: Result<(), TestError<V>>,
    measure: impl FnOnce(V) -> Shrunk,
) -> (Result<(), String>, Option<Shrunk>) {
    match r {
        Ok(()) => (Ok(()), None),
        Err(TestError::Fail(why, v)) => (Err(why.to_string()), Some(measure(v))),
        Err(TestError::Abort(why)) => (Err(format!("aborted: {why}")), None),
    }
}

// ----- W3 -----------------------------------------------------------------------------------

/// W3's input: four lines, 16 bytes.
pub const W3_INPUT: &[u8; 16] = b"ab\r\ncd\r\nef\r\ngh\r\n";

/// Echoes every complete line back (the line, then CRLF).
struct LineEcho(LineDecoder);

impl Protocol for LineEcho {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        for i in self.0.feed(&data) {
            let mut line = self.0.lines[i].clone();
            line.extend_from_slice(b"\r\n");
            tx.write(&line);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum W3 {
    Floor,
    Harness { record: bool },
}

impl W3 {
    pub const ALL: [Self; 3] = [
        Self::Floor,
        Self::Harness { record: true },
        Self::Harness { record: false },
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Harness { record: true } => "harness",
            Self::Harness { record: false } => "harness-norec",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Floor => "floor (plain loop over the pieces)",
            Self::Harness { record: true } => "piecemeal Harness, recording",
            Self::Harness { record: false } => "piecemeal Harness, record(false)",
        }
    }
}

/// Runs every plan of `W3_INPUT`, checking each; returns (nanos, plans, pieces).
pub fn run_w3(who: W3) -> (f64, u64, u64) {
    let len = W3_INPUT.len();
    let mut plans = 0u64;
    let mut pieces = 0u64;
    let start = Instant::now();
    for plan in Chunking::all(len) {
        plans += 1;
        let (written, n) = match who {
            W3::Floor => {
                let mut dec = LineDecoder::new(false);
                let mut out = Vec::with_capacity(len);
                for r in plan.pieces(len) {
                    for i in dec.feed(&W3_INPUT[r]) {
                        out.extend_from_slice(&dec.lines[i]);
                        out.extend_from_slice(b"\r\n");
                    }
                }
                (out, dec.pieces)
            }
            W3::Harness { record } => {
                let mut h = Harness::new(LineEcho(LineDecoder::new(false)))
                    .config(Config::new().record(record));
                h.deliver(W3_INPUT, plan.clone());
                (h.written().to_vec(), h.protocol().0.pieces)
            }
        };
        pieces += n as u64;
        assert!(
            written == W3_INPUT,
            "W3 {} under {plan}: echoed {:?}",
            who.name(),
            String::from_utf8_lossy(&written)
        );
    }
    let nanos = start.elapsed().as_secs_f64() * 1e9;
    assert_eq!(plans, 1 << (len - 1), "W3: Chunking::all({len}) plan count");
    (nanos, plans, pieces)
}
