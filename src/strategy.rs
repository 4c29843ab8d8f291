//! proptest strategies for chunkings (feature `proptest`, on by default).
//!
//! [`chunking`] generates a plan for an input of known length as a set of cut offsets, drawn
//! with [`proptest::sample::subsequence`], so a failing case shrinks toward fewer cuts and, in
//! the end, toward [`Chunking::whole`].
//!
//! ```
//! use piecemeal::{Harness, Protocol, Transport};
//! use proptest::prelude::*;
//! use bytes::Bytes;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
//!         tx.write_bytes(data);
//!     }
//! }
//!
//! proptest!(|(plan in piecemeal::strategy::chunking(12))| {
//!     let mut h = Harness::new(Echo);
//!     h.deliver(b"hello, world", plan);
//!     prop_assert_eq!(h.written(), b"hello, world");
//! });
//! ```

use proptest::sample::subsequence;
use proptest::strategy::{Just, Strategy, Union};

use crate::chunking::Chunking;

/// Any plan for an input of `len` bytes, as explicit cuts (`Chunking::cuts`), from no cut at
/// all to a cut after every byte. Shrinks by removing cuts.
#[must_use = "strategies do nothing unless used"]
pub fn chunking(len: usize) -> impl Strategy<Value = Chunking> + Clone {
    let inner: Vec<usize> = (1..len).collect();
    let max = inner.len();
    subsequence(inner, 0..=max).prop_map(Chunking::cuts)
}

/// A plan drawn from the named families — `whole`, `every_byte`, `fixed(1..=max)`,
/// `sizes`, `seeded` and explicit cuts within the first `max` bytes — for inputs of any
/// length. Shrinks toward `whole()`.
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
}
