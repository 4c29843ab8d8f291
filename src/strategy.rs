//! proptest strategies for chunkings (feature `proptest`, on by default).
//!
//! - [`chunked`] (**start here**): a payload from your strategy *and* a chunking of it,
//!   generated together so that they shrink together, toward the shortest payload and the
//!   fewest, earliest cuts that still fail.
//! - [`chunking`]: a plan for an input of known length.
//! - [`any_chunking`]: a plan from the named families (`fixed`, `sizes`, `seeded`, ...) for
//!   inputs of any length.
//! - [`schedule`]: an interleaving of a reactor's ready actions.
//! - [`scenario`] and [`op`]: scenarios for the lifecycle-contract driver
//!   [`check::lifecycle_contract`](crate::check::lifecycle_contract).
//!
//! # How a case shrinks
//!
//! [`chunked`] keeps a chunking as one "cut before this byte?" flag per payload byte, so a cut
//! belongs to the byte it precedes rather than to an absolute offset or a piece size. A
//! failing case shrinks in three phases:
//!
//! 1. **The payload, by its own strategy** (proptest's `vec` drops elements and simplifies
//!    them, a regex drops characters, ...). The flags follow their bytes: the longest common
//!    prefix and suffix of the old and new payload keep theirs, so dropping a byte moves every
//!    later cut one to the left, and the cut that mattered stays in front of the byte it was
//!    in front of.
//! 2. **The cuts**: removed one at a time, then each remaining one moved left, while the case
//!    still fails.
//! 3. **A search of what is left**: every sub-sequence of the payload's bytes with every cut
//!    set, shortest input first, then fewest cuts (at most 400 candidates). Greedy shrinking
//!    stops at local minima — `"a\n\r\n"` cut at 1 fails for the same bug as `"\r\n"` cut at
//!    1, but no single step leads from one to the other — and this last phase steps over
//!    them.
//!
//! That takes a line parser that drops a `\n` at the start of a piece down to the input
//! `"\r\n"` cut at offset 1, from any seed, where size lists and absolute offsets get stuck
//! on longer inputs whose cuts no longer fall between the `\r` and the `\n`:
//!
//! ```
//! use piecemeal::{check, strategy, Chunking};
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestError, TestRunner};
//! # use bytes::Bytes;
//! # use piecemeal::{Protocol, Transport};
//! # /// Echoes CRLF lines; drops a `\n` that starts a piece (the planted bug).
//! # #[derive(Default)]
//! # struct Lines(Vec<u8>);
//! # impl Protocol for Lines {
//! #     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
//! #         let data = data.strip_prefix(b"\n").unwrap_or(&data);
//! #         self.0.extend_from_slice(data);
//! #         while let Some(i) = self.0.windows(2).position(|w| w == b"\r\n") {
//! #             tx.write(self.0.drain(..i + 2).collect::<Vec<u8>>());
//! #         }
//! #     }
//! # }
//!
//! let payload = prop::collection::vec(prop::sample::select(b"ab\r\n".to_vec()), 0..24);
//! let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::default() });
//! let result = runner.run(&strategy::chunked(payload), |(input, plan)| {
//!     check::same_as_whole(&input, plan, Lines::default)?;
//!     Ok(())
//! });
//! match result {
//!     Err(TestError::Fail(_, minimal)) => assert_eq!(minimal, (b"\r\n".to_vec(), Chunking::cuts([1]))),
//!     other => panic!("expected a failure, got {other:?}"),
//! }
//! ```

use std::fmt;
use std::time::Duration;

use proptest::prelude::Rng;
use proptest::sample::select;
use proptest::strategy::{Just, NewTree, Strategy, Union, ValueTree};
use proptest::test_runner::{TestRng, TestRunner};

use crate::check::{Action, Op, Scenario};
use crate::chunking::Chunking;
use crate::event::End;
use crate::protocols::{Script, Step};
use crate::schedule::Schedule;

/// A payload from `payload` together with a chunking of it: `(bytes, chunking)`.
///
/// The chunking's cuts lie strictly inside the payload. A fresh case cuts densely (about
/// every other byte), sparsely or rarely, at random. The pair shrinks as one value (see the
/// [module docs](self)): first the payload, by `payload`'s own shrinking, with every cut
/// staying in front of the byte it preceded; then the cuts; then a bounded search of shorter
/// sub-inputs and cut sets. A failure therefore comes out as the shortest payload with the
/// fewest cuts.
///
/// Any payload whose value is bytes works: `Vec<u8>`, `String` (so a regex such as
/// `"[a-z\r\n]{0,32}"` is a payload strategy), `Bytes`. The last shrinking phase drops bytes
/// by itself, so a shrunk payload may no longer be one `payload` generates (a frame without
/// its header, half a UTF-8 character): right for chunking invariance, which must hold for
/// any bytes; for a property that needs well-formed payloads, use [`chunking`] with
/// `prop_flat_map` instead.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{check, strategy, Protocol, Transport};
/// use proptest::prelude::*;
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
/// proptest!(|((input, plan) in strategy::chunked("[a-z\n]{0,32}"))| {
///     check::same_as_whole(&input, plan, LineLength::default)?;
/// });
/// ```
#[must_use = "strategies do nothing unless used"]
pub fn chunked<S>(payload: S) -> impl Strategy<Value = (Vec<u8>, Chunking)>
where
    S: Strategy,
    S::Value: AsRef<[u8]>,
{
    Chunked { payload }
}

/// Any plan for an input of `len` bytes, as explicit cuts ([`Chunking::cuts`]) strictly inside
/// it, from no cut at all to a cut after every byte. Shrinks by removing cuts, then by moving
/// each remaining cut toward the start, so a failure ends with the fewest, earliest cuts.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{strategy, Harness, Protocol, Transport};
/// use proptest::prelude::*;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         tx.write_bytes(data);
///     }
/// }
///
/// proptest!(|(plan in strategy::chunking(12))| {
///     let mut h = Harness::new(Echo);
///     h.deliver(b"hello, world", plan);
///     prop_assert_eq!(h.written(), b"hello, world");
/// });
/// ```
#[must_use = "strategies do nothing unless used"]
pub fn chunking(len: usize) -> impl Strategy<Value = Chunking> + Clone {
    CutPlan { len }
}

/// A plan drawn from the named families — `whole`, `every_byte`, `fixed(1..=max)`,
/// `sizes`, `seeded` and explicit cuts within the first `max` bytes — for inputs of any
/// length. Shrinks toward `whole()`.
///
/// Use it where the input is not known up front (a [`Pair`](crate::Pair)'s directions, a
/// scenario's [`Op::Chunk`]); when it is, [`chunked`] and [`chunking`] shrink better.
#[must_use = "strategies do nothing unless used"]
pub fn any_chunking(max: usize) -> impl Strategy<Value = Chunking> + Clone {
    let max = max.max(1);
    Union::new_weighted(vec![
        (1, Just(Chunking::whole()).boxed()),
        (1, Just(Chunking::every_byte()).boxed()),
        (2, (1..=max).prop_map(Chunking::fixed).boxed()),
        (
            2,
            proptest::collection::vec(1..=max, 1..4)
                .prop_map(Chunking::sizes)
                .boxed(),
        ),
        (
            2,
            (proptest::num::u64::ANY, 1..=max)
                .prop_map(|(s, m)| Chunking::seeded(s, m))
                .boxed(),
        ),
        (2, chunking(max).boxed()),
    ])
}

/// A reactor [`Schedule`] as a list of choices (one per decision point where several actions
/// are ready, each below `width`), up to `max_decisions` long. Shrinks toward shorter lists of
/// smaller choices, that is toward the default order, [`Schedule::fifo`].
///
/// # Examples
///
/// ```
/// use piecemeal::strategy;
/// use proptest::prelude::*;
///
/// proptest!(|(schedule in strategy::schedule(16, 4))| {
///     prop_assert!(schedule.to_string().starts_with("Schedule::"));
/// });
/// ```
#[must_use = "strategies do nothing unless used"]
pub fn schedule(max_decisions: usize, width: u32) -> impl Strategy<Value = Schedule> + Clone {
    proptest::collection::vec(0..width.max(1), 0..=max_decisions).prop_map(Schedule::choices)
}

/// A script for a [`Scripted`](crate::protocols::Scripted) peer that drives the protocol under
/// test: up to `max_steps` sends (1 to 16 bytes each) and waits (up to 100 ms), then, perhaps,
/// one ending — a half-close, a close or an abort. It has no `expect` steps: what to expect
/// depends on the protocol under test, so add those yourself, or check the protocol's state
/// after the run. Shrinks toward fewer and shorter sends, no waits and no ending.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::{Accumulating, Scripted, Step};
/// use piecemeal::{strategy, Pair};
/// use proptest::prelude::*;
///
/// proptest!(|(script in strategy::script(6))| {
///     // Whatever the script does, the server gets what was sent, unless the script aborts.
///     let sent: Vec<u8> = script.steps().iter().flat_map(|s| match s {
///         Step::Send(b) => b.to_vec(),
///         _ => Vec::new(),
///     }).collect();
///     let aborts = script.steps().contains(&Step::Abort);
///     let mut pair = Pair::new(Scripted::new(script.clone()), Accumulating::new());
///     pair.run();
///     prop_assert!(pair.client().is_done(), "{script}");
///     if !aborts {
///         prop_assert_eq!(&pair.server().data()[..], &sent[..]);
///     }
/// });
/// ```
#[must_use = "strategies do nothing unless used"]
pub fn script(max_steps: usize) -> impl Strategy<Value = Script> + Clone {
    let step = proptest::prop_oneof![
        3 => proptest::collection::vec(proptest::num::u8::ANY, 1..=16).prop_map(|b| Step::Send(b.into())),
        1 => (0u64..=100).prop_map(|ms| Step::Wait(Duration::from_millis(ms))),
    ];
    let ending =
        proptest::option::weighted(0.5, select(vec![Step::HalfClose, Step::Close, Step::Abort]));
    (proptest::collection::vec(step, 0..=max_steps), ending).prop_map(|(steps, ending)| {
        steps
            .into_iter()
            .chain(ending)
            .fold(Script::new(), |script, step| script.then(step))
    })
}

/// One step of a lifecycle-contract scenario: an [`Action`] done by the test or deferred to a
/// callback, a chunking switch, or letting the pair run. Shrinks toward writes of the client.
#[must_use = "strategies do nothing unless used"]
pub fn op() -> impl Strategy<Value = Op> + Clone {
    let end = select(vec![End::Client, End::Server]);
    let action = proptest::prop_oneof![
        4 => (0u8..=96).prop_map(Action::Write),
        1 => Just(Action::Close),
        1 => Just(Action::Abort),
        1 => Just(Action::HalfClose),
        1 => Just(Action::Fail),
        1 => Just(Action::PauseReading),
        1 => Just(Action::ResumeReading),
        1 => (0u8..=20).prop_map(Action::CallLater),
        1 => Just(Action::CancelTimer),
        1 => Just(Action::RegisterPush),
        1 => Just(Action::RegisterPull),
        1 => Just(Action::Unregister),
    ];
    proptest::prop_oneof![
        4 => (end.clone(), action.clone()).prop_map(|(e, a)| Op::Now(e, a)),
        4 => (end.clone(), action).prop_map(|(e, a)| Op::Later(e, a)),
        1 => (end, any_chunking(8)).prop_map(|(e, c)| Op::Chunk(e, c)),
        2 => Just(Op::RunUntilIdle),
        1 => (0u8..=30).prop_map(Op::Advance),
    ]
}

/// A lifecycle-contract [`Scenario`] of up to `max_ops` steps, with each end half-closeable or
/// not. Shrinks by dropping steps, then simplifying each.
///
/// # Examples
///
/// ```
/// use piecemeal::{check, strategy};
/// use proptest::prelude::*;
///
/// proptest!(|(scenario in strategy::scenario(24))| {
///     check::lifecycle_contract(&scenario)?;
/// });
/// ```
#[must_use = "strategies do nothing unless used"]
pub fn scenario(max_ops: usize) -> impl Strategy<Value = Scenario> + Clone {
    let ops = proptest::collection::vec(op(), 0..=max_ops);
    (proptest::bool::ANY, proptest::bool::ANY, ops).prop_map(|(client, server, ops)| {
        Scenario::new(ops)
            .half_closeable(End::Client, client)
            .half_closeable(End::Server, server)
    })
}

/// A cut flag per byte, drawn at one of three densities.
fn random_mask(len: usize, rng: &mut TestRng) -> Vec<bool> {
    // 1 in 2, 1 in 8 or 1 in 32 bytes gets a cut before it.
    let shift = [1u32, 1, 3, 5][(rng.next_u32() % 4) as usize];
    let mut mask: Vec<bool> = (0..len)
        .map(|_| rng.next_u32() & ((1 << shift) - 1) == 0)
        .collect();
    if let Some(first) = mask.first_mut() {
        *first = false;
    }
    mask
}

/// Carries the cut flags of `old` over to `new`, a shrunk (or restored) version of it: the
/// common prefix and suffix keep their flags, the differing middle keeps them by position.
fn realign(old: &[u8], old_mask: &[bool], new: &[u8]) -> Vec<bool> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = (old.iter().rev().zip(new.iter().rev()))
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (old.len() - prefix - suffix, new.len() - prefix - suffix);
    let mut mask = Vec::with_capacity(new.len());
    mask.extend_from_slice(&old_mask[..prefix]);
    mask.extend((0..new_mid).map(|k| k < old_mid && old_mask[prefix + k]));
    mask.extend_from_slice(&old_mask[old.len() - suffix..]);
    if let Some(first) = mask.first_mut() {
        *first = false;
    }
    mask
}

fn plan_of(mask: &[bool]) -> Chunking {
    Chunking::cuts(
        mask.iter()
            .enumerate()
            .skip(1)
            .filter_map(|(i, &cut)| cut.then_some(i)),
    )
}

/// Shrinks a cut mask: removes cuts left to right, then moves each remaining one left.
#[derive(Clone, Debug)]
struct Cuts {
    mask: Vec<bool>,
    stage: Stage,
    undo: Option<Undo>,
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Try removing the first cut at or after this offset.
    Remove(usize),
    /// Try moving the first cut at or after this offset one byte to the left.
    Move(usize),
    Done,
}

#[derive(Clone, Copy, Debug)]
enum Undo {
    Removed(usize),
    Moved { from: usize },
}

impl Cuts {
    fn new(mask: Vec<bool>) -> Self {
        Self {
            mask,
            stage: Stage::Remove(1),
            undo: None,
        }
    }

    fn next_cut(&self, from: usize) -> Option<usize> {
        (from.max(1)..self.mask.len()).find(|&i| self.mask[i])
    }

    fn simplify(&mut self) -> bool {
        self.undo = None;
        loop {
            match self.stage {
                Stage::Remove(from) => match self.next_cut(from) {
                    Some(at) => {
                        self.mask[at] = false;
                        self.undo = Some(Undo::Removed(at));
                        self.stage = Stage::Remove(at + 1);
                        return true;
                    }
                    None => self.stage = Stage::Move(1),
                },
                Stage::Move(from) => match self.next_cut(from) {
                    Some(at) if at > 1 && !self.mask[at - 1] => {
                        self.mask.swap(at, at - 1);
                        self.undo = Some(Undo::Moved { from: at });
                        self.stage = Stage::Move(at - 1);
                        return true;
                    }
                    Some(at) => self.stage = Stage::Move(at + 1),
                    None => self.stage = Stage::Done,
                },
                Stage::Done => return false,
            }
        }
    }

    fn complicate(&mut self) -> bool {
        match self.undo.take() {
            Some(Undo::Removed(at)) => self.mask[at] = true,
            Some(Undo::Moved { from }) => {
                self.mask.swap(from, from - 1);
                self.stage = Stage::Move(from + 1);
            }
            None => return false,
        }
        true
    }
}

/// The strategy behind [`chunking`].
#[derive(Clone, Copy, Debug)]
struct CutPlan {
    len: usize,
}

impl Strategy for CutPlan {
    type Tree = CutPlanTree;
    type Value = Chunking;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(CutPlanTree(Cuts::new(random_mask(self.len, runner.rng()))))
    }
}

#[derive(Clone, Debug)]
struct CutPlanTree(Cuts);

impl ValueTree for CutPlanTree {
    type Value = Chunking;

    fn current(&self) -> Chunking {
        plan_of(&self.0.mask)
    }

    fn simplify(&mut self) -> bool {
        self.0.simplify()
    }

    fn complicate(&mut self) -> bool {
        self.0.complicate()
    }
}

/// The strategy behind [`chunked`].
#[derive(Clone, Debug)]
struct Chunked<S> {
    payload: S,
}

impl<S> Strategy for Chunked<S>
where
    S: Strategy,
    S::Value: AsRef<[u8]>,
{
    type Tree = ChunkedTree<S::Tree>;
    type Value = (Vec<u8>, Chunking);

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let payload = self.payload.new_tree(runner)?;
        let bytes = payload.current().as_ref().to_vec();
        let cuts = Cuts::new(random_mask(bytes.len(), runner.rng()));
        Ok(ChunkedTree {
            payload,
            bytes,
            cuts,
            phase: Phase::Payload { before: None },
        })
    }
}

/// Shrinks in three phases: the payload by its own strategy (cuts follow their bytes), then
/// the cuts, then a search of the smaller sub-inputs and cut sets, smallest first.
struct ChunkedTree<T> {
    payload: T,
    /// The current bytes, which `cuts.mask` is aligned with.
    bytes: Vec<u8>,
    cuts: Cuts,
    phase: Phase,
}

enum Phase {
    /// Shrinking the payload; `before` is the bytes and mask before the last step.
    Payload {
        before: Option<(Vec<u8>, Vec<bool>)>,
    },
    Cuts,
    /// Trying smaller candidates in order; `accepted` is the failing case to go back to,
    /// `trying` whether the current value is a candidate not yet judged.
    Smaller {
        candidates: Box<dyn Iterator<Item = (Vec<u8>, Vec<bool>)>>,
        accepted: (Vec<u8>, Vec<bool>),
        trying: bool,
        budget: usize,
    },
    Done,
}

impl<T> fmt::Debug for ChunkedTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedTree")
            .field("bytes", &bytes::Bytes::copy_from_slice(&self.bytes))
            .field("cuts", &plan_of(&self.cuts.mask))
            .finish_non_exhaustive()
    }
}

impl<T> ChunkedTree<T>
where
    T: ValueTree,
    T::Value: AsRef<[u8]>,
{
    fn follow_payload(&mut self, from: &(Vec<u8>, Vec<bool>)) {
        self.bytes = self.payload.current().as_ref().to_vec();
        self.cuts = Cuts::new(realign(&from.0, &from.1, &self.bytes));
    }

    fn set(&mut self, (bytes, mask): (Vec<u8>, Vec<bool>)) {
        self.bytes = bytes;
        self.cuts = Cuts::new(mask);
        self.cuts.stage = Stage::Done;
    }
}

impl<T> ValueTree for ChunkedTree<T>
where
    T: ValueTree,
    T::Value: AsRef<[u8]>,
{
    type Value = (Vec<u8>, Chunking);

    fn current(&self) -> Self::Value {
        (self.bytes.clone(), plan_of(&self.cuts.mask))
    }

    fn simplify(&mut self) -> bool {
        // Only called while the current value fails.
        if let Phase::Payload { before } = &mut self.phase {
            let from = (self.bytes.clone(), self.cuts.mask.clone());
            if self.payload.simplify() {
                *before = Some(from.clone());
                self.follow_payload(&from);
                return true;
            }
            self.phase = Phase::Cuts;
        }
        if let Phase::Cuts = self.phase {
            if self.cuts.simplify() {
                return true;
            }
            let accepted = (self.bytes.clone(), self.cuts.mask.clone());
            self.phase = Phase::Smaller {
                candidates: Box::new(smaller(&accepted.0, &accepted.1)),
                accepted,
                trying: false,
                budget: SEARCH_BUDGET,
            };
        }
        let Phase::Smaller {
            candidates,
            trying,
            budget,
            ..
        } = &mut self.phase
        else {
            return false;
        };
        if *trying || *budget == 0 {
            // The candidate fails: nothing smaller came before it, so it is the minimum.
            self.phase = Phase::Done;
            return false;
        }
        let Some(candidate) = candidates.next() else {
            self.phase = Phase::Done;
            return false;
        };
        *budget -= 1;
        *trying = true;
        self.set(candidate);
        true
    }

    fn complicate(&mut self) -> bool {
        match &mut self.phase {
            Phase::Payload { before } => {
                let Some(from) = before.take() else {
                    return false;
                };
                if !self.payload.complicate() {
                    return false;
                }
                *before = Some(from.clone());
                self.follow_payload(&from);
                true
            }
            Phase::Cuts => self.cuts.complicate(),
            Phase::Smaller {
                accepted, trying, ..
            } => {
                if !*trying {
                    return false;
                }
                *trying = false;
                let back = accepted.clone();
                self.set(back);
                true
            }
            Phase::Done => false,
        }
    }
}

/// Every sub-input of `bytes` (bytes dropped, order kept) with every cut set, smallest first:
/// by length, then number of cuts; only those smaller than `bytes` with `mask`'s cut count
/// (uncut inputs too, for properties that fail whatever the cuts).
fn smaller(bytes: &[u8], mask: &[bool]) -> impl Iterator<Item = (Vec<u8>, Vec<bool>)> + use<> {
    let bytes = bytes.to_vec();
    let n = bytes.len();
    let cuts = mask.iter().skip(1).filter(|&&c| c).count();
    (0..=n).flat_map(move |len| {
        let bytes = bytes.clone();
        let most = if len == n { cuts } else { len.max(1) };
        (0..most).flat_map(move |k| {
            let bytes = bytes.clone();
            Combinations::new(n, len).flat_map(move |keep| {
                let sub: Vec<u8> = keep.iter().map(|&i| bytes[i]).collect();
                Chunking::with_cuts(len, k).map(move |plan| {
                    let mut mask = vec![false; len];
                    for c in plan.cut_offsets(len) {
                        mask[c] = true;
                    }
                    (sub.clone(), mask)
                })
            })
        })
    })
}

/// The `k`-element subsets of `0..n`, as sorted index lists, in lexicographic order.
struct Combinations {
    n: usize,
    next: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Self {
        Self {
            n,
            next: (k <= n).then(|| (0..k).collect()),
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let k = current.len();
        let mut following = current.clone();
        if let Some(i) = (0..k).rev().find(|&i| following[i] < self.n - k + i) {
            following[i] += 1;
            for j in i + 1..k {
                following[j] = following[j - 1] + 1;
            }
            self.next = Some(following);
        }
        Some(current)
    }
}

/// The most candidates the last shrinking phase of [`chunked`] tries.
const SEARCH_BUDGET: usize = 400;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    use super::*;

    proptest! {
        #[test]
        fn cut_plans_stay_inside_the_input(plan in chunking(9)) {
            let pieces = plan.pieces(9);
            prop_assert_eq!(pieces.first().map(|r| r.start), Some(0));
            prop_assert_eq!(pieces.last().map(|r| r.end), Some(9));
            prop_assert!(pieces.iter().all(|r| !r.is_empty()));
        }

        #[test]
        fn named_plans_are_valid_literals(plan in any_chunking(6)) {
            prop_assert_eq!(plan.to_string().parse::<Chunking>(), Ok(plan));
        }

        #[test]
        fn chunked_cuts_stay_inside_the_payload(
            (input, plan) in chunked(proptest::collection::vec(any::<u8>(), 0..40))
        ) {
            prop_assert!(plan.cut_offsets(usize::MAX).iter().all(|&c| c < input.len()));
        }
    }

    #[test]
    fn shrinking_removes_cuts() {
        let mut runner = TestRunner::deterministic();
        let mut tree = chunking(8)
            .new_tree(&mut runner)
            .unwrap_or_else(|e| panic!("{e}"));
        while tree.simplify() {}
        assert_eq!(tree.current().cut_offsets(8), Vec::<usize>::new());
    }

    #[test]
    fn cuts_move_left_while_the_case_fails() {
        // Fails while there is a cut at or after 5: shrinks to the single cut at 5.
        let mut tree = Cuts::new(vec![false, true, false, false, false, true, false, true]);
        let fails = |mask: &[bool]| mask.iter().skip(5).any(|&c| c);
        loop {
            let more = if fails(&tree.mask) {
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !more {
                break;
            }
        }
        if !fails(&tree.mask) {
            assert!(tree.complicate() || fails(&tree.mask));
        }
        assert_eq!(plan_of(&tree.mask), Chunking::cuts([5]));
    }

    #[test]
    fn failures_that_ignore_the_cuts_shrink_to_no_cuts() {
        use proptest::test_runner::{Config, TestError};
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(Default::default()));
        let result = runner.run(&chunked("[a-z]{0,40}"), |(input, _plan)| {
            prop_assert!(!input.contains(&b'z'));
            Ok(())
        });
        match result {
            Err(TestError::Fail(_, minimal)) => {
                assert_eq!(minimal, (b"z".to_vec(), Chunking::whole()))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn realign_keeps_each_cut_with_its_byte() {
        let f = false;
        let t = true;
        // Dropping 'b' keeps the cut in front of 'c' (now offset 2 → 1).
        assert_eq!(realign(b"abc", &[f, f, t], b"ac"), [f, t]);
        // Dropping the first byte drops the flag that was ignored anyway.
        assert_eq!(realign(b"\r\n", &[f, t], b"\n"), [f]);
        // Changing a byte in place keeps every flag.
        assert_eq!(realign(b"abcd", &[f, t, f, t], b"aXcd"), [f, t, f, t]);
        // Growing back (complicate) leaves the new bytes uncut.
        assert_eq!(realign(b"ad", &[f, t], b"abcd"), [f, f, f, t]);
    }
}
