//! [`Schedule`]: which ready action runs next when several are ready at once.
//!
//! By default the engine runs ready actions in the order in which they became ready
//! ([`Schedule::fifo`]). A schedule value picks among them instead, so a test can explore other
//! interleavings — of the two directions of a connection, of many connections, of timers and
//! deliveries — and replay any of them exactly from its literal.
//!
//! Only *decision points* consume the schedule: steps at which more than one action is ready.
//! At each, the candidates are ordered as the default would run them (oldest first), and the
//! schedule picks one by index:
//!
//! - [`Schedule::fifo`] always picks 0.
//! - [`Schedule::choices`]`([a, b, …])` picks `a % n` at the first decision point, `b % n` at
//!   the second, and 0 once the list runs out. A list of zeros is the default order, so a
//!   failing list shrinks toward it.
//! - [`Schedule::seeded`]`(seed)` picks with a small explicit PRNG (SplitMix64), reproducible
//!   everywhere.
//!
//! ```
//! use piecemeal::Schedule;
//!
//! let s = Schedule::choices([1, 0, 2]);
//! assert_eq!(s.to_string(), "Schedule::choices([1, 0, 2])");
//! assert_eq!("Schedule::choices([1, 0, 2])".parse::<Schedule>(), Ok(s));
//! assert!(Schedule::fifo().is_fifo());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::rng::SplitMix64;

/// Which ready action runs next when several are ready at once; see the [module docs](self).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Schedule {
    kind: Kind,
}

#[derive(Clone, PartialEq, Eq, Hash, Default, Debug)]
enum Kind {
    #[default]
    Fifo,
    Seeded(u64),
    Choices(Arc<[u32]>),
}

impl Schedule {
    /// The default: the action that became ready first runs first.
    #[must_use]
    pub fn fifo() -> Self {
        Self { kind: Kind::Fifo }
    }

    /// Pick pseudo-randomly, from `seed`, at every decision point.
    #[must_use]
    pub fn seeded(seed: u64) -> Self {
        Self {
            kind: Kind::Seeded(seed),
        }
    }

    /// Pick `choices[i] % n` at the `i`-th decision point (where `n` actions are ready), and
    /// the oldest action once the list runs out. An empty list is [`fifo`](Self::fifo).
    #[must_use]
    pub fn choices<I: IntoIterator<Item = u32>>(choices: I) -> Self {
        let list: Arc<[u32]> = choices.into_iter().collect();
        if list.is_empty() {
            Self::fifo()
        } else {
            Self {
                kind: Kind::Choices(list),
            }
        }
    }

    /// Whether this is the default order.
    #[must_use]
    pub fn is_fifo(&self) -> bool {
        self.kind == Kind::Fifo
    }

    pub(crate) fn picker(&self) -> Picker {
        Picker {
            kind: self.kind.clone(),
            decisions: 0,
            rng: SplitMix64::new(0),
        }
    }
}

/// The state of a schedule during one simulation.
#[derive(Clone, Debug)]
pub(crate) struct Picker {
    kind: Kind,
    decisions: usize,
    rng: SplitMix64,
}

impl Picker {
    /// Choose among `n > 1` ready actions (ordered oldest first).
    pub(crate) fn pick(&mut self, n: usize) -> usize {
        let i = self.decisions;
        self.decisions += 1;
        match &self.kind {
            Kind::Fifo => 0,
            Kind::Choices(list) => list.get(i).map_or(0, |&c| c as usize % n),
            Kind::Seeded(seed) => {
                if i == 0 {
                    self.rng = SplitMix64::new(*seed);
                }
                (self.rng.next_u64() % n as u64) as usize
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Fifo => f.write_str("Schedule::fifo()"),
            Kind::Seeded(seed) => write!(f, "Schedule::seeded({seed})"),
            Kind::Choices(list) => {
                f.write_str("Schedule::choices(")?;
                crate::chunking::write_list(f, list)?;
                f.write_str(")")
            }
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A schedule literal that does not parse; see [`Schedule`]'s `FromStr`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScheduleError {
    input: String,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not parse `{}` as a schedule: expected Schedule::fifo(), \
             Schedule::seeded(seed) or Schedule::choices([a, b, …])",
            self.input
        )
    }
}

impl std::error::Error for ScheduleError {}

impl FromStr for Schedule {
    type Err = ScheduleError;

    /// Parses what `Display` prints, with or without the `Schedule::` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ScheduleError {
            input: s.to_owned(),
        };
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_')
            .collect();
        let body = compact.strip_prefix("Schedule::").unwrap_or(&compact);
        let args = |name: &str| {
            body.strip_prefix(name)?
                .strip_prefix('(')?
                .strip_suffix(')')
        };
        if args("fifo") == Some("") {
            return Ok(Self::fifo());
        }
        if let Some(seed) = args("seeded") {
            return seed.parse().map(Self::seeded).map_err(|_| err());
        }
        let list = args("choices").and_then(|a| a.strip_prefix('[')?.strip_suffix(']'));
        let list = list.ok_or_else(err)?;
        let items = list.split(',').filter(|x| !x.is_empty());
        let choices: Result<Vec<u32>, _> = items.map(str::parse).collect();
        choices.map(Self::choices).map_err(|_| err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_round_trip() {
        for s in [
            Schedule::fifo(),
            Schedule::seeded(42),
            Schedule::choices([3, 0, 1]),
        ] {
            assert_eq!(s.to_string().parse::<Schedule>(), Ok(s.clone()), "{s}");
        }
        assert_eq!(
            " choices( [ 1 , 2 , ] ) ".parse(),
            Ok(Schedule::choices([1, 2]))
        );
        assert_eq!(Schedule::choices([]), Schedule::fifo());
        for bad in [
            "",
            "fifo(1)",
            "choices([-1])",
            "seeded()",
            "Schedule::random(3)",
            "choices(1)",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad:?}");
        }
        let msg = "nope".parse::<Schedule>().unwrap_err().to_string();
        assert!(msg.contains("Schedule::choices"), "{msg}");
    }

    #[test]
    fn choices_are_taken_modulo_then_default_to_zero() {
        let mut p = Schedule::choices([5, 1]).picker();
        assert_eq!([p.pick(3), p.pick(2), p.pick(4)], [2, 1, 0]);
    }

    #[test]
    fn seeded_is_reproducible_and_in_range() {
        let picks = |seed| {
            let mut p = Schedule::seeded(seed).picker();
            (0..50).map(|i| p.pick(2 + i % 5)).collect::<Vec<_>>()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
        assert!(picks(9).iter().enumerate().all(|(i, &k)| k < 2 + i % 5));
    }
}
