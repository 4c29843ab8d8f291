//! Virtual time: the simulation's [`Instant`] and the ids of protocol timers.
//!
//! Time starts at [`Instant::ZERO`] and moves only when a test asks it to (`advance`, `run`
//! jumping to the next timer). Nothing in piecemeal reads the wall clock, so a run is the same
//! every time.
//!
//! ```
//! use piecemeal::clock::Instant;
//! use std::time::Duration;
//!
//! let t = Instant::ZERO + Duration::from_millis(1500);
//! assert_eq!(t.since_start(), Duration::from_millis(1500));
//! assert_eq!(t.to_string(), "1.5s");
//! ```

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in virtual time, measured from the start of the simulation.
///
/// Ordering, addition of a [`Duration`] and subtraction work as for [`std::time::Instant`],
/// but there is no way to read the wall clock: every `Instant` comes from the simulation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The start of every simulation.
    pub const ZERO: Self = Self { nanos: 0 };

    /// The instant `d` after the start of the simulation (saturating at about 584 years).
    #[must_use]
    pub fn from_start(d: Duration) -> Self {
        Self { nanos: nanos(d) }
    }

    /// Time elapsed since the start of the simulation.
    #[must_use]
    pub fn since_start(self) -> Duration {
        Duration::from_nanos(self.nanos)
    }

    /// `self + d`, saturating instead of overflowing.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        self.saturating_add_nanos(nanos(d))
    }

    /// `self` plus `nanos` nanoseconds, saturating.
    #[inline]
    pub(crate) fn saturating_add_nanos(self, nanos: u64) -> Self {
        Self {
            nanos: self.nanos.saturating_add(nanos),
        }
    }
}

/// A duration in nanoseconds, saturating (about 584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, d: Duration) -> Self {
        self.saturating_add(d)
    }
}

impl Sub for Instant {
    type Output = Duration;

    /// The duration from `earlier` to `self`, or zero if `earlier` is later.
    fn sub(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.since_start(), f)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({self})")
    }
}

/// Names a timer a protocol scheduled with
/// [`Transport::call_later`](crate::Transport::call_later).
///
/// Ids are unique within one simulation and increase in scheduling order, which is also the
/// order in which timers with the same deadline fire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub(crate) u64);

impl TimerId {
    /// The id as a number (the scheduling order, starting at 0).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timer{}", self.0)
    }
}

impl fmt::Debug for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_orders() {
        let a = Instant::ZERO + Duration::from_secs(2);
        let b = a + Duration::from_millis(5);
        assert!(b > a);
        assert_eq!(b - a, Duration::from_millis(5));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(
            (Instant::ZERO + Duration::MAX).since_start(),
            Duration::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn display_uses_duration_format() {
        assert_eq!(Instant::ZERO.to_string(), "0ns");
        assert_eq!(
            (Instant::ZERO + Duration::from_micros(3)).to_string(),
            "3µs"
        );
        assert_eq!(format!("{:?}", TimerId(4)), "timer4");
    }
}
