//! [`Config`]: the settings every face of the engine shares.

use crate::schedule::Schedule;

/// What the harness does when a protocol callback panics.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum PanicPolicy {
    /// The panic continues to the test, with a message that names the end, the callback and the
    /// step, the chunking literals, and the transcript so far. The default: a panic in protocol
    /// code is a bug the test should report.
    #[default]
    Propagate,
    /// The panicking end is lost with [`Reason::Panicked`](crate::Reason::Panicked) (its
    /// `connection_lost` is called) and the peer sees an orderly close after the bytes already
    /// written: what Twisted's real reactor does when `dataReceived` raises.
    LoseConnection,
}

/// Settings shared by [`Harness`](crate::Harness) and [`Pair`](crate::Pair).
///
/// Built by value: `Config::new().strict(true).step_limit(10_000)`.
///
/// # Examples
///
/// ```
/// use piecemeal::{Config, PanicPolicy};
///
/// let cfg = Config::new().strict(true).panic_policy(PanicPolicy::LoseConnection);
/// assert!(cfg.is_strict());
/// assert_eq!(cfg.step_limit_value(), 1_000_000);
/// assert_eq!(cfg.high_water_value(), 64 * 1024);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    step_limit: u64,
    high_water: usize,
    panic_policy: PanicPolicy,
    strict: bool,
    record: bool,
    schedule: Schedule,
}

impl Config {
    /// The defaults: a step limit of 1,000,000 per run, a 64 KiB high-water mark, panics
    /// propagate, misuse is recorded but not fatal, recording on.
    #[must_use]
    pub fn new() -> Self {
        Self {
            step_limit: 1_000_000,
            high_water: 64 * 1024,
            panic_policy: PanicPolicy::Propagate,
            strict: false,
            record: true,
            schedule: Schedule::fifo(),
        }
    }

    /// The most steps one `run`, `run_until_idle` or `advance` call may take before it fails
    /// with a message naming this limit and the last events. A step is one delivery, one EOF or
    /// reset, one close completion, one producer notification or one timer.
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    #[must_use]
    #[track_caller]
    pub fn step_limit(mut self, limit: u64) -> Self {
        assert!(
            limit > 0,
            "Config::step_limit(0): the step limit must be at least 1"
        );
        self.step_limit = limit;
        self
    }

    /// The write-buffer size over which a push producer is paused (default 64 KiB, Twisted's
    /// `bufferSize`). The buffer is what an end wrote that its peer has not yet received.
    #[must_use]
    pub fn high_water(mut self, bytes: usize) -> Self {
        self.high_water = bytes;
        self
    }

    /// What happens when a protocol callback panics; see [`PanicPolicy`].
    #[must_use]
    pub fn panic_policy(mut self, policy: PanicPolicy) -> Self {
        self.panic_policy = policy;
        self
    }

    /// In strict mode, any [`Misuse`](crate::event::Misuse) fails the test at once with the transcript.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether to record the event log (default on). Turning it off makes transcripts empty and
    /// saves the cost of recording; the protocols and the bytes delivered are unaffected.
    #[must_use]
    pub fn record(mut self, record: bool) -> Self {
        self.record = record;
        self
    }

    /// Which ready action runs next when several are ready at once (default
    /// [`Schedule::fifo`]: the one that became ready first). Non-default schedules explore
    /// other interleavings; the transcript names the schedule so the run can be replayed.
    #[must_use]
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The schedule; see [`schedule`](Self::schedule).
    #[must_use]
    pub fn schedule_value(&self) -> &Schedule {
        &self.schedule
    }

    /// The step limit; see [`step_limit`](Self::step_limit).
    #[must_use]
    pub fn step_limit_value(&self) -> u64 {
        self.step_limit
    }

    /// The high-water mark in bytes; see [`high_water`](Self::high_water).
    #[must_use]
    pub fn high_water_value(&self) -> usize {
        self.high_water
    }

    /// The panic policy; see [`panic_policy`](Self::panic_policy).
    #[must_use]
    pub fn panic_policy_value(&self) -> PanicPolicy {
        self.panic_policy
    }

    /// Whether strict mode is on.
    #[must_use]
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Whether the event log is recorded.
    #[must_use]
    pub fn is_recording(&self) -> bool {
        self.record
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}
