//! Virtual time: the clock starts at zero, moves only when asked, and every timer fires at its
//! own deadline (Twisted's `Clock.advance` jumps to the end first, issue #9819; we do not).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::{Instant, TimerId};
use piecemeal::event::Misuse;
use piecemeal::{Config, End, Event, Harness, Pair, Protocol, Reason, Transport};
use pretty_assertions::assert_eq;

use super::support::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(n: u64) -> Instant {
    Instant::ZERO + ms(n)
}

/// `(timer id, tx.now() inside timer_fired)` for each firing, in order.
type Fired = Rc<RefCell<Vec<(u64, Instant)>>>;

/// No firing at all.
const NONE: [(u64, Instant); 0] = [];

/// Schedules one timer per delay (in milliseconds) on connect and records each firing.
fn timers(delays: &[u64], fired: &Fired) -> Hooks {
    let delays = delays.to_vec();
    let fired = Rc::clone(fired);
    Hooks::new("Timers")
        .on_made(move |_, tx| {
            for &d in &delays {
                tx.call_later(ms(d));
            }
        })
        .on_timer(move |_, id, tx| fired.borrow_mut().push((id.get(), tx.now())))
}

/// Schedules a timer at 1ms on connect; when that first timer fires it schedules one more,
/// `then` ms later. Records each firing.
fn chain(then: u64, fired: &Fired) -> Hooks {
    let fired = Rc::clone(fired);
    Hooks::new("Chain")
        .on_made(|_, tx| {
            tx.call_later(ms(1));
        })
        .on_timer(move |_, id, tx| {
            fired.borrow_mut().push((id.get(), tx.now()));
            if id.get() == 0 {
                tx.call_later(ms(then));
            }
        })
}

/// The timers that fired, in order.
fn fired_timers(events: &[Event]) -> Vec<TimerId> {
    let fired = events.iter().filter_map(|e| match e {
        Event::TimerFired(id) => Some(*id),
        _ => None,
    });
    fired.collect()
}

#[test]
fn now_starts_at_zero_and_connecting_does_not_move_it() {
    // A fresh harness and a fresh pair read zero, before and after connecting.
    let mut h = Harness::new(quiet("P"));
    assert_eq!(h.now(), Instant::ZERO);
    h.connect();
    assert_eq!(h.now(), Instant::ZERO);
    let mut pair = Pair::new(quiet("C"), quiet("S"));
    pair.run();
    assert_eq!(pair.now(), Instant::ZERO);
    assert!(pair.log().records().iter().all(|r| r.time == Instant::ZERO));
}

#[test]
fn advance_fires_each_timer_at_its_own_deadline_in_order() {
    // Timers at 3, 1 and 2 ms; advance(5ms) fires them by deadline, each seeing its deadline.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[3, 1, 2], &fired));
    h.advance(ms(5));
    assert_eq!(*fired.borrow(), [(1, at(1)), (2, at(2)), (0, at(3))]);
    assert_eq!(h.now(), at(5));
    let times: Vec<Instant> = h
        .log()
        .records()
        .iter()
        .filter(|r| matches!(r.event, Event::TimerFired(_)))
        .map(|r| r.time)
        .collect();
    assert_eq!(times, [at(1), at(2), at(3)]);
}

#[test]
fn a_timer_scheduled_by_a_timer_counts_from_the_firing_deadline() {
    // Timer 0 at 1ms schedules timer 1 one ms later: it is due at 2ms and advance(2ms) fires it.
    // (Twisted's Clock would run timer 0 seeing now=2 and put timer 1 at 3: bug #9819.)
    let fired = Fired::default();
    let mut h = Harness::new(chain(1, &fired));
    h.advance(ms(2));
    assert_eq!(*fired.borrow(), [(0, at(1)), (1, at(2))]);
    assert_eq!(h.advance_to_next(), None);
}

#[test]
fn same_deadline_timers_fire_in_scheduling_order() {
    // Three timers at 2ms scheduled before one at 1ms: the 1ms one first, then 0, 1, 2.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[2, 2, 2, 1], &fired));
    h.advance(ms(2));
    assert_eq!(
        *fired.borrow(),
        [(3, at(1)), (0, at(2)), (1, at(2)), (2, at(2))]
    );
}

#[test]
fn zero_delay_timers_scheduled_in_a_timer_fire_in_the_same_advance() {
    // A timer at 1ms starts a chain of three zero-delay timers; advance(1ms) runs all four.
    let fired = Fired::default();
    let log = Rc::clone(&fired);
    let proto = Hooks::new("Chain")
        .on_made(|_, tx| {
            tx.call_later(ms(1));
        })
        .on_timer(move |state, id, tx| {
            log.borrow_mut().push((id.get(), tx.now()));
            if state.counter < 3 {
                state.counter += 1;
                tx.call_later(Duration::ZERO);
            }
        });
    let mut h = Harness::new(proto);
    h.advance(ms(1));
    assert_eq!(
        *fired.borrow(),
        [(0, at(1)), (1, at(1)), (2, at(1)), (3, at(1))]
    );
    assert_eq!(h.now(), at(1));
}

#[test]
fn advance_to_next_returns_the_deadline_and_fires_only_that_timer() {
    // Timers at 5 and 2 ms: each call jumps to the next deadline and fires just that one.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[5, 2], &fired));
    assert_eq!(h.advance_to_next(), Some(at(2)));
    assert_eq!(*fired.borrow(), [(1, at(2))]);
    assert_eq!(h.now(), at(2));
    assert_eq!(h.advance_to_next(), Some(at(5)));
    assert_eq!(*fired.borrow(), [(1, at(2)), (0, at(5))]);
    assert_eq!(h.advance_to_next(), None);
    assert_eq!(h.now(), at(5));
}

#[test]
fn run_jumps_across_timers_until_none_is_left() {
    // Timers at 10ms and 1s: run() fires both and leaves the clock at the last deadline.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[10, 1000], &fired));
    h.run();
    assert_eq!(*fired.borrow(), [(0, at(10)), (1, at(1000))]);
    assert_eq!(h.now(), at(1000));
}

#[test]
fn run_until_idle_does_not_move_time_but_fires_timers_already_due() {
    // A 1ms timer stays pending through run_until_idle; a zero-delay timer fires at once.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[1], &fired));
    h.run_until_idle();
    assert_eq!(*fired.borrow(), NONE);
    assert_eq!(h.now(), Instant::ZERO);
    h.with_protocol(|_, tx| tx.call_later(Duration::ZERO));
    assert_eq!(*fired.borrow(), [(1, Instant::ZERO)]);
    h.run_until_idle();
    assert_eq!(h.now(), Instant::ZERO);
    h.advance(ms(1));
    assert_eq!(*fired.borrow(), [(1, Instant::ZERO), (0, at(1))]);
}

#[test]
fn cancel_prevents_firing_and_run_does_not_jump_to_it() {
    // A 1ms timer is cancelled before it is due: it never fires and the clock stays at zero.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[], &fired));
    let id = h.with_protocol(|_, tx| tx.call_later(ms(1)));
    assert!(h.with_protocol(|_, tx| tx.cancel(id)));
    h.run();
    assert_eq!(*fired.borrow(), NONE);
    assert_eq!(h.now(), Instant::ZERO);
    assert_eq!(fired_timers(&h.events()), [] as [TimerId; 0]);
}

#[test]
fn cancel_of_a_fired_timer_is_misuse() {
    // A timer fires, then the protocol cancels it: `false` and a CancelInactiveTimer event.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[1], &fired));
    h.advance(ms(1));
    let id: TimerId = h.with_protocol(|_, tx| tx.call_later(ms(1)));
    assert_eq!(id.get(), 1);
    h.advance(ms(1));
    assert!(!h.with_protocol(|_, tx| tx.cancel(id)));
    assert_eq!(
        h.events()[1..],
        [
            Event::TimerFired(id_of(&h, 0)),
            Event::TimerFired(id),
            Event::Misuse(Misuse::CancelInactiveTimer(id)),
        ]
    );
    assert!(
        !h.with_protocol(|_, tx| tx.cancel(id)),
        "twice is misuse too"
    );
}

/// The id of the `n`th timer that fired at the protocol's end.
fn id_of<P: Protocol>(h: &Harness<P>, n: usize) -> TimerId {
    fired_timers(&h.events())[n]
}

#[test]
#[should_panic(expected = "cancel(timer0) of a timer no longer pending")]
fn cancel_of_a_fired_timer_fails_in_strict_mode() {
    // Strict mode turns the CancelInactiveTimer misuse into a failure naming the timer.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[1], &fired)).config(Config::new().strict(true));
    h.advance(ms(1));
    let id = id_of(&h, 0);
    h.with_protocol(|_, tx| tx.cancel(id));
}

#[test]
fn timers_of_a_lost_end_never_fire() {
    // The protocol schedules a 1ms timer, then the peer closes it: run() fires nothing.
    let fired = Fired::default();
    let mut h = Harness::new(timers(&[1], &fired));
    h.peer_close();
    assert_eq!(h.lost(), Some(&Reason::Done));
    h.run();
    h.advance(ms(10));
    assert_eq!(*fired.borrow(), NONE);
    assert_eq!(fired_timers(&h.events()), [] as [TimerId; 0]);
    assert_eq!(h.events().last(), Some(&Event::Lost(Reason::Done)));
}

#[test]
fn timers_of_an_aborted_end_never_fire() {
    // The server schedules a timer and aborts in connection_made: the timer dies with it.
    let fired = Fired::default();
    let log = Rc::clone(&fired);
    let server = Hooks::new("Server")
        .on_made(|_, tx| {
            tx.call_later(ms(1));
            tx.abort_connection();
        })
        .on_timer(move |_, id, tx| log.borrow_mut().push((id.get(), tx.now())));
    let mut pair = Pair::new(quiet("Client"), server);
    pair.run();
    assert_eq!(*fired.borrow(), NONE);
    assert_eq!(pair.lost(End::Server), Some(&Reason::Aborted));
    assert_eq!(pair.lost(End::Client), Some(&Reason::Lost));
    assert_eq!(pair.now(), Instant::ZERO);
}

/// Writes `ping` on connect.
fn pinger() -> Hooks {
    Hooks::new("Pinger").on_made(|_, tx| tx.write("ping"))
}

#[test]
fn latency_delays_arrival_by_exactly_the_latency() {
    // The client writes at 0 with 5ms latency: nothing at 4ms, the piece arrives at 5ms.
    let mut pair = Pair::new(pinger(), quiet("Server")).latency_client_to_server(ms(5));
    pair.advance(ms(4));
    assert_eq!(pair.server().state.received, b"");
    assert_eq!(pair.buffered(End::Client), 4);
    pair.advance(ms(1));
    assert_eq!(pair.server().state.received, b"ping");
    let arrivals: Vec<(Instant, End)> = pair
        .log()
        .records()
        .iter()
        .filter(|r| matches!(r.event, Event::Received(_) | Event::Wrote(_)))
        .map(|r| (r.time, r.end))
        .collect();
    assert_eq!(
        arrivals,
        [(Instant::ZERO, End::Client), (at(5), End::Server)]
    );
}

#[test]
fn run_jumps_to_a_latency_arrival() {
    // run() alone moves the clock to the arrival time of a delayed piece.
    let mut pair = Pair::new(pinger(), quiet("Server")).latency(ms(7));
    pair.run();
    assert_eq!(pair.server().state.received, b"ping");
    assert_eq!(pair.now(), at(7));
}

/// Waits `timeout` for the first data; aborts if it does not come, cancels the timer if it does.
struct Timeout {
    timeout: Duration,
    timer: Option<TimerId>,
    received: Vec<u8>,
    timed_out_at: Option<Instant>,
}

impl Timeout {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            timer: None,
            received: Vec::new(),
            timed_out_at: None,
        }
    }
}

impl Protocol for Timeout {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.timer = Some(tx.call_later(self.timeout));
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.received.extend_from_slice(&data);
        if let Some(timer) = self.timer.take() {
            tx.cancel(timer);
        }
    }

    fn timer_fired(&mut self, _: TimerId, tx: &mut Transport<'_>) {
        self.timer = None;
        self.timed_out_at = Some(tx.now());
        tx.abort_connection();
    }
}

#[test]
fn a_timeout_shorter_than_the_latency_fires_before_the_data() {
    // 5ms timeout, 10ms latency: the server aborts at 5ms and never sees `ping`.
    let mut pair = Pair::new(pinger(), Timeout::new(ms(5))).latency_client_to_server(ms(10));
    pair.run();
    assert_eq!(pair.server().timed_out_at, Some(at(5)));
    assert_eq!(pair.server().received, b"");
    assert_eq!(pair.lost(End::Server), Some(&Reason::Aborted));
    assert_eq!(pair.lost(End::Client), Some(&Reason::Lost));
    assert_eq!(pair.client().state.lost, Some(Reason::Lost));
    let server_events = pair.events(End::Server);
    assert!(
        !server_events
            .iter()
            .any(|e| matches!(e, Event::Received(_))),
        "{}",
        pair.transcript()
    );
}

#[test]
fn a_timeout_longer_than_the_latency_is_cancelled_by_the_data() {
    // 5ms timeout, 2ms latency: `ping` arrives at 2ms, the timer is cancelled, nobody is lost.
    let mut pair = Pair::new(pinger(), Timeout::new(ms(5))).latency_client_to_server(ms(2));
    pair.run();
    assert_eq!(pair.server().received, b"ping");
    assert_eq!(pair.server().timed_out_at, None);
    assert_eq!(
        pair.events(End::Server),
        [
            Event::Connected,
            Event::Received(Bytes::from_static(b"ping"))
        ]
    );
    assert_eq!(pair.lost(End::Server), None);
    assert_eq!(pair.lost(End::Client), None);
    assert_eq!(pair.now(), at(2));
}

#[test]
fn advance_interleaves_timers_and_latency_arrivals_by_time() {
    // Server timers at 1 and 3 ms, client data arriving at 2ms: fired, received, fired.
    let fired = Fired::default();
    let mut pair = Pair::new(pinger(), timers(&[1, 3], &fired)).latency_client_to_server(ms(2));
    pair.advance(ms(5));
    assert_eq!(
        server_timeline(&pair),
        [
            (at(0), "connected".to_owned()),
            (at(1), "timer0 fired".to_owned()),
            (at(2), "received b\"ping\"".to_owned()),
            (at(3), "timer1 fired".to_owned()),
        ]
    );
    assert_eq!(pair.now(), at(5));
}

/// `(time, event)` of each server record, the event as the transcript shows it.
fn server_timeline<C: Protocol, S: Protocol>(pair: &Pair<C, S>) -> Vec<(Instant, String)> {
    pair.log()
        .records()
        .iter()
        .filter(|r| r.end == End::Server)
        .map(|r| (r.time, r.event.to_string()))
        .collect()
}

#[test]
fn advance_to_next_jumps_to_a_latency_arrival() {
    // No timers, one piece in flight for 4ms: advance_to_next lands on its arrival.
    let mut pair = Pair::new(pinger(), quiet("Server")).latency_client_to_server(ms(4));
    pair.connect();
    assert_eq!(pair.advance_to_next(), Some(at(4)));
    assert_eq!(pair.server().state.received, b"ping");
    assert_eq!(pair.advance_to_next(), None);
}

#[test]
fn harness_latency_delays_both_directions() {
    // 3ms each way: the echo sees the bytes at 3ms and the peer gets them back at 6ms.
    let mut h = Harness::new(echo()).latency(ms(3));
    h.deliver(b"x", piecemeal::Chunking::whole());
    assert_eq!(h.protocol().state.received, b"");
    h.advance(ms(3));
    assert_eq!(h.protocol().state.received, b"x");
    assert_eq!(h.written(), b"");
    assert_eq!(h.buffered(), 1);
    h.advance(ms(3));
    assert_eq!(h.written(), b"x");
    assert_eq!(h.now(), at(6));
}

#[test]
fn a_timer_scheduled_past_the_advance_waits_for_the_next() {
    // Timer 0 at 1ms schedules timer 1 five ms later: advance(3ms) fires only timer 0.
    let fired = Fired::default();
    let mut h = Harness::new(chain(5, &fired));
    h.advance(ms(3));
    assert_eq!(*fired.borrow(), [(0, at(1))]);
    assert_eq!(h.now(), at(3));
    assert_eq!(h.advance_to_next(), Some(at(6)));
    assert_eq!(*fired.borrow(), [(0, at(1)), (1, at(6))]);
}

#[test]
fn a_self_rescheduling_zero_delay_timer_trips_the_step_limit() {
    // Twisted's Clock loops forever on this (issue #5962); here advance(0) fails, bounded.
    let proto = Hooks::new("Spinner")
        .on_made(|_, tx| {
            tx.call_later(ms(1));
        })
        .on_timer(|_, _, tx| {
            tx.call_later(Duration::ZERO);
        });
    let mut h = Harness::new(proto).config(Config::new().step_limit(200));
    let text = panic_text(|| {
        h.advance(ms(1));
    });
    assert!(text.contains("more than 200 steps"), "{text}");
    assert!(text.contains("Config::step_limit"), "{text}");
    // The message ends with the transcript's last 60 events, as every failure report does.
    let transcript = transcript_of(&text);
    assert!(transcript.contains("earlier events not shown"), "{text}");
    let events = transcript.lines().filter(|l| l.ends_with(" fired")).count();
    assert_eq!(events, 60, "{text}");
}
