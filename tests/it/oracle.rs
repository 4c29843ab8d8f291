//! The chunking-invariance oracle finds the classic chunk-boundary bugs, reports the plan with
//! the fewest cuts, passes correct protocols under every plan, and covers the outbound
//! direction too.

use std::time::Instant;

use bytes::Bytes;
use piecemeal::check::{self, Finish, Invariance, Outbound};
use piecemeal::{Chunking, Config, Protocol, Transport};
use pretty_assertions::assert_eq;

use super::support::{DropsLeadingNewline, panic_text};

/// Echoes every `\r\n`-terminated line, correctly.
#[derive(Default)]
struct LineEcho {
    buf: Vec<u8>,
}

impl Protocol for LineEcho {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).collect();
            tx.write(line);
        }
    }
}

/// Delimiter split across pieces: looks for `\r\n` only inside the new piece.
#[derive(Default)]
struct SplitDelimiter {
    buf: Vec<u8>,
}

impl Protocol for SplitDelimiter {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        let mut rest = &data[..];
        while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
            self.buf.extend_from_slice(&rest[..i]);
            tx.write(format!("line {}\n", self.buf.len()));
            self.buf.clear();
            rest = &rest[i + 2..];
        }
        self.buf.extend_from_slice(rest);
    }
}

/// Length prefix split across pieces: frames are a 2-byte big-endian length and a body; the
/// bug reads a header from whatever the piece holds, even one byte.
#[derive(Default)]
struct SplitLengthPrefix {
    body: Vec<u8>,
    want: Option<usize>,
}

impl Protocol for SplitLengthPrefix {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        let mut rest = &data[..];
        while !rest.is_empty() {
            let want = match self.want {
                Some(n) => n,
                None => {
                    let (header, tail) = rest.split_at(rest.len().min(2));
                    rest = tail;
                    // The bug: a 1-byte header is taken as the whole length.
                    header.iter().fold(0, |n, &b| n << 8 | usize::from(b))
                }
            };
            let take = rest.len().min(want - self.body.len());
            self.body.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.body.len() == want {
                tx.write(format!("frame {:?}\n", String::from_utf8_lossy(&self.body)));
                self.body.clear();
                self.want = None;
            } else {
                self.want = Some(want);
            }
        }
    }
}

/// Multi-byte UTF-8 split across pieces: decodes each piece on its own.
#[derive(Default)]
struct SplitUtf8 {
    text: String,
}

impl Protocol for SplitUtf8 {
    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.text.push_str(&String::from_utf8_lossy(&data));
    }
}

/// Trailing data after a message in the same piece is ignored: handles one line per piece.
#[derive(Default)]
struct OneMessagePerPiece {
    buf: Vec<u8>,
}

impl Protocol for OneMessagePerPiece {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.buf.extend_from_slice(&data);
        if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            tx.write(&self.buf[..=i]);
            self.buf.clear(); // the bug: drops whatever followed the message
        }
    }
}

#[test]
fn correct_line_echo_passes_every_plan_of_sixteen_bytes() {
    // Scenario: all 2^15 = 32,768 plans, each a fresh protocol and harness.
    let input = b"ab\r\ncd\r\n\r\nefg\r\nh";
    assert_eq!(input.len(), 16);
    let started = Instant::now();
    check::chunking_invariant(input, LineEcho::default);
    let elapsed = started.elapsed();
    println!("32,768 plans of 16 bytes: {elapsed:?}");
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
}

#[test]
fn planted_newline_bug_is_found_on_any_input_with_crlf() {
    for input in [
        &b"\r\n"[..],
        b"hello\r\nworld",
        b"x\r\n\r\ny",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"0123456789abcdefghij\r\n",
    ] {
        let found = Invariance::new(DropsLeadingNewline::default)
            .check(input)
            .expect_err("the bug must be found");
        let cuts = found.chunking().cut_offsets(input.len());
        assert_eq!(cuts.len(), 1, "{input:?}: {found}");
        assert_eq!(&input[cuts[0] - 1..=cuts[0]], b"\r\n", "{input:?}: {found}");
    }
    let found = Invariance::new(DropsLeadingNewline::default)
        .check(b"\r\n")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
}

#[test]
fn split_delimiter_is_found() {
    let found = Invariance::new(SplitDelimiter::default)
        .check(b"ab\r\ncd\r\n")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([3]));
}

#[test]
fn split_length_prefix_is_found() {
    let found = Invariance::new(SplitLengthPrefix::default)
        .check(b"\x00\x03abc\x00\x01d")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
}

#[test]
fn split_utf8_character_is_found() {
    let found = Invariance::new(SplitUtf8::default)
        .observe(|p: &SplitUtf8| p.text.clone())
        .check("h\u{e9}llo \u{1f600}".as_bytes())
        .unwrap_err();
    // The first cut inside a character: between the two bytes of 'é'.
    assert_eq!(found.chunking(), &Chunking::cuts([2]));
    assert!(found.to_string().contains("observed state"), "{found}");
}

#[test]
fn ignored_trailing_data_is_found() {
    let found = Invariance::new(OneMessagePerPiece::default)
        .check(b"a\nb\n")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([2]));
}

#[test]
fn long_inputs_are_searched_and_shrunk_to_few_cuts() {
    // 300 bytes: too long to try every plan; the one-cut sweep finds it.
    let mut input = vec![b'x'; 298];
    input.extend_from_slice(b"\r\n");
    let found = Invariance::new(DropsLeadingNewline::default)
        .check(&input)
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([299]));
    // With the cut sweeps off, every_byte finds it and shrinking drops the other 298 cuts.
    let found = Invariance::new(DropsLeadingNewline::default)
        .max_cuts(0)
        .check(&input)
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([299]));
    assert!(found.plans_tried() > 298, "{}", found.plans_tried());
}

#[test]
fn correct_protocol_passes_on_long_inputs() {
    let input: Vec<u8> = b"line one\r\nline two\r\n".repeat(10);
    let started = Instant::now();
    check::chunking_invariant(&input, LineEcho::default);
    println!(
        "{} bytes, default search: {:?}",
        input.len(),
        started.elapsed()
    );
}

#[test]
fn report_shows_cut_first_difference_diff_replay_and_transcript() {
    let found = check::same_as_whole(b"\r\n", Chunking::cuts([1]), DropsLeadingNewline::default)
        .unwrap_err();
    let report = found.to_string();
    for part in [
        "chunking invariance broken: DropsLeadingNewline behaves differently when its input is cut \
         by Chunking::cuts([1]) than when it arrives whole",
        "input (2 bytes): b\"\\r\\n\"",
        "cut at offset 1: b\"\\r\" | b\"\\n\"    hex 0d | 0a",
        "first difference: normalised event 2 of server DropsLeadingNewline, after it had \
         received 2 bytes",
        "whole                wrote b\"\\r\\n\"",
        "Chunking::cuts([1])  (nothing more)",
        "normalised events of server DropsLeadingNewline",
        "piecemeal::check::assert_same_as_whole(b\"\\r\\n\", piecemeal::Chunking::cuts([1]), \
         factory);",
        "peer delivers 2 bytes cut by Chunking::cuts([1])",
    ] {
        assert!(report.contains(part), "missing {part:?} in:\n{report}");
    }
    assert_eq!(found.first_difference(), Some(2));
    assert_eq!(format!("{found:?}"), report);
}

#[test]
fn a_failure_literal_replays_as_a_regression_test() {
    // The report's replay line, pasted: fails the same way.
    let message = panic_text(|| {
        check::assert_same_as_whole(b"\r\n", Chunking::cuts([1]), DropsLeadingNewline::default);
    });
    assert!(message.contains("Chunking::cuts([1])"), "{message}");
    // And the correct protocol passes it.
    check::assert_same_as_whole(b"\r\n", Chunking::cuts([1]), LineEcho::default);
}

#[test]
fn finish_closes_the_connection_after_the_input() {
    /// Flushes a partial line on EOF: right.
    #[derive(Default)]
    struct FlushOnEof {
        buf: Vec<u8>,
    }
    impl Protocol for FlushOnEof {
        fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
            self.buf.extend_from_slice(&data);
        }
        fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
            tx.write(std::mem::take(&mut self.buf));
            tx.lose_connection();
        }
        fn half_closeable(&self) -> bool {
            true
        }
    }
    for finish in [
        Finish::StayOpen,
        Finish::Close,
        Finish::HalfClose,
        Finish::Abort,
    ] {
        Invariance::new(FlushOnEof::default)
            .finish(finish)
            .assert(b"partial");
    }

    /// Flushes only the last piece on EOF: wrong, and visible only once the peer sends an EOF.
    #[derive(Default)]
    struct FlushLastPieceOnEof {
        last: Bytes,
    }
    impl Protocol for FlushLastPieceOnEof {
        fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
            self.last = data;
        }
        fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
            tx.write_bytes(std::mem::take(&mut self.last));
            tx.lose_connection();
        }
        fn half_closeable(&self) -> bool {
            true
        }
    }
    for finish in [Finish::StayOpen, Finish::Abort] {
        Invariance::new(FlushLastPieceOnEof::default)
            .finish(finish)
            .assert(b"partial");
    }
    for finish in [Finish::Close, Finish::HalfClose] {
        let found = Invariance::new(FlushLastPieceOnEof::default)
            .finish(finish)
            .check(b"partial")
            .expect_err("the EOF shows the bug");
        assert_eq!(found.chunking(), &Chunking::cuts([1]), "{found}");
        let replay = format!(".finish(Finish::{finish:?}).assert_plan(b\"partial\", ");
        assert!(found.replay().contains(&replay), "{found}");
    }
}

#[test]
fn a_panic_under_one_chunking_is_a_difference() {
    /// Panics on a piece of exactly one byte.
    struct PanicsOnShortPiece;
    impl Protocol for PanicsOnShortPiece {
        fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
            assert!(data.len() > 1, "piece too short");
        }
    }
    let found = Invariance::new(|| PanicsOnShortPiece)
        .check(b"abc")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    assert!(found.to_string().contains("panicked"), "{found}");
}

#[test]
fn outbound_finds_a_peer_that_assumes_whole_frames() {
    /// Sends two length-prefixed frames and closes.
    struct Frames;
    impl Protocol for Frames {
        fn connection_made(&mut self, tx: &mut Transport<'_>) {
            tx.write(b"\x00\x03abc\x00\x02de");
            tx.lose_connection();
        }
        fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
    }
    let found = Outbound::new(|| Frames, SplitLengthPrefix::default)
        .check()
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    let report = found.to_string();
    assert!(
        report.contains("when what server Frames writes is cut by Chunking::cuts([1])"),
        "{report}"
    );
    assert!(
        report.contains("Outbound::new(proto, peer).assert_plan("),
        "{report}"
    );
    // A correct reader passes every plan of the 9 bytes.
    check::outbound_invariant(|| Frames, LineEcho::default);
}

#[test]
fn the_oracles_refuse_a_config_that_does_not_record() {
    // Without a log, Outbound would find no bytes to cut and pass anything, and Invariance
    // would compare less than it says: both refuse, naming the setting.
    let outbound = panic_text(|| {
        let _ =
            Outbound::new(LineEcho::default, LineEcho::default).config(Config::new().record(false));
    });
    assert!(
        outbound.contains("check::Outbound::config with Config::record(false)"),
        "{outbound}"
    );
    let invariance = panic_text(|| {
        let _ = Invariance::new(LineEcho::default).config(Config::new().record(false));
    });
    assert!(
        invariance.contains("check::Invariance::config with Config::record(false)"),
        "{invariance}"
    );
    // Any other setting is taken as it is.
    Invariance::new(LineEcho::default)
        .config(Config::new().step_limit(1000))
        .assert(b"ab\ncd\n");
}

#[test]
fn outbound_as_client_recuts_the_client_writes() {
    /// Sends a request line on connect.
    struct Request;
    impl Protocol for Request {
        fn connection_made(&mut self, tx: &mut Transport<'_>) {
            tx.write("GET /\r\n");
        }
        fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
    }
    let found = Outbound::client(|| Request, SplitDelimiter::default)
        .check()
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([6]));
    Outbound::client(|| Request, LineEcho::default).assert();
}
