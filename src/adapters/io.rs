//! `std::io` adapters: a [`Read`] + [`BufRead`] source and a [`Write`] driver that move one
//! piece of a [`Chunking`] per call, and the chunking-invariance oracle for code built on them.
//!
//! - [`ChunkedReader`] hands a parser its input one piece (at most) per `read` or `fill_buf`
//!   call, optionally failing with [`ErrorKind::Interrupted`] or [`ErrorKind::WouldBlock`]
//!   before chosen pieces ([`Faults`]).
//! - [`ChunkedWriter`] pushes an input into any [`Write`] one piece per `write` call, retrying
//!   short writes and `Interrupted`, and records what the sink accepted.
//! - [`read_invariant`], [`buf_read_invariant`] and [`write_invariant`] check, in one line,
//!   that the code gives the same result under every plan as with the input whole;
//!   [`read_same_as_whole`], [`buf_read_same_as_whole`] and [`write_same_as_whole`] compare one
//!   plan (for `proptest!`); [`read_oracle`], [`buf_read_oracle`] and [`write_oracle`] give the
//!   [`Invariant`] itself, to tune the search or add faults.
//!
//! # Examples
//!
//! ```
//! use std::io::{BufRead, Read};
//! use piecemeal::adapters::io;
//!
//! /// Reads a 4-byte big-endian length and that many bytes; buggy: assumes one `read` call
//! /// returns the whole header.
//! fn frame(r: &mut dyn Read) -> Result<Vec<u8>, std::io::ErrorKind> {
//!     let mut header = [0; 4];
//!     let n = r.read(&mut header).map_err(|e| e.kind())?; // the bug: read_exact
//!     if n < 4 {
//!         return Err(std::io::ErrorKind::UnexpectedEof);
//!     }
//!     let mut body = vec![0; u32::from_be_bytes(header) as usize];
//!     r.read_exact(&mut body).map_err(|e| e.kind())?;
//!     Ok(body)
//! }
//!
//! let input = b"\0\0\0\x02hi";
//! let found = io::read_oracle(io::Faults::none(), frame).check(input).unwrap_err();
//! assert_eq!(found.chunking(), &piecemeal::Chunking::cuts([1]));
//!
//! // BufRead parsers get one piece per fill_buf: read_line copes.
//! io::buf_read_invariant(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", |r: &mut dyn BufRead| {
//!     r.lines().map(|l| l.unwrap()).collect::<Vec<_>>()
//! });
//! ```

use std::collections::BTreeSet;
use std::fmt::{self, Debug, Display};
use std::io::{self, BufRead, ErrorKind, Read, Write};
use std::ops::Range;

use bytes::Bytes;

use crate::check::{Divergence, Invariant};
use crate::chunking::Chunking;
use crate::event::Escaped;

/// One call made on a [`ChunkedReader`] or by a [`ChunkedWriter`], as recorded.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `read` with a buffer of `asked` bytes, which got `got`.
    Read {
        /// The buffer's length.
        asked: usize,
        /// The bytes handed out (empty at the end of the input, or for an empty buffer).
        got: Bytes,
    },
    /// `fill_buf`, which returned `available` (empty at the end of the input).
    FillBuf {
        /// The bytes returned.
        available: Bytes,
    },
    /// `consume(n)`.
    Consume(usize),
    /// A `read` or `fill_buf` failed with [`ErrorKind::Interrupted`], as the [`Faults`] asked.
    Interrupted,
    /// A `read` or `fill_buf` failed with [`ErrorKind::WouldBlock`], as the [`Faults`] asked.
    WouldBlock,
    /// `write(offered)`, which the sink answered with `accepted` (a count or an error kind).
    Write {
        /// The bytes offered: the rest of one piece.
        offered: Bytes,
        /// How many the sink took, or the error kind it returned.
        accepted: Result<usize, ErrorKind>,
    },
    /// `flush()` after the last piece.
    Flush(Result<(), ErrorKind>),
}

impl Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { asked, got } => {
                write!(f, "read(buf of {asked}) -> {} {}", got.len(), Escaped(got))
            }
            Self::FillBuf { available } => {
                write!(
                    f,
                    "fill_buf() -> {} {}",
                    available.len(),
                    Escaped(available)
                )
            }
            Self::Consume(n) => write!(f, "consume({n})"),
            Self::Interrupted => f.write_str("-> Err(Interrupted) (fault)"),
            Self::WouldBlock => f.write_str("-> Err(WouldBlock) (fault)"),
            Self::Write { offered, accepted } => {
                write!(f, "write({} {}) -> ", offered.len(), Escaped(offered))?;
                match accepted {
                    Ok(n) => write!(f, "Ok({n})"),
                    Err(kind) => write!(f, "Err({kind:?})"),
                }
            }
            Self::Flush(result) => write!(f, "flush() -> {result:?}"),
        }
    }
}

/// Where a [`ChunkedReader`] fails with [`ErrorKind::Interrupted`] or
/// [`ErrorKind::WouldBlock`] before handing out a piece: a value, printed (`Display`) as the
/// Rust expression that builds it.
///
/// "Before piece `i`" means the first `read` or `fill_buf` call that would hand out piece `i`
/// fails once (`Interrupted` first if both are asked), and the next call hands the piece out;
/// piece `pieces.len()` is the end of the input. Code that handles these errors the way
/// `std` does (retry on `Interrupted`; `WouldBlock` is up to the caller) reads the same bytes.
///
/// # Examples
///
/// ```
/// use std::io::{ErrorKind, Read};
/// use piecemeal::adapters::io::{ChunkedReader, Faults};
/// use piecemeal::Chunking;
///
/// let faults = Faults::none().interrupt_before(1).would_block_before(2);
/// assert_eq!(faults.to_string(), "Faults::none().interrupt_before(1).would_block_before(2)");
/// let mut r = ChunkedReader::new(b"abc", Chunking::every_byte()).faults(faults);
/// let mut buf = [0; 8];
/// assert_eq!(r.read(&mut buf).unwrap(), 1);
/// assert_eq!(r.read(&mut buf).unwrap_err().kind(), ErrorKind::Interrupted);
/// assert_eq!(r.read(&mut buf).unwrap(), 1);
/// assert_eq!(r.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
/// assert_eq!(r.read(&mut buf).unwrap(), 1);
/// assert_eq!(r.read(&mut buf).unwrap(), 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    interrupt: Points,
    would_block: Points,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Points {
    #[default]
    None,
    At(BTreeSet<usize>),
    Each,
}

impl Points {
    fn add(&mut self, piece: usize) {
        match self {
            Self::None => *self = Self::At(BTreeSet::from([piece])),
            Self::At(set) => {
                set.insert(piece);
            }
            Self::Each => {}
        }
    }

    fn contains(&self, piece: usize) -> bool {
        match self {
            Self::None => false,
            Self::At(set) => set.contains(&piece),
            Self::Each => true,
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        match self {
            Self::None => Ok(()),
            Self::At(set) => set
                .iter()
                .try_for_each(|i| write!(f, ".{name}_before({i})")),
            Self::Each => write!(f, ".{name}_before_each()"),
        }
    }
}

impl Faults {
    /// No faults: every call hands out data (or the end of the input).
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Also fail once with [`ErrorKind::Interrupted`] before piece `piece`.
    #[must_use]
    pub fn interrupt_before(mut self, piece: usize) -> Self {
        self.interrupt.add(piece);
        self
    }

    /// Also fail once with [`ErrorKind::WouldBlock`] before piece `piece`.
    #[must_use]
    pub fn would_block_before(mut self, piece: usize) -> Self {
        self.would_block.add(piece);
        self
    }

    /// Fail once with [`ErrorKind::Interrupted`] before every piece and before the end.
    #[must_use]
    pub fn interrupt_before_each(mut self) -> Self {
        self.interrupt = Points::Each;
        self
    }

    /// Fail once with [`ErrorKind::WouldBlock`] before every piece and before the end.
    #[must_use]
    pub fn would_block_before_each(mut self) -> Self {
        self.would_block = Points::Each;
        self
    }

    /// Whether there are no faults at all.
    #[must_use]
    pub fn is_none(&self) -> bool {
        self.interrupt == Points::None && self.would_block == Points::None
    }
}

impl Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Faults::none()")?;
        self.interrupt.write(f, "interrupt")?;
        self.would_block.write(f, "would_block")
    }
}

/// A [`Read`] + [`BufRead`] source that hands out its input at most one piece of a
/// [`Chunking`] per `read` or `fill_buf` call, and records every call.
///
/// A `read` with a buffer smaller than the rest of the current piece gets what fits, and the
/// rest of the piece comes with the next call; it never gets bytes of two pieces. `fill_buf`
/// returns the rest of the current piece; `consume` moves through it. After the last piece,
/// both return the end of the input (0 bytes). [`faults`](Self::faults) adds
/// `Interrupted`/`WouldBlock` errors before chosen pieces.
///
/// # Examples
///
/// ```
/// use std::io::{BufRead, Read};
/// use piecemeal::adapters::io::ChunkedReader;
/// use piecemeal::Chunking;
///
/// let mut r = ChunkedReader::new(b"hello\nworld\n", Chunking::cuts([3]));
/// let mut buf = [0; 64];
/// assert_eq!(r.read(&mut buf).unwrap(), 3); // "hel": one piece per call
/// let mut line = String::new();
/// r.read_line(&mut line).unwrap(); // read_line keeps calling fill_buf
/// assert_eq!(line, "lo\n");
/// assert_eq!(r.position(), 6);
/// ```
#[derive(Debug)]
pub struct ChunkedReader {
    data: Bytes,
    pieces: Vec<Range<usize>>,
    /// The index of the current piece (`pieces.len()` at the end).
    piece: usize,
    pos: usize,
    faults: Faults,
    /// Faults already raised before the current piece: (interrupted, would block).
    raised: (bool, bool),
    calls: Vec<Call>,
}

impl ChunkedReader {
    /// A reader of `input`, cut by `chunking`.
    #[must_use]
    pub fn new(input: impl AsRef<[u8]>, chunking: Chunking) -> Self {
        let data = Bytes::copy_from_slice(input.as_ref());
        let pieces = chunking.pieces(data.len());
        Self {
            data,
            pieces,
            piece: 0,
            pos: 0,
            faults: Faults::none(),
            raised: (false, false),
            calls: Vec::new(),
        }
    }

    /// Fail with `Interrupted`/`WouldBlock` where `faults` says.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// How many bytes have been handed out (read, or consumed after `fill_buf`).
    #[must_use]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether the whole input has been handed out.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.pos == self.data.len()
    }

    /// Every call made so far, in order.
    #[must_use]
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The rest of the current piece.
    fn current(&self) -> Range<usize> {
        self.pieces
            .get(self.piece)
            .map_or(self.pos..self.pos, |piece| self.pos..piece.end)
    }

    /// The fault due before the current piece, if any, raised once.
    fn fault(&mut self) -> io::Result<()> {
        let at_start = self
            .pieces
            .get(self.piece)
            .is_none_or(|p| p.start == self.pos);
        if !at_start {
            return Ok(());
        }
        let (kind, call) = if self.faults.interrupt.contains(self.piece) && !self.raised.0 {
            self.raised.0 = true;
            (ErrorKind::Interrupted, Call::Interrupted)
        } else if self.faults.would_block.contains(self.piece) && !self.raised.1 {
            self.raised.1 = true;
            (ErrorKind::WouldBlock, Call::WouldBlock)
        } else {
            return Ok(());
        };
        self.calls.push(call);
        Err(io::Error::new(kind, format!("piecemeal: {kind:?} (fault)")))
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
        if self
            .pieces
            .get(self.piece)
            .is_some_and(|p| p.end == self.pos)
        {
            self.piece += 1;
            self.raised = (false, false);
        }
    }
}

impl Read for ChunkedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !buf.is_empty() {
            self.fault()?;
        }
        let rest = self.current();
        let n = rest.len().min(buf.len());
        let got = self.data.slice(rest.start..rest.start + n);
        buf[..n].copy_from_slice(&got);
        self.calls.push(Call::Read {
            asked: buf.len(),
            got,
        });
        self.advance(n);
        Ok(n)
    }
}

impl BufRead for ChunkedReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.fault()?;
        let rest = self.current();
        self.calls.push(Call::FillBuf {
            available: self.data.slice(rest.clone()),
        });
        Ok(&self.data[rest])
    }

    fn consume(&mut self, amt: usize) {
        self.calls.push(Call::Consume(amt));
        let n = amt.min(self.current().len());
        self.advance(n);
    }
}

/// Pushes an input into a [`Write`] sink one piece of a [`Chunking`] per `write` call, then
/// flushes, recording every call.
///
/// A short write is followed by a `write` of the rest of the same piece; `Interrupted` is
/// retried (as `write_all` does); `Ok(0)` for a non-empty buffer stops with
/// [`ErrorKind::WriteZero`]; any other error (`WouldBlock` included) stops the drive and is
/// returned.
///
/// # Examples
///
/// ```
/// use piecemeal::adapters::io::{Call, ChunkedWriter};
/// use piecemeal::Chunking;
///
/// let mut sink = Vec::new();
/// let mut w = ChunkedWriter::new(b"hello", Chunking::cuts([2]));
/// assert_eq!(w.drive(&mut sink).unwrap(), 5);
/// assert_eq!(sink, b"hello");
/// assert_eq!(w.write_sizes(), vec![2, 3]);
/// assert!(matches!(w.calls().last(), Some(Call::Flush(Ok(())))));
/// ```
#[derive(Debug)]
pub struct ChunkedWriter {
    data: Bytes,
    pieces: Vec<Range<usize>>,
    accepted: usize,
    calls: Vec<Call>,
}

impl ChunkedWriter {
    /// A driver for `input`, cut by `chunking`.
    #[must_use]
    pub fn new(input: impl AsRef<[u8]>, chunking: Chunking) -> Self {
        let data = Bytes::copy_from_slice(input.as_ref());
        let pieces = chunking.pieces(data.len());
        Self {
            data,
            pieces,
            accepted: 0,
            calls: Vec::new(),
        }
    }

    /// Writes every piece into `sink`, then flushes it.
    ///
    /// # Errors
    ///
    /// The first error the sink returns other than `Interrupted` (after which nothing more is
    /// written), or [`ErrorKind::WriteZero`] if it accepts 0 bytes of a non-empty buffer.
    pub fn drive<W: Write + ?Sized>(&mut self, sink: &mut W) -> io::Result<usize> {
        for piece in &self.pieces {
            let mut at = piece.start;
            let mut interrupted = 0usize;
            while at < piece.end {
                let offered = self.data.slice(at..piece.end);
                let result = sink.write(&offered);
                self.calls.push(Call::Write {
                    offered,
                    accepted: result.as_ref().copied().map_err(io::Error::kind),
                });
                match result {
                    Ok(0) => {
                        return Err(io::Error::new(
                            ErrorKind::WriteZero,
                            "the sink accepted 0 bytes of a non-empty buffer",
                        ));
                    }
                    Ok(n) => {
                        let n = n.min(piece.end - at);
                        at += n;
                        self.accepted += n;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted && interrupted < RETRIES => {
                        interrupted += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let flushed = sink.flush();
        self.calls.push(Call::Flush(
            flushed.as_ref().copied().map_err(io::Error::kind),
        ));
        flushed.map(|()| self.accepted)
    }

    /// How many bytes the sink accepted so far.
    #[must_use]
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// Every call made so far, in order.
    #[must_use]
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// The sizes of the `write` calls made so far (what was offered each time).
    #[must_use]
    pub fn write_sizes(&self) -> Vec<usize> {
        (self.calls.iter())
            .filter_map(|c| match c {
                Call::Write { offered, .. } => Some(offered.len()),
                _ => None,
            })
            .collect()
    }
}

/// How many `Interrupted` in a row a [`ChunkedWriter`] retries before giving up.
const RETRIES: usize = 1_000;

/// What a run under an adapter oracle produced: the compared value, and the calls made (shown
/// in the report's transcript, never compared).
///
/// `PartialEq` and `Debug` see only the value.
#[derive(Clone)]
pub struct Traced<T> {
    value: T,
    calls: Vec<Call>,
}

impl<T> Traced<T> {
    /// The compared value.
    #[must_use]
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The calls made during the run.
    #[must_use]
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    fn transcript(&self) -> String {
        super::transcript_tail(&self.calls)
    }
}

impl<T: PartialEq> PartialEq for Traced<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Debug> Debug for Traced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// What a [`Write`] sink made of an input, as [`write_invariant`] compares it: what `observe`
/// returned, how many bytes the sink accepted, and the error that stopped the drive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written<V> {
    observed: V,
    accepted: usize,
    error: Option<String>,
}

impl<V> Written<V> {
    /// What the `observe` function returned.
    #[must_use]
    pub fn observed(&self) -> &V {
        &self.observed
    }

    /// How many bytes the sink accepted.
    #[must_use]
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// The error that stopped the drive (`"{kind:?}: {message}"`), if one did.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// The oracle for a [`Read`]-based parser: `parse` reads from a [`ChunkedReader`] (with
/// `faults`) over the input cut by each plan, and its result is compared with the whole run.
/// Tune the search on the returned [`Invariant`], then [`check`](Invariant::check) an input.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use piecemeal::adapters::io::{self, Faults};
///
/// // read_to_end retries Interrupted: the same under every plan, with faults.
/// let oracle = io::read_oracle(Faults::none().interrupt_before_each(), |r: &mut dyn Read| {
///     let mut all = Vec::new();
///     r.read_to_end(&mut all).map_err(|e| e.kind())?;
///     Ok::<_, std::io::ErrorKind>(all)
/// });
/// oracle.exhaustive_up_to(8).assert(b"abcdefgh");
/// ```
pub fn read_oracle<T, F>(
    faults: Faults,
    parse: F,
) -> Invariant<impl Fn(&[u8], &Chunking) -> Traced<T>, Traced<T>>
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut dyn Read) -> T,
{
    reader_oracle("read", "the Read parser", faults, move |r| parse(r))
}

/// The oracle for a [`BufRead`]-based parser: [`read_oracle`], with `parse` given the reader
/// as a `BufRead` (one piece per `fill_buf`).
pub fn buf_read_oracle<T, F>(
    faults: Faults,
    parse: F,
) -> Invariant<impl Fn(&[u8], &Chunking) -> Traced<T>, Traced<T>>
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut dyn BufRead) -> T,
{
    reader_oracle("buf_read", "the BufRead parser", faults, move |r| parse(r))
}

/// The body of [`read_oracle`] and [`buf_read_oracle`]: `parse` runs over a [`ChunkedReader`]
/// cut by each plan, and its result is compared with the calls it made kept for the report.
fn reader_oracle<T, F>(
    kind: &'static str,
    subject: &'static str,
    faults: Faults,
    parse: F,
) -> Invariant<impl Fn(&[u8], &Chunking) -> Traced<T>, Traced<T>>
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut ChunkedReader) -> T,
{
    let replay = replay_line(kind, &faults);
    Invariant::new(move |input: &[u8], plan: &Chunking| {
        let mut r = ChunkedReader::new(input, plan.clone()).faults(faults.clone());
        let value = parse(&mut r);
        Traced {
            value,
            calls: r.calls,
        }
    })
    .subject(subject)
    .result_name("parse result")
    .replay(replay)
    .transcript(Traced::transcript)
}

/// The replay line of a read oracle: the one-line form without faults, else the oracle.
fn replay_line(
    kind: &'static str,
    faults: &Faults,
) -> impl Fn(&str, &Chunking) -> String + 'static {
    let faults = faults.clone();
    move |input, plan| {
        if faults.is_none() {
            format!(
                "piecemeal::adapters::io::{kind}_same_as_whole({input}, piecemeal::{plan}, parse).unwrap()"
            )
        } else {
            format!(
                "piecemeal::adapters::io::{kind}_oracle(piecemeal::adapters::io::{faults}, parse).assert_plan({input}, piecemeal::{plan})"
            )
        }
    }
}

/// Checks that a [`Read`]-based parser returns the same under every plan the search tries as
/// with its input whole; panics with the report of the [`Divergence`] otherwise.
///
/// `parse` gets a [`ChunkedReader`] that hands out one piece per `read`; its result (often an
/// `io::Result` mapped to `Result<_, ErrorKind>`, since `io::Error` is not `PartialEq`) is
/// compared. Shorthand for `read_oracle(Faults::none(), parse).assert(input)`.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use piecemeal::adapters::io;
///
/// // A 2-byte header, then the body: read_exact copes with any cut.
/// io::read_invariant(b"\x00\x03abc", |r: &mut dyn Read| {
///     let mut header = [0; 2];
///     r.read_exact(&mut header).map_err(|e| e.kind())?;
///     let mut body = vec![0; u16::from_be_bytes(header).into()];
///     r.read_exact(&mut body).map_err(|e| e.kind())?;
///     Ok::<_, std::io::ErrorKind>(body)
/// });
/// ```
///
/// # Panics
///
/// If `parse` returns something else under some plan, with the full report.
#[track_caller]
pub fn read_invariant<T, F>(input: impl AsRef<[u8]>, parse: F)
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut dyn Read) -> T,
{
    read_oracle(Faults::none(), parse).assert(input);
}

/// [`read_invariant`] for a [`BufRead`]-based parser (one piece per `fill_buf`).
///
/// # Examples
///
/// ```
/// use std::io::BufRead;
/// use piecemeal::adapters::io;
///
/// io::buf_read_invariant(b"one\ntwo\n", |r: &mut dyn BufRead| {
///     r.lines().collect::<Result<Vec<_>, _>>().map_err(|e| e.kind())
/// });
/// ```
///
/// # Panics
///
/// If `parse` returns something else under some plan, with the full report.
#[track_caller]
pub fn buf_read_invariant<T, F>(input: impl AsRef<[u8]>, parse: F)
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut dyn BufRead) -> T,
{
    buf_read_oracle(Faults::none(), parse).assert(input);
}

/// Compares one plan of `input` with the whole input for a [`Read`]-based parser: the form to
/// call from inside `proptest!` (with `?`) or in a regression test.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use piecemeal::adapters::io;
/// use piecemeal::strategy;
/// use proptest::prelude::*;
///
/// fn all(r: &mut dyn Read) -> Vec<u8> {
///     let mut out = Vec::new();
///     r.read_to_end(&mut out).unwrap();
///     out
/// }
///
/// proptest!(|((input, plan) in strategy::chunked("[a-z]{0,24}"))| {
///     io::read_same_as_whole(&input, plan, all)?;
/// });
/// ```
///
/// # Errors
///
/// A [`Divergence`] if `parse` returned something else under `chunking`.
pub fn read_same_as_whole<T, F>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    parse: F,
) -> Result<(), Divergence>
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut dyn Read) -> T,
{
    read_oracle(Faults::none(), parse).check_plan(input, chunking)
}

/// [`read_same_as_whole`] for a [`BufRead`]-based parser.
///
/// # Errors
///
/// A [`Divergence`] if `parse` returned something else under `chunking`.
pub fn buf_read_same_as_whole<T, F>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    parse: F,
) -> Result<(), Divergence>
where
    T: PartialEq + Debug + 'static,
    F: Fn(&mut dyn BufRead) -> T,
{
    buf_read_oracle(Faults::none(), parse).check_plan(input, chunking)
}

/// The oracle for a [`Write`] sink: each run builds a sink with `sink`, pushes the input into
/// it with a [`ChunkedWriter`] (one piece per `write`), and compares `observe(sink)`, how many
/// bytes it accepted and the error that stopped the drive (if any) with the whole run.
#[allow(
    clippy::type_complexity,
    reason = "the closure type is unnameable; the alias would hide the outcome type"
)]
pub fn write_oracle<W, V, S, O>(
    sink: S,
    observe: O,
) -> Invariant<impl Fn(&[u8], &Chunking) -> Traced<Written<V>>, Traced<Written<V>>>
where
    W: Write,
    V: PartialEq + Debug + 'static,
    S: Fn() -> W,
    O: Fn(W) -> V,
{
    Invariant::new(move |input: &[u8], plan: &Chunking| {
        let mut w = sink();
        let mut driver = ChunkedWriter::new(input, plan.clone());
        let error = driver
            .drive(&mut w)
            .err()
            .map(|e| format!("{:?}: {e}", e.kind()));
        Traced {
            value: Written {
                observed: observe(w),
                accepted: driver.accepted,
                error,
            },
            calls: driver.calls,
        }
    })
    .subject("the Write sink")
    .result_name("sink result")
    .replay(|input, plan| {
        format!(
            "piecemeal::adapters::io::write_same_as_whole({input}, piecemeal::{plan}, sink, observe).unwrap()"
        )
    })
    .transcript(Traced::transcript)
}

/// Checks that a [`Write`] sink ends the same under every plan the search tries as with its
/// input written whole; panics with the report otherwise. Shorthand for
/// `write_oracle(sink, observe).assert(input)`.
///
/// # Examples
///
/// ```
/// use std::io::{self, Write};
/// use piecemeal::adapters::io as pio;
///
/// /// Splits what it is written into `\n`-terminated lines.
/// #[derive(Default)]
/// struct Lines { partial: Vec<u8>, lines: Vec<Vec<u8>> }
/// impl Write for Lines {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
///         for &b in buf {
///             if b == b'\n' {
///                 self.lines.push(std::mem::take(&mut self.partial));
///             } else {
///                 self.partial.push(b);
///             }
///         }
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
///
/// pio::write_invariant(b"ab\ncd\n", Lines::default, |sink: Lines| sink.lines);
/// ```
///
/// # Panics
///
/// If some plan makes the sink end differently, with the full report.
#[track_caller]
pub fn write_invariant<W, V, S, O>(input: impl AsRef<[u8]>, sink: S, observe: O)
where
    W: Write,
    V: PartialEq + Debug + 'static,
    S: Fn() -> W,
    O: Fn(W) -> V,
{
    write_oracle(sink, observe).assert(input);
}

/// Compares one plan of `input` with the whole input for a [`Write`] sink: the form to call
/// from inside `proptest!` (with `?`) or in a regression test.
///
/// # Errors
///
/// A [`Divergence`] if the sink ended differently under `chunking`.
pub fn write_same_as_whole<W, V, S, O>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    sink: S,
    observe: O,
) -> Result<(), Divergence>
where
    W: Write,
    V: PartialEq + Debug + 'static,
    S: Fn() -> W,
    O: Fn(W) -> V,
{
    write_oracle(sink, observe).check_plan(input, chunking)
}
