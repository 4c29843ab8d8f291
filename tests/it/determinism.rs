//! Determinism: a scenario run twice gives the same log, transcript and protocol observations,
//! byte for byte. Scenarios come from seeds through `support::SplitMix64`: random chunkings
//! and latencies, and protocols that draw their actions (write, close, abort, half-close,
//! pause, timers, producers) from the same generator inside their callbacks.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::{Instant, TimerId};
use piecemeal::{Chunking, Config, End, Event, Pair, ProducerKind, Protocol, Reason, Transport};
use pretty_assertions::assert_eq;

use super::support::{SplitMix64, pieces, wrote};

const SCENARIOS: u64 = 300;

/// Everything a seed decides before the run; the protocols draw the rest as they go.
#[derive(Clone, Debug)]
struct Scenario {
    seed: u64,
    chunking: [Chunking; 2],
    latency: [Duration; 2],
    half_closeable: [bool; 2],
    budget: [u32; 2],
    high_water: usize,
}

impl Scenario {
    fn from_seed(seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let mut chunking = || random_chunking(&mut rng);
        let chunking = [chunking(), chunking()];
        let mut latency = || {
            if rng.coin() {
                Duration::ZERO
            } else {
                rng.millis(3)
            }
        };
        let latency = [latency(), latency()];
        Self {
            seed,
            chunking,
            latency,
            half_closeable: [rng.coin(), rng.coin()],
            budget: [rng.range(3, 14) as u32, rng.range(3, 14) as u32],
            high_water: rng.range(4, 48),
        }
    }

    fn run(&self, record: bool) -> Pair<Actor, Actor> {
        let cfg = Config::new()
            .high_water(self.high_water)
            .step_limit(100_000)
            .record(record);
        let actor = |end: End, name| {
            let i = end.index();
            let seed = self.seed.wrapping_mul(31).wrapping_add(i as u64 + 1);
            Actor::new(name, seed, self.budget[i], self.half_closeable[i])
        };
        let mut pair = Pair::new(actor(End::Client, "Alice"), actor(End::Server, "Bob"))
            .config(cfg)
            .client_to_server(self.chunking[0].clone())
            .server_to_client(self.chunking[1].clone())
            .latency_client_to_server(self.latency[0])
            .latency_server_to_client(self.latency[1]);
        pair.run();
        pair
    }
}

fn random_chunking(rng: &mut SplitMix64) -> Chunking {
    match rng.below(7) {
        0 => Chunking::whole(),
        1 => Chunking::every_byte(),
        2 => Chunking::fixed(rng.range(1, 4)),
        3 => {
            let mut at = 0;
            let cuts: Vec<usize> = (0..rng.range(1, 5))
                .map(|_| {
                    at += rng.range(1, 6);
                    at
                })
                .collect();
            Chunking::cuts(cuts)
        }
        4 => Chunking::sizes(
            (0..rng.range(1, 3))
                .map(|_| rng.range(1, 4))
                .collect::<Vec<_>>(),
        ),
        5 => Chunking::per_write(),
        _ => Chunking::seeded(rng.next(), rng.range(1, 5)),
    }
}

/// What a protocol saw, as it saw it: each callback with the virtual time, and its own actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Observed {
    trace: Vec<String>,
    received: Vec<u8>,
    lost: Option<Reason>,
}

/// A protocol that draws up to two actions from its generator in each callback, until its
/// budget is spent. Everything it does is a function of its seed and what it observed.
struct Actor {
    name: &'static str,
    rng: SplitMix64,
    budget: u32,
    half_closeable: bool,
    next_byte: u8,
    /// The timer that will resume reading, while reading is paused.
    resume_timer: Option<TimerId>,
    timers: Vec<TimerId>,
    producer: bool,
    seen: Observed,
}

impl Actor {
    fn new(name: &'static str, seed: u64, budget: u32, half_closeable: bool) -> Self {
        Self {
            name,
            rng: SplitMix64(seed),
            budget,
            half_closeable,
            next_byte: if name == "Alice" { b'a' } else { b'A' },
            resume_timer: None,
            timers: Vec::new(),
            producer: false,
            seen: Observed::default(),
        }
    }

    fn note(&mut self, what: impl Into<String>) {
        self.seen.trace.push(what.into());
    }

    fn spend(&mut self) -> bool {
        let ok = self.budget > 0;
        self.budget = self.budget.saturating_sub(1);
        ok
    }

    /// Between `min` and two actions.
    fn act(&mut self, tx: &mut Transport<'_>, min: u64) {
        for _ in 0..min + self.rng.below(3 - min) {
            if !self.spend() {
                return;
            }
            self.action(tx);
        }
    }

    fn write(&mut self, tx: &mut Transport<'_>, len: usize) {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                let b = self.next_byte;
                self.next_byte = if b == b'z' || b == b'Z' {
                    b - 25
                } else {
                    b + 1
                };
                b
            })
            .collect();
        self.note(format!("write {len} buffered={}", tx.buffered()));
        tx.write(data);
    }

    fn action(&mut self, tx: &mut Transport<'_>) {
        match self.rng.below(20) {
            0..=7 => {
                let len = self.rng.range(1, 8);
                self.write(tx, len);
            }
            8 => {
                let len = self.rng.range(16, 40);
                self.write(tx, len);
            }
            9 => {
                self.note("lose");
                tx.lose_connection();
            }
            10 => {
                self.note("abort");
                tx.abort_connection();
            }
            11 | 12 => {
                self.note("half-close");
                tx.lose_write_connection();
            }
            13 | 14 if self.resume_timer.is_none() => {
                let after = self.rng.millis(3);
                self.note(format!("pause reading for {after:?}"));
                tx.pause_reading();
                self.resume_timer = Some(tx.call_later(after));
            }
            15 | 16 => {
                let after = self.rng.millis(3);
                let id = tx.call_later(after);
                self.note(format!("call_later({after:?}) = {id}"));
                self.timers.push(id);
            }
            17 if !self.producer => {
                let kind = if self.rng.coin() {
                    ProducerKind::Push
                } else {
                    ProducerKind::Pull
                };
                self.note(format!("register {kind:?}"));
                self.producer = true;
                tx.register_producer(kind);
            }
            18 => {
                if let Some(id) = self.timers.pop() {
                    let pending = tx.cancel(id);
                    self.note(format!("cancel {id}: {pending}"));
                }
            }
            _ => self.note("idle"),
        }
    }
}

impl Protocol for Actor {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.note(format!("made @{} {} -> {}", tx.now(), tx.host(), tx.peer()));
        self.act(tx, 1);
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.seen.received.extend_from_slice(&data);
        self.note(format!("data {} @{}", data.len(), tx.now()));
        self.act(tx, 0);
    }

    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.note(format!("read lost @{}", tx.now()));
        self.act(tx, 0);
    }

    fn write_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.note(format!("write lost @{}", tx.now()));
        self.act(tx, 0);
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.note(format!("lost: {reason}"));
        self.seen.lost = Some(reason.clone());
    }

    fn timer_fired(&mut self, timer: TimerId, tx: &mut Transport<'_>) {
        self.note(format!("{timer} @{}", tx.now()));
        if self.resume_timer == Some(timer) {
            self.resume_timer = None;
            tx.resume_reading();
        } else {
            self.timers.retain(|&t| t != timer);
            self.act(tx, 0);
        }
    }

    fn pause_producing(&mut self, tx: &mut Transport<'_>) {
        self.note(format!("pause producing buffered={}", tx.buffered()));
    }

    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        self.note(format!("resume producing buffered={}", tx.buffered()));
        if self.spend() {
            let len = self.rng.range(1, 12);
            self.write(tx, len);
        } else {
            self.producer = false;
            tx.unregister_producer();
        }
    }

    fn stop_producing(&mut self) {
        self.note("stop producing");
    }

    fn half_closeable(&self) -> bool {
        self.half_closeable
    }

    fn log_prefix(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.name)
    }
}

fn observed(pair: &Pair<Actor, Actor>) -> [Observed; 2] {
    [pair.client().seen.clone(), pair.server().seen.clone()]
}

/// The cheap invariants every run must keep; `ctx` names the scenario in failures.
fn check_invariants(pair: &Pair<Actor, Actor>, ctx: &str) {
    let seen = observed(pair);
    for end in [End::Client, End::Server] {
        let events = pair.events(end);
        let at = format!("{ctx}, {end} end\n{}", pair.transcript());
        assert_eq!(events.first(), Some(&Event::Connected), "{at}");
        let lost = events
            .iter()
            .filter(|e| matches!(e, Event::Lost(_)))
            .count();
        match pair.lost(end) {
            Some(reason) => {
                assert_eq!(lost, 1, "{at}");
                assert_eq!(events.last(), Some(&Event::Lost(reason.clone())), "{at}");
            }
            None => assert_eq!(lost, 0, "{at}"),
        }
        assert_eq!(seen[end.index()].lost.as_ref(), pair.lost(end), "{at}");

        let received = pieces(&events).concat();
        let peer_wrote = wrote(&pair.events(end.peer())).concat();
        assert!(
            peer_wrote.starts_with(&received),
            "{at}\nreceived {received:?} is not a prefix of the peer's writes {peer_wrote:?}"
        );
        assert_eq!(seen[end.index()].received, received, "{at}");

        // Contract 1 and 4: made first, lost last, as the protocol itself saw it.
        let trace = &seen[end.index()].trace;
        assert!(trace[0].starts_with("made"), "{at}\n{trace:?}");
        if pair.lost(end).is_some() {
            let last = trace.last().map(String::as_str);
            assert!(
                last.is_some_and(|l| l.starts_with("lost:")),
                "{at}\n{trace:?}"
            );
        }

        // Contract 5: nothing delivered after this end closed, nor while it paused reading,
        // nor after the peer's EOF.
        let (mut paused, mut closing, mut eof) = (false, false, false);
        for e in &events {
            match e {
                Event::Paused => paused = true,
                Event::Resumed => paused = false,
                Event::CloseRequested | Event::AbortRequested => closing = true,
                Event::ReadClosed => eof = true,
                Event::Received(_) => {
                    assert!(!paused && !closing && !eof, "{at}\ndelivered {e:?}");
                }
                _ => {}
            }
        }
    }
}

#[test]
fn every_seeded_scenario_runs_the_same_twice() {
    // 300 seeded scenarios, each run twice: identical logs, transcripts and observations.
    let mut seen = BTreeMap::new();
    for seed in 0..SCENARIOS {
        let scenario = Scenario::from_seed(seed);
        let ctx = format!("{scenario:?}");
        let first = scenario.run(true);
        let second = scenario.run(true);
        assert_eq!(
            format!("{:?}", first.log()),
            format!("{:?}", second.log()),
            "{ctx}"
        );
        assert_eq!(
            first.transcript().to_string(),
            second.transcript().to_string(),
            "{ctx}"
        );
        assert_eq!(observed(&first), observed(&second), "{ctx}");
        assert_eq!(first.now(), second.now(), "{ctx}");
        check_invariants(&first, &ctx);
        count_coverage(&first, &mut seen);
    }
    let reached: Vec<&str> = seen.keys().copied().collect();
    assert_eq!(
        reached,
        [
            "dropped after abort",
            "lost aborted",
            "lost done",
            "lost reset",
            "misuse",
            "producer paused",
            "producer stopped",
            "read closed",
            "reading resumed",
            "still open",
            "time moved",
            "write closed",
        ],
        "{seen:?}"
    );
}

/// Counts what a run reached, so that a generator that stopped exploring cannot pass quietly.
fn count_coverage(pair: &Pair<Actor, Actor>, seen: &mut BTreeMap<&'static str, u32>) {
    let mut hit = |what| *seen.entry(what).or_insert(0) += 1;
    for end in [End::Client, End::Server] {
        hit(match pair.lost(end) {
            Some(Reason::Done) => "lost done",
            Some(Reason::Lost) => "lost reset",
            Some(Reason::Aborted) => "lost aborted",
            Some(_) => "lost otherwise",
            None => "still open",
        });
        for e in pair.events(end) {
            match e {
                Event::ReadClosed => hit("read closed"),
                Event::WriteClosed => hit("write closed"),
                Event::ProducerPaused => hit("producer paused"),
                Event::ProducerStopped => hit("producer stopped"),
                Event::Resumed => hit("reading resumed"),
                Event::Dropped(_) => hit("dropped after abort"),
                Event::Misuse(_) => hit("misuse"),
                _ => {}
            }
        }
    }
    if pair.now() > Instant::ZERO {
        hit("time moved");
    }
}

#[test]
fn recording_off_changes_nothing_the_protocols_observe() {
    // The same scenarios with Config::record(false): same observations, same ends, empty log.
    for seed in 0..SCENARIOS / 2 {
        let scenario = Scenario::from_seed(seed);
        let ctx = format!("{scenario:?}");
        let recorded = scenario.run(true);
        let silent = scenario.run(false);
        assert_eq!(observed(&recorded), observed(&silent), "{ctx}");
        for end in [End::Client, End::Server] {
            assert_eq!(recorded.lost(end), silent.lost(end), "{ctx}");
            assert_eq!(recorded.buffered(end), silent.buffered(end), "{ctx}");
        }
        assert_eq!(recorded.now(), silent.now(), "{ctx}");
        assert!(!recorded.log().is_empty(), "{ctx}");
        assert!(silent.log().is_empty(), "{ctx}\n{:?}", silent.log());
        assert!(
            silent
                .transcript()
                .to_string()
                .ends_with("# (no events recorded)\n"),
            "{ctx}"
        );
    }
}

#[test]
fn different_seeds_give_different_runs() {
    // The generator matters: the first 50 seeds do not all produce the same transcript.
    let mut transcripts: Vec<String> = (0..50)
        .map(|seed| Scenario::from_seed(seed).run(true).transcript().to_string())
        .collect();
    transcripts.sort();
    transcripts.dedup();
    assert!(
        transcripts.len() > 40,
        "only {} distinct runs",
        transcripts.len()
    );
}
