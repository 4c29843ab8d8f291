//! Fault sweeps (`piecemeal::check::sweep`): a peer that closes, half-closes or aborts at every
//! offset of an exchange. The centrepiece is a planted bug — a length-prefixed reader that takes
//! an EOF right after a length prefix for a complete empty message — found at exactly the
//! offsets where it is wrong, and the fixed reader passing.

use bytes::Bytes;
use piecemeal::check::{self, Fault, FaultCase};
use piecemeal::protocols::{Accumulating, HalfCloseEcho};
use piecemeal::{Chunking, Config, PanicPolicy, Protocol, Reason, Transport};
use pretty_assertions::assert_eq;

use super::support::{panic_text, plans, transcript_of};

/// Reads messages framed by a 2-byte big-endian length. On the peer's EOF it reports whether
/// the stream ended between frames (`ok`) or inside one (`error`), writes that, and closes; a
/// reset is always an error.
#[derive(Debug, Default)]
struct LengthPrefixed {
    /// The planted bug: an EOF right after a length prefix counts as an empty message.
    buggy: bool,
    buf: Vec<u8>,
    messages: Vec<Bytes>,
    result: Option<Result<(), String>>,
}

impl LengthPrefixed {
    fn buggy() -> Self {
        Self {
            buggy: true,
            ..Self::default()
        }
    }

    fn fixed() -> Self {
        Self::default()
    }

    fn end_of_stream(&mut self) -> Result<(), String> {
        match self.buf.len() {
            0 => Ok(()),
            2 if self.buggy => {
                self.messages.push(Bytes::new());
                self.buf.clear();
                Ok(())
            }
            n => Err(format!("the stream ended {n} bytes into a frame")),
        }
    }
}

impl Protocol for LengthPrefixed {
    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        while self.buf.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
            if self.buf.len() < 2 + len {
                break;
            }
            let frame: Vec<u8> = self.buf.drain(..2 + len).collect();
            self.messages.push(Bytes::copy_from_slice(&frame[2..]));
        }
    }

    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        let result = self.end_of_stream();
        tx.write(if result.is_ok() { "ok\n" } else { "error\n" });
        self.result = Some(result);
        tx.lose_connection();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        if self.result.is_none() {
            self.result = Some(Err(format!("connection lost: {reason}")));
        }
    }

    fn half_closeable(&self) -> bool {
        true
    }
}

/// Two frames: `abc` (offsets 0..5) and `hi` (offsets 5..9).
const INPUT: &[u8] = b"\x00\x03abc\x00\x02hi";

/// What a correct reader reports after receiving `delivered` and then the fault.
fn expected(delivered: &[u8], fault: Fault) -> (Vec<Bytes>, bool) {
    let (mut messages, mut rest) = (Vec::new(), delivered);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            break;
        }
        messages.push(Bytes::copy_from_slice(&rest[2..2 + len]));
        rest = &rest[2 + len..];
    }
    let ok = rest.is_empty() && fault != Fault::Abort;
    (messages, ok)
}

/// The check: the messages and the verdict a correct reader gives; on a half-close, the peer
/// (still reading) gets that verdict.
fn reader_is_right(o: &check::FaultOutcome<LengthPrefixed>) -> Result<(), String> {
    let (messages, ok) = expected(o.delivered(), o.fault());
    let p = o.protocol();
    if p.messages != messages {
        return Err(format!("messages {:?}, expected {messages:?}", p.messages));
    }
    if p.result.as_ref().map(Result::is_ok) != Some(ok) {
        return Err(format!("result {:?}, expected ok = {ok}", p.result));
    }
    if o.fault() == Fault::HalfClose {
        let reply: &[u8] = if ok { b"ok\n" } else { b"error\n" };
        if o.written() != reply {
            return Err(format!("wrote {:?}", o.written()));
        }
    }
    Ok(())
}

#[test]
fn a_sweep_finds_the_planted_bug_at_exactly_the_wrong_offsets() {
    for chunking in plans() {
        let report = check::sweep(LengthPrefixed::buggy)
            .input(INPUT)
            .chunking(chunking.clone())
            .check(reader_is_right);
        assert_eq!(report.cases_run(), 3 * (INPUT.len() + 1), "{chunking}");
        // Right after each length prefix, and nowhere else.
        assert_eq!(report.failing_offsets(Fault::Close), [2, 7], "{chunking}");
        assert_eq!(report.failing_offsets(Fault::HalfClose), [2, 7]);
        assert_eq!(report.failing_offsets(Fault::Abort), Vec::<usize>::new());
        let first = &report.failures()[0];
        assert_eq!(first.case(), FaultCase::new(Fault::Close, 2));
        assert!(
            first.message().contains("messages [b\"\"]"),
            "{}",
            first.message()
        );
        assert!(!report.is_ok());
    }
}

#[test]
fn the_fixed_reader_passes_every_case() {
    for chunking in [
        Chunking::whole(),
        Chunking::every_byte(),
        Chunking::fixed(3),
    ] {
        check::sweep(LengthPrefixed::fixed)
            .input(INPUT)
            .chunking(chunking)
            .check(reader_is_right)
            .assert_ok();
    }
}

#[test]
fn the_report_shows_where_how_to_replay_and_the_transcript() {
    let report = check::sweep(LengthPrefixed::buggy)
        .input(INPUT)
        .check(reader_is_right);
    let text = report.to_string();
    assert!(
        text.starts_with("fault sweep of LengthPrefixed: 4 of 30 cases failed"),
        "{text}"
    );
    assert!(text.contains("Fault::Close at offsets [2, 7]"), "{text}");
    assert!(
        text.contains("Fault::HalfClose at offsets [2, 7]"),
        "{text}"
    );
    assert!(!text.contains("Fault::Abort at"), "{text}");
    assert!(
        text.contains("first failure: FaultCase::new(Fault::Close, 2): messages [b\"\"]"),
        "{text}"
    );
    let replay = r#"replay: check::sweep(/* factory */).input(b"\0\x03abc\0\x02hi").chunking(Chunking::whole()).faults([Fault::Close]).at_offsets([2])"#;
    assert!(text.contains(replay), "{text}");
    let transcript = report.first_transcript().expect("a transcript");
    assert!(transcript.contains("peer delivers 2 bytes"), "{transcript}");
    assert!(transcript.contains("lose_connection()"), "{transcript}");
    assert!(text.ends_with(transcript), "{text}");

    assert_eq!(panic_text(|| report.assert_ok()), text);
}

#[test]
fn the_replay_literal_replays_one_case() {
    let report = check::sweep(LengthPrefixed::buggy)
        .input(INPUT)
        .chunking(Chunking::whole())
        .faults([Fault::Close])
        .at_offsets([2])
        .check(reader_is_right);
    assert_eq!(report.cases_run(), 1);
    assert_eq!(report.failing_offsets(Fault::Close), [2]);

    // Or look at the case itself.
    let mut sweep = check::sweep(LengthPrefixed::buggy).input(INPUT);
    let outcome = sweep.run_case(FaultCase::new(Fault::HalfClose, 7));
    assert_eq!(outcome.delivered(), b"\x00\x03abc\x00\x02");
    assert_eq!(outcome.input(), INPUT);
    assert_eq!(outcome.offset(), 7);
    assert_eq!(outcome.case().fault(), Fault::HalfClose);
    assert_eq!(outcome.written(), b"ok\n"); // the bug: should be an error
    assert_eq!(outcome.lost(), Some(&Reason::Done));
    assert!(outcome.harness().peer_got_eof());
    assert!(outcome.transcript().to_string().contains("ok\\n"));
    let reader = outcome.into_protocol();
    assert_eq!(reader.messages, [&b"abc"[..], b""]);
}

#[test]
fn sweeping_after_every_delivery_only_visits_piece_ends() {
    let sweep = check::sweep(LengthPrefixed::buggy)
        .input(INPUT)
        .chunking(Chunking::fixed(2))
        .faults([Fault::Close])
        .at_every_delivery();
    let offsets: Vec<usize> = sweep.cases().iter().map(|c| c.offset()).collect();
    assert_eq!(offsets, [0, 2, 4, 6, 8, 9]);
    let report = sweep.check(reader_is_right);
    // Offset 7 is inside a piece: a delivery-only sweep cannot see it.
    assert_eq!(report.failing_offsets(Fault::Close), [2]);

    let every = check::sweep(LengthPrefixed::buggy)
        .input(INPUT)
        .chunking(Chunking::fixed(2))
        .faults([Fault::Close])
        .at_every_delivery()
        .at_every_offset();
    assert_eq!(every.cases().len(), INPUT.len() + 1);
}

#[test]
fn cases_run_fault_by_fault_and_offsets_are_checked() {
    let sweep = check::sweep(Accumulating::new)
        .input(b"ab")
        .faults([Fault::Abort, Fault::Close]);
    assert_eq!(
        sweep.cases(),
        [
            FaultCase::new(Fault::Abort, 0),
            FaultCase::new(Fault::Abort, 1),
            FaultCase::new(Fault::Abort, 2),
            FaultCase::new(Fault::Close, 0),
            FaultCase::new(Fault::Close, 1),
            FaultCase::new(Fault::Close, 2),
        ]
    );
    let text = panic_text(|| {
        let _ = check::sweep(Accumulating::new)
            .input(b"ab")
            .at_offsets([3])
            .cases();
    });
    assert!(text.contains("past the end of the 2-byte input"), "{text}");
    // No input: the fault lands on a fresh connection.
    let report = check::sweep(Accumulating::new).check(|o| o.lost().is_some());
    assert_eq!(report.cases_run(), 3);
    report.assert_ok();
}

#[test]
fn ready_made_protocols_pass_their_own_sweeps() {
    let input = b"echo me\r\n";
    for chunking in plans() {
        check::sweep(|| HalfCloseEcho::new().trailer(b"."))
            .input(input)
            .chunking(chunking.clone())
            .check(|o| {
                let mut want = o.delivered().to_vec();
                match o.fault() {
                    Fault::HalfClose => want.push(b'.'),
                    Fault::Close | Fault::Abort => {}
                    _ => unreachable!(),
                }
                assert_eq!(o.written(), &want[..], "{}", o.case());
                let reason = if o.fault() == Fault::Abort {
                    Reason::Lost
                } else {
                    Reason::Done
                };
                assert_eq!(o.lost(), Some(&reason));
            })
            .assert_ok();
        check::sweep(Accumulating::new)
            .input(input)
            .chunking(chunking)
            .check(|o| o.protocol().data() == o.delivered() && o.protocol().is_closed())
            .assert_ok();
    }
}

/// Like the buggy reader, but its bug is a panic (an `unwrap` on the missing body).
#[derive(Default)]
struct Panicky(Vec<u8>);

impl Protocol for Panicky {
    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.0.extend_from_slice(&data);
    }

    fn connection_lost(&mut self, _reason: &Reason) {
        assert!(self.0.len() != 1, "lone length byte");
    }
}

#[test]
fn panics_of_the_protocol_and_of_the_check_are_failures() {
    let report = check::sweep(Panicky::default)
        .input(b"xyz")
        .faults([Fault::Close])
        .check(|_| true);
    assert_eq!(report.failing_offsets(Fault::Close), [1]);
    let message = report.failures()[0].message();
    assert!(message.starts_with("the run panicked: "), "{message}");
    assert!(message.contains("lone length byte"), "{message}");
    // The engine's panic message carries the transcript.
    let text = report.first_transcript().expect("a transcript");
    let transcript = transcript_of(text);
    assert!(
        transcript.contains("server Panicky  received b\"x\""),
        "{text}"
    );

    // Under LoseConnection the panic is an outcome like any other.
    let report = check::sweep(Panicky::default)
        .input(b"xyz")
        .faults([Fault::Close])
        .config(Config::new().panic_policy(PanicPolicy::LoseConnection))
        .check(|o| {
            let panicked = o
                .harness()
                .events()
                .iter()
                .any(|e| matches!(e, piecemeal::Event::Note(n) if n.contains("panicked")));
            panicked == (o.offset() == 1)
        });
    report.assert_ok();

    let report = check::sweep(Accumulating::new)
        .input(b"ab")
        .faults([Fault::Abort])
        .check(|o| assert_eq!(o.offset(), 0, "only offset 0 is fine"));
    assert_eq!(report.failing_offsets(Fault::Abort), [1, 2]);
    let message = report.failures()[0].message();
    assert!(message.starts_with("the check panicked: "), "{message}");
    assert!(message.contains("only offset 0 is fine"), "{message}");
}
