//! Helpers shared by the suite: `Hooks`, a protocol assembled from closures, so each test
//! states exactly what its ends do and nothing else; the planted bug of DESIGN §4; a seeded
//! generator; and small readers of events and panics.

#![allow(
    dead_code,
    reason = "each test module uses a different subset of the helpers"
)]

use std::any::Any;
use std::borrow::Cow;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::TimerId;
use piecemeal::{Chunking, End, Event, Pair, Protocol, Reason, Transport};

/// What a `Hooks` protocol observed, and a scratch counter for the closures.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct State {
    /// Every byte received, joined.
    pub(crate) received: Vec<u8>,
    /// How many pieces arrived.
    pub(crate) pieces: usize,
    /// The callbacks in the order they were made (`"made"`, `"data"`, `"read_lost"`, …).
    pub(crate) calls: Vec<&'static str>,
    /// The reason given to `connection_lost`.
    pub(crate) lost: Option<Reason>,
    /// Free for the closures to use.
    pub(crate) counter: u64,
}

type Hook = Box<dyn FnMut(&mut State, &mut Transport<'_>)>;
type DataHook = Box<dyn FnMut(&mut State, Bytes, &mut Transport<'_>)>;
type TimerHook = Box<dyn FnMut(&mut State, TimerId, &mut Transport<'_>)>;
type StopHook = Box<dyn FnMut(&mut State)>;
type LostHook = Box<dyn FnMut(&mut State, &Reason)>;

/// A protocol whose callbacks are closures. Unset callbacks only record themselves.
pub(crate) struct Hooks {
    pub(crate) state: State,
    name: &'static str,
    half_closeable: bool,
    made: Option<Hook>,
    data: Option<DataHook>,
    read_lost: Option<Hook>,
    write_lost: Option<Hook>,
    timer: Option<TimerHook>,
    pause: Option<Hook>,
    resume: Option<Hook>,
    stop: Option<StopHook>,
    lost: Option<LostHook>,
}

impl Hooks {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            state: State::default(),
            name,
            half_closeable: false,
            made: None,
            data: None,
            read_lost: None,
            write_lost: None,
            timer: None,
            pause: None,
            resume: None,
            stop: None,
            lost: None,
        }
    }

    pub(crate) fn half_closeable(mut self) -> Self {
        self.half_closeable = true;
        self
    }

    pub(crate) fn on_made(
        mut self,
        f: impl FnMut(&mut State, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.made = Some(Box::new(f));
        self
    }

    pub(crate) fn on_data(
        mut self,
        f: impl FnMut(&mut State, Bytes, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.data = Some(Box::new(f));
        self
    }

    pub(crate) fn on_read_lost(
        mut self,
        f: impl FnMut(&mut State, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.read_lost = Some(Box::new(f));
        self
    }

    pub(crate) fn on_write_lost(
        mut self,
        f: impl FnMut(&mut State, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.write_lost = Some(Box::new(f));
        self
    }

    pub(crate) fn on_timer(
        mut self,
        f: impl FnMut(&mut State, TimerId, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.timer = Some(Box::new(f));
        self
    }

    pub(crate) fn on_pause(
        mut self,
        f: impl FnMut(&mut State, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.pause = Some(Box::new(f));
        self
    }

    pub(crate) fn on_resume(
        mut self,
        f: impl FnMut(&mut State, &mut Transport<'_>) + 'static,
    ) -> Self {
        self.resume = Some(Box::new(f));
        self
    }

    pub(crate) fn on_stop(mut self, f: impl FnMut(&mut State) + 'static) -> Self {
        self.stop = Some(Box::new(f));
        self
    }

    pub(crate) fn on_lost(mut self, f: impl FnMut(&mut State, &Reason) + 'static) -> Self {
        self.lost = Some(Box::new(f));
        self
    }
}

impl Protocol for Hooks {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.state.calls.push("made");
        if let Some(f) = &mut self.made {
            f(&mut self.state, tx);
        }
    }

    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.state.calls.push("data");
        self.state.pieces += 1;
        self.state.received.extend_from_slice(&data);
        if let Some(f) = &mut self.data {
            f(&mut self.state, data, tx);
        }
    }

    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.state.calls.push("read_lost");
        if let Some(f) = &mut self.read_lost {
            f(&mut self.state, tx);
        }
    }

    fn write_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.state.calls.push("write_lost");
        if let Some(f) = &mut self.write_lost {
            f(&mut self.state, tx);
        }
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.state.calls.push("lost");
        self.state.lost = Some(reason.clone());
        if let Some(f) = &mut self.lost {
            f(&mut self.state, reason);
        }
    }

    fn timer_fired(&mut self, timer: TimerId, tx: &mut Transport<'_>) {
        self.state.calls.push("timer");
        if let Some(f) = &mut self.timer {
            f(&mut self.state, timer, tx);
        }
    }

    fn pause_producing(&mut self, tx: &mut Transport<'_>) {
        self.state.calls.push("pause");
        if let Some(f) = &mut self.pause {
            f(&mut self.state, tx);
        }
    }

    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        self.state.calls.push("resume");
        if let Some(f) = &mut self.resume {
            f(&mut self.state, tx);
        }
    }

    fn stop_producing(&mut self) {
        self.state.calls.push("stop");
        if let Some(f) = &mut self.stop {
            f(&mut self.state);
        }
    }

    fn half_closeable(&self) -> bool {
        self.half_closeable
    }

    fn log_prefix(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.name)
    }
}

/// A protocol that does nothing but record (`Hooks` with no closures).
pub(crate) fn quiet(name: &'static str) -> Hooks {
    Hooks::new(name)
}

/// Echoes every piece back.
pub(crate) fn echo() -> Hooks {
    Hooks::new("Echo").on_data(|_, data, tx| tx.write_bytes(data))
}

/// The two chunkings every behaviour is checked under.
pub(crate) fn plans() -> [Chunking; 2] {
    [Chunking::whole(), Chunking::every_byte()]
}

/// Every combination of whole and one-byte chunking for (client→server, server→client).
pub(crate) fn plan_pairs() -> [(Chunking, Chunking); 4] {
    let (w, b) = (Chunking::whole, Chunking::every_byte);
    [(w(), w()), (b(), b()), (w(), b()), (b(), w())]
}

/// The message of a caught panic: its `String` or `&str` payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        String::from("(not a string)")
    }
}

/// Runs `f`; `Err` with the panic's message if it panicked.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(&*payload))
}

/// How many runs of back-to-back memory `parts` lie in: 1 when each starts where the one before
/// it ends (packed in one buffer), one more for every part that starts elsewhere.
pub(crate) fn memory_runs(parts: &[Bytes]) -> usize {
    let breaks = parts
        .windows(2)
        .filter(|w| w[0].as_ptr_range().end != w[1].as_ptr())
        .count();
    usize::from(!parts.is_empty()) + breaks
}

/// The message of the panic `f` raises.
#[track_caller]
pub(crate) fn panic_text(f: impl FnOnce()) -> String {
    catch_panic(f).expect_err("expected a panic")
}

/// The transcript a failure message carries: the text after its header, which must be there.
/// Check an event line in it, not just the word `transcript`, to know the events were shown.
#[track_caller]
pub(crate) fn transcript_of(text: &str) -> &str {
    const HEADER: &str = "\ntranscript (replay with the chunkings in its header):\n";
    match text.find(HEADER) {
        Some(at) => &text[at + HEADER.len()..],
        None => panic!("no transcript in: {text}"),
    }
}

/// Each end's `Lost` events: exactly one, and the end's last event.
#[track_caller]
pub(crate) fn lost_once_and_last<C: Protocol, S: Protocol>(pair: &Pair<C, S>) {
    for end in [End::Client, End::Server] {
        let events = pair.events(end);
        let lost = events
            .iter()
            .filter(|e| matches!(e, Event::Lost(_)))
            .count();
        assert_eq!(lost, 1, "{end}: {events:?}");
        assert!(
            matches!(events.last(), Some(Event::Lost(_))),
            "{end}: {events:?}"
        );
    }
}

/// The pieces an end received, in order.
pub(crate) fn pieces<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<Bytes> {
    let received = events.into_iter().filter_map(|e| match e {
        Event::Received(data) => Some(data.clone()),
        _ => None,
    });
    received.collect()
}

/// The writes an end made, in order (join them with `concat`).
pub(crate) fn wrote<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<Bytes> {
    let writes = events.into_iter().filter_map(|e| match e {
        Event::Wrote(data) => Some(data.clone()),
        _ => None,
    });
    writes.collect()
}

/// How many of `events` equal `wanted`.
pub(crate) fn count(events: &[Event], wanted: &Event) -> usize {
    events.iter().filter(|e| *e == wanted).count()
}

/// The misuse events among `events`, in order.
pub(crate) fn misuse_events(events: Vec<Event>) -> Vec<Event> {
    let misuse = events.into_iter().filter(|e| matches!(e, Event::Misuse(_)));
    misuse.collect()
}

/// The callbacks a `Hooks` protocol got, space-separated.
pub(crate) fn calls(p: &Hooks) -> String {
    p.state.calls.join(" ")
}

/// The planted bug of DESIGN §4: drops a `\n` that starts a piece, as if it always belonged
/// to a `\r` that ended the previous one. Otherwise echoes every `\r\n`-terminated line.
#[derive(Default)]
pub(crate) struct DropsLeadingNewline {
    buf: Vec<u8>,
}

impl Protocol for DropsLeadingNewline {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf
            .extend_from_slice(data.strip_prefix(b"\n").unwrap_or(&data));
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).collect();
            tx.write(line);
        }
    }
}

/// The SplitMix64 generator (Steele, Lea and Flood), so the suite needs no new dependency for
/// its seeded scenarios.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    pub(crate) fn coin(&mut self) -> bool {
        self.below(2) == 0
    }

    /// In `0..=max` milliseconds.
    pub(crate) fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }
}
