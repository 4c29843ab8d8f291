//! The chunking-invariance oracle: a protocol behaves the same however its bytes are cut.
//!
//! [`Invariance`] (and its one-line forms [`chunking_invariant`] and [`same_as_whole`]) runs
//! a protocol on an input delivered whole through a [`Harness`], then under other chunkings,
//! fewest cuts first, and compares what the protocol did: its normalised events
//! ([`EventLog::normalized`](crate::EventLog::normalized): data runs folded, so only behaviour
//! counts, not how the bytes were cut), the bytes it wrote, and optionally any state you
//! [`observe`](Invariance::observe). [`Outbound`] does the same for the other direction: it
//! re-cuts what a protocol writes toward a peer protocol in a [`Pair`].
//!
//! What a protocol *received* is not compared, only that it received something between the
//! same other events: how much reaches a protocol before it closes or pauses reading depends
//! on the cuts (real TCP stops reading at `lose_connection`), and what it made of it shows in
//! everything else.
//!
//! [`lifecycle_contract`] is the other property here: a [`Scenario`] of random operations,
//! done by the test or from inside callbacks, through a [`Pair`] of probes that check the
//! lifecycle contract at every callback.
//!
//! A failure is a [`Divergence`]: the input, the chunking with the fewest cuts that shows it,
//! the first event that differs and the bytes around each cut, a diff of the two runs, the
//! transcript, and a line to paste into a regression test.
//!
//! # For any subject: [`Invariant`]
//!
//! The same search and the same [`Divergence`] report work for code that is not a
//! [`Protocol`]: give [`Invariant::new`] a function that runs the subject on an input cut by a
//! plan and returns any `PartialEq + Debug` value; the check compares it with the whole-input
//! run under every plan the search tries. The [`adapters`](crate::adapters) are built on it.
//!
//! ```
//! use piecemeal::check::Invariant;
//! use piecemeal::Chunking;
//!
//! // Sums the pieces' byte counts: the same under every plan.
//! let oracle = Invariant::new(|input: &[u8], plan: &Chunking| {
//!     plan.pieces(input.len()).into_iter().map(|r| r.len()).sum::<usize>()
//! })
//! .subject("the summer") // "the summer behaves differently when ..."
//! .result_name("sum") // "sum, < whole / > cut by ..."
//! .replay(|input, plan| format!("sum_plan({input}, piecemeal::{plan})"))
//! .transcript(|sum: &usize| format!("summed {sum} bytes"));
//! oracle.assert(b"hello");
//! assert!(oracle.check_plan(b"hello", Chunking::every_byte()).is_ok());
//! ```

mod contract;
mod invariant;
mod report;
mod search;

use std::fmt::{self, Debug};

use bytes::Bytes;

pub use self::contract::*;
pub use self::invariant::Invariant;
pub use self::report::Divergence;
use self::report::Side;
use self::search::{Search, search};
use crate::chunking::Chunking;
use crate::config::{Config, PanicPolicy};
use crate::event::{End, Event, TRANSCRIPT_TAIL};
use crate::harness::Harness;
use crate::pair::Pair;
use crate::protocol::Protocol;

/// Checks that a protocol behaves the same under every chunking the search tries as when its
/// input arrives whole; panics with the report of the [`Divergence`] otherwise.
///
/// Shorthand for `Invariance::new(factory).assert(input)`: the default search (every plan
/// for inputs up to 16 bytes; else every plan with one cut, every plan with two cuts up to
/// 5,000 of them, every fixed size up to 64 and 64 seeded plans), the connection left open
/// after the input.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{check, Protocol, Transport};
///
/// /// Answers each `\n`-terminated line with its length.
/// #[derive(Default)]
/// struct LineLength(usize);
///
/// impl Protocol for LineLength {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         for &b in &data {
///             if b == b'\n' {
///                 tx.write(format!("{}\n", self.0));
///                 self.0 = 0;
///             } else {
///                 self.0 += 1;
///             }
///         }
///     }
/// }
///
/// check::chunking_invariant(b"hello\nworld\n", LineLength::default);
/// ```
///
/// # Panics
///
/// If some chunking makes the protocol behave differently, with the full report.
#[track_caller]
pub fn chunking_invariant<P, F>(input: impl AsRef<[u8]>, factory: F)
where
    P: Protocol,
    F: Fn() -> P,
{
    Invariance::new(factory).assert(input);
}

/// Compares one chunking of `input` with the whole input: the form to call from inside
/// `proptest!` (with `?`), from a fuzz target, or in a regression test.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{check, strategy, Protocol, Transport};
/// use proptest::prelude::*;
///
/// struct Upper;
/// impl Protocol for Upper {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         tx.write(data.to_ascii_uppercase());
///     }
/// }
///
/// proptest!(|((input, plan) in strategy::chunked("[a-z ]{0,24}"))| {
///     check::same_as_whole(&input, plan, || Upper)?;
/// });
/// ```
///
/// # Errors
///
/// A [`Divergence`] if the protocol behaved differently under `chunking`. It converts into a
/// proptest `TestCaseError` with `?`, and its `Display` is the full report.
pub fn same_as_whole<P, F>(
    input: impl AsRef<[u8]>,
    chunking: Chunking,
    factory: F,
) -> Result<(), Divergence>
where
    P: Protocol,
    F: Fn() -> P,
{
    Invariance::new(factory).check_plan(input, chunking)
}

/// [`same_as_whole`] that panics with the report: the regression test a failure report tells
/// you to paste.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{check, Chunking, Protocol, Transport};
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         tx.write_bytes(data);
///     }
/// }
///
/// check::assert_same_as_whole(b"\r\n", Chunking::cuts([1]), || Echo);
/// ```
///
/// # Panics
///
/// If the protocol behaves differently under `chunking` than with the input whole.
#[track_caller]
pub fn assert_same_as_whole<P, F>(input: impl AsRef<[u8]>, chunking: Chunking, factory: F)
where
    P: Protocol,
    F: Fn() -> P,
{
    Invariance::new(factory).assert_plan(input, chunking);
}

/// Checks that a peer protocol sees the same thing however the protocol under test's writes
/// are cut; panics with the report otherwise. Shorthand for
/// `Outbound::new(proto, peer).assert()`.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{check, Protocol, Transport};
///
/// /// Sends a greeting and closes.
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, tx: &mut Transport<'_>) {
///         tx.write("hello\r\nworld\r\n");
///         tx.lose_connection();
///     }
///     fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
/// }
///
/// /// Counts complete lines.
/// #[derive(Default)]
/// struct LineCounter { partial: Vec<u8>, lines: usize }
/// impl Protocol for LineCounter {
///     fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
///         self.partial.extend_from_slice(&data);
///         while let Some(i) = self.partial.windows(2).position(|w| w == b"\r\n") {
///             self.partial.drain(..i + 2);
///             self.lines += 1;
///         }
///     }
/// }
///
/// check::outbound_invariant(|| Greeter, LineCounter::default);
/// ```
///
/// # Panics
///
/// If the peer (or the protocol) behaves differently under some chunking of the protocol's
/// writes, with the full report.
#[track_caller]
pub fn outbound_invariant<P, Q, F, G>(proto: F, peer: G)
where
    P: Protocol,
    Q: Protocol,
    F: Fn() -> P,
    G: Fn() -> Q,
{
    Outbound::new(proto, peer).assert();
}

/// What the test peer does once it has delivered the input, in every run of an
/// [`Invariance`] check.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Finish {
    /// Nothing: the connection stays open, so what the protocol still holds is not compared
    /// unless you [`observe`](Invariance::observe) it.
    #[default]
    StayOpen,
    /// The peer closes ([`Harness::peer_close`]).
    Close,
    /// The peer closes its write half ([`Harness::peer_half_close`]).
    HalfClose,
    /// The peer resets the connection ([`Harness::peer_abort`]).
    Abort,
}

/// One run of an [`Outbound`] check.
struct PairRun<V> {
    outcome: Outcome<V>,
    transcript: String,
    raw: Vec<Vec<Event>>,
}

impl<V> PairRun<V> {
    /// What the protocol under test wrote: the writes in its normalised events (the first
    /// end compared), joined. Computed when asked: only the uncut run's is used.
    fn written(&self) -> Bytes {
        let mut all = Vec::new();
        for event in &self.outcome.ends[0].1 {
            if let Event::Wrote(b) = event {
                all.extend_from_slice(b);
            }
        }
        all.into()
    }
}

/// What one run produced, as compared between chunkings.
struct Outcome<V> {
    /// Per compared end: its name and its normalised events.
    ends: Vec<(String, Vec<Event>)>,
    /// The bytes that reached the peer.
    written: Bytes,
    observed: V,
}

impl<V: PartialEq> PartialEq for Outcome<V> {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
            && self.ends.len() == other.ends.len()
            && (self.ends.iter().zip(&other.ends))
                .all(|((_, a), (_, b))| first_difference(a, b).is_none())
            && self.observed == other.observed
    }
}

/// The index of the first event where two normalised runs differ, if they do. What was
/// received is not compared, only that something was: how much reaches a protocol before it
/// closes or pauses reading depends on the cuts (real TCP stops reading at a close), and what
/// it does with it shows in the other events.
fn first_difference(a: &[Event], b: &[Event]) -> Option<usize> {
    let same =
        |x: &Event, y: &Event| matches!((x, y), (Event::Received(_), Event::Received(_))) || x == y;
    let i = a.iter().zip(b).take_while(|(x, y)| same(x, y)).count();
    (i < a.len().max(b.len())).then_some(i)
}

/// The chunking-invariance oracle for one protocol: runs it on an input delivered whole, then
/// under other chunkings, and reports the first that changes what it does.
///
/// Every run builds a fresh protocol with the factory, delivers the input through a
/// [`Harness`] cut by one plan, does the [`Finish`] step, and compares with the whole run:
/// the protocol's normalised events (connected, data folded, closes, timers, misuse,
/// `connection_lost` and its reason), the bytes that reached the peer, and what
/// [`observe`](Self::observe) returns. What the protocol *received* is compared only as "it
/// received something here": how much reaches a protocol before it closes or pauses reading
/// depends on the cuts (real TCP stops reading at `lose_connection`), and what it made of it
/// shows in everything else. Plans come fewest cuts first — every plan with one
/// cut, then with two (at most [`budget`](Self::budget) of them, picked by a fixed seed when
/// there are more), then (for inputs of at most 16 bytes) every other plan; for longer
/// inputs, `every_byte`, every fixed size up to 64 and 64 seeded plans, and a failure found
/// there is shrunk by removing cuts one at a time while it still fails. So the reported plan
/// has the fewest cuts the search could find.
///
/// Unless you pass your own [`config`](Self::config), runs use
/// [`PanicPolicy::LoseConnection`], so a panic under one chunking shows up as a difference
/// (`lost: panicked: …`) instead of ending the search.
///
/// The harness runs until idle and does not move time: timers the protocol schedules do not
/// fire.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::check::{Finish, Invariance};
/// use piecemeal::{Protocol, Transport};
///
/// /// Collects `\n`-terminated lines; buggy: forgets a partial line between pieces.
/// #[derive(Default)]
/// struct Lines { partial: Vec<u8>, lines: Vec<String> }
///
/// impl Protocol for Lines {
///     fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
///         for &b in &data {
///             if b == b'\n' {
///                 self.lines.push(String::from_utf8_lossy(&self.partial).into_owned());
///                 self.partial.clear();
///             } else {
///                 self.partial.push(b);
///             }
///         }
///         self.partial.clear(); // the bug
///     }
/// }
///
/// let oracle = Invariance::new(Lines::default)
///     .observe(|p: &Lines| p.lines.clone())
///     .finish(Finish::Close);
/// let divergence = oracle.check(b"ab\ncd\n").unwrap_err();
/// assert_eq!(divergence.chunking().to_string(), "Chunking::cuts([1])");
/// assert!(divergence.to_string().contains("cut at offset 1"));
/// ```
pub struct Invariance<F, O> {
    factory: F,
    observe: O,
    finish: Finish,
    config: Config,
    search: Search,
    observing: bool,
}

impl<P, F> Invariance<F, fn(&P)>
where
    P: Protocol,
    F: Fn() -> P,
{
    /// An oracle for the protocols `factory` builds (one per run), with the default search,
    /// nothing observed beyond events and written bytes, and [`Finish::StayOpen`].
    #[must_use]
    pub fn new(factory: F) -> Self {
        Self {
            factory,
            observe: |_| {},
            finish: Finish::StayOpen,
            config: Config::new().panic_policy(PanicPolicy::LoseConnection),
            search: Search::default(),
            observing: false,
        }
    }
}

impl<F, O> Invariance<F, O> {
    /// Also compare `observe(&protocol)` after each run: the state a protocol keeps without
    /// writing it (parsed messages, counters). The value must be `PartialEq + Debug`.
    #[must_use]
    pub fn observe<P, V, O2>(self, observe: O2) -> Invariance<F, O2>
    where
        F: Fn() -> P,
        O2: Fn(&P) -> V,
    {
        Invariance {
            factory: self.factory,
            observe,
            finish: self.finish,
            config: self.config,
            search: self.search,
            observing: true,
        }
    }

    /// What the peer does after delivering the input (default [`Finish::StayOpen`]).
    #[must_use]
    pub fn finish(mut self, finish: Finish) -> Self {
        self.finish = finish;
        self
    }

    /// The harness settings for every run (default: [`Config::new`] with
    /// [`PanicPolicy::LoseConnection`]).
    ///
    /// # Panics
    ///
    /// With [`Config::record`]`(false)`: the runs' event logs are part of what is compared.
    #[must_use]
    #[track_caller]
    pub fn config(mut self, config: Config) -> Self {
        self.config = recording(config, "Invariance");
        self
    }

    search::search_setters!();
}

impl<P, V, F, O> Invariance<F, O>
where
    P: Protocol,
    V: PartialEq + Debug,
    F: Fn() -> P,
    O: Fn(&P) -> V,
{
    /// Search for a chunking of `input` under which the protocol behaves differently than with
    /// the input whole.
    ///
    /// # Errors
    ///
    /// The [`Divergence`] with the fewest cuts found; its `Display` is the full report.
    pub fn check(&self, input: impl AsRef<[u8]>) -> Result<(), Divergence> {
        let input = Bytes::copy_from_slice(input.as_ref());
        let whole = self.run(&input, &Chunking::whole()).0;
        let found = search(&self.search, input.len(), &whole, |plan| {
            self.run(&input, plan).0
        });
        match found {
            None => Ok(()),
            Some((plan, tried)) => Err(self.divergence(&input, &whole, plan, tried)),
        }
    }

    /// Compare one chunking of `input` with the whole input.
    ///
    /// # Errors
    ///
    /// A [`Divergence`] if the protocol behaved differently under `chunking`.
    pub fn check_plan(
        &self,
        input: impl AsRef<[u8]>,
        chunking: Chunking,
    ) -> Result<(), Divergence> {
        let input = Bytes::copy_from_slice(input.as_ref());
        let whole = self.run(&input, &Chunking::whole()).0;
        if self.run(&input, &chunking).0 == whole {
            return Ok(());
        }
        Err(self.divergence(&input, &whole, chunking, 0))
    }

    /// [`check`](Self::check), panicking with the report.
    ///
    /// # Panics
    ///
    /// If some chunking makes the protocol behave differently.
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
    /// If the protocol behaves differently under `chunking`.
    #[track_caller]
    pub fn assert_plan(&self, input: impl AsRef<[u8]>, chunking: Chunking) {
        if let Err(divergence) = self.check_plan(input, chunking) {
            panic!("{divergence}");
        }
    }

    fn run(&self, input: &Bytes, plan: &Chunking) -> (Outcome<V>, Harness<P>) {
        let mut h = Harness::new((self.factory)()).config(self.config.clone());
        h.deliver_bytes(input.clone(), plan.clone());
        match self.finish {
            Finish::StayOpen => &mut h,
            Finish::Close => h.peer_close(),
            Finish::HalfClose => h.peer_half_close(),
            Finish::Abort => h.peer_abort(),
        };
        let (conn, end) = (h.conn(), h.end());
        let name = format!("{end} {}", h.log().label(conn, end));
        let events = h.log().normalized_end(conn, end);
        let outcome = Outcome {
            ends: vec![(name, events)],
            written: h.take_written(),
            observed: (self.observe)(h.protocol()),
        };
        (outcome, h)
    }

    fn divergence(
        &self,
        input: &Bytes,
        whole: &Outcome<V>,
        plan: Chunking,
        tried: usize,
    ) -> Divergence {
        let (cut, h) = self.run(input, &plan);
        let mut replay = String::from("piecemeal::check::");
        let plain = self.finish == Finish::StayOpen && !self.observing;
        if plain {
            replay.push_str("assert_same_as_whole(");
        } else {
            replay.push_str("Invariance::new(factory)");
            if self.observing {
                replay.push_str(".observe(observe)");
            }
            if self.finish != Finish::StayOpen {
                replay.push_str(&format!(".finish(Finish::{:?})", self.finish));
            }
            replay.push_str(".assert_plan(");
        }
        replay.push_str(&format!(
            "{}, piecemeal::{plan}{})",
            report::literal(input),
            if plain { ", factory" } else { "" }
        ));
        Divergence::new(report::Parts {
            subject: format!("{} behaves", h.log().label(h.conn(), h.end())),
            stream: "its input".into(),
            input: input.clone(),
            plan,
            tried,
            whole: side(whole, self.observing),
            cut: side(&cut, self.observing),
            raw: vec![h.log().events(h.conn(), h.end()).cloned().collect()],
            observed_as: "observed state".into(),
            transcript: h.log().transcript_tail(TRANSCRIPT_TAIL).to_string(),
            replay,
        })
    }
}

/// The outbound form of the oracle: re-cuts what a protocol writes toward a peer protocol in
/// a [`Pair`], and compares what both ends did with what they did when the writes arrived as
/// they were made.
///
/// Each run builds both protocols, connects them (the protocol under test as the server,
/// unless built with [`client`](Self::client)), cuts the protocol's outbound stream by one
/// plan, and runs the pair until nothing is left ([`Pair::run`], timers included). The
/// compared outcome is both ends' normalised events and what
/// [`observe`](Self::observe) returns. The plans are those of [`Invariance`], over the number
/// of bytes the protocol wrote in the uncut run.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::check::Outbound;
/// use piecemeal::{Protocol, Transport};
///
/// /// Sends two length-prefixed frames.
/// struct Frames;
/// impl Protocol for Frames {
///     fn connection_made(&mut self, tx: &mut Transport<'_>) {
///         tx.write(b"\x03abc\x02de");
///     }
///     fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
/// }
///
/// /// Reads length-prefixed frames; buggy: expects each frame in one piece.
/// #[derive(Default)]
/// struct Reader { frames: Vec<Vec<u8>> }
/// impl Protocol for Reader {
///     fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
///         let mut rest = &data[..];
///         while let Some((&len, tail)) = rest.split_first() {
///             let len = usize::from(len).min(tail.len());
///             self.frames.push(tail[..len].to_vec());
///             rest = &tail[len..];
///         }
///     }
/// }
///
/// let found = Outbound::new(|| Frames, Reader::default)
///     .observe(|_: &Frames, peer: &Reader| peer.frames.clone())
///     .check()
///     .unwrap_err();
/// assert_eq!(found.chunking().to_string(), "Chunking::cuts([1])");
/// ```
pub struct Outbound<F, G, O> {
    proto: F,
    peer: G,
    observe: O,
    proto_end: End,
    config: Config,
    search: Search,
    observing: bool,
}

impl<P, Q, F, G> Outbound<F, G, fn(&P, &Q)>
where
    P: Protocol,
    Q: Protocol,
    F: Fn() -> P,
    G: Fn() -> Q,
{
    /// The protocols `proto` builds, as the server, writing to those `peer` builds, as the
    /// client; their writes are re-cut on the way to the peer.
    #[must_use]
    pub fn new(proto: F, peer: G) -> Self {
        Self {
            proto,
            peer,
            observe: |_, _| {},
            proto_end: End::Server,
            config: Config::new().panic_policy(PanicPolicy::LoseConnection),
            search: Search::default(),
            observing: false,
        }
    }

    /// Like [`new`](Self::new), but the protocol under test is the client end (it connects;
    /// the peer's `connection_made` comes first).
    #[must_use]
    pub fn client(proto: F, peer: G) -> Self {
        Self {
            proto_end: End::Client,
            ..Self::new(proto, peer)
        }
    }
}

impl<F, G, O> Outbound<F, G, O> {
    /// Also compare `observe(&protocol, &peer)` after each run.
    #[must_use]
    pub fn observe<P, Q, V, O2>(self, observe: O2) -> Outbound<F, G, O2>
    where
        F: Fn() -> P,
        G: Fn() -> Q,
        O2: Fn(&P, &Q) -> V,
    {
        Outbound {
            proto: self.proto,
            peer: self.peer,
            observe,
            proto_end: self.proto_end,
            config: self.config,
            search: self.search,
            observing: true,
        }
    }

    /// The pair's settings for every run (default: [`Config::new`] with
    /// [`PanicPolicy::LoseConnection`]).
    ///
    /// # Panics
    ///
    /// With [`Config::record`]`(false)`: the runs' event logs are part of what is compared,
    /// and the protocol's writes, which the search cuts, are read from its log.
    #[must_use]
    #[track_caller]
    pub fn config(mut self, config: Config) -> Self {
        self.config = recording(config, "Outbound");
        self
    }

    search::search_setters!();
}

impl<P, Q, V, F, G, O> Outbound<F, G, O>
where
    P: Protocol,
    Q: Protocol,
    V: PartialEq + Debug,
    F: Fn() -> P,
    G: Fn() -> Q,
    O: Fn(&P, &Q) -> V,
{
    /// Search for a chunking of the protocol's writes under which either end behaves
    /// differently than when they arrive uncut.
    ///
    /// # Errors
    ///
    /// The [`Divergence`] with the fewest cuts found.
    pub fn check(&self) -> Result<(), Divergence> {
        let whole = self.run(&Chunking::whole(), false);
        let len = whole.written().len();
        let found = search(&self.search, len, &whole.outcome, |plan| {
            self.run(plan, false).outcome
        });
        match found {
            None => Ok(()),
            Some((plan, tried)) => Err(self.divergence(&whole, plan, tried)),
        }
    }

    /// Compare one chunking of the protocol's writes with the uncut run.
    ///
    /// # Errors
    ///
    /// A [`Divergence`] if either end behaved differently under `chunking`.
    pub fn check_plan(&self, chunking: Chunking) -> Result<(), Divergence> {
        let whole = self.run(&Chunking::whole(), false);
        if self.run(&chunking, false).outcome == whole.outcome {
            return Ok(());
        }
        Err(self.divergence(&whole, chunking, 0))
    }

    /// [`check`](Self::check), panicking with the report.
    ///
    /// # Panics
    ///
    /// If some chunking makes either end behave differently.
    #[track_caller]
    pub fn assert(&self) {
        if let Err(divergence) = self.check() {
            panic!("{divergence}");
        }
    }

    /// [`check_plan`](Self::check_plan), panicking with the report.
    ///
    /// # Panics
    ///
    /// If either end behaves differently under `chunking`.
    #[track_caller]
    pub fn assert_plan(&self, chunking: Chunking) {
        if let Err(divergence) = self.check_plan(chunking) {
            panic!("{divergence}");
        }
    }

    /// One run: the outcome, and with `detail` the transcript and each end's raw events.
    fn run(&self, plan: &Chunking, detail: bool) -> PairRun<V> {
        match self.proto_end {
            End::Server => {
                let pair = Pair::new((self.peer)(), (self.proto)()).server_to_client(plan.clone());
                self.finish(pair, detail, |pair| {
                    (self.observe)(pair.server(), pair.client())
                })
            }
            End::Client => {
                let pair = Pair::new((self.proto)(), (self.peer)()).client_to_server(plan.clone());
                self.finish(pair, detail, |pair| {
                    (self.observe)(pair.client(), pair.server())
                })
            }
        }
    }

    fn finish<C: Protocol, S: Protocol>(
        &self,
        pair: Pair<C, S>,
        detail: bool,
        observe: impl Fn(&Pair<C, S>) -> V,
    ) -> PairRun<V> {
        let mut pair = pair.config(self.config.clone());
        pair.run();
        let (log, conn) = (pair.log(), pair.conn());
        // The protocol under test first, then its peer.
        let order = [self.proto_end, self.proto_end.peer()];
        let ends: Vec<(String, Vec<Event>)> = (order.iter())
            .map(|&end| {
                let name = format!("{end} {}", log.label(conn, end));
                (name, log.normalized_end(conn, end))
            })
            .collect();
        let (transcript, raw) = if detail {
            let raw = (order.iter())
                .map(|&end| log.events(conn, end).cloned().collect())
                .collect();
            (log.transcript_tail(TRANSCRIPT_TAIL).to_string(), raw)
        } else {
            (String::new(), Vec::new())
        };
        PairRun {
            outcome: Outcome {
                ends,
                written: Bytes::new(),
                observed: observe(&pair),
            },
            transcript,
            raw,
        }
    }

    fn divergence(&self, whole: &PairRun<V>, plan: Chunking, tried: usize) -> Divergence {
        let cut = self.run(&plan, true);
        let mut replay = String::from("piecemeal::check::Outbound::");
        replay.push_str(match self.proto_end {
            End::Server => "new(proto, peer)",
            End::Client => "client(proto, peer)",
        });
        if self.observing {
            replay.push_str(".observe(observe)");
        }
        replay.push_str(&format!(".assert_plan(piecemeal::{plan})"));
        let proto = whole.outcome.ends[0].0.clone();
        let peer = whole.outcome.ends[1].0.clone();
        Divergence::new(report::Parts {
            subject: format!("{proto} and {peer} behave"),
            stream: format!("what {proto} writes"),
            input: whole.written(),
            plan,
            tried,
            whole: side(&whole.outcome, self.observing),
            cut: side(&cut.outcome, self.observing),
            raw: cut.raw,
            observed_as: "observed state".into(),
            transcript: cut.transcript,
            replay,
        })
    }
}

impl<F, O> Debug for Invariance<F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invariance")
            .field("finish", &self.finish)
            .field("config", &self.config)
            .field("search", &self.search)
            .finish_non_exhaustive()
    }
}

impl<F, G, O> Debug for Outbound<F, G, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("proto_end", &self.proto_end)
            .field("config", &self.config)
            .field("search", &self.search)
            .finish_non_exhaustive()
    }
}

fn side<V: Debug>(outcome: &Outcome<V>, observing: bool) -> Side {
    Side {
        ends: outcome.ends.clone(),
        written: outcome.written.clone(),
        observed: observing.then(|| format!("{:#?}", outcome.observed)),
    }
}

/// `config`, refused unless it records: [`Invariance`] and [`Outbound`] compare the runs'
/// event logs, and without them would compare less than they say, or (`Outbound`, which
/// finds the bytes to cut in the log) nothing at all.
#[track_caller]
fn recording(config: Config, oracle: &str) -> Config {
    assert!(
        config.is_recording(),
        "piecemeal: check::{oracle}::config with Config::record(false): the oracle compares \
         the runs' event logs, which a run without recording leaves empty; leave recording on"
    );
    config
}
