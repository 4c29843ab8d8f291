//! The shared core of every chunking-invariance check: which plans to try, in which order
//! (fewest cuts first), and how a failing plan is shrunk (by removing cuts). Every oracle
//! ([`Invariance`](super::Invariance), [`Outbound`](super::Outbound),
//! [`Invariant`](super::Invariant) and the adapters built on it) searches with [`search`].

use crate::chunking::Chunking;
use crate::rng::SplitMix64;

/// Which plans a check tries, and in which order.
#[derive(Clone, Debug)]
pub(crate) struct Search {
    pub(crate) exhaustive_up_to: usize,
    pub(crate) max_cuts: usize,
    pub(crate) budget: usize,
    pub(crate) seeded: usize,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            exhaustive_up_to: 16,
            max_cuts: 2,
            budget: 5_000,
            seeded: 64,
        }
    }
}

/// Runs plans fewest cuts first until one gives an outcome other than `whole`; returns that
/// plan, shrunk by removing cuts while it still diverges, and how many plans ran.
pub(crate) fn search<T: PartialEq>(
    s: &Search,
    len: usize,
    whole: &T,
    mut run: impl FnMut(&Chunking) -> T,
) -> Option<(Chunking, usize)> {
    let mut tried = 0usize;
    let mut diverges = |plan: &Chunking| {
        tried += 1;
        run(plan) != *whole
    };
    let found = plans(s, len).find(|plan| diverges(plan))?;
    // Shrink: drop cuts one at a time while the plan still diverges.
    let mut cuts = found.cut_offsets(len);
    let mut i = 0;
    while i < cuts.len() && cuts.len() > 1 {
        let mut fewer = cuts.clone();
        fewer.remove(i);
        if diverges(&Chunking::cuts(fewer.iter().copied())) {
            cuts = fewer;
        } else {
            i += 1;
        }
    }
    Some((Chunking::cuts(cuts), tried))
}

/// The plans a search tries, in order: one cut, two cuts, ... up to `max_cuts`; then every
/// other plan (short inputs) or every_byte, fixed sizes and seeded plans (long ones).
pub(crate) fn plans(s: &Search, len: usize) -> Box<dyn Iterator<Item = Chunking>> {
    let inner = len.saturating_sub(1);
    let mut swept = 1usize; // whole
    let mut sweeps: Vec<Box<dyn Iterator<Item = Chunking>>> = Vec::new();
    for k in 1..=s.max_cuts.min(inner) {
        let all = Chunking::with_cuts(len, k);
        match all.size_hint().1 {
            Some(count) if count <= s.budget => {
                swept = swept.saturating_add(count);
                sweeps.push(Box::new(all));
            }
            _ => sweeps.push(Box::new(sampled(len, k, s.budget))),
        }
    }
    let rest: Box<dyn Iterator<Item = Chunking>> = if len <= s.exhaustive_up_to {
        Box::new(Chunking::all(len).skip(swept))
    } else {
        let fixed = (2..len.min(65)).map(Chunking::fixed);
        let seeded = (0..s.seeded).map(move |i| {
            let max = SEEDED_MAX[i % SEEDED_MAX.len()];
            Chunking::seeded(i as u64, max)
        });
        Box::new(
            std::iter::once(Chunking::every_byte())
                .chain(fixed)
                .chain(seeded),
        )
    };
    Box::new(sweeps.into_iter().flatten().chain(rest))
}

/// `count` plans of exactly `k` cuts in a `len`-byte input, picked by a fixed seed.
fn sampled(len: usize, k: usize, count: usize) -> impl Iterator<Item = Chunking> {
    let mut rng = SplitMix64::new(0x5EED_u64 ^ ((len as u64) << 8) ^ k as u64);
    let mut next = move || rng.next_u64();
    (0..count).map(move |_| {
        let mut cuts: Vec<usize> = Vec::with_capacity(k);
        while cuts.len() < k {
            let cut = 1 + (next() % (len as u64 - 1)) as usize;
            if let Err(at) = cuts.binary_search(&cut) {
                cuts.insert(at, cut);
            }
        }
        Chunking::cuts(cuts)
    })
}

/// The `max` piece sizes seeded plans cycle through: dense to sparse.
const SEEDED_MAX: [usize; 8] = [2, 3, 4, 7, 16, 64, 300, 2000];

/// The search's settings, as by-value setters on each oracle builder that holds a `search:
/// Search` field (`Invariance`, `Outbound`, `Invariant`): one definition for all three.
macro_rules! search_setters {
    () => {
        /// Try every one of the `2^(len-1)` plans when the input has at most `len` bytes
        /// (default 16: 32,768 plans).
        #[must_use]
        pub fn exhaustive_up_to(mut self, len: usize) -> Self {
            self.search.exhaustive_up_to = len;
            self
        }

        /// Try every plan with up to `k` cuts, whatever the input's length (default 2), as
        /// long as there are at most [`budget`](Self::budget) of them per cut count; above
        /// that, `budget` of them picked by a fixed seed.
        #[must_use]
        pub fn max_cuts(mut self, k: usize) -> Self {
            self.search.max_cuts = k;
            self
        }

        /// The most plans per cut count in the [`max_cuts`](Self::max_cuts) sweeps (default
        /// 5,000: every two-cut plan of inputs up to 100 bytes).
        #[must_use]
        pub fn budget(mut self, plans: usize) -> Self {
            self.search.budget = plans.max(1);
            self
        }

        /// How many [`Chunking::seeded`](crate::Chunking::seeded) plans to try on inputs too
        /// long for the exhaustive search (default 64).
        #[must_use]
        pub fn seeded_plans(mut self, n: usize) -> Self {
            self.search.seeded = n;
            self
        }
    };
}
pub(super) use search_setters;
