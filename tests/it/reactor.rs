//! The reactor: many connections, listeners, refusals, timeouts, schedules.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::TimerId;
use piecemeal::{
    Chunking, Config, ConnId, ConnectOptions, End, EndStatus, Event, Protocol, Reactor, Reason,
    Schedule, Transport,
};
use pretty_assertions::assert_eq;
#[cfg(feature = "proptest")]
use proptest::prelude::*;

const CHAT: ([u8; 4], u16) = ([10, 0, 0, 1], 6667);

/// Who is in the room, shared by every connection the chat server accepted.
type Room = Rc<RefCell<Vec<ConnId>>>;

/// A line chat server: each complete line from one member goes to every other member as
/// `<conn>: <line>\n`. When `quorum` members have joined, everyone gets `READY\n`.
struct ChatServer {
    room: Room,
    quorum: usize,
    me: Option<ConnId>,
    buf: Vec<u8>,
}

impl Protocol for ChatServer {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        let me = tx.conn();
        self.me = Some(me);
        let members = {
            let mut room = self.room.borrow_mut();
            room.push(me);
            room.clone()
        };
        if members.len() == self.quorum {
            for m in members {
                tx.other(m).write("READY\n");
            }
        }
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let me = tx.conn();
            let members = self.room.borrow().clone();
            for m in members.into_iter().filter(|&m| m != me) {
                let mut msg = format!("{me}: ").into_bytes();
                msg.extend_from_slice(&line);
                tx.other(m).write(msg);
            }
        }
    }

    fn connection_lost(&mut self, _: &Reason) {
        let me = self.me;
        self.room.borrow_mut().retain(|&m| Some(m) != me);
    }
}

fn chat_server(reactor: &mut Reactor, quorum: usize) -> Room {
    let room = Room::default();
    let shared = Rc::clone(&room);
    reactor.listen(CHAT, move || ChatServer {
        room: Rc::clone(&shared),
        quorum,
        me: None,
        buf: Vec::new(),
    });
    room
}

/// A chat client: on `READY` it sends its lines (the last one possibly unterminated, then it
/// aborts if `abort_after` says so); it records every line it receives.
#[derive(Default)]
struct ChatClient {
    lines: Vec<&'static str>,
    abort_after: bool,
    buf: Vec<u8>,
    got: Vec<String>,
}

impl ChatClient {
    fn new(lines: &[&'static str]) -> Self {
        Self {
            lines: lines.to_vec(),
            ..Self::default()
        }
    }
}

impl Protocol for ChatClient {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line[..i]).into_owned();
            if line == "READY" {
                for l in &self.lines {
                    tx.write(l);
                }
                if self.abort_after {
                    tx.abort_connection();
                }
            } else {
                self.got.push(line);
            }
        }
    }
}

fn got(reactor: &Reactor, conn: ConnId) -> Vec<String> {
    let client = reactor.protocol::<ChatClient>(conn, End::Client);
    client.map(|c| c.got.clone()).unwrap_or_default()
}

#[test]
fn chat_server_with_three_clients_survives_one_aborting_mid_message() {
    // Three clients join; two chat, the third aborts halfway through a line.
    let mut net = Reactor::new().chunking(Chunking::every_byte());
    let room = chat_server(&mut net, 3);
    let a = net.connect(CHAT, ChatClient::new(&["hi from a\n", "bye from a\n"]));
    let b = net.connect(CHAT, ChatClient::new(&["hi from b\n"]));
    let mut quitter = ChatClient::new(&["half a li"]);
    quitter.abort_after = true;
    let c = net.connect(CHAT, quitter);
    net.run();

    assert_eq!(net.accepted(CHAT), [a, b, c]);
    assert_eq!(got(&net, a), ["#1: hi from b"]);
    assert_eq!(got(&net, b), ["#0: hi from a", "#0: bye from a"]);
    assert_eq!(got(&net, c), Vec::<String>::new());
    // The aborting client's server end saw a reset and left the room; nobody got its half line.
    assert_eq!(net.lost(c, End::Client), Some(&Reason::Aborted));
    assert_eq!(net.lost(c, End::Server), Some(&Reason::Lost));
    assert_eq!(*room.borrow(), [a, b]);
    assert_eq!(net.status(a, End::Client), EndStatus::Open);
    assert_eq!(net.status(b, End::Server), EndStatus::Open);
}

#[test]
fn the_others_keep_chatting_after_one_aborts() {
    // c aborts on READY; afterwards a and b still reach each other.
    let mut net = Reactor::new();
    chat_server(&mut net, 3);
    let a = net.connect(CHAT, ChatClient::new(&[]));
    let b = net.connect(CHAT, ChatClient::new(&[]));
    let c = net.connect(
        CHAT,
        ChatClient {
            abort_after: true,
            ..ChatClient::default()
        },
    );
    net.run();
    assert_eq!(net.status(c, End::Server), EndStatus::Lost(Reason::Lost));
    net.write(a, End::Client, "still here?\n");
    net.run();
    assert_eq!(got(&net, b), ["#0: still here?"]);
    assert_eq!(got(&net, a), Vec::<String>::new());
}

/// Records what happened to a client that connects somewhere.
#[derive(Default)]
struct Probe {
    made: bool,
    lost: Option<Reason>,
    got: Vec<u8>,
}

impl Protocol for Probe {
    fn connection_made(&mut self, _: &mut Transport<'_>) {
        self.made = true;
    }

    fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
        self.got.extend_from_slice(&data);
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.lost = Some(reason.clone());
    }
}

#[test]
fn connecting_to_nothing_is_refused_after_the_connect_latency() {
    // Nobody listens on the address; the attempt takes 30 ms to find out.
    let mut net = Reactor::new().connect_latency(Duration::from_millis(30));
    let c = net.connect(([10, 0, 0, 9], 80), Probe::default());
    assert_eq!(net.status(c, End::Client), EndStatus::Connecting);
    net.run();
    let probe = net.protocol::<Probe>(c, End::Client);
    assert!(probe.is_some_and(|p| !p.made && p.lost == Some(Reason::Refused)));
    assert_eq!(net.events(c, End::Client), [Event::Lost(Reason::Refused)]);
    assert_eq!(net.status(c, End::Server), EndStatus::Lost(Reason::Refused));
    let lost_at = net
        .log()
        .records()
        .iter()
        .find(|r| r.conn == c)
        .map(|r| r.time);
    assert_eq!(
        lost_at.map(|t| t.since_start()),
        Some(Duration::from_millis(30))
    );
}

#[test]
fn an_attempt_slower_than_its_timeout_times_out() {
    // The attempt needs 50 ms; the timeout is 20 ms; then a faster one connects.
    let mut net = Reactor::new().connect_timeout(Duration::from_millis(20));
    net.listen(CHAT, Probe::default);
    let slow = ConnectOptions::new().connect_latency(Duration::from_millis(50));
    let c = net.connect_with(CHAT, Probe::default(), slow);
    let fast = ConnectOptions::new().connect_latency(Duration::from_millis(10));
    let d = net.connect_with(CHAT, Probe::default(), fast);
    net.run();
    assert_eq!(net.lost(c, End::Client), Some(&Reason::TimedOut));
    assert_eq!(net.accepted(CHAT), [d]);
    assert_eq!(net.status(d, End::Client), EndStatus::Open);
}

#[test]
fn stop_listening_refuses_later_attempts_and_keeps_the_accepted() {
    // One connection is accepted; then the listener stops; the next attempt is refused.
    let mut net = Reactor::new();
    net.listen(CHAT, Probe::default);
    let first = net.connect(CHAT, Probe::default());
    net.run();
    assert!(net.stop_listening(CHAT));
    assert!(!net.stop_listening(CHAT));
    let second = net.connect(CHAT, Probe::default());
    net.run();
    assert_eq!(net.status(first, End::Server), EndStatus::Open);
    assert_eq!(net.lost(second, End::Client), Some(&Reason::Refused));
    assert_eq!(net.accepted(CHAT), [first]);
    net.listen(CHAT, Probe::default);
    let third = net.connect(CHAT, Probe::default());
    net.run();
    assert_eq!(net.accepted(CHAT), [first, third]);
}

/// Waits `patience` for a greeting, aborting when it does not come.
struct Impatient {
    patience: Duration,
    timer: Option<TimerId>,
    greeted: bool,
}

impl Impatient {
    fn new(patience: Duration) -> Self {
        Self {
            patience,
            timer: None,
            greeted: false,
        }
    }
}

impl Protocol for Impatient {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.timer = Some(tx.call_later(self.patience));
    }

    fn data_received(&mut self, _: Bytes, tx: &mut Transport<'_>) {
        self.greeted = true;
        if let Some(t) = self.timer.take() {
            tx.cancel(t);
        }
    }

    fn timer_fired(&mut self, _: TimerId, tx: &mut Transport<'_>) {
        tx.abort_connection();
    }
}

/// Greets on connect.
struct Greeter;

impl Protocol for Greeter {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        tx.write("220 hello\r\n");
    }

    fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
}

#[test]
fn a_timeout_fires_before_a_slow_greeting_and_not_a_fast_one() {
    // The client gives the server 100 ms to greet; the greeting takes the latency to arrive.
    for (latency_ms, greeted) in [(250, false), (40, true)] {
        let mut net = Reactor::new().latency(Duration::from_millis(latency_ms));
        net.listen(CHAT, || Greeter);
        let c = net.connect(CHAT, Impatient::new(Duration::from_millis(100)));
        net.run();
        let client = net.protocol::<Impatient>(c, End::Client);
        assert_eq!(
            client.map(|p| p.greeted),
            Some(greeted),
            "latency {latency_ms} ms"
        );
        let reason = if greeted {
            None
        } else {
            Some(&Reason::Aborted)
        };
        assert_eq!(net.lost(c, End::Client), reason, "latency {latency_ms} ms");
    }
}

/// Records why its connection was lost; the test reconnects when it sees that.
#[derive(Default)]
struct Flaky {
    lost: Option<Reason>,
}

impl Protocol for Flaky {
    fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}

    fn connection_lost(&mut self, reason: &Reason) {
        self.lost = Some(reason.clone());
    }
}

#[test]
fn a_client_reconnects_after_its_connection_is_lost() {
    // The server resets the first connection; the client notices and connects again.
    let mut net = Reactor::new();
    net.listen(CHAT, Probe::default);
    let first = net.connect(CHAT, Flaky::default());
    net.run();
    net.abort(first, End::Server).run();
    let lost = net
        .protocol::<Flaky>(first, End::Client)
        .and_then(|f| f.lost.clone());
    assert_eq!(lost, Some(Reason::Lost));
    let second = net.connect(CHAT, Flaky::default());
    net.run();
    assert_eq!(net.accepted(CHAT), [first, second]);
    assert_eq!(net.status(second, End::Client), EndStatus::Open);
    assert_ne!(net.host(first, End::Client), net.host(second, End::Client));
    assert_eq!(net.peer(second, End::Client), CHAT.into());
}

/// Three members, each sending three lines once everyone has joined; returns what each
/// received, by member.
fn chat_round(schedule: Schedule, chunking: Chunking) -> (Reactor, Vec<ConnId>) {
    let mut net = Reactor::new()
        .chunking(chunking)
        .config(Config::new().schedule(schedule));
    chat_server(&mut net, 3);
    let members = ["a", "b", "c"].map(|who| {
        let lines: Vec<&'static str> = match who {
            "a" => vec!["a1\n", "a2\n", "a3\n"],
            "b" => vec!["b1\n", "b2\n", "b3\n"],
            _ => vec!["c1\n", "c2\n", "c3\n"],
        };
        net.connect(CHAT, ChatClient::new(&lines))
    });
    net.run();
    (net, members.to_vec())
}

fn check_every_message_once_in_order(net: &Reactor, members: &[ConnId]) -> Result<(), String> {
    for &m in members {
        let lines = got(net, m);
        let mut by_sender: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in &lines {
            let (from, text) = line
                .split_once(": ")
                .ok_or_else(|| format!("bad line {line:?}"))?;
            by_sender
                .entry(from.to_owned())
                .or_default()
                .push(text.to_owned());
        }
        for &other in members.iter().filter(|&&o| o != m) {
            let name = ["a", "b", "c"][other.index()];
            let want: Vec<String> = (1..=3).map(|i| format!("{name}{i}")).collect();
            let have = by_sender.remove(&other.to_string()).unwrap_or_default();
            if have != want {
                return Err(format!("{m} got {have:?} from {other}, want {want:?}"));
            }
        }
        if !by_sender.is_empty() {
            return Err(format!("{m} got unexpected lines {by_sender:?}"));
        }
    }
    Ok(())
}

#[cfg(feature = "proptest")]
proptest! {
    #[test]
    fn every_schedule_delivers_every_message_once_in_sender_order(
        schedule in piecemeal::strategy::schedule(200, 6),
        bytewise in any::<bool>(),
    ) {
        let chunking = if bytewise { Chunking::every_byte() } else { Chunking::whole() };
        let (net, members) = chat_round(schedule.clone(), chunking);
        let verdict = check_every_message_once_in_order(&net, &members);
        prop_assert!(verdict.is_ok(), "{} under {schedule}:\n{}", verdict.unwrap_err(), net.transcript());
    }
}

#[test]
fn seeded_schedules_change_the_interleaving_but_not_the_outcome() {
    // Different seeds give different transcripts; all deliver everything.
    let mut transcripts = Vec::new();
    for seed in 0..20 {
        let (net, members) = chat_round(Schedule::seeded(seed), Chunking::every_byte());
        check_every_message_once_in_order(&net, &members).unwrap_or_else(|e| panic!("{e}"));
        transcripts.push(net.transcript().to_string());
    }
    transcripts.sort();
    transcripts.dedup();
    assert!(
        transcripts.len() > 10,
        "only {} distinct interleavings",
        transcripts.len()
    );
}

#[test]
fn the_same_schedule_literal_replays_the_same_transcript() {
    // Run, print the schedule literal, parse it back, run again: byte-for-byte the same.
    let schedule = Schedule::choices([2, 0, 1, 1, 3, 0, 2, 5, 1]);
    let (first, _) = chat_round(schedule.clone(), Chunking::fixed(2));
    let literal = schedule.to_string();
    let replayed: Schedule = literal.parse().unwrap_or_else(|e| panic!("{e}"));
    let (second, _) = chat_round(replayed, Chunking::fixed(2));
    let text = first.transcript().to_string();
    assert!(
        text.starts_with(&format!("# schedule: {literal}\n")),
        "{text}"
    );
    assert_eq!(text, second.transcript().to_string());
    let (fifo, _) = chat_round(Schedule::fifo(), Chunking::fixed(2));
    assert_ne!(text, fifo.transcript().to_string());
}

#[test]
fn with_protocol_reaches_any_end_by_type_and_checks_it() {
    // The test makes the server end of a connection write.
    let mut net = Reactor::new();
    net.listen(CHAT, || Greeter);
    let c = net.connect(CHAT, Probe::default());
    net.run();
    net.with_protocol::<Greeter, _>(c, End::Server, |_, tx| tx.write("more"));
    net.run();
    let probe = net.protocol::<Probe>(c, End::Client);
    assert_eq!(probe.map(|p| &p.got[..]), Some(&b"220 hello\r\nmore"[..]));
    assert!(net.protocol::<Greeter>(c, End::Client).is_none());
    let text = net.transcript().to_string();
    assert!(text.contains("#0  server Greeter"), "{text}");
    assert!(text.contains("#0  client Probe"), "{text}");
}

#[test]
#[should_panic(expected = "Reactor::write(#0, client): the connection is not established yet")]
fn acting_on_a_connection_still_connecting_panics_clearly() {
    // A connect latency keeps the attempt in flight.
    let mut net = Reactor::new().connect_latency(Duration::from_secs(1));
    let c = net.connect(CHAT, Probe::default());
    net.write(c, End::Client, "too early");
}

#[test]
#[should_panic(expected = "Reactor::listen(10.0.0.1:6667): something already listens there")]
fn listening_twice_on_an_address_panics() {
    let mut net = Reactor::new();
    net.listen(CHAT, Probe::default);
    net.listen(CHAT, Probe::default);
}

#[test]
fn idle_connections_cost_nothing_to_skip() {
    // 500 idle connections and one busy one: the busy one's steps are all the run takes.
    let mut net = Reactor::new();
    net.listen(CHAT, Probe::default);
    for _ in 0..500 {
        net.connect(CHAT, Probe::default());
    }
    net.run();
    let before = net.log().records().last().map_or(0, |r| r.step);
    let busy = net.connect(CHAT, Probe::default());
    net.run();
    net.set_chunking(busy, End::Server, Chunking::every_byte());
    net.write(busy, End::Server, vec![b'x'; 64]);
    net.run();
    let after = net.log().records().last().map_or(0, |r| r.step);
    // Connect (1), two connection_made (2), 64 one-byte pieces.
    assert_eq!(after - before, 1 + 2 + 64);
}
