//! The oracle of the async adapters, `read_invariant` and its kin in `adapters::tokio` and
//! `adapters::futures`: an async reader runs over a fresh [`SimStream`] per plan and policy, on
//! a minimal executor of its own, and its output is compared with that of the input whole.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;

use super::{Delivery, SimPeer, SimStream};
use crate::check::{Divergence, Invariant};
use crate::chunking::Chunking;
use crate::event::TRANSCRIPT_TAIL;

// ----- a minimal executor --------------------------------------------------------------------

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls limit for [`block_on`]: a future that keeps waking itself this often is stuck.
const POLL_LIMIT: usize = 1_000_000;

/// Why [`block_on`] gave up on a future.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stuck {
    /// It returned `Pending` without having been woken: nothing in the simulation can wake it
    /// any more.
    NeverWoken,
    /// It was still `Pending` after [`POLL_LIMIT`] polls, woken before each: it keeps waking
    /// itself and never finishes.
    PollLimit,
}

/// Run `fut` on this thread until it completes, or until it is [`Stuck`].
fn block_on<F: Future>(fut: F) -> Result<F::Output, Stuck> {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    for _ in 0..POLL_LIMIT {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Ok(out);
        }
        if !flag.0.swap(false, Ordering::SeqCst) {
            return Err(Stuck::NeverWoken);
        }
    }
    Err(Stuck::PollLimit)
}

// ----- the oracle --------------------------------------------------------------------------

/// What one run of an async reader produced, as the oracle compares it.
struct Run<T> {
    /// What the future returned, or why it never did.
    output: Result<T, Stuck>,
    /// What the reader wrote back to the peer.
    written: Bytes,
    /// The run, for its transcript (not compared).
    peer: SimPeer,
}

impl<T: PartialEq> PartialEq for Run<T> {
    fn eq(&self, other: &Self) -> bool {
        self.output == other.output && self.written == other.written
    }
}

impl<T: fmt::Debug> fmt::Debug for Run<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Run");
        match &self.output {
            Ok(out) => s.field("output", out),
            Err(Stuck::NeverWoken) => {
                s.field("output", &format_args!("stalled (Pending, never woken)"))
            }
            Err(Stuck::PollLimit) => s.field(
                "output",
                &format_args!(
                    "still Pending after {POLL_LIMIT} polls, woken before each (the executor's \
                     bound: it keeps waking itself and never finishes)"
                ),
            ),
        };
        s.field(
            "written",
            &format_args!("{}", crate::event::Escaped(&self.written)),
        )
        .finish()
    }
}

/// Run `reader` over a fresh stream whose peer delivers `input` cut by `plan`, then closes.
fn run_reader<Fut: Future>(
    input: &[u8],
    plan: &Chunking,
    delivery: Delivery,
    reader: &impl Fn(SimStream) -> Fut,
) -> Run<Fut::Output> {
    let (stream, peer) = SimStream::builder().delivery(delivery).build();
    if !input.is_empty() {
        peer.deliver(input, plan.clone());
    }
    peer.close();
    let output = block_on(reader(stream));
    Run {
        output,
        written: peer.take_written(),
        peer,
    }
}

/// The adapter's module path, for replay lines: `piecemeal::adapters::tokio`.
pub(crate) type Module = &'static str;

fn replay(module: Module, literal: &str, plan: &Chunking, delivery: Delivery) -> String {
    format!(
        "{module}::assert_read_plan({literal}, piecemeal::{plan}, \
         {module}::{delivery}, reader)"
    )
}

/// One run per plan, boxed to keep the oracle's type nameable.
type RunFn<'a, T> = Box<dyn Fn(&[u8], &Chunking) -> Run<T> + 'a>;

/// The oracle for one policy. The reference (the whole plan) is always read eagerly; under
/// starved delivery `per_write` stands for the input in one piece.
fn oracle<'a, Fut>(
    module: Module,
    delivery: Delivery,
    reader: &'a impl Fn(SimStream) -> Fut,
) -> Invariant<RunFn<'a, Fut::Output>, Run<Fut::Output>>
where
    Fut: Future,
    Fut::Output: PartialEq + fmt::Debug,
{
    let run: RunFn<'a, Fut::Output> = Box::new(move |input: &[u8], plan: &Chunking| {
        let delivery = if plan.is_whole() {
            Delivery::Eager
        } else {
            delivery
        };
        run_reader(input, plan, delivery, reader)
    });
    Invariant::new(run)
        .subject(format!("the async reader ({delivery})"))
        .result_name("output")
        .replay(move |literal, plan| replay(module, literal, plan, delivery))
        .transcript(|run: &Run<Fut::Output>| run.peer.transcript_tail(TRANSCRIPT_TAIL))
}

/// Every plan the search tries, under both delivery policies, against the input whole under
/// eager delivery.
pub(crate) fn check_read<Fut>(
    module: Module,
    input: &[u8],
    reader: impl Fn(SimStream) -> Fut,
) -> Result<(), Divergence>
where
    Fut: Future,
    Fut::Output: PartialEq + fmt::Debug,
{
    oracle(module, Delivery::Eager, &reader).check(input)?;
    let starved = oracle(module, Delivery::Starved, &reader);
    starved.check_plan(input, Chunking::per_write())?;
    starved.check(input)
}

/// One plan under one policy against the input whole under eager delivery.
pub(crate) fn check_read_plan<Fut>(
    module: Module,
    input: &[u8],
    plan: Chunking,
    delivery: Delivery,
    reader: impl Fn(SimStream) -> Fut,
) -> Result<(), Divergence>
where
    Fut: Future,
    Fut::Output: PartialEq + fmt::Debug,
{
    let plan = if plan.is_whole() && delivery == Delivery::Starved {
        Chunking::per_write()
    } else {
        plan
    };
    oracle(module, delivery, &reader).check_plan(input, plan)
}

/// Both delivery policies, for `proptest!`.
#[cfg(feature = "proptest")]
pub(crate) fn delivery_strategy() -> impl proptest::strategy::Strategy<Value = Delivery> + Clone {
    proptest::sample::select(vec![Delivery::Eager, Delivery::Starved])
}

/// The oracle functions of `adapters::tokio` and `adapters::futures`: one definition for both
/// (the stream type is shared), with the module's name in the docs' examples.
macro_rules! async_oracles {
    ($module:literal, $read_ext:literal) => {
        #[doc = "Checks that an async reader gives the same output (and writes back the same bytes)"]
        #[doc = "whatever the chunking of its input and whichever the [`Delivery`] policy; panics with the"]
        #[doc = "report of the [`Divergence`](crate::check::Divergence) otherwise."]
        #[doc = ""]
        #[doc = "`reader` gets a fresh [`SimStream`] whose peer has delivered `input` cut by one plan and"]
        #[doc = "then closed, and returns a future (run to completion on a minimal single-threaded"]
        #[doc = "executor, so it needs no runtime). Its output is compared with that of the input whole"]
        #[doc = "under [`Delivery::Eager`]: first under every plan the search tries with eager delivery,"]
        #[doc = "then with [`Delivery::Starved`] (one piece, then every plan). A future that returns"]
        #[doc = "`Pending` with nothing left to wake it counts as *stalled*, an output like any other;"]
        #[doc = "so does one still `Pending` after a million polls, woken before each."]
        #[doc = "The search is that of [`check::Invariant`](crate::check::Invariant): every plan for"]
        #[doc = "inputs up to 16 bytes, fewest cuts first."]
        #[doc = ""]
        #[doc = "# Examples"]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("use piecemeal::adapters::", $module, " as adapter;")]
        #[doc = concat!("use ", $read_ext, ";")]
        #[doc = "use adapter::SimStream;"]
        #[doc = ""]
        #[doc = "/// Reads everything (correct: loops until a read returns 0)."]
        #[doc = "async fn read_all(mut stream: SimStream) -> Vec<u8> {"]
        #[doc = "    let mut out = Vec::new();"]
        #[doc = "    stream.read_to_end(&mut out).await.unwrap();"]
        #[doc = "    out"]
        #[doc = "}"]
        #[doc = ""]
        #[doc = "adapter::read_invariant(b\"hello, world\", read_all);"]
        #[doc = "```"]
        #[doc = ""]
        #[doc = "# Panics"]
        #[doc = ""]
        #[doc = "If some plan or policy changes the output, with the full report."]
        #[track_caller]
        pub fn read_invariant<F, Fut>(input: impl AsRef<[u8]>, reader: F)
        where
            F: Fn($crate::adapters::stream::SimStream) -> Fut,
            Fut: ::std::future::Future,
            Fut::Output: PartialEq + ::std::fmt::Debug,
        {
            if let Err(divergence) = check_read(input, reader) {
                panic!("{divergence}");
            }
        }

        #[doc = "[`read_invariant`] that returns the [`Divergence`](crate::check::Divergence) instead of panicking."]
        #[doc = ""]
        #[doc = "# Errors"]
        #[doc = ""]
        #[doc = "The [`Divergence`](crate::check::Divergence) with the fewest cuts found (its subject names the delivery policy);"]
        #[doc = "its `Display` is the full report."]
        pub fn check_read<F, Fut>(input: impl AsRef<[u8]>, reader: F) -> Result<(), $crate::check::Divergence>
        where
            F: Fn($crate::adapters::stream::SimStream) -> Fut,
            Fut: ::std::future::Future,
            Fut::Output: PartialEq + ::std::fmt::Debug,
        {
            $crate::adapters::stream::oracle::check_read(concat!("piecemeal::adapters::", $module), input.as_ref(), reader)
        }

        #[doc = "Compares one plan under one delivery policy with the input whole under eager delivery:"]
        #[doc = "the form to call from inside `proptest!` (with `?`, see [`delivery`]) or in a regression"]
        #[doc = "test."]
        #[doc = ""]
        #[doc = "# Examples"]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("use piecemeal::adapters::", $module, " as adapter;")]
        #[doc = concat!("use ", $read_ext, ";")]
        #[doc = "use adapter::{Delivery, SimStream};"]
        #[doc = "use piecemeal::{strategy, Chunking};"]
        #[doc = "use proptest::prelude::*;"]
        #[doc = ""]
        #[doc = "async fn read_all(mut stream: SimStream) -> Vec<u8> {"]
        #[doc = "    let mut out = Vec::new();"]
        #[doc = "    stream.read_to_end(&mut out).await.unwrap();"]
        #[doc = "    out"]
        #[doc = "}"]
        #[doc = ""]
        #[doc = "adapter::check_read_plan(b\"abc\", Chunking::every_byte(), Delivery::Starved, read_all).unwrap();"]
        #[doc = ""]
        #[doc = "proptest!(|((input, plan) in strategy::chunked(\"[a-z]{0,12}\"), delivery in adapter::delivery())| {"]
        #[doc = "    adapter::check_read_plan(&input, plan, delivery, read_all)?;"]
        #[doc = "});"]
        #[doc = "```"]
        #[doc = ""]
        #[doc = "# Errors"]
        #[doc = ""]
        #[doc = "A [`Divergence`](crate::check::Divergence) if the output differs; it converts into a proptest `TestCaseError` with"]
        #[doc = "`?`."]
        pub fn check_read_plan<F, Fut>(
            input: impl AsRef<[u8]>,
            chunking: $crate::chunking::Chunking,
            delivery: $crate::adapters::stream::Delivery,
            reader: F,
        ) -> Result<(), $crate::check::Divergence>
        where
            F: Fn($crate::adapters::stream::SimStream) -> Fut,
            Fut: ::std::future::Future,
            Fut::Output: PartialEq + ::std::fmt::Debug,
        {
            $crate::adapters::stream::oracle::check_read_plan(concat!("piecemeal::adapters::", $module), input.as_ref(), chunking, delivery, reader)
        }

        #[doc = "[`check_read_plan`] that panics with the report: the regression test a failure report"]
        #[doc = "tells you to paste."]
        #[doc = ""]
        #[doc = "# Panics"]
        #[doc = ""]
        #[doc = "If the output under `chunking` and `delivery` differs from the input whole."]
        #[track_caller]
        pub fn assert_read_plan<F, Fut>(
            input: impl AsRef<[u8]>,
            chunking: $crate::chunking::Chunking,
            delivery: $crate::adapters::stream::Delivery,
            reader: F,
        ) where
            F: Fn($crate::adapters::stream::SimStream) -> Fut,
            Fut: ::std::future::Future,
            Fut::Output: PartialEq + ::std::fmt::Debug,
        {
            if let Err(divergence) = check_read_plan(input, chunking, delivery, reader) {
                panic!("{divergence}");
            }
        }

        #[doc = "Both [`Delivery`] policies, for `proptest!` (feature `proptest`)."]
        #[cfg(feature = "proptest")]
        #[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
        pub fn delivery() -> impl proptest::strategy::Strategy<Value = $crate::adapters::stream::Delivery> + Clone {
            $crate::adapters::stream::oracle::delivery_strategy()
        }
    };
}
pub(crate) use async_oracles;
