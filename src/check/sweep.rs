//! Fault sweeps: run a protocol against a peer that closes, half-closes or aborts at every point
//! of an exchange, and report every point where the outcome is wrong.
//!
//! Start with [`sweep`]; see [`Sweep`] for the options and [`SweepReport`] for the result.

use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use bytes::Bytes;

use crate::chunking::Chunking;
use crate::config::Config;
use crate::engine::panic_message;
use crate::event::{Reason, Transcript};
use crate::harness::Harness;
use crate::protocol::Protocol;
use crate::protocols::ByteLit;

/// Start a fault sweep of the protocols `factory` makes (one fresh protocol per case).
///
/// For each fault and each offset `k` of the input, a [`Harness`] connects a new protocol, the
/// peer delivers the first `k` bytes of the input (cut by the sweep's [`Chunking`], default
/// [`Chunking::whole`]) and lets the protocol answer, then the fault lands: the peer closes,
/// half-closes or aborts. The harness then [`run`](Harness::run)s until nothing is left, and
/// the user's check judges the [`FaultOutcome`]. The [`SweepReport`] lists every case the check
/// rejected, with the transcript of the first and a literal that replays it.
///
/// # Examples
///
/// A length-prefixed reader (one length byte, then the body) must report an error when the
/// stream ends inside a message. This one forgets the case where the EOF comes right after a
/// length byte, and the sweep finds exactly those offsets:
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::check::{self, Fault};
/// use piecemeal::{Protocol, Reason, Transport};
///
/// #[derive(Default)]
/// struct Reader { buf: Vec<u8>, messages: Vec<Vec<u8>>, error: bool }
///
/// impl Protocol for Reader {
///     fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
///         self.buf.extend_from_slice(&data);
///         while let Some(&len) = self.buf.first() {
///             let end = 1 + usize::from(len);
///             if self.buf.len() < end { break; }
///             self.messages.push(self.buf[1..end].to_vec());
///             self.buf.drain(..end);
///         }
///     }
///     fn connection_lost(&mut self, _: &Reason) {
///         // Bug: a lone length byte is taken for a complete message.
///         self.error = self.buf.len() > 1;
///     }
/// }
///
/// let input = b"\x02hi\x03abc";
/// let report = check::sweep(Reader::default)
///     .input(input)
///     .faults([Fault::Close])
///     .check(|o| {
///         let ends_inside_a_message = !matches!(o.offset(), 0 | 3 | 7);
///         o.protocol().error == ends_inside_a_message
///     });
/// assert_eq!(report.cases_run(), 8);
/// assert_eq!(report.failing_offsets(Fault::Close), [1, 4]);
/// assert!(report.to_string().contains("FaultCase::new(Fault::Close, 1)"));
/// ```
#[must_use = "a sweep does nothing until `check` runs it"]
pub fn sweep<P, F>(factory: F) -> Sweep<P, F>
where
    P: Protocol,
    F: FnMut() -> P,
{
    Sweep {
        factory,
        input: Bytes::new(),
        faults: Fault::ALL.to_vec(),
        chunking: Chunking::whole(),
        points: Points::EveryOffset,
        config: Config::new(),
        _protocol: PhantomData,
    }
}

/// What the peer does to the connection at the sweep point.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The peer closes gracefully: EOF after what it sent ([`Harness::peer_close`]).
    Close,
    /// The peer closes its write half (EOF) and keeps reading ([`Harness::peer_half_close`]).
    HalfClose,
    /// The peer resets the connection ([`Harness::peer_abort`]).
    Abort,
}

impl Fault {
    /// Every fault, in the order a sweep runs them by default.
    pub const ALL: [Self; 3] = [Self::Close, Self::HalfClose, Self::Abort];

    fn apply<P: Protocol>(self, h: &mut Harness<P>) {
        match self {
            Self::Close => h.peer_close(),
            Self::HalfClose => h.peer_half_close(),
            Self::Abort => h.peer_abort(),
        };
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Close => "Fault::Close",
            Self::HalfClose => "Fault::HalfClose",
            Self::Abort => "Fault::Abort",
        })
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One point of a sweep: which fault, after how many bytes of the input. Displays as the
/// expression that builds it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultCase {
    fault: Fault,
    offset: usize,
}

impl FaultCase {
    /// `fault` after the first `offset` bytes of the input.
    #[must_use]
    pub fn new(fault: Fault, offset: usize) -> Self {
        Self { fault, offset }
    }

    /// The fault.
    #[must_use]
    pub fn fault(self) -> Fault {
        self.fault
    }

    /// How many bytes of the input were delivered before the fault.
    #[must_use]
    pub fn offset(self) -> usize {
        self.offset
    }
}

impl fmt::Display for FaultCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultCase::new({}, {})", self.fault, self.offset)
    }
}

impl fmt::Debug for FaultCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Points {
    EveryOffset,
    EveryDelivery,
    Offsets(Vec<usize>),
}

/// A fault sweep being set up; from [`sweep`]. Setters take and return it by value;
/// [`check`](Self::check) runs it.
pub struct Sweep<P, F> {
    factory: F,
    input: Bytes,
    faults: Vec<Fault>,
    chunking: Chunking,
    points: Points,
    config: Config,
    _protocol: PhantomData<fn() -> P>,
}

impl<P, F> Sweep<P, F>
where
    P: Protocol,
    F: FnMut() -> P,
{
    /// The bytes the peer sends (default: none, which sweeps only offset 0).
    #[must_use]
    pub fn input(mut self, data: impl AsRef<[u8]>) -> Self {
        self.input = Bytes::copy_from_slice(data.as_ref());
        self
    }

    /// The faults to try, in this order (default [`Fault::ALL`]).
    #[must_use]
    pub fn faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.faults = faults.into_iter().collect();
        self
    }

    /// How the delivered prefix is cut (default [`Chunking::whole`]); its offsets are relative
    /// to the start of the input, so every prefix is cut as the whole input would be.
    #[must_use]
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.chunking = chunking;
        self
    }

    /// Sweep every offset `0..=input.len()` (the default): the fault lands after every byte,
    /// also inside a piece of the chunking.
    #[must_use]
    pub fn at_every_offset(mut self) -> Self {
        self.points = Points::EveryOffset;
        self
    }

    /// Sweep only after every delivery: offset 0 and the end of each piece the chunking cuts
    /// the input into (cheaper for long inputs under a coarse chunking).
    #[must_use]
    pub fn at_every_delivery(mut self) -> Self {
        self.points = Points::EveryDelivery;
        self
    }

    /// Sweep only these offsets (to replay a failure, or to focus). Each must be at most the
    /// input's length; [`check`](Self::check) panics otherwise.
    #[must_use]
    pub fn at_offsets(mut self, offsets: impl IntoIterator<Item = usize>) -> Self {
        self.points = Points::Offsets(offsets.into_iter().collect());
        self
    }

    /// Run each case with these settings (default [`Config::new`]).
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The cases [`check`](Self::check) runs, in order: for each fault, every offset.
    ///
    /// # Panics
    ///
    /// If an offset given to [`at_offsets`](Self::at_offsets) is past the end of the input.
    #[must_use]
    #[track_caller]
    pub fn cases(&self) -> Vec<FaultCase> {
        let len = self.input.len();
        let offsets: Vec<usize> = match &self.points {
            Points::EveryOffset => (0..=len).collect(),
            Points::EveryDelivery => std::iter::once(0)
                .chain(self.chunking.pieces(len).into_iter().map(|r| r.end))
                .collect(),
            Points::Offsets(offsets) => {
                if let Some(bad) = offsets.iter().find(|&&o| o > len) {
                    panic!(
                        "check::sweep: at_offsets has offset {bad}, past the end of the \
                         {len}-byte input (offsets go from 0 to the input's length)"
                    );
                }
                offsets.clone()
            }
        };
        self.faults
            .iter()
            .flat_map(|&fault| {
                offsets
                    .iter()
                    .map(move |&offset| FaultCase::new(fault, offset))
            })
            .collect()
    }

    /// Run one case and return its outcome, without judging it: to look at a failure the
    /// report named. A panic of the protocol continues to the caller, with the transcript.
    ///
    /// # Panics
    ///
    /// If `case`'s offset is past the end of the input, or if the run panics (a protocol
    /// panic under the default panic policy, or the step limit).
    #[track_caller]
    pub fn run_case(&mut self, case: FaultCase) -> FaultOutcome<P> {
        let len = self.input.len();
        assert!(
            case.offset <= len,
            "check::sweep: {case} is past the end of the {len}-byte input"
        );
        let mut h = Harness::new((self.factory)()).config(self.config.clone());
        h.connect();
        if case.offset > 0 && h.lost().is_none() {
            h.deliver_bytes(self.input.slice(..case.offset), self.chunking.clone());
        }
        if h.lost().is_none() {
            case.fault.apply(&mut h);
        }
        h.run();
        FaultOutcome {
            case,
            input: self.input.clone(),
            harness: h,
        }
    }

    /// Run every case and judge each outcome with `check`: a case fails when `check` returns
    /// `false` or an `Err`, when it panics (so `assert!` works inside it), or when the run
    /// itself panics (the protocol panicked, or the step limit tripped).
    ///
    /// # Panics
    ///
    /// If an offset given to [`at_offsets`](Self::at_offsets) is past the end of the input.
    /// Failing cases do not panic: call [`SweepReport::assert_ok`] for that.
    #[track_caller]
    pub fn check<V, C>(mut self, mut check: C) -> SweepReport
    where
        V: Verdict,
        C: FnMut(&FaultOutcome<P>) -> V,
    {
        let cases = self.cases();
        let mut failures = Vec::new();
        let mut first_transcript = None;
        for &case in &cases {
            let run = panic::catch_unwind(AssertUnwindSafe(|| self.run_case(case)));
            let (message, transcript) = match run {
                Err(payload) => {
                    let msg = panic_message(payload.as_ref());
                    (format!("the run panicked: {msg}"), msg)
                }
                Ok(outcome) => {
                    let verdict =
                        panic::catch_unwind(AssertUnwindSafe(|| check(&outcome).verdict()));
                    let message = match verdict {
                        Ok(Ok(())) => continue,
                        Ok(Err(why)) => why,
                        Err(payload) => {
                            format!("the check panicked: {}", panic_message(payload.as_ref()))
                        }
                    };
                    (message, outcome.transcript().to_string())
                }
            };
            if first_transcript.is_none() {
                first_transcript = Some(transcript);
            }
            failures.push(SweepFailure { case, message });
        }
        SweepReport {
            protocol: crate::protocol::short_type_name(std::any::type_name::<P>()),
            input: self.input,
            chunking: self.chunking,
            cases_run: cases.len(),
            failures,
            first_transcript,
        }
    }
}

impl<P, F> fmt::Debug for Sweep<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sweep")
            .field("input", &self.input)
            .field("faults", &self.faults)
            .field("chunking", &self.chunking)
            .field("points", &self.points)
            .finish_non_exhaustive()
    }
}

/// What a check returns to judge one [`FaultOutcome`]: `bool` (`false` fails), `()` (the check
/// asserts), or `Result<(), E>` with a displayable error (the message goes in the report).
pub trait Verdict {
    /// `Ok` when the case passes, else why it failed.
    ///
    /// # Errors
    ///
    /// The failure message when the case fails.
    fn verdict(self) -> Result<(), String>;
}

impl Verdict for bool {
    fn verdict(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("the check returned false".into())
        }
    }
}

impl Verdict for () {
    fn verdict(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> Verdict for Result<(), E> {
    fn verdict(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// How one case of a sweep ended: the protocol after the run, what it wrote, why it was lost,
/// the transcript.
pub struct FaultOutcome<P> {
    case: FaultCase,
    input: Bytes,
    harness: Harness<P>,
}

impl<P: Protocol> FaultOutcome<P> {
    /// The case: the fault and its offset.
    #[must_use]
    pub fn case(&self) -> FaultCase {
        self.case
    }

    /// The fault the peer made.
    #[must_use]
    pub fn fault(&self) -> Fault {
        self.case.fault
    }

    /// How many bytes of the input were delivered before the fault.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.case.offset
    }

    /// The bytes delivered before the fault (the input's first [`offset`](Self::offset) bytes).
    #[must_use]
    pub fn delivered(&self) -> &[u8] {
        &self.input[..self.case.offset]
    }

    /// The sweep's whole input.
    #[must_use]
    pub fn input(&self) -> &[u8] {
        &self.input
    }

    /// The protocol after the run.
    #[must_use]
    pub fn protocol(&self) -> &P {
        self.harness.protocol()
    }

    /// Everything the protocol wrote that reached the peer.
    #[must_use]
    pub fn written(&self) -> &[u8] {
        self.harness.written()
    }

    /// Why the protocol's connection ended, if it did.
    #[must_use]
    pub fn lost(&self) -> Option<&Reason> {
        self.harness.lost()
    }

    /// The harness the case ran in (its event log, its clock, …).
    #[must_use]
    pub fn harness(&self) -> &Harness<P> {
        &self.harness
    }

    /// The transcript of the case.
    #[must_use]
    pub fn transcript(&self) -> Transcript<'_> {
        self.harness.transcript()
    }

    /// The protocol, out of the harness.
    #[must_use]
    pub fn into_protocol(self) -> P {
        self.harness.into_protocol()
    }
}

impl<P> fmt::Debug for FaultOutcome<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultOutcome")
            .field("case", &self.case)
            .field("harness", &self.harness)
            .finish_non_exhaustive()
    }
}

/// One failing case of a sweep and why it failed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SweepFailure {
    case: FaultCase,
    message: String,
}

impl SweepFailure {
    /// The case.
    #[must_use]
    pub fn case(&self) -> FaultCase {
        self.case
    }

    /// Why it failed: the check's message, or the panic's.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The result of a sweep: every failing case, the transcript of the first, and a literal that
/// replays it. Display prints all of that; [`assert_ok`](Self::assert_ok) panics with it.
#[must_use = "a sweep report fails nothing by itself: call assert_ok()"]
#[derive(Clone)]
pub struct SweepReport {
    protocol: &'static str,
    input: Bytes,
    chunking: Chunking,
    cases_run: usize,
    failures: Vec<SweepFailure>,
    first_transcript: Option<String>,
}

impl SweepReport {
    /// Whether every case passed.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// How many cases ran.
    #[must_use]
    pub fn cases_run(&self) -> usize {
        self.cases_run
    }

    /// The failing cases, in the order they ran.
    #[must_use]
    pub fn failures(&self) -> &[SweepFailure] {
        &self.failures
    }

    /// The offsets at which `fault` failed, ascending.
    #[must_use]
    pub fn failing_offsets(&self, fault: Fault) -> Vec<usize> {
        let mut offsets: Vec<usize> = self
            .failures
            .iter()
            .filter(|f| f.case.fault == fault)
            .map(|f| f.case.offset)
            .collect();
        offsets.sort_unstable();
        offsets
    }

    /// The transcript of the first failing case (for a panicking run, the panic message, which
    /// holds the transcript's tail).
    #[must_use]
    pub fn first_transcript(&self) -> Option<&str> {
        self.first_transcript.as_deref()
    }

    /// Check that every case passed.
    ///
    /// # Panics
    ///
    /// If any case failed, with the whole report: the failing offsets per fault, the first
    /// failure's message, its replay literal and its transcript.
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.is_ok() {
            panic!("{self}");
        }
    }

    fn replay(&self, case: FaultCase) -> String {
        const SHOWN: usize = 256;
        let input = if self.input.len() <= SHOWN {
            ByteLit(&self.input).to_string()
        } else {
            format!("/* the same {}-byte input */", self.input.len())
        };
        format!(
            "check::sweep(/* factory */).input({input}).chunking({}).faults([{}]).at_offsets([{}])",
            self.chunking, case.fault, case.offset
        )
    }
}

impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures.len();
        writeln!(
            f,
            "fault sweep of {}: {failed} of {} cases failed ({}-byte input cut by {})",
            self.protocol,
            self.cases_run,
            self.input.len(),
            self.chunking
        )?;
        let mut faults: Vec<Fault> = self.failures.iter().map(|x| x.case.fault).collect();
        faults.sort_unstable();
        faults.dedup();
        for fault in faults {
            writeln!(
                f,
                "  {fault} at offsets {}",
                Offsets(&self.failing_offsets(fault))
            )?;
        }
        if let Some(first) = self.failures.first() {
            writeln!(f, "first failure: {}: {}", first.case, first.message)?;
            writeln!(f, "replay: {}", self.replay(first.case))?;
        }
        if let Some(transcript) = &self.first_transcript {
            writeln!(f, "transcript of the first failure:")?;
            write!(f, "{transcript}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SweepReport")
            .field("protocol", &self.protocol)
            .field("input", &self.input)
            .field("chunking", &self.chunking)
            .field("cases_run", &self.cases_run)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

/// Ascending offsets, runs of three or more shown as `a..=b`.
struct Offsets<'a>(&'a [usize]);

impl fmt::Display for Offsets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        let mut i = 0;
        let mut first = true;
        while i < self.0.len() {
            let mut j = i;
            while j + 1 < self.0.len() && self.0[j + 1] == self.0[j] + 1 {
                j += 1;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            if j >= i + 2 {
                write!(f, "{}..={}", self.0[i], self.0[j])?;
                i = j + 1;
            } else {
                write!(f, "{}", self.0[i])?;
                i += 1;
            }
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_compress_runs() {
        assert_eq!(Offsets(&[]).to_string(), "[]");
        assert_eq!(Offsets(&[1, 2, 4, 5, 6, 9]).to_string(), "[1, 2, 4..=6, 9]");
    }

    #[test]
    fn cases_and_faults_print_as_code() {
        assert_eq!(
            FaultCase::new(Fault::HalfClose, 3).to_string(),
            "FaultCase::new(Fault::HalfClose, 3)"
        );
        assert_eq!(
            format!("{:?}", Fault::ALL),
            "[Fault::Close, Fault::HalfClose, Fault::Abort]"
        );
    }
}
