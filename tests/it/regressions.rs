//! Regression tests for bugs found in review, each named after what it guards, and a random
//! actor that fuzzes the engine under schedules, latencies and many connections: every run keeps
//! the lifecycle contract, the log's pieces are exactly what was delivered, and a second `run()`
//! does nothing.

use super::support::*;
use bytes::Bytes;
use piecemeal::*;
use std::time::Duration;

/// Regression: when both ends aborted, one got `Lost` instead of its own `Aborted`.
#[test]
fn both_abort_each_gets_aborted() {
    let c = Hooks::new("C").on_made(|_, tx| tx.abort_connection());
    let s = Hooks::new("S").on_made(|_, tx| tx.abort_connection());
    let mut p = Pair::new(c, s);
    p.run();
    assert_eq!(p.lost(End::Server), Some(&Reason::Aborted));
    assert_eq!(
        p.lost(End::Client),
        Some(&Reason::Aborted),
        "{}",
        p.transcript()
    );
}

/// Regression: under a non-default schedule a reset could reach the client before its
/// `connection_made`. A reset waits for the receiver to be made, like everything else.
#[test]
fn a_reset_waits_for_connection_made_under_any_schedule() {
    let fixed = [
        Schedule::fifo(),
        Schedule::choices([0, 1]),
        Schedule::choices([1, 0]),
    ];
    for schedule in fixed.into_iter().chain((0..32).map(Schedule::seeded)) {
        let s = Hooks::new("S").on_made(|_, tx| tx.abort_connection());
        let mut p = Pair::new(quiet("C"), s).config(Config::new().schedule(schedule.clone()));
        p.run();
        assert_eq!(
            p.client().state.calls,
            ["made", "lost"],
            "{schedule:?}\n{}",
            p.transcript()
        );
        assert_eq!(p.lost(End::Client), Some(&Reason::Lost), "{schedule:?}");
    }
}

/// Regression: the timeout of an attempt that already resolved stayed on the clock, and
/// `advance_to_next()` stopped there.
#[test]
fn a_resolved_attempts_timeout_does_not_move_time() {
    let mut net = Reactor::new().connect_timeout(Duration::from_secs(30));
    net.listen(([10, 0, 0, 1], 7), || quiet("S"));
    let c = net.connect(
        ([10, 0, 0, 1], 7),
        Hooks::new("C").on_made(|_, tx| tx.lose_connection()),
    );
    net.run_until_idle();
    assert_eq!(net.lost(c, End::Client), Some(&Reason::Done));
    assert_eq!(net.advance_to_next(), None);
}

/// Regression: the arrival entry of bytes a reset discarded stayed on the clock.
#[test]
fn an_arrival_for_discarded_bytes_does_not_move_time() {
    let c = Hooks::new("C").on_made(|_, tx| tx.write("x"));
    let s = Hooks::new("S").on_made(|_, tx| tx.abort_connection());
    let mut p = Pair::new(c, s).latency_client_to_server(Duration::from_secs(10));
    p.run_until_idle();
    assert_eq!(p.lost(End::Client), Some(&Reason::Lost));
    assert_eq!(p.advance_to_next(), None);
}

/// Regression: re-registering a pull producer inside `resume_producing` recursed without
/// bound (a stack overflow); it now trips the step bound.
#[test]
fn re_registering_a_producer_in_its_callback_hits_the_step_bound() {
    let c = Hooks::new("C")
        .on_made(|_, tx| tx.register_producer(ProducerKind::Pull))
        .on_resume(|st, tx| {
            st.counter += 1;
            if st.counter < 300 {
                tx.unregister_producer();
                tx.register_producer(ProducerKind::Pull);
            }
        });
    let mut p = Pair::new(c, quiet("S")).config(Config::new().step_limit(100).record(false));
    let text = panic_text(|| {
        p.run();
    });
    assert!(
        text.contains("one step's chain of producer callbacks took more than 100 steps"),
        "{text}"
    );
    assert!(text.contains("Config::step_limit"), "{text}");
}

// ---------------------------------------------------------------------------------------
// A random actor, for fuzzing the engine's contract under schedules and latencies.

struct Actor {
    rng: SplitMix64,
    budget: u32,
    hc: bool,
    pieces: Vec<Bytes>,
    calls: Vec<String>,
    made: bool,
    lost: bool,
    closing: bool,
    errors: Vec<String>,
    byte: u8,
    timers: Vec<clock::TimerId>,
    others: u32,
    first_kill: Option<&'static str>,
    reason: Option<Reason>,
    /// Every end whose `connection_made` ran, shared by all actors of a reactor: the only
    /// ends `Transport::other` may reach.
    conns: std::rc::Rc<std::cell::RefCell<Vec<(ConnId, End)>>>,
}

impl Actor {
    fn new(seed: u64, budget: u32, hc: bool) -> Self {
        Self {
            rng: SplitMix64(seed),
            budget,
            hc,
            pieces: vec![],
            calls: vec![],
            made: false,
            lost: false,
            closing: false,
            errors: vec![],
            byte: 0,
            timers: vec![],
            others: 0,
            first_kill: None,
            reason: None,
            conns: Default::default(),
        }
    }
    /// An actor drawn from `rng`: its seed, a budget of 10 to 39 actions, half-closeable or not.
    fn random(rng: &mut SplitMix64) -> Self {
        Self::new(rng.next(), 10 + rng.below(30) as u32, rng.coin())
    }
    fn check(&mut self, what: &str) {
        if !self.made && what != "made" {
            self.errors.push(format!("{what} before made"));
        }
        if self.lost {
            self.errors.push(format!("{what} after lost"));
        }
    }
    /// A callback with nothing of its own to do: checked, recorded, then a few actions.
    fn callback(&mut self, what: &'static str, tx: &mut Transport<'_>) {
        self.check(what);
        self.calls.push(what.into());
        self.act(tx);
    }
    fn act(&mut self, tx: &mut Transport<'_>) {
        let n = 1 + self.rng.below(3);
        for _ in 0..n {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            match self.rng.below(100) {
                0..=49 => {
                    let len = self.rng.below(6) as usize;
                    let data: Vec<u8> = (0..len)
                        .map(|_| {
                            self.byte = self.byte.wrapping_add(1);
                            self.byte
                        })
                        .collect();
                    tx.write(data);
                }
                50..=52 => {
                    tx.lose_connection();
                    self.closing = true;
                }
                53 if self.rng.below(2) == 0 => {
                    tx.abort_connection();
                    self.first_kill.get_or_insert("abort");
                    self.closing = true;
                }
                54..=56 => tx.lose_write_connection(),
                57..=61 => tx.pause_reading(),
                62..=69 => tx.resume_reading(),
                70..=79 => {
                    let t = tx.call_later(Duration::from_millis(self.rng.below(3)));
                    self.timers.push(t);
                }
                80..=82 => {
                    if let Some(t) = self.timers.pop() {
                        tx.cancel(t);
                    }
                }
                83..=87 => tx.register_producer(if self.rng.below(2) == 0 {
                    ProducerKind::Push
                } else {
                    ProducerKind::Pull
                }),
                88..=90 => tx.unregister_producer(),
                91 if self.rng.below(2) == 0 => {
                    tx.fail("boom");
                    self.first_kill.get_or_insert("fail");
                    self.others += 1000;
                    self.closing = true;
                }
                92..=95 => {
                    let reachable: Vec<ConnId> = (self.conns.borrow().iter())
                        .filter(|&&(_, end)| end == tx.end())
                        .map(|&(conn, _)| conn)
                        .collect();
                    let n = reachable.len();
                    if n > 0 {
                        let target = reachable[self.rng.below(n as u64) as usize];
                        let what = self.rng.below(10);
                        let mut o = tx.other(target);
                        match what {
                            0..=6 => o.write(b"zz"),
                            7 => o.lose_connection(),
                            8 => o.pause_reading(),
                            _ => o.resume_reading(),
                        }
                        self.others += 1;
                    }
                }
                _ => {}
            }
        }
    }
}

impl Protocol for Actor {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        if self.made {
            self.errors.push("made twice".into());
        }
        self.check("made");
        self.made = true;
        self.calls.push("made".into());
        self.conns.borrow_mut().push((tx.conn(), tx.end()));
        let t = tx.call_later(Duration::from_millis(self.rng.below(3)));
        self.timers.push(t);
        self.act(tx);
    }
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.check("data");
        if data.is_empty() {
            self.errors.push("empty piece".into());
        }
        if self.closing {
            self.errors.push("data after own close".into());
        }
        if tx.is_reading_paused() {
            self.errors.push("data while paused".into());
        }
        self.calls.push(format!("data {}", data.len()));
        self.pieces.push(data);
        self.act(tx);
    }
    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.callback("read_lost", tx);
    }
    fn write_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.callback("write_lost", tx);
    }
    fn timer_fired(&mut self, _t: clock::TimerId, tx: &mut Transport<'_>) {
        self.check("timer");
        self.calls.push("timer".into());
        if self.rng.below(2) == 0 {
            tx.resume_reading();
        }
        self.act(tx);
        if self.budget > 0 {
            let t = tx.call_later(Duration::from_millis(self.rng.below(3)));
            self.timers.push(t);
        }
    }
    fn pause_producing(&mut self, tx: &mut Transport<'_>) {
        self.callback("pause", tx);
    }
    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        self.callback("resume", tx);
    }
    fn stop_producing(&mut self) {
        self.check("stop");
        self.calls.push("stop".into());
    }
    fn connection_lost(&mut self, r: &Reason) {
        self.check("lost");
        self.lost = true;
        self.reason = Some(r.clone());
        self.calls.push(format!("lost {r:?}"));
    }
    fn half_closeable(&self) -> bool {
        self.hc
    }
}

fn chunking(rng: &mut SplitMix64) -> Chunking {
    match rng.below(6) {
        0 => Chunking::whole(),
        1 => Chunking::every_byte(),
        2 => Chunking::fixed(1 + rng.below(3) as usize),
        3 => Chunking::per_write(),
        4 => Chunking::sizes([1 + rng.below(3) as usize, 1 + rng.below(4) as usize]),
        _ => Chunking::seeded(rng.next(), 1 + rng.below(4) as usize),
    }
}

fn check_log_matches(
    log: &EventLog,
    conn: ConnId,
    end: End,
    received: &[Bytes],
) -> Result<(), String> {
    let got = pieces(log.events(conn, end));
    if got != received {
        return Err(format!("{conn} {end}: log {got:?} vs actual {received:?}"));
    }
    let wrote = wrote(log.events(conn, end.peer())).concat();
    let all = received.concat();
    if !wrote.starts_with(&all) {
        return Err(format!(
            "{conn} {end}: received {all:?} not a prefix of wrote {wrote:?}"
        ));
    }
    Ok(())
}

fn run_pair_seed(seed: u64, fifo: bool) -> Result<(), String> {
    let mut rng = SplitMix64(seed);
    let lat = |rng: &mut SplitMix64| {
        if rng.below(2) == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(rng.below(3))
        }
    };
    let (l0, l1) = (lat(&mut rng), lat(&mut rng));
    let (p0, p1) = (chunking(&mut rng), chunking(&mut rng));
    let sched = if fifo {
        Schedule::fifo()
    } else {
        Schedule::seeded(rng.next())
    };
    let cfg = Config::new()
        .high_water(1 + rng.below(12) as usize)
        .step_limit(100_000)
        .schedule(sched);
    let (c, s) = (Actor::random(&mut rng), Actor::random(&mut rng));
    let mut pair = Pair::new(c, s)
        .config(cfg)
        .client_to_server(p0)
        .server_to_client(p1)
        .latency_client_to_server(l0)
        .latency_server_to_client(l1);
    catch_panic(|| pair.run()).map_err(|msg| format!("seed {seed}: panic: {msg}"))?;
    let before = pair.log().len();
    pair.run();
    if pair.log().len() != before {
        return Err(format!(
            "seed {seed}: a second run() did more\n{}",
            pair.transcript()
        ));
    }
    let conn = pair.conn();
    for end in [End::Client, End::Server] {
        let a = if end == End::Client {
            pair.client()
        } else {
            pair.server()
        };
        if !a.errors.is_empty() {
            return Err(format!(
                "seed {seed} {end}: {:?}\n{:?}\n{}",
                a.errors,
                a.calls,
                pair.transcript()
            ));
        }
        check_log_matches(pair.log(), conn, end, &a.pieces)
            .map_err(|e| format!("seed {seed}: {e}\n{}", pair.transcript()))?;
        let other = if end == End::Client {
            pair.server()
        } else {
            pair.client()
        };
        if a.first_kill == Some("abort")
            && a.others < 1000
            && other.first_kill.is_none()
            && a.reason.is_some()
            && a.reason != Some(Reason::Aborted)
        {
            return Err(format!(
                "seed {seed} {end}: aborted but lost with {:?}\n{}",
                a.reason,
                pair.transcript()
            ));
        }
    }
    Ok(())
}

/// Every run passes; else fails with how many did not, and the first failure in full.
#[track_caller]
fn assert_all_pass(runs: impl Iterator<Item = Result<(), String>>) {
    let fails: Vec<String> = runs.filter_map(Result::err).collect();
    assert!(
        fails.is_empty(),
        "{} failures; first:\n{}",
        fails.len(),
        fails[0]
    );
}

#[test]
fn fuzz_pair_fifo() {
    assert_all_pass((0..3000).map(|seed| run_pair_seed(seed, true)));
}

#[test]
fn fuzz_pair_scheduled() {
    assert_all_pass((0..3000).map(|seed| run_pair_seed(seed, false)));
}

/// The random actor explores both outcomes: in some runs an end is lost, in others it is
/// still open when the run goes idle (a fuzz that always closed, or never, would check less).
#[test]
fn the_fuzzing_actor_reaches_both_lost_and_open_ends() {
    let mut total = 0usize;
    let mut lost = [0usize; 2];
    let runs = 200;
    for seed in 0..runs {
        let mut rng = SplitMix64(seed);
        let (c, s) = (Actor::random(&mut rng), Actor::random(&mut rng));
        let mut pair = Pair::new(c, s);
        pair.run();
        total += pair.log().len();
        for end in [End::Client, End::Server] {
            if pair.lost(end).is_some() {
                lost[end.index()] += 1;
            }
        }
    }
    assert!(
        total > 10 * runs as usize,
        "only {total} events in {runs} runs"
    );
    for (end, n) in [End::Client, End::Server].into_iter().zip(lost) {
        assert!(
            0 < n && n < runs as usize,
            "{end} lost in {n} of {runs} runs"
        );
    }
}

fn run_reactor_seed(seed: u64, fifo: bool) -> Result<(), String> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut rng = SplitMix64(seed);
    let sched = if fifo {
        Schedule::fifo()
    } else {
        Schedule::seeded(rng.next())
    };
    let cfg = Config::new()
        .high_water(1 + rng.below(12) as usize)
        .step_limit(200_000)
        .schedule(sched);
    let conns: Rc<RefCell<Vec<(ConnId, End)>>> = Rc::default();
    let mut net = Reactor::new().config(cfg).chunking(chunking(&mut rng));
    if rng.below(2) == 0 {
        net = net.latency(Duration::from_millis(rng.below(3)));
    }
    if rng.below(2) == 0 {
        net = net.connect_latency(Duration::from_millis(rng.below(4)));
    }
    if rng.below(3) == 0 {
        net = net.connect_timeout(Duration::from_millis(rng.below(4)));
    }
    let n_listen = 1 + rng.below(3);
    for i in 0..n_listen {
        let seed2 = rng.next();
        let cs = conns.clone();
        let hc = rng.below(2) == 0;
        let mut k = 0u64;
        net.listen(([10, 0, 0, 1], 7 + i as u16), move || {
            k += 1;
            let mut a = Actor::new(seed2.wrapping_add(k), 20, hc);
            a.conns = cs.clone();
            a
        });
    }
    let n_conn = 1 + rng.below(12);
    for _ in 0..n_conn {
        let mut a = Actor::random(&mut rng);
        a.conns = conns.clone();
        let port = 7 + rng.below(n_listen + 1) as u16;
        net.connect(([10, 0, 0, 1], port), a);
    }
    catch_panic(|| net.run()).map_err(|msg| format!("seed {seed}: panic: {msg}"))?;
    let before = net.log().len();
    net.run();
    if net.log().len() != before {
        return Err(format!("seed {seed}: a second run() did more"));
    }
    let ids: Vec<ConnId> = net.connections().collect();
    for c in ids {
        for end in [End::Client, End::Server] {
            let _ = net.status(c, end);
            let Some(a) = net.protocol::<Actor>(c, end) else {
                continue;
            };
            if !a.errors.is_empty()
                && !a.errors.iter().all(|e| {
                    e == "lost before made"
                        && end == End::Client
                        && matches!(net.lost(c, end), Some(Reason::Refused | Reason::TimedOut))
                })
            {
                return Err(format!(
                    "seed {seed} {c} {end}: {:?}\n{:?}\n{}",
                    a.errors,
                    a.calls,
                    net.transcript()
                ));
            }
            check_log_matches(net.log(), c, end, &a.pieces)
                .map_err(|e| format!("seed {seed}: {e}"))?;
        }
    }
    Ok(())
}

#[test]
fn fuzz_reactor() {
    let runs = (0..3000).flat_map(|seed| [true, false].map(|fifo| run_reactor_seed(seed, fifo)));
    assert_all_pass(runs);
}

/// Regression: abort then panic (LoseConnection policy) in one callback delivered the bytes
/// the abort should have discarded. The panic is the reason; the discard still happens.
#[test]
fn abort_then_panic_still_discards_unsent_bytes() {
    let c = Hooks::new("C").on_made(|_, tx| {
        tx.write("secret");
        tx.abort_connection();
        panic!("ONO");
    });
    let mut p =
        Pair::new(c, quiet("S")).config(Config::new().panic_policy(PanicPolicy::LoseConnection));
    p.run();
    assert_eq!(p.server().state.received, b"", "{}", p.transcript());
}

/// Regression: the same with `fail` instead of a panic.
#[test]
fn abort_then_fail_still_discards_unsent_bytes() {
    let c = Hooks::new("C").on_made(|_, tx| {
        tx.write("secret");
        tx.abort_connection();
        tx.fail("later error");
    });
    let mut p = Pair::new(c, quiet("S"));
    p.run();
    assert_eq!(p.server().state.received, b"", "{}", p.transcript());
}

/// Regression: `resume_producing` came although the buffer had filled again since it drained.
#[test]
fn resume_comes_only_when_the_buffer_drained() {
    let c = Hooks::new("C")
        .on_made(|_, tx| {
            tx.register_producer(ProducerKind::Push);
            tx.write([b'a'; 20]);
        })
        .on_data(|_, d, tx| {
            if &d[..] == b"i" {
                tx.write([b'b'; 20]);
            }
        })
        .on_resume(|st, tx| st.counter = st.counter.max(tx.buffered() as u64));
    let s = Hooks::new("S").on_made(|_, tx| tx.write("hi"));
    let mut p = Pair::new(c, s)
        .config(Config::new().high_water(10))
        .server_to_client(Chunking::every_byte());
    p.run_until_idle();
    assert!(
        p.client().state.calls.contains(&"resume"),
        "{}",
        p.transcript()
    );
    assert!(
        p.client().state.counter <= 10,
        "resumed with {} buffered\n{}",
        p.client().state.counter,
        p.transcript()
    );
}

/// Regression: closes asked through `Transport::other` took effect in reverse order.
#[test]
fn requests_through_other_apply_in_order() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let ids: Rc<RefCell<Vec<ConnId>>> = Rc::default();
    let mut net = Reactor::new();
    net.listen(([10, 0, 0, 1], 7), || quiet("S"));
    let a = net.connect(([10, 0, 0, 1], 7), quiet("A"));
    let b = net.connect(([10, 0, 0, 1], 7), quiet("B"));
    ids.borrow_mut().extend([a, b]);
    let ids2 = ids;
    // A third client closes a's and b's client ends, in that order, from one timer callback.
    let ctl = net.connect(
        ([10, 0, 0, 1], 7),
        Hooks::new("Ctl")
            .on_made(|_, tx| {
                tx.call_later(Duration::from_secs(1));
            })
            .on_timer(move |_, _, tx| {
                for &id in ids2.borrow().iter() {
                    tx.other(id).lose_connection();
                }
            }),
    );
    net.run();
    let _ = ctl;
    let lost_order: Vec<ConnId> = net
        .log()
        .records()
        .iter()
        .filter(|r| {
            r.end == End::Server
                && matches!(r.event, Event::Lost(_))
                && (r.conn == a || r.conn == b)
        })
        .map(|r| r.conn)
        .collect();
    assert_eq!(lost_order, [a, b], "{}", net.transcript());
}

/// Turning recording off and on between runs would desynchronise the compact store (payloads
/// in the log no longer what was delivered), so it is refused once the simulation started.
#[test]
#[should_panic(expected = "Config::record(false) after the simulation started")]
fn record_cannot_change_after_the_simulation_started() {
    let mut p = Pair::new(quiet("C"), quiet("S"));
    p.write(End::Client, "abc");
    p.run();
    let _ = p.config(Config::new().record(false));
}

#[test]
fn the_same_recording_choice_can_be_given_again() {
    let mut p = Pair::new(quiet("C"), quiet("S")).config(Config::new().record(false));
    p.write(End::Client, "abc");
    p.run();
    let mut p = p.config(Config::new().record(false).step_limit(10));
    p.write(End::Client, "d");
    p.run();
    assert_eq!(p.server().state.received, b"abcd");
    assert!(p.log().is_empty());
}

#[test]
fn hostile_durations() {
    let c = Hooks::new("C")
        .on_made(|_, tx| {
            tx.call_later(Duration::MAX);
            tx.call_later(Duration::MAX);
            tx.write("x");
        })
        .on_timer(|st, _, tx| {
            st.counter += 1;
            if st.counter < 5 {
                tx.call_later(Duration::MAX);
            }
            tx.write("y");
        });
    let mut p = Pair::new(c, echo()).latency(Duration::MAX);
    p.advance(Duration::MAX);
    p.advance(Duration::MAX);
    p.run();
    p.write(End::Client, "z");
    p.lose(End::Client);
    p.run();
    p.write(End::Client, "after");
    p.abort(End::Server);
    p.half_close(End::Server);
    p.run();
    assert!(p.lost(End::Client).is_some(), "{}", p.transcript());

    let mut net = Reactor::new()
        .connect_latency(Duration::MAX)
        .connect_timeout(Duration::MAX);
    net.listen(([1, 1, 1, 1], 1), echo);
    let c = net.connect(([1, 1, 1, 1], 1), quiet("C"));
    net.advance(Duration::MAX);
    net.run();
    // The attempt's deadline saturates at the end of time, where advance(MAX) lands: it connects.
    for end in [End::Client, End::Server] {
        assert_eq!(net.status(c, end), EndStatus::Open, "{}", net.transcript());
    }
}

#[test]
fn timer_at_advance_boundary_and_zero() {
    let c = Hooks::new("C")
        .on_made(|_, tx| {
            tx.call_later(Duration::from_secs(1));
        })
        .on_timer(|st, _, tx| {
            st.counter += 1;
            st.calls.push("t");
            if st.counter == 1 {
                tx.call_later(Duration::ZERO);
            }
        });
    let mut p = Pair::new(c, quiet("S"));
    p.advance(Duration::from_millis(999));
    assert_eq!(p.client().state.counter, 0);
    p.advance(Duration::from_millis(1));
    assert_eq!(p.client().state.counter, 2);
    assert_eq!(p.now(), clock::Instant::ZERO + Duration::from_secs(1));
}

#[test]
fn panics_in_lost_and_pause() {
    // panic in pause_producing under LoseConnection, with a close pending behind the pause
    let c = Hooks::new("C")
        .on_made(|_, tx| {
            tx.register_producer(ProducerKind::Push);
            tx.write([0u8; 100]);
            tx.lose_connection();
        })
        .on_pause(|_, _| panic!("in pause"))
        .on_lost(|_, _| panic!("in lost"));
    let mut p = Pair::new(c, quiet("S")).config(
        Config::new()
            .high_water(10)
            .panic_policy(PanicPolicy::LoseConnection),
    );
    p.run();
    assert_eq!(
        p.lost(End::Client),
        Some(&Reason::Panicked("in pause".into())),
        "{}",
        p.transcript()
    );
    assert_eq!(p.server().state.received.len(), 100, "{}", p.transcript());
    assert_eq!(
        p.lost(End::Server),
        Some(&Reason::Done),
        "{}",
        p.transcript()
    );

    // Propagate: panic in connection_lost escapes run() with context
    let c = Hooks::new("C")
        .on_made(|_, tx| tx.lose_connection())
        .on_lost(|_, _| panic!("in lost"));
    let mut p = Pair::new(c, quiet("S"));
    let msg = panic_text(|| {
        p.run();
    });
    assert!(msg.contains("connection_lost"), "{msg}");
}

/// lose_write_connection with a pull producer registered: writes after a half-close are
/// refused (DESIGN §5.6), so the EOF does not wait for the producer — it would only hold the
/// peer up while every write the producer made was dropped.
#[test]
fn a_producer_does_not_hold_back_a_half_close() {
    let c = Hooks::new("C")
        .half_closeable()
        .on_made(|_, tx| tx.register_producer(ProducerKind::Pull))
        .on_resume(|st, tx| {
            st.counter += 1;
            if st.counter == 1 {
                tx.write("a");
                tx.lose_write_connection();
            } else {
                tx.write("b");
                tx.unregister_producer();
            }
        });
    let mut p = Pair::new(c, quiet("S").half_closeable());
    p.run();
    assert_eq!(p.server().state.received, b"a", "{}", p.transcript());
    assert_eq!(p.server().state.calls, ["made", "data", "read_lost"]);
    let misuse = Event::Misuse(Misuse::WriteAfterWriteClosed(Bytes::from_static(b"b")));
    assert!(
        p.events(End::Client).contains(&misuse),
        "{}",
        p.transcript()
    );
}

/// docs/determinism.md: bytes that arrive at an instant are delivered before the timers due at
/// that instant — the first piece; after it the rest of the wire takes its turn behind them.
#[test]
fn at_one_instant_the_first_arriving_piece_comes_before_due_timers() {
    let s = Hooks::new("S").on_made(|_, tx| {
        tx.call_later(Duration::from_secs(1));
    });
    let c = Hooks::new("C").on_made(|_, tx| tx.write("ab"));
    let mut p = Pair::new(c, s)
        .client_to_server(Chunking::every_byte())
        .latency_client_to_server(Duration::from_secs(1));
    p.run();
    assert_eq!(p.server().state.calls, ["made", "data", "timer", "data"]);
}

/// Regression: a panic in a listener's factory escaped `run()` without the transcript.
#[test]
fn a_panicking_factory_fails_with_the_transcript() {
    let text = panic_text(|| {
        let mut net = Reactor::new();
        net.listen(([10, 0, 0, 1], 7), || -> Hooks { panic!("no room") });
        net.connect(([10, 0, 0, 1], 7), quiet("C"));
        net.run();
    });
    let message =
        "the listener's factory for (10.0.0.1:7) (server of #0) panicked at step 1: no room";
    assert!(text.contains(message), "{text}");
    // Nothing was recorded before step 1; the transcript still heads itself with the plans.
    let transcript = transcript_of(&text);
    assert!(
        transcript.starts_with("# #0 client→server: Chunking::whole()\n"),
        "{text}"
    );
}

/// A protocol whose `half_closeable` panics.
struct Moody;

impl Protocol for Moody {
    fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}

    fn half_closeable(&self) -> bool {
        panic!("cannot decide")
    }
}

/// Regression: a panic in `half_closeable` escaped without the transcript.
#[test]
fn a_panicking_half_closeable_fails_with_the_transcript() {
    let message = panic_text(|| {
        Harness::new(Moody).peer_close();
    });
    assert!(
        message.contains("half_closeable for Moody (server of #0)"),
        "{message}"
    );
    assert!(message.contains("cannot decide"), "{message}");
    let transcript = transcript_of(&message);
    assert!(transcript.contains("lose_connection()"), "{message}");
}

/// Regression: `Transport::other` reached the server end of a connection still being made (or
/// one never accepted), so it could be closed before its `connection_made`.
#[test]
#[should_panic(expected = "Transport::other(#1): its server end is not connected yet")]
fn other_refuses_an_end_not_yet_connected() {
    let late: std::rc::Rc<std::cell::Cell<Option<ConnId>>> = Default::default();
    let seen = std::rc::Rc::clone(&late);
    let mut net = Reactor::new();
    net.listen(([10, 0, 0, 1], 7), move || {
        let seen = std::rc::Rc::clone(&seen);
        Hooks::new("S").on_made(move |_, tx| {
            // The second connection is still connecting when the first one's server is made.
            if let Some(other) = seen.get().filter(|&c| c != tx.conn()) {
                tx.other(other).lose_connection();
            }
        })
    });
    net.connect(([10, 0, 0, 1], 7), quiet("A"));
    let slow = ConnectOptions::new().connect_latency(Duration::from_secs(1));
    late.set(Some(net.connect_with(([10, 0, 0, 1], 7), quiet("B"), slow)));
    net.run();
}

/// Guards the packing of small copied writes: while recording, `Transport::write` and
/// `Pair::write` copy writes of up to 1 KiB into shared 16 KiB buffers, and
/// `Transport::write_sequence` joins its parts there. Writes from 1 to 1025 bytes (every ninth
/// size, 1023, 1024 and 1025, and many short ones), well past several buffers and with a write that does not fit what is left of one, arrive intact and in order;
/// the log's `Wrote` events are exactly the writes and its pieces exactly what arrived; a write
/// dropped as misuse keeps its own bytes; and without recording the peer receives the same.
#[test]
fn small_copied_writes_arrive_and_are_recorded_across_packing_buffers() {
    // Distinct contents, so a slice of the wrong write or offset shows.
    fn writes(salt: u8) -> Vec<Vec<u8>> {
        let mut sizes: Vec<usize> = (1..=1025).step_by(9).collect();
        sizes.extend([1024, 1025, 1024, 1, 1023, 1025, 1]);
        sizes.extend((0..300).map(|i| 1 + (i * 7) % 64));
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                (0..n)
                    .map(|j| (i * 31 + j + usize::from(salt)) as u8)
                    .collect()
            })
            .collect()
    }
    let client_writes = writes(0);
    let server_writes = writes(101);
    let total: usize = client_writes.iter().map(Vec::len).sum();
    assert!(total > 3 * 16 * 1024, "crosses several packing buffers");

    for record in [true, false] {
        for plan in [Chunking::whole(), Chunking::per_write(), Chunking::fixed(7)] {
            let ws = client_writes.clone();
            let c = Hooks::new("C").on_made(move |_, tx| {
                for (i, w) in ws.iter().enumerate() {
                    if i % 5 == 0 {
                        let (head, tail) = w.split_at(w.len() / 2);
                        tx.write_sequence([head, tail]);
                    } else {
                        tx.write(w);
                    }
                }
                tx.lose_write_connection();
                tx.write(b"late");
            });
            let mut p = Pair::new(c, quiet("S").half_closeable())
                .config(Config::new().record(record))
                .client_to_server(plan.clone())
                .server_to_client(plan.clone());
            for w in &server_writes {
                p.write(End::Server, w);
            }
            p.run();
            let what = format!("record({record}), {plan}");
            assert_eq!(p.server().state.received, client_writes.concat(), "{what}");
            assert_eq!(p.client().state.received, server_writes.concat(), "{what}");
            if !record {
                assert!(p.log().is_empty(), "{what}");
                continue;
            }
            for (end, ws) in [(End::Client, &client_writes), (End::Server, &server_writes)] {
                let events = p.events(end);
                let wrote = wrote(&events);
                let want: Vec<&[u8]> = ws.iter().map(Vec::as_slice).collect();
                assert_eq!(wrote, want, "{what}: {end}'s writes in the log");
                // Packed: the small writes (and the client's sequences, whatever their size)
                // lie back to back in 16 KiB buffers, each left with less than 1 KiB unused; a
                // bigger write is a buffer of its own, between two runs of packed ones.
                let sequence = |i: usize| end == End::Client && i.is_multiple_of(5);
                let (mut packed, mut own) = (0, 0);
                for (i, w) in ws.iter().enumerate() {
                    if w.len() <= 1024 || sequence(i) {
                        packed += w.len();
                    } else {
                        own += 1;
                    }
                }
                let most = packed.div_ceil(15 * 1024) + 2 * own;
                let starts = memory_runs(&wrote) - 1;
                assert!(
                    (3..=most).contains(&starts),
                    "{what}: {starts} buffer changes for {end}'s {} writes (at most {most})",
                    wrote.len()
                );
                let got = pieces(&p.events(end.peer()));
                assert_eq!(got.concat(), ws.concat(), "{what}: the pieces {end} sent");
                if plan.is_per_write() {
                    assert_eq!(got, want, "{what}: one piece per write");
                }
            }
            let late: Vec<Event> = misuse_events(p.events(End::Client));
            assert_eq!(
                late,
                [Event::Misuse(Misuse::WriteAfterWriteClosed(
                    Bytes::from_static(b"late")
                ))],
                "{what}"
            );
        }
    }
}

/// `Harness::deliver` copies the test's sends as `Transport::write` copies writes: while
/// recording, small sends lie back to back in shared buffers instead of an allocation each
/// (the log keeps them all), and they arrive intact either way.
#[test]
fn the_test_s_small_sends_are_packed_as_writes_are() {
    let sends: Vec<Vec<u8>> = (0..200u8)
        .map(|i| vec![i; 1 + usize::from(i) % 5])
        .collect();
    for record in [true, false] {
        let mut h = Harness::new(quiet("P")).config(Config::new().record(record));
        for send in &sends {
            h.deliver(send, Chunking::whole());
        }
        assert_eq!(
            h.protocol().state.received,
            sends.concat(),
            "record({record})"
        );
        if record {
            let got = pieces(&h.events());
            assert_eq!(got.len(), sends.len());
            assert_eq!(
                memory_runs(&got),
                1,
                "200 small sends share one packing buffer"
            );
        }
    }
}
