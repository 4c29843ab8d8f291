//! The lifecycle-contract driver: random operation sequences through a [`Pair`] of probe
//! protocols that check, at every callback, the contract the harness promises (DESIGN §5).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;

use crate::chunking::Chunking;
use crate::clock::TimerId;
use crate::config::Config;
use crate::event::{End, Reason};
use crate::pair::Pair;
use crate::protocol::Protocol;
use crate::transport::{ProducerKind, Transport};

/// Something one end of the connection does through its transport, in a [`Scenario`].
///
/// Writes are of the end's own byte pattern, so the peer can check that what it receives is
/// exactly the next bytes that were written.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Action {
    /// Write this many bytes (0 is an empty write, which the transport ignores).
    Write(u8),
    /// `lose_connection`.
    Close,
    /// `abort_connection`.
    Abort,
    /// `lose_write_connection`.
    HalfClose,
    /// `fail` (close with an error).
    Fail,
    /// `pause_reading`.
    PauseReading,
    /// `resume_reading`.
    ResumeReading,
    /// `call_later` with this many milliseconds.
    CallLater(u8),
    /// `cancel` the most recent timer this end scheduled and has not seen fire (if any).
    CancelTimer,
    /// `register_producer(Push)`.
    RegisterPush,
    /// `register_producer(Pull)`.
    RegisterPull,
    /// `unregister_producer`.
    Unregister,
}

/// One step of a [`Scenario`].
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum Op {
    /// The test makes `end` do the action at once, between runs
    /// ([`Pair::with_client`] / [`Pair::with_server`]). Once `end` is lost, only writes are
    /// still made (they are recorded as misuse); other actions are skipped.
    Now(End, Action),
    /// `end` does the action at the start of its next callback that has a transport (from
    /// inside the engine: a reaction to data, a timer, a close, ...). Deferred actions queue up
    /// per end; each callback does at most one.
    Later(End, Action),
    /// Cut what `end` writes from now on with this plan ([`Pair::set_chunking`]).
    Chunk(End, Chunking),
    /// [`Pair::run_until_idle`].
    RunUntilIdle,
    /// [`Pair::advance`] by this many milliseconds.
    Advance(u8),
}

/// A sequence of [`Op`]s for [`lifecycle_contract`], and which ends are half-closeable.
///
/// `Debug` prints the Rust expression that builds it, so a failing scenario pastes into a
/// regression test.
///
/// # Examples
///
/// ```
/// use piecemeal::check::{self, Action, Op, Scenario};
/// use piecemeal::End;
///
/// let scenario = Scenario::new([
///     Op::Later(End::Server, Action::Write(5)),
///     Op::Now(End::Client, Action::Write(3)),
///     Op::RunUntilIdle,
///     Op::Now(End::Server, Action::HalfClose),
/// ])
/// .half_closeable(End::Client, true);
/// check::lifecycle_contract(&scenario).unwrap();
/// assert!(format!("{scenario:?}").starts_with("Scenario::new(["));
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    ops: Vec<Op>,
    half_closeable: [bool; 2],
}

impl Scenario {
    /// A scenario of these steps; neither end half-closeable.
    #[must_use]
    pub fn new(ops: impl IntoIterator<Item = Op>) -> Self {
        Self {
            ops: ops.into_iter().collect(),
            half_closeable: [false; 2],
        }
    }

    /// Make `end`'s probe half-closeable (or not).
    #[must_use]
    pub fn half_closeable(mut self, end: End, yes: bool) -> Self {
        self.half_closeable[end.index()] = yes;
        self
    }

    /// The steps.
    #[must_use]
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Whether `end`'s probe is half-closeable.
    #[must_use]
    pub fn is_half_closeable(&self, end: End) -> bool {
        self.half_closeable[end.index()]
    }
}

/// Runs `scenario` through a [`Pair`] of probe protocols and checks the lifecycle contract at
/// every callback; then closes both ends, runs until nothing is left, and checks that both
/// were lost.
///
/// The probes check that:
/// - `connection_made` comes first and once; `connection_lost` once and last, and it does
///   come once both ends have closed and the pair has run to completion;
/// - no callback runs while another callback of the connection is on the stack;
/// - every piece is non-empty and is exactly the next bytes the peer wrote (so what an end
///   receives is always a prefix of what its peer wrote);
/// - no `data_received` after the end's own `lose_connection`, `abort_connection` or `fail`,
///   nor while it has paused reading, nor after the peer's EOF; no EOF while paused;
/// - `read_connection_lost` only for a half-closeable end, `write_connection_lost` only after
///   the end's own `lose_write_connection`, each at most once;
/// - `timer_fired` only for a timer that is pending (not cancelled, not fired);
/// - producer callbacks only while a producer is registered (`pause_producing` only for a
///   push producer).
///
/// Runs use [`Config::high_water`] 64 bytes (so push producers do get paused) and a step
/// limit of 50,000 per run. Misuse (writes after a close, a second producer, …) is allowed:
/// it is recorded, not a contract violation. This is the property behind the crate's
/// `lifecycle_ops` fuzz target and its proptest twin.
///
/// # Examples
///
/// ```
/// use piecemeal::check::{self, Action, Op, Scenario};
/// use piecemeal::{Chunking, End};
///
/// let scenario = Scenario::new([
///     Op::Chunk(End::Client, Chunking::every_byte()),
///     Op::Now(End::Client, Action::Write(10)),
///     Op::Later(End::Server, Action::PauseReading),
///     Op::RunUntilIdle,
///     Op::Now(End::Server, Action::ResumeReading),
///     Op::Later(End::Server, Action::Abort),
///     Op::Advance(5),
/// ]);
/// check::lifecycle_contract(&scenario).unwrap();
/// ```
///
/// # Errors
///
/// The first [`ContractViolation`] a probe saw, with the scenario and the transcript.
///
/// # Panics
///
/// If the engine itself panics (a step limit exceeded, an internal error): that is a bug
/// worth the same report.
pub fn lifecycle_contract(scenario: &Scenario) -> Result<(), ContractViolation> {
    let shared = Rc::new(RefCell::new(Shared::default()));
    let probe = |end: End| Probe::new(end, scenario.is_half_closeable(end), shared.clone());
    let cfg = Config::new().high_water(64).step_limit(50_000);
    let mut pair = Pair::new(probe(End::Client), probe(End::Server)).config(cfg);
    for (i, op) in scenario.ops.iter().enumerate() {
        match op {
            Op::Now(end, action) => act(&mut pair, *end, |p, tx| {
                // A lost end has no transport in real code: only a write (recorded as
                // misuse) still makes sense from the test.
                if p.lost == 0 || matches!(action, Action::Write(_)) {
                    p.perform(*action, tx);
                }
            }),
            Op::Later(end, action) => shared.borrow_mut().pending[end.index()].push_back(*action),
            Op::Chunk(end, plan) => {
                pair.set_chunking(*end, plan.clone());
            }
            Op::RunUntilIdle => {
                pair.run_until_idle();
            }
            Op::Advance(ms) => {
                pair.advance(Duration::from_millis(u64::from(*ms)));
            }
        }
        if let Some(rule) = shared.borrow_mut().violations.first() {
            return Err(ContractViolation::new(rule, Some((i, op)), scenario, &pair));
        }
    }
    // Wind down: nothing deferred, both ends reading, no producers, both closing.
    shared.borrow_mut().pending = Default::default();
    for end in [End::Client, End::Server] {
        act(&mut pair, end, |p, tx| {
            if p.lost == 0 {
                p.perform(Action::ResumeReading, tx);
                if p.producer.is_some() {
                    p.perform(Action::Unregister, tx);
                }
                p.perform(Action::Close, tx);
            }
        });
    }
    pair.run();
    let shared = shared.borrow();
    let unfinished = [End::Client, End::Server]
        .into_iter()
        .find(|&end| probe_of(&pair, end).lost == 0)
        .map(|end| {
            format!(
                "{end}: connection_lost never came, though both ends closed and the pair ran \
                 until nothing was left"
            )
        });
    match shared.violations.first().cloned().or(unfinished) {
        Some(rule) => Err(ContractViolation::new(&rule, None, scenario, &pair)),
        None => Ok(()),
    }
}

/// A break of the lifecycle contract found by [`lifecycle_contract`].
///
/// `Display` (and `Debug`) show the rule that broke and where, the scenario as a pasteable
/// literal, and the end of the transcript. Converts into a proptest `TestCaseError` with `?`.
#[derive(Clone)]
pub struct ContractViolation {
    rule: String,
    at: Option<(usize, String)>,
    scenario: String,
    transcript: String,
}

impl ContractViolation {
    fn new(
        rule: &str,
        at: Option<(usize, &Op)>,
        scenario: &Scenario,
        pair: &Pair<Probe, Probe>,
    ) -> Self {
        Self {
            rule: rule.to_owned(),
            at: at.map(|(i, op)| (i, format!("{op:?}"))),
            scenario: format!("{scenario:?}"),
            transcript: pair
                .log()
                .transcript_tail(crate::event::TRANSCRIPT_TAIL)
                .to_string(),
        }
    }

    /// The rule that broke, with the end that saw it (e.g. `server: data_received after its
    /// own close`).
    #[must_use]
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The end of the transcript of the run.
    #[must_use]
    pub fn transcript(&self) -> &str {
        &self.transcript
    }
}

impl fmt::Display for ContractViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "lifecycle contract broken: {}", self.rule)?;
        match &self.at {
            Some((i, op)) => writeln!(f, "while applying step {i} of the scenario: {op}")?,
            None => writeln!(f, "after the scenario, while closing both ends")?,
        }
        writeln!(
            f,
            "\nscenario (replay with piecemeal::check::lifecycle_contract(&scenario)):\n    let scenario \
             = {};",
            self.scenario
        )?;
        write!(f, "\ntranscript:\n{}", self.transcript.trim_end())
    }
}

impl fmt::Debug for ContractViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error for ContractViolation {}

/// What both probes share: the stack depth, what each end wrote, deferred actions, and what
/// went wrong.
#[derive(Default)]
struct Shared {
    depth: u32,
    wrote: [Vec<u8>; 2],
    pending: [VecDeque<Action>; 2],
    violations: Vec<String>,
}

/// A protocol that does what its scenario says and checks every callback against the contract.
struct Probe {
    end: End,
    half_closeable: bool,
    shared: Rc<RefCell<Shared>>,
    made: bool,
    lost: u32,
    /// Asked `lose_connection`, `abort_connection` or `fail`.
    closed_self: bool,
    /// Asked `lose_write_connection`.
    half_closed: bool,
    paused: bool,
    eof: bool,
    write_closed: bool,
    producer: Option<ProducerKind>,
    received: usize,
    timers: Vec<TimerId>,
}

impl Probe {
    fn new(end: End, half_closeable: bool, shared: Rc<RefCell<Shared>>) -> Self {
        Self {
            end,
            half_closeable,
            shared,
            made: false,
            lost: 0,
            closed_self: false,
            half_closed: false,
            paused: false,
            eof: false,
            write_closed: false,
            producer: None,
            received: 0,
            timers: Vec::new(),
        }
    }

    fn violation(&self, what: String) {
        self.shared
            .borrow_mut()
            .violations
            .push(format!("{}: {what}", self.end));
    }

    /// Checks common to every callback; marks the stack.
    fn enter(&self, callback: &str) {
        let depth = {
            let mut shared = self.shared.borrow_mut();
            shared.depth += 1;
            shared.depth
        };
        if depth > 1 {
            self.violation(format!(
                "{callback} while another callback was on the stack"
            ));
        }
        if !self.made && callback != "connection_made" {
            self.violation(format!("{callback} before connection_made"));
        }
        if self.lost > 0 {
            self.violation(format!("{callback} after connection_lost"));
        }
    }

    fn leave(&self) {
        self.shared.borrow_mut().depth -= 1;
    }

    /// A callback that has a transport: the common checks, then `check`, then the next
    /// deferred action.
    fn callback(&mut self, name: &str, tx: &mut Transport<'_>, check: impl FnOnce(&mut Self)) {
        self.enter(name);
        check(self);
        self.deferred(tx);
        self.leave();
    }

    /// Does the next deferred action, if any.
    fn deferred(&mut self, tx: &mut Transport<'_>) {
        let next = self.shared.borrow_mut().pending[self.end.index()].pop_front();
        if let Some(action) = next {
            self.perform(action, tx);
        }
    }

    fn perform(&mut self, action: Action, tx: &mut Transport<'_>) {
        match action {
            Action::Write(n) => {
                let bytes = {
                    let mut shared = self.shared.borrow_mut();
                    let wrote = &mut shared.wrote[self.end.index()];
                    let start = wrote.len();
                    wrote.extend((start..start + usize::from(n)).map(|i| pattern(self.end, i)));
                    Bytes::copy_from_slice(&wrote[start..])
                };
                tx.write_bytes(bytes);
            }
            Action::Close => {
                tx.lose_connection();
                self.closed_self = true;
            }
            Action::Abort => {
                tx.abort_connection();
                self.closed_self = true;
            }
            Action::HalfClose => {
                tx.lose_write_connection();
                self.half_closed = true;
            }
            Action::Fail => {
                tx.fail("scripted failure");
                self.closed_self = true;
            }
            Action::PauseReading => {
                tx.pause_reading();
                self.paused = true;
            }
            Action::ResumeReading => {
                tx.resume_reading();
                self.paused = false;
            }
            Action::CallLater(ms) => self
                .timers
                .push(tx.call_later(Duration::from_millis(u64::from(ms)))),
            Action::CancelTimer => {
                if let Some(timer) = self.timers.pop() {
                    tx.cancel(timer);
                }
            }
            Action::RegisterPush | Action::RegisterPull => {
                let kind = if action == Action::RegisterPush {
                    ProducerKind::Push
                } else {
                    ProducerKind::Pull
                };
                tx.register_producer(kind);
                self.producer.get_or_insert(kind);
            }
            Action::Unregister => {
                tx.unregister_producer();
                self.producer = None;
            }
        }
    }

    fn check_data(&mut self, data: &[u8]) {
        if data.is_empty() {
            self.violation("data_received with an empty piece".into());
        }
        if self.closed_self {
            self.violation("data_received after its own lose/abort/fail".into());
        }
        if self.paused {
            self.violation("data_received while reading was paused".into());
        }
        if self.eof {
            self.violation("data_received after the peer's EOF".into());
        }
        let expected = {
            let shared = self.shared.borrow();
            let wrote = &shared.wrote[self.end.peer().index()];
            let end = (self.received + data.len()).min(wrote.len());
            wrote[self.received.min(end)..end] == *data
        };
        if !expected {
            self.violation(format!(
                "received {} bytes at offset {} that are not the next bytes the peer wrote",
                data.len(),
                self.received
            ));
        }
        self.received += data.len();
    }
}

impl Protocol for Probe {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.callback("connection_made", tx, |p| {
            if p.made {
                p.violation("connection_made twice".into());
            }
            p.made = true;
        });
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.callback("data_received", tx, |p| p.check_data(&data));
    }

    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.callback("read_connection_lost", tx, |p| {
            if !p.half_closeable {
                p.violation("read_connection_lost on an end that is not half-closeable".into());
            }
            if p.eof {
                p.violation("read_connection_lost twice".into());
            }
            if p.paused {
                p.violation("read_connection_lost (EOF) while reading was paused".into());
            }
            p.eof = true;
        });
    }

    fn write_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.callback("write_connection_lost", tx, |p| {
            if !p.half_closed {
                p.violation("write_connection_lost without lose_write_connection".into());
            }
            if p.write_closed {
                p.violation("write_connection_lost twice".into());
            }
            p.write_closed = true;
        });
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.enter("connection_lost");
        if self.paused && !self.closed_self && *reason == Reason::Done {
            self.violation("lost with Done (the peer's EOF) while reading was paused".into());
        }
        self.lost += 1;
        self.leave();
    }

    fn timer_fired(&mut self, timer: TimerId, tx: &mut Transport<'_>) {
        self.callback("timer_fired", tx, |p| {
            match p.timers.iter().position(|&t| t == timer) {
                Some(i) => {
                    p.timers.remove(i);
                }
                None => p.violation(format!("timer_fired({timer}) for a timer not pending")),
            }
        });
    }

    fn pause_producing(&mut self, tx: &mut Transport<'_>) {
        self.callback("pause_producing", tx, |p| {
            if p.producer != Some(ProducerKind::Push) {
                p.violation("pause_producing without a registered push producer".into());
            }
        });
    }

    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        self.callback("resume_producing", tx, |p| {
            if p.producer.is_none() {
                p.violation("resume_producing without a registered producer".into());
            }
        });
    }

    fn stop_producing(&mut self) {
        self.enter("stop_producing");
        if self.producer.is_none() {
            self.violation("stop_producing without a registered producer".into());
        }
        self.leave();
    }

    fn half_closeable(&self) -> bool {
        self.half_closeable
    }

    fn log_prefix(&self) -> std::borrow::Cow<'static, str> {
        match self.end {
            End::Client => "probe-c".into(),
            End::Server => "probe-s".into(),
        }
    }
}

/// Calls `f` on `end`'s probe with its transport, as the test.
fn act(pair: &mut Pair<Probe, Probe>, end: End, f: impl FnOnce(&mut Probe, &mut Transport<'_>)) {
    match end {
        End::Client => pair.with_client(f),
        End::Server => pair.with_server(f),
    }
}

fn probe_of(pair: &Pair<Probe, Probe>, end: End) -> &Probe {
    match end {
        End::Client => pair.client(),
        End::Server => pair.server(),
    }
}

/// Byte `i` of what `end` writes: a sequence that does not repeat within 251 bytes, different
/// for each end.
fn pattern(end: End, i: usize) -> u8 {
    let tag = match end {
        End::Client => 0,
        End::Server => 0x80,
    };
    (i % 251) as u8 ^ tag
}

fn end_literal(end: End) -> &'static str {
    match end {
        End::Client => "End::Client",
        End::Server => "End::Server",
    }
}

impl fmt::Debug for Action {
    /// The Rust expression that builds it: `Action::Write(3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Write(n) => return write!(f, "Action::Write({n})"),
            Self::CallLater(ms) => return write!(f, "Action::CallLater({ms})"),
            Self::Close => "Close",
            Self::Abort => "Abort",
            Self::HalfClose => "HalfClose",
            Self::Fail => "Fail",
            Self::PauseReading => "PauseReading",
            Self::ResumeReading => "ResumeReading",
            Self::CancelTimer => "CancelTimer",
            Self::RegisterPush => "RegisterPush",
            Self::RegisterPull => "RegisterPull",
            Self::Unregister => "Unregister",
        };
        write!(f, "Action::{name}")
    }
}

impl fmt::Debug for Op {
    /// The Rust expression that builds it: `Op::Now(End::Client, Action::Write(3))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Now(end, a) => write!(f, "Op::Now({}, {a:?})", end_literal(*end)),
            Self::Later(end, a) => write!(f, "Op::Later({}, {a:?})", end_literal(*end)),
            Self::Chunk(end, plan) => write!(f, "Op::Chunk({}, {plan})", end_literal(*end)),
            Self::RunUntilIdle => f.write_str("Op::RunUntilIdle"),
            Self::Advance(ms) => write!(f, "Op::Advance({ms})"),
        }
    }
}

impl fmt::Debug for Scenario {
    /// The Rust expression that builds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scenario::new([")?;
        for (i, op) in self.ops.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{op:?}")?;
        }
        f.write_str("])")?;
        for end in [End::Client, End::Server] {
            if self.is_half_closeable(end) {
                write!(f, ".half_closeable({}, true)", end_literal(end))?;
            }
        }
        Ok(())
    }
}

#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
impl<'a> arbitrary::Arbitrary<'a> for Op {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let end = |u: &mut arbitrary::Unstructured<'a>| -> arbitrary::Result<End> {
            Ok(if u.arbitrary()? {
                End::Server
            } else {
                End::Client
            })
        };
        Ok(match u.int_in_range(0u8..=11)? {
            0..=3 => Self::Now(end(u)?, u.arbitrary()?),
            4..=7 => Self::Later(end(u)?, u.arbitrary()?),
            8 => Self::Chunk(end(u)?, u.arbitrary()?),
            9 | 10 => Self::RunUntilIdle,
            _ => Self::Advance(u.int_in_range(0..=40)?),
        })
    }
}

#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
impl<'a> arbitrary::Arbitrary<'a> for Scenario {
    /// Two bytes of flags (which ends are half-closeable), then up to 64 steps.
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let flags: u8 = u.arbitrary()?;
        let mut ops = Vec::new();
        while ops.len() < 64 && !u.is_empty() {
            ops.push(u.arbitrary()?);
        }
        Ok(Self::new(ops)
            .half_closeable(End::Client, flags & 1 != 0)
            .half_closeable(End::Server, flags & 2 != 0))
    }
}
