//! Panics, `fail`, timers and who hears first, misuse, the step bound, addresses.

use pretty_assertions::assert_eq;

use super::*;

// ----- panics ---------------------------------------------------------------------------

fn boom() -> Hooks {
    Hooks::new("Boom").on_data(|_, _, _| panic!("kaboom"))
}

fn lose_on_panic() -> Config {
    Config::new().panic_policy(PanicPolicy::LoseConnection)
}

#[test]
#[should_panic(expected = "Boom (server of #0) panicked in data_received at step 3: kaboom")]
fn panic_propagates_naming_the_end_callback_and_step() {
    // Default policy: steps 1 and 2 make the ends, step 3 delivers and the protocol panics.
    Harness::new(boom()).deliver(b"x", Chunking::whole());
}

#[test]
fn propagated_panic_carries_the_transcript() {
    // Default policy: the message has the chunking literals and the events so far.
    let mut h = Harness::new(boom());
    let text = panic_text(|| {
        h.deliver(b"trigger", Chunking::fixed(4));
    });
    let transcript = transcript_of(&text);
    assert!(transcript.contains("Chunking::fixed(4)"), "{text}");
    assert!(transcript.contains("received b\"trig\""), "{text}");
}

#[test]
fn panic_under_lose_connection_policy_closes_in_order() {
    // Twisted trace 21: the server greets, then panics on the client's data.
    let server = boom().on_made(|_, tx| tx.write("srv-greeting"));
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("boom"));
    let mut pair = Pair::new(client, server).config(lose_on_panic());
    pair.run();
    let panicked = Event::Lost(Reason::Panicked("kaboom".into()));
    assert_eq!(life(&pair, S), [MADE, rx("boom"), panicked]);
    assert_eq!(life(&pair, C), [MADE, rx("srv-greeting"), DONE]);
}

#[test]
fn panic_after_abort_in_the_same_callback_wins() {
    // Twisted trace 22: the client aborts then panics; the server sees an orderly close.
    let client = Hooks::new("Client").on_data(|_, _, tx| {
        tx.abort_connection();
        panic!("after abort");
    });
    let server = Hooks::new("Server").on_made(|_, tx| tx.write("ready"));
    let mut pair = Pair::new(client, server).config(lose_on_panic());
    pair.run();
    let panicked = Reason::Panicked("after abort".into());
    assert_eq!(pair.lost(C), Some(&panicked));
    assert_eq!(life(&pair, S), [MADE, DONE]);
}

// ----- timers and who hears first -------------------------------------------------------

#[test]
fn same_deadline_timers_fire_in_scheduling_order() {
    // Timers at 2 s, 1 s, 2 s, 2 s; the 1 s one schedules a fifth for 2 s.
    let proto = Hooks::new("Timed").on_timer(|s, _, tx| {
        s.counter += 1;
        if s.counter == 1 {
            tx.call_later(Duration::from_secs(1));
        }
    });
    let mut h = Harness::new(proto);
    let ids = h.with_protocol(|_, tx| [2, 1, 2, 2].map(|s| tx.call_later(Duration::from_secs(s))));
    h.run();
    let fired = h.log().records().iter().filter_map(|r| match r.event {
        Event::TimerFired(t) => Some((t.get(), r.time)),
        _ => None,
    });
    let [a, b, c, d] = ids.map(|t| t.get());
    let (one, two) = (at_ms(1000), at_ms(2000));
    let want = [(b, one), (a, two), (c, two), (d, two), (4, two)];
    assert_eq!(fired.collect::<Vec<_>>(), want);
}

#[test]
fn same_deadline_timers_of_both_ends_fire_in_scheduling_order() {
    // Server, client, server each schedule a timer for 1 s.
    let mut pair = Pair::new(quiet("Client"), quiet("Server"));
    let second = Duration::from_secs(1);
    pair.with_server(|_, tx| tx.call_later(second));
    pair.with_client(|_, tx| tx.call_later(second));
    pair.with_server(|_, tx| tx.call_later(second));
    pair.run();
    let fired = timeline_of(pair.log(), |e| matches!(e, Event::TimerFired(_)));
    let ends: Vec<End> = fired.into_iter().map(|(end, _)| end).collect();
    assert_eq!(ends, [S, C, S]);
}

#[test]
fn the_closers_peer_hears_of_the_close_first() {
    // The client writes and closes; the whole log in order.
    let client = Hooks::new("Closer").on_made(|_, tx| {
        tx.write("bye");
        tx.lose_connection();
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    let mut want = vec![(S, MADE), (C, MADE), (C, wrote("bye"))];
    want.extend([(C, Event::CloseRequested), (S, rx("bye"))]);
    want.extend([(S, DONE), (C, DONE)]);
    assert_eq!(timeline(pair.log()), want);
}

#[test]
fn the_aborters_peer_hears_of_the_reset_first() {
    // The server aborts in connection_made; the whole log in order.
    let server = Hooks::new("Aborter").on_made(|_, tx| tx.abort_connection());
    let mut pair = Pair::new(quiet("Client"), server);
    pair.run();
    let mut want = vec![(S, MADE), (S, Event::AbortRequested), (C, MADE)];
    want.extend([(C, RESET), (S, ABORTED)]);
    assert_eq!(timeline(pair.log()), want);
}

// ----- fail -----------------------------------------------------------------------------

#[test]
fn fail_loses_with_error_and_closes_in_order_for_the_peer() {
    // The server greets, then writes last words and fails on the client's request.
    let server = Hooks::new("Server").on_made(|_, tx| tx.write("hi, "));
    let server = server.on_data(|_, _, tx| {
        tx.write("bye");
        tx.fail("bad request");
    });
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("req"));
    let mut pair = Pair::new(client, server);
    pair.run();
    let failed = Event::Lost(Reason::Error("bad request".into()));
    assert_eq!(life(&pair, S), [MADE, rx("req"), failed]);
    assert_eq!(life(&pair, C), [MADE, rx("hi, bye"), DONE]);
}

#[test]
fn fail_wins_over_abort_in_the_same_callback() {
    // Abort then fail, and fail then abort: the failure is the reason, the peer gets an EOF.
    for abort_first in [true, false] {
        let proto = Hooks::new("Proto").on_data(move |_, _, tx| {
            if abort_first {
                tx.abort_connection();
            }
            tx.fail("broken");
            tx.abort_connection();
        });
        let mut h = Harness::new(proto);
        h.deliver(b"x", Chunking::whole());
        assert_eq!(h.lost(), Some(&Reason::Error("broken".into())));
        assert!(h.peer_got_eof(), "an orderly EOF, not a reset");
    }
}

#[test]
fn fail_stops_a_registered_producer_first() {
    // A pull producer fails from its first resume.
    let proto = Hooks::new("Proto").on_resume(|_, tx| tx.fail("no more"));
    let mut h = Harness::new(proto);
    h.with_protocol(|_, tx| tx.register_producer(PULL));
    assert_eq!(calls(h.protocol()), "made resume stop lost");
    let events = h.events();
    let failed = Event::Lost(Reason::Error("no more".into()));
    assert_eq!(events[events.len() - 2..], [Event::ProducerStopped, failed]);
}

// ----- misuse, step bound, addresses ----------------------------------------------------

#[test]
fn producer_misuse_is_recorded_and_the_first_registration_stays() {
    // Register push then pull, write past the mark; unregister twice.
    let mut h = Harness::new(pusher()).config(high_water(1));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| {
        tx.register_producer(PUSH);
        tx.register_producer(PULL);
        tx.write("xy");
    });
    assert_eq!(calls(h.protocol()), "made pause", "still a push producer");
    h.with_protocol(|_, tx| {
        tx.unregister_producer();
        tx.unregister_producer();
    });
    let want = [
        Misuse::ProducerAlreadyRegistered,
        Misuse::NoProducerRegistered,
    ];
    assert_eq!(misuse_events(h.events()), want.map(Event::Misuse));
}

#[test]
fn cancelling_an_inactive_timer_is_misuse() {
    // Cancel a pending timer twice, and cancel one that already fired.
    let mut h = Harness::new(quiet("Timed"));
    let t1 = h.with_protocol(|_, tx| tx.call_later(Duration::from_secs(1)));
    let t2 = h.with_protocol(|_, tx| tx.call_later(Duration::ZERO));
    assert_eq!(calls(h.protocol()), "made timer");
    let cancels = h.with_protocol(|_, tx| [tx.cancel(t1), tx.cancel(t1), tx.cancel(t2)]);
    assert_eq!(cancels, [true, false, false]);
    let want = [t1, t2].map(|t| Event::Misuse(Misuse::CancelInactiveTimer(t)));
    assert_eq!(misuse_events(h.events()), want);
    h.run();
    assert_eq!(calls(h.protocol()), "made timer");
}

#[test]
fn step_limit_panic_names_the_setting_and_shows_the_last_events() {
    // A timer that reschedules itself with zero delay, under a limit of 1000 steps.
    let proto = Hooks::new("Looper").on_timer(|_, _, tx| {
        tx.call_later(Duration::ZERO);
    });
    let mut h = Harness::new(proto).config(Config::new().step_limit(1000));
    h.with_protocol(|_, tx| tx.call_later(Duration::from_millis(1)));
    let text = panic_text(|| {
        h.run();
    });
    assert!(text.contains("run() took more than 1000 steps"), "{text}");
    assert!(text.contains("Config::step_limit"), "{text}");
    assert!(text.contains("earlier events not shown"), "{text}");
    assert!(text.contains("Looper") && text.contains(" fired"), "{text}");
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn default_addresses_of_both_ends() {
    // host() and peer() from each end of a pair, and from a harness's protocol.
    let (client, server) = (addr("10.0.0.2:49152"), addr("10.0.0.1:9000"));
    let mut pair = Pair::new(quiet("Client"), quiet("Server"));
    let c = pair.with_client(|_, tx| (tx.host(), tx.peer()));
    let s = pair.with_server(|_, tx| (tx.host(), tx.peer()));
    assert_eq!((c, s), ((client, server), (server, client)));
    let mut h = Harness::new(quiet("Proto"));
    let proto = h.with_protocol(|_, tx| (tx.host(), tx.peer()));
    assert_eq!(proto, (server, client));
    let mut h = Harness::client(quiet("Proto"));
    let proto = h.with_protocol(|_, tx| (tx.host(), tx.peer()));
    assert_eq!(proto, (client, server));
}

#[test]
fn pair_addresses_override_the_defaults() {
    // Custom IPv4 and IPv6 addresses, seen from both ends.
    let (client, server) = (addr("192.168.1.7:5555"), addr("[::1]:443"));
    let pair = Pair::new(quiet("Client"), quiet("Server"));
    let mut pair = pair.addresses(client, server);
    let c = pair.with_client(|_, tx| (tx.host(), tx.peer()));
    let s = pair.with_server(|_, tx| (tx.host(), tx.peer()));
    assert_eq!((c, s), ((client, server), (server, client)));
}
