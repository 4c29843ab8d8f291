//! [`Invariant`]: the chunking-invariance oracle for any subject, not only protocols.

use std::fmt::{self, Debug};
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use bytes::Bytes;

use super::report::{self, Divergence, Parts, Side};
use super::search::{Search, search};
use crate::chunking::Chunking;
use crate::engine::panic_message;

/// The chunking-invariance oracle for any subject: a function of an input and a plan whose
/// result must not depend on the plan.
///
/// `run(input, chunking)` feeds `input` to the code under test cut by `chunking` (however that
/// code takes bytes: one `read` per piece, one `decode` call per piece, one `write` per
/// piece, ...) and returns what it made of it, any `PartialEq + Debug` value. The check runs it
/// once with [`Chunking::whole()`], then under other plans, fewest cuts first (the same search
/// as [`Invariance`](super::Invariance): every plan with one cut, then two, then every plan for
/// inputs up to 16 bytes; for longer ones `every_byte`, fixed sizes and seeded plans, a failure
/// shrunk by removing cuts), and reports the first plan whose result differs as a
/// [`Divergence`]: the input, the plan, the bytes around each cut, the first line of the
/// results' `{:#?}` that differs, a diff of the two, and a line to paste into a regression
/// test.
///
/// A panic in `run` is caught and compared as `panicked: <message>`, so a subject that panics
/// under one plan only is reported like any other difference (the panic message is still
/// printed by the panic hook).
///
/// The adapters ([`crate::adapters::io`], `codec`, ...) are built on this; use it directly for
/// code they do not cover.
///
/// # Examples
///
/// ```
/// use piecemeal::check::Invariant;
/// use piecemeal::Chunking;
///
/// /// Counts `\r\n` line ends in pieces; buggy: forgets a `\r` that ends a piece.
/// fn count_lines(pieces: impl Iterator<Item = Vec<u8>>) -> usize {
///     let mut count = 0;
///     for piece in pieces {
///         count += piece.windows(2).filter(|w| w == b"\r\n").count();
///     }
///     count
/// }
///
/// let oracle = Invariant::new(|input: &[u8], plan: &Chunking| {
///     count_lines(plan.pieces(input.len()).into_iter().map(|r| input[r].to_vec()))
/// });
/// let found = oracle.check(b"a\r\nb\r\n").unwrap_err();
/// assert_eq!(found.chunking(), &Chunking::cuts([2]));
/// assert!(found.to_string().contains(r#"cut at offset 2: b"a\r" | b"\nb\r\n""#));
/// ```
pub struct Invariant<F, O> {
    run: F,
    search: Search,
    subject: String,
    result_name: String,
    replay: Option<Replay>,
    transcript: Option<Transcript<O>>,
    outcome: PhantomData<fn() -> O>,
}

/// Writes the replay line from the input's literal and the failing plan.
type Replay = Box<dyn Fn(&str, &Chunking) -> String>;

/// Renders a run's transcript from its result.
type Transcript<O> = Box<dyn Fn(&O) -> String>;

impl<F, O> Invariant<F, O>
where
    F: Fn(&[u8], &Chunking) -> O,
    O: PartialEq + Debug,
{
    /// The oracle for `run`, with the default search (every plan for inputs up to 16 bytes;
    /// else every plan with one cut, every plan with two cuts up to 5,000 of them, every fixed
    /// size up to 64 and 64 seeded plans).
    #[must_use]
    pub fn new(run: F) -> Self {
        Self {
            run,
            search: Search::default(),
            subject: "the subject".into(),
            result_name: "result".into(),
            replay: None,
            transcript: None,
            outcome: PhantomData,
        }
    }

    /// What the report calls the code under test (default "the subject"): "`name` behaves
    /// differently when its input is cut by ...".
    #[must_use]
    pub fn subject(mut self, name: impl Into<String>) -> Self {
        self.subject = name.into();
        self
    }

    /// What the report calls the value `run` returns (default "result").
    #[must_use]
    pub fn result_name(mut self, name: impl Into<String>) -> Self {
        self.result_name = name.into();
        self
    }

    /// How the report's replay line is written: `replay(input_literal, plan)` (the input as a
    /// Rust byte-string literal, and the failing plan, whose `Display` is its Rust literal
    /// without the `piecemeal::` path). Default:
    /// `piecemeal::check::Invariant::new(run).assert_plan(b"...", piecemeal::Chunking::...)`.
    #[must_use]
    pub fn replay(mut self, replay: impl Fn(&str, &Chunking) -> String + 'static) -> Self {
        self.replay = Some(Box::new(replay));
        self
    }

    /// A transcript of a run, rendered from its result (which may carry more than its
    /// `PartialEq` compares: the calls made, their sizes): the report shows the failing run's.
    #[must_use]
    pub fn transcript(mut self, transcript: impl Fn(&O) -> String + 'static) -> Self {
        self.transcript = Some(Box::new(transcript));
        self
    }

    super::search::search_setters!();

    /// Search for a plan of `input` under which `run` returns something other than with the
    /// input whole.
    ///
    /// # Errors
    ///
    /// The [`Divergence`] with the fewest cuts found; its `Display` is the full report.
    pub fn check(&self, input: impl AsRef<[u8]>) -> Result<(), Divergence> {
        let input = input.as_ref();
        let whole = self.run(input, &Chunking::whole());
        match search(&self.search, input.len(), &whole, |plan| {
            self.run(input, plan)
        }) {
            None => Ok(()),
            Some((plan, tried)) => Err(self.divergence(input, &whole, plan, tried)),
        }
    }

    /// Compare one plan of `input` with the whole input: the form to call from inside
    /// `proptest!` (with `?`) or in a regression test.
    ///
    /// # Errors
    ///
    /// A [`Divergence`] if `run` returned something else under `chunking`.
    pub fn check_plan(
        &self,
        input: impl AsRef<[u8]>,
        chunking: Chunking,
    ) -> Result<(), Divergence> {
        let input = input.as_ref();
        let whole = self.run(input, &Chunking::whole());
        if self.run(input, &chunking) == whole {
            return Ok(());
        }
        Err(self.divergence(input, &whole, chunking, 0))
    }

    /// [`check`](Self::check), panicking with the report.
    ///
    /// # Panics
    ///
    /// If some plan makes `run` return something else.
    #[track_caller]
    pub fn assert(&self, input: impl AsRef<[u8]>) {
        if let Err(divergence) = self.check(input) {
            panic!("{divergence}");
        }
    }

    /// [`check_plan`](Self::check_plan), panicking with the report.
    ///
    /// # Panics
    ///
    /// If `run` returns something else under `chunking`.
    #[track_caller]
    pub fn assert_plan(&self, input: impl AsRef<[u8]>, chunking: Chunking) {
        if let Err(divergence) = self.check_plan(input, chunking) {
            panic!("{divergence}");
        }
    }

    /// One run, a panic caught as its message.
    fn run(&self, input: &[u8], plan: &Chunking) -> Result<O, String> {
        panic::catch_unwind(AssertUnwindSafe(|| (self.run)(input, plan)))
            .map_err(|payload| panic_message(payload.as_ref()))
    }

    fn divergence(
        &self,
        input: &[u8],
        whole: &Result<O, String>,
        plan: Chunking,
        tried: usize,
    ) -> Divergence {
        let cut = self.run(input, &plan);
        let literal = report::literal(input);
        let replay = match &self.replay {
            Some(replay) => replay(&literal, &plan),
            None => format!(
                "piecemeal::check::Invariant::new(run).assert_plan({literal}, piecemeal::{plan})"
            ),
        };
        let transcript = match (&self.transcript, &cut) {
            (Some(transcript), Ok(outcome)) => transcript(outcome),
            _ => String::new(),
        };
        Divergence::new(Parts {
            subject: format!("{} behaves", self.subject),
            stream: "its input".into(),
            input: Bytes::copy_from_slice(input),
            plan,
            tried,
            whole: side(whole),
            cut: side(&cut),
            raw: Vec::new(),
            observed_as: self.result_name.clone(),
            transcript,
            replay,
        })
    }
}

fn side<O: Debug>(outcome: &Result<O, String>) -> Side {
    Side {
        ends: Vec::new(),
        written: Bytes::new(),
        observed: Some(match outcome {
            Ok(o) => format!("{o:#?}"),
            Err(message) => format!("panicked: {message}"),
        }),
    }
}

impl<F, O> Debug for Invariant<F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invariant")
            .field("subject", &self.subject)
            .field("search", &self.search)
            .finish_non_exhaustive()
    }
}
