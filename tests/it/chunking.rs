//! Chunking through the engine: every plan delivers exactly the pieces it describes, writes
//! coalesce or keep their boundaries as the plan says, pieces are slices, and literals round-trip.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use bytes::Bytes;
use piecemeal::{Chunking, End, Event, Harness, Pair};
use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::support::*;

/// `n` distinct bytes, so a misplaced piece cannot go unnoticed.
fn input(n: usize) -> Vec<u8> {
    (0..n).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Delivers `data` to a recorder under `plan` and returns the pieces it received.
fn delivered(data: &[u8], plan: &Chunking) -> Vec<Bytes> {
    let mut h = Harness::new(quiet("Recorder"));
    h.deliver(data, plan.clone());
    assert_eq!(h.protocol().state.received, data, "{plan}");
    pieces(&h.events())
}

/// What `plan.pieces(len)` says `data` is cut into.
fn planned(data: &[u8], plan: &Chunking) -> Vec<Vec<u8>> {
    plan.pieces(data.len())
        .into_iter()
        .map(|r: Range<usize>| data[r].to_vec())
        .collect()
}

fn lens(pieces: &[Bytes]) -> Vec<usize> {
    pieces.iter().map(Bytes::len).collect()
}

#[test]
fn every_cut_set_up_to_eight_bytes_delivers_its_planned_pieces() {
    // All 2^(n-1) plans for n = 1..=8: the recorder gets exactly plan.pieces(n).
    let mut plans = 0;
    for n in 1..=8 {
        let data = input(n);
        for plan in Chunking::all(n) {
            assert_eq!(delivered(&data, &plan), planned(&data, &plan), "{plan}");
            plans += 1;
        }
    }
    assert_eq!(plans, 255);
}

#[test]
fn every_fixed_size_delivers_its_planned_pieces() {
    // fixed(1) ..= fixed(7) on 7 bytes, including the short last piece.
    let data = input(7);
    let got: Vec<Vec<usize>> = Chunking::every_fixed(7)
        .map(|plan| lens(&delivered(&data, &plan)))
        .collect();
    assert_eq!(
        got,
        [
            vec![1; 7],
            vec![2, 2, 2, 1],
            vec![3, 3, 1],
            vec![4, 3],
            vec![5, 2],
            vec![6, 1],
            vec![7],
        ]
    );
}

#[test]
fn with_cuts_plans_deliver_exactly_k_plus_one_pieces() {
    // Every 2-cut plan of 6 bytes: three pieces each, as planned.
    let data = input(6);
    let mut count = 0;
    for plan in Chunking::with_cuts(6, 2) {
        let got = delivered(&data, &plan);
        assert_eq!(got.len(), 3, "{plan}");
        assert_eq!(got, planned(&data, &plan), "{plan}");
        count += 1;
    }
    assert_eq!(count, 10, "binomial(5, 2)");
}

#[test]
fn sizes_cycle_through_the_list() {
    // sizes([1, 3]) on 10 bytes: 1, 3, 1, 3, then the last 2 bytes as 1 and 1.
    let got = delivered(&input(10), &Chunking::sizes([1, 3]));
    assert_eq!(lens(&got), [1, 3, 1, 3, 1, 1]);
}

#[test]
fn seeded_plans_are_reproducible() {
    // The same seed cuts the same way in two harnesses; a different seed cuts differently.
    let data = input(64);
    let first = delivered(&data, &Chunking::seeded(7, 5));
    let again = delivered(&data, &Chunking::seeded(7, 5));
    assert_eq!(first, again);
    assert_eq!(first, planned(&data, &Chunking::seeded(7, 5)));
    assert!(
        lens(&first).iter().all(|n| (1..=5).contains(n)),
        "{first:?}"
    );
    assert_ne!(
        lens(&first),
        lens(&delivered(&data, &Chunking::seeded(8, 5)))
    );
}

/// A client that makes several writes in connection_made (Twisted's T02 and T23).
fn writer(parts: &'static [&'static str]) -> Hooks {
    Hooks::new("Writer").on_made(move |_, tx| {
        for part in parts {
            tx.write(part);
        }
        tx.write_sequence(["k", "l"]);
    })
}

fn server_pieces(plan: Chunking, parts: &'static [&'static str]) -> Vec<Bytes> {
    let mut pair = Pair::new(writer(parts), quiet("Server")).client_to_server(plan);
    pair.run();
    pieces(&pair.events(End::Server))
}

#[test]
fn whole_coalesces_writes_made_in_one_callback() {
    // T23: ten 1-byte writes and a write_sequence arrive as one piece under whole().
    let ten = &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    assert_eq!(
        server_pieces(Chunking::whole(), ten),
        [b"abcdefghijkl".to_vec()]
    );
    // T02: writes of different sizes coalesce too.
    assert_eq!(
        server_pieces(Chunking::whole(), &["a", "bc", "def"]),
        [b"abcdefkl".to_vec()]
    );
}

#[test]
fn per_write_keeps_write_boundaries() {
    // The loopback model: one piece per write, a write_sequence being one write.
    let got = server_pieces(Chunking::per_write(), &["a", "bc", "def"]);
    let want: Vec<Vec<u8>> = ["a", "bc", "def", "kl"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_piece_never_spans_two_deliver_calls() {
    // The protocol pauses reading, the peer delivers twice, then the protocol resumes:
    // the two deliveries stay apart, each cut by its own plan.
    let mut h = Harness::new(quiet("Recorder"));
    h.with_protocol(|_, tx| tx.pause_reading());
    h.deliver(b"abc", Chunking::whole());
    h.deliver(b"defg", Chunking::cuts([1]));
    h.deliver(b"hi", Chunking::whole());
    assert_eq!(h.protocol().state.received, b"");
    h.with_protocol(|_, tx| tx.resume_reading());
    assert_eq!(
        pieces(&h.events()),
        [
            b"abc".to_vec(),
            b"d".to_vec(),
            b"efg".to_vec(),
            b"hi".to_vec()
        ]
    );
}

#[test]
fn pieces_of_one_write_are_slices_of_it() {
    // deliver_bytes of one 16-byte buffer under fixed(5): every piece points into that buffer.
    let got: Rc<RefCell<Vec<Bytes>>> = Rc::default();
    let sink = Rc::clone(&got);
    let proto = Hooks::new("Recorder").on_data(move |_, data, _| sink.borrow_mut().push(data));
    let data = Bytes::from((0u8..16).collect::<Vec<u8>>());
    let mut h = Harness::new(proto);
    h.deliver_bytes(data.clone(), Chunking::fixed(5));
    let got = got.borrow();
    let starts: Vec<usize> = Chunking::fixed(5)
        .pieces(16)
        .into_iter()
        .map(|r| r.start)
        .collect();
    assert_eq!(got.len(), starts.len());
    for (piece, start) in got.iter().zip(starts) {
        assert_eq!(piece.as_ptr(), data[start..].as_ptr(), "piece at {start}");
    }
}

#[test]
fn display_literals_parse_back_and_head_the_transcript() {
    // Each named plan prints a literal that parses to itself and heads the Pair transcript.
    let plans = [
        Chunking::whole(),
        Chunking::every_byte(),
        Chunking::fixed(3),
        Chunking::cuts([1, 5, 9]),
        Chunking::sizes([2, 1]),
        Chunking::per_write(),
        Chunking::seeded(42, 8),
    ];
    for plan in plans {
        let literal = plan.to_string();
        assert_eq!(literal.parse::<Chunking>(), Ok(plan.clone()), "{literal}");
        let mut pair = Pair::new(echo(), quiet("S"))
            .client_to_server(plan.clone())
            .server_to_client(Chunking::fixed(2));
        pair.run();
        let text = pair.transcript().to_string();
        let header: Vec<&str> = text.lines().take(2).collect();
        assert_eq!(
            header,
            [
                format!("# #0 client→server: {literal}"),
                "# #0 server→client: Chunking::fixed(2)".to_owned(),
            ],
            "{text}"
        );
    }
}

#[test]
#[should_panic(expected = "Chunking::fixed(0): a piece size must be at least 1")]
fn fixed_zero_panics() {
    // A zero piece size is rejected with the call in the message.
    let _ = Chunking::fixed(0);
}

#[test]
#[should_panic(
    expected = "Chunking::cuts([3, 2]): cut offsets must be strictly increasing (2 follows 3)"
)]
fn decreasing_cuts_panic() {
    // Offsets must increase; the message names the offending pair.
    let _ = Chunking::cuts([3, 2]);
}

#[test]
#[should_panic(expected = "Chunking::cuts([0]): a cut at offset 0 would make an empty first piece")]
fn a_cut_at_zero_panics() {
    // A cut at offset 0 would make an empty piece.
    let _ = Chunking::cuts([0]);
}

#[test]
#[should_panic(expected = "Chunking::sizes([]): needs at least one size")]
fn empty_sizes_panic() {
    // A cyclic size list needs at least one size.
    let _ = Chunking::sizes([]);
}

#[test]
fn try_constructors_and_parse_return_errors() {
    // The fallible forms report the same problems as values, and parse rejects bad input.
    let msg = |r: Result<Chunking, piecemeal::chunking::ChunkingError>| match r {
        Ok(plan) => format!("unexpectedly built {plan}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        msg(Chunking::try_fixed(0)),
        "Chunking::fixed(0): a piece size must be at least 1"
    );
    assert_eq!(
        msg(Chunking::try_cuts([2, 2])),
        "Chunking::cuts([2, 2]): cut offsets must be strictly increasing (2 follows 2)"
    );
    assert_eq!(
        msg(Chunking::try_sizes([2, 0])),
        "Chunking::sizes([2, 0]): a piece size must be at least 1 (0 at index 1)"
    );
    assert_eq!(
        msg(Chunking::try_seeded(9, 0)),
        "Chunking::seeded(9, 0): max must be at least 1"
    );
    assert_eq!(Chunking::try_cuts([]), Ok(Chunking::whole()));
    let fixed0 = msg("Chunking::fixed(0)".parse());
    assert!(
        fixed0.contains("a piece size must be at least 1"),
        "{fixed0}"
    );
    let bogus = msg("Chunking::bogus(1)".parse());
    assert!(
        bogus.starts_with("could not parse `Chunking::bogus(1)`"),
        "{bogus}"
    );
    let trailing = msg("whole() extra".parse());
    assert!(trailing.contains("after the chunking"), "{trailing}");
}

/// A payload and a `cuts` plan built from arbitrary offsets (sorted, deduplicated, some past
/// the end of the payload).
fn payload_and_cuts() -> impl Strategy<Value = (Vec<u8>, Chunking)> {
    let payload = proptest::collection::vec(any::<u8>(), 0..48);
    let offsets = proptest::collection::vec(1usize..64, 0..10);
    (payload, offsets).prop_map(|(payload, mut offsets)| {
        offsets.sort_unstable();
        offsets.dedup();
        (payload, Chunking::cuts(offsets))
    })
}

proptest! {
    #[test]
    fn any_cuts_plan_delivers_the_same_bytes_in_as_many_pieces_as_planned(
        (payload, plan) in payload_and_cuts()
    ) {
        // Whatever the cuts, the joined pieces are the payload and the count is pieces().len().
        let mut h = Harness::new(quiet("Recorder"));
        h.deliver(&payload, plan.clone());
        let got = pieces(&h.events());
        prop_assert_eq!(got.concat(), payload.clone());
        prop_assert_eq!(got.len(), plan.pieces(payload.len()).len());
        prop_assert_eq!(h.protocol().state.pieces, got.len());
        prop_assert!(got.iter().all(|p| !p.is_empty()));
    }
}

/// Writes `abc` on connect and `de` one millisecond later.
fn two_bursts() -> Hooks {
    Hooks::new("Bursts")
        .on_made(|_, tx| {
            tx.write("abc");
            tx.call_later(std::time::Duration::from_millis(1));
        })
        .on_timer(|_, _, tx| tx.write("de"))
}

#[test]
fn cuts_are_stream_offsets_across_writes_made_at_different_times() {
    // `abc` is delivered before `de` is written: a piece ends at the end of what is available,
    // and the plan's offsets continue across the two writes.
    let cases = [
        (Chunking::whole(), vec!["abc", "de"]),
        (Chunking::fixed(2), vec!["ab", "c", "d", "e"]),
        (Chunking::cuts([1, 4]), vec!["a", "bc", "d", "e"]),
        (Chunking::sizes([4]), vec!["abc", "d", "e"]),
    ];
    for (plan, want) in cases {
        let mut pair = Pair::new(two_bursts(), quiet("Server")).client_to_server(plan.clone());
        pair.run();
        let want: Vec<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
        assert_eq!(pieces(&pair.events(End::Server)), want, "{plan}");
    }
}

#[test]
fn whole_delivers_only_what_has_arrived_under_latency() {
    // With 2ms latency, `abc` (written at 0) and `de` (at 1ms) arrive apart, at 2 and 3 ms.
    let mut pair = Pair::new(two_bursts(), quiet("Server"))
        .latency_client_to_server(std::time::Duration::from_millis(2));
    pair.run();
    let got: Vec<(u128, Vec<u8>)> = pair
        .log()
        .records()
        .iter()
        .filter_map(|r| match &r.event {
            Event::Received(data) => Some((r.time.since_start().as_millis(), data.to_vec())),
            _ => None,
        })
        .collect();
    assert_eq!(got, [(2, b"abc".to_vec()), (3, b"de".to_vec())]);
}
