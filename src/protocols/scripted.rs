//! [`Scripted`]: a peer driven by a [`Script`] of steps (expect, send, wait, close…).

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pretty_assertions::StrComparison;

use super::common::{ByteLit, Short};
use crate::clock::TimerId;
use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// A list of steps for a [`Scripted`] peer: a value, built in code, printed as the code that
/// builds it, compared with `==`.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::Script;
/// use std::time::Duration;
///
/// let script = Script::new()
///     .expect(b"HELLO\r\n")
///     .send(b"hi\r\n")
///     .wait(Duration::from_millis(20))
///     .close();
/// assert_eq!(
///     script.to_string(),
///     r#"Script::new().expect(b"HELLO\r\n").send(b"hi\r\n").wait(Duration::from_millis(20)).close()"#
/// );
/// assert_eq!(script.len(), 4);
/// assert_eq!(script.clone(), script);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Script {
    steps: Vec<Step>,
}

/// One step of a [`Script`].
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Step {
    /// Wait until this many bytes have arrived (however they are cut), then compare them with
    /// these; a mismatch fails the test.
    Expect(Bytes),
    /// Wait for the peer's EOF (its close or half-close), with nothing received before it.
    ExpectEof,
    /// Write these bytes.
    Send(Bytes),
    /// Let this much virtual time pass (a timer; the harness must run or advance the clock).
    Wait(Duration),
    /// Close the write half (`lose_write_connection`) and keep reading.
    HalfClose,
    /// Close the connection (`lose_connection`).
    Close,
    /// Reset the connection (`abort_connection`).
    Abort,
}

impl Script {
    /// An empty script.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Then expect exactly `data` from the peer: bytes accumulate until `data.len()` have
    /// arrived, whatever the chunking, and are then compared. Bytes beyond count toward the
    /// next expectation.
    #[must_use]
    pub fn expect(self, data: impl AsRef<[u8]>) -> Self {
        self.then(Step::Expect(Bytes::copy_from_slice(data.as_ref())))
    }

    /// Then expect the peer's EOF, with no bytes before it.
    #[must_use]
    pub fn expect_eof(self) -> Self {
        self.then(Step::ExpectEof)
    }

    /// Then write `data`.
    #[must_use]
    pub fn send(self, data: impl AsRef<[u8]>) -> Self {
        self.then(Step::Send(Bytes::copy_from_slice(data.as_ref())))
    }

    /// Then wait `d` of virtual time.
    #[must_use]
    pub fn wait(self, d: Duration) -> Self {
        self.then(Step::Wait(d))
    }

    /// Then close the write half.
    #[must_use]
    pub fn half_close(self) -> Self {
        self.then(Step::HalfClose)
    }

    /// Then close the connection.
    #[must_use]
    pub fn close(self) -> Self {
        self.then(Step::Close)
    }

    /// Then reset the connection.
    #[must_use]
    pub fn abort(self) -> Self {
        self.then(Step::Abort)
    }

    /// Then `step`.
    #[must_use]
    pub fn then(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// The steps, in order.
    #[must_use]
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// How many steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there are no steps.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Script::new()")?;
        for step in &self.steps {
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Step {
    /// The builder call that adds this step: `.expect(b"…")`, `.close()`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expect(b) => write!(f, ".expect({})", ByteLit(b)),
            Self::ExpectEof => f.write_str(".expect_eof()"),
            Self::Send(b) => write!(f, ".send({})", ByteLit(b)),
            Self::Wait(d) => write!(f, ".wait({})", DurationLit(*d)),
            Self::HalfClose => f.write_str(".half_close()"),
            Self::Close => f.write_str(".close()"),
            Self::Abort => f.write_str(".abort()"),
        }
    }
}

/// A duration as the `Duration::from_…` call that builds it.
struct DurationLit(Duration);

impl fmt::Display for DurationLit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "Duration::from_secs({})", d.as_secs())
        } else if d.as_nanos().is_multiple_of(1_000_000) {
            write!(f, "Duration::from_millis({})", d.as_millis())
        } else if d.as_nanos().is_multiple_of(1_000) {
            write!(f, "Duration::from_micros({})", d.as_micros())
        } else {
            write!(f, "Duration::from_nanos({})", d.as_nanos())
        }
    }
}

/// A peer that plays a [`Script`]: sends, expects, waits and closes in order, and fails the test
/// when the other end does not do what the script expects.
///
/// Steps run as soon as they can: sends, closes and aborts at once, one after the other; an
/// expectation waits until enough bytes have arrived (whatever the chunking), then compares;
/// a wait schedules a timer (so the harness must [`run`](crate::Harness::run) or
/// [`advance`](crate::Harness::advance)). It is half-closeable: the other end's EOF satisfies
/// an [`expect_eof`](Script::expect_eof), and once the script is used up it closes the
/// connection in answer, like a plain protocol.
///
/// # Failures
///
/// It panics, naming the step (its number and its literal) and the whole script literal, when:
/// - the bytes of an expectation differ (the message holds a `pretty_assertions` diff of the
///   expected and received bytes, escaped, a line per `\n`);
/// - the EOF arrives while it expects bytes, or bytes arrive while it expects the EOF;
/// - bytes arrive after the script was used up;
/// - the connection ends while steps are left;
/// - it is dropped while steps are left (checked in `Drop`, skipped while the thread is already
///   panicking).
///
/// A protocol cannot see the event log, so the transcript comes from the harness: a panic in a
/// callback continues, under the default [`PanicPolicy::Propagate`](crate::PanicPolicy), with
/// the transcript attached (the harness names the end, the callback and the step). A drop check
/// has no harness left to ask; to get the transcript there, call
/// [`assert_done`](Self::assert_done) before the face is dropped and print
/// [`Harness::transcript`](crate::Harness::transcript) yourself. Under
/// [`PanicPolicy::LoseConnection`](crate::PanicPolicy::LoseConnection) a failure ends its
/// connection with [`Reason::Panicked`] and is raised again at drop, unless
/// [`disarm`](Self::disarm)ed.
///
/// # Examples
///
/// A greeting exchange against a server under test, at every cut:
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::protocols::{Script, Scripted};
/// use piecemeal::{Chunking, Pair, Protocol, Reason, Transport};
///
/// /// Greets, then answers one `PING`.
/// struct Server(Vec<u8>);
/// impl Protocol for Server {
///     fn connection_made(&mut self, tx: &mut Transport<'_>) {
///         tx.write("HELLO\r\n");
///     }
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         self.0.extend_from_slice(&data);
///         if self.0 == b"PING\r\n" {
///             tx.write("PONG\r\n");
///         }
///     }
/// }
///
/// let script = Script::new().expect(b"HELLO\r\n").send(b"PING\r\n").expect(b"PONG\r\n").close();
/// for chunking in [Chunking::whole(), Chunking::every_byte(), Chunking::cuts([3])] {
///     let client = Scripted::new(script.clone());
///     let mut pair = Pair::new(client, Server(Vec::new()))
///         .client_to_server(chunking.clone())
///         .server_to_client(chunking);
///     pair.run();
///     assert!(pair.client().is_done());
///     assert_eq!(pair.lost(piecemeal::End::Server), Some(&Reason::Done));
/// }
/// ```
///
/// A mismatch fails with a diff:
///
/// ```should_panic
/// use piecemeal::protocols::{Script, Scripted};
/// use piecemeal::{Chunking, Harness};
///
/// let mut h = Harness::new(Scripted::new(Script::new().expect(b"HELLO\r\n")));
/// h.deliver(b"HELP!\r\n", Chunking::every_byte()); // panics: step 1 of 1 .expect(b"HELLO\r\n") …
/// ```
#[derive(Debug)]
pub struct Scripted {
    script: Script,
    next: usize,
    name: String,
    buffer: BytesMut,
    eof: bool,
    timer: Option<TimerId>,
    reason: Option<Reason>,
    failure: Option<String>,
    armed: bool,
}

impl Scripted {
    /// A peer that plays `script`.
    #[must_use]
    pub fn new(script: Script) -> Self {
        Self {
            script,
            next: 0,
            name: "Scripted".into(),
            buffer: BytesMut::new(),
            eof: false,
            timer: None,
            reason: None,
            failure: None,
            armed: true,
        }
    }

    /// Label this end `name` in transcripts and failure messages (default `Scripted`).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Turn off the checks at drop: for a test that provokes a failure under
    /// [`PanicPolicy::LoseConnection`](crate::PanicPolicy::LoseConnection) and inspects it with
    /// [`failure`](Self::failure), or that stops a script half-way on purpose.
    pub fn disarm(&mut self) {
        self.armed = false;
    }

    /// The script.
    #[must_use]
    pub fn script(&self) -> &Script {
        &self.script
    }

    /// The steps not yet done (the first one is the step it is waiting on, if any).
    #[must_use]
    pub fn remaining(&self) -> &[Step] {
        &self.script.steps[self.next.min(self.script.steps.len())..]
    }

    /// Whether every step was done.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.next >= self.script.steps.len()
    }

    /// Bytes received that no expectation has taken yet.
    #[must_use]
    pub fn unmatched(&self) -> &[u8] {
        &self.buffer
    }

    /// The failure it raised, if any (useful when a panic policy caught it).
    #[must_use]
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }

    /// Check that every step was done.
    ///
    /// # Panics
    ///
    /// If steps are left, naming the next one and the script.
    #[track_caller]
    pub fn assert_done(&self) {
        if let Some(message) = self.leftover() {
            panic!("{message}");
        }
    }

    fn leftover(&self) -> Option<String> {
        if let Some(failure) = &self.failure {
            return Some(format!(
                "{failure}\n(raised earlier; disarm() to inspect it yourself)"
            ));
        }
        let step = self.remaining().first()?;
        let mut msg = format!(
            "Scripted `{}`: {} of {} steps left, waiting at step {} {step}\n  script: {}",
            self.name,
            self.script.len() - self.next,
            self.script.len(),
            self.next + 1,
            self.script,
        );
        msg.push_str(&format!(
            "\n  received and not matched: {}",
            Short(&self.buffer)
        ));
        if let Some(reason) = &self.reason {
            msg.push_str(&format!("\n  connection lost: {reason}"));
        }
        Some(msg)
    }

    /// Run every step that can run now.
    fn advance(&mut self, tx: &mut Transport<'_>) {
        while let Some(step) = self.script.steps.get(self.next).cloned() {
            match step {
                Step::Send(data) => tx.write_bytes(data),
                Step::HalfClose => tx.lose_write_connection(),
                Step::Close => tx.lose_connection(),
                Step::Abort => tx.abort_connection(),
                Step::Wait(d) => {
                    if self.timer.is_none() {
                        self.timer = Some(tx.call_later(d));
                    }
                    return;
                }
                Step::Expect(want) => {
                    if self.buffer.len() < want.len() {
                        if self.eof {
                            let got = self.buffer.clone();
                            self.fail(
                                "the peer's EOF arrived while bytes were expected",
                                &want,
                                &got,
                            );
                        }
                        return;
                    }
                    let got = self.buffer.split_to(want.len());
                    if got != want[..] {
                        self.fail("received other bytes", &want, &got);
                    }
                }
                Step::ExpectEof => {
                    if !self.buffer.is_empty() {
                        let got = self.buffer.clone();
                        self.fail("received bytes while the EOF was expected", b"", &got);
                    }
                    if !self.eof {
                        return;
                    }
                }
            }
            self.next += 1;
        }
        if self.eof && !self.buffer.is_empty() {
            let got = self.buffer.clone();
            self.fail("received bytes after the end of the script", b"", &got);
        }
        if self.eof && !tx.is_closing() {
            tx.lose_connection();
        }
    }

    fn fail(&mut self, what: &str, want: &[u8], got: &[u8]) -> ! {
        let step = self
            .script
            .steps
            .get(self.next)
            .map_or_else(|| "(after the last step)".to_owned(), ToString::to_string);
        let want_text = format!("{:#}", ByteLit(want));
        let got_text = format!("{:#}", ByteLit(got));
        let message = format!(
            "Scripted `{}`: step {} of {} {step}: {what}\n  script: {}\n  expected (left) and \
             received (right):\n{}",
            self.name,
            self.next + 1,
            self.script.len(),
            self.script,
            StrComparison::new(&want_text, &got_text),
        );
        self.failure = Some(message.clone());
        panic!("{message}");
    }
}

impl Protocol for Scripted {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.advance(tx);
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buffer.extend_from_slice(&data);
        if self.is_done() {
            let got = self.buffer.clone();
            self.fail("received bytes after the end of the script", b"", &got);
        }
        self.advance(tx);
    }

    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.eof = true;
        self.advance(tx);
    }

    fn timer_fired(&mut self, timer: TimerId, tx: &mut Transport<'_>) {
        if self.timer == Some(timer) {
            self.timer = None;
            self.next += 1;
            self.advance(tx);
        }
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
        if self.failure.is_none()
            && let Some(message) = self.leftover()
        {
            self.failure = Some(message.clone());
            panic!("{message}");
        }
    }

    fn half_closeable(&self) -> bool {
        true
    }

    fn log_prefix(&self) -> std::borrow::Cow<'static, str> {
        self.name.clone().into()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        if !self.armed || std::thread::panicking() {
            return;
        }
        if let Some(message) = self.leftover() {
            panic!("{message}\n  (checked when the Scripted peer was dropped)");
        }
    }
}
