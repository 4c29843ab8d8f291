//! The `io` adapter: `ChunkedReader`, `ChunkedWriter`, their oracles, and the generic
//! `check::Invariant` they are built on.

use std::io::{self, BufRead, ErrorKind, Read, Write};

use piecemeal::Chunking;
use piecemeal::adapters::io::{
    self as pio, Call, ChunkedReader, ChunkedWriter, Faults, buf_read_oracle, read_oracle,
    write_oracle,
};
use piecemeal::check::Invariant;
use pretty_assertions::assert_eq;

// ---- the generic oracle -------------------------------------------------------------------

/// Counts `\r\n` per piece: loses a delimiter split between two pieces.
fn crlf_per_piece(input: &[u8], plan: &Chunking) -> usize {
    (plan.pieces(input.len()).into_iter())
        .map(|r| input[r].windows(2).filter(|w| w == b"\r\n").count())
        .sum()
}

#[test]
fn invariant_finds_the_fewest_cuts_and_reports_the_results_diffed() {
    let found = Invariant::new(crlf_per_piece)
        .check(b"ab\r\ncd\r\n")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([3]));
    assert_eq!(found.input(), b"ab\r\ncd\r\n");
    assert_eq!(found.first_difference(), None);
    let report = found.to_string();
    for needle in [
        "chunking invariance broken: the subject behaves differently when its input is cut by \
         Chunking::cuts([3]) than when it arrives whole",
        "cut at offset 3: b\"ab\\r\" | b\"\\ncd\\r\\n\"",
        "first difference: line 1 of the result",
        "result, < whole / > cut by Chunking::cuts([3])",
        "piecemeal::check::Invariant::new(run).assert_plan(b\"ab\\r\\ncd\\r\\n\", piecemeal::Chunking::cuts([3]))",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    assert!(!report.contains("transcript under"), "{report}");
}

#[test]
fn invariant_names_subject_result_replay_and_transcript_as_asked() {
    let found = Invariant::new(|input: &[u8], plan: &Chunking| {
        (crlf_per_piece(input, plan), plan.pieces(input.len()).len())
    })
    .subject("the counter")
    .result_name("count")
    .replay(|input, plan| format!("count({input}, piecemeal::{plan})"))
    .transcript(|(count, pieces): &(usize, usize)| format!("{count} in {pieces} pieces"))
    .check_plan(b"\r\n", Chunking::every_byte())
    .unwrap_err();
    let report = found.to_string();
    for needle in [
        "the counter behaves differently",
        "(1 cut, as given)",
        "count, < whole / > cut by Chunking::every_byte()",
        "count(b\"\\r\\n\", piecemeal::Chunking::every_byte());",
        "transcript under Chunking::every_byte():\n0 in 2 pieces",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    assert_eq!(found.plans_tried(), 0);
}

#[test]
fn invariant_reports_a_panic_under_one_plan_as_a_difference() {
    let found = Invariant::new(|input: &[u8], plan: &Chunking| {
        let pieces = plan.pieces(input.len());
        assert!(pieces.len() < 3, "three pieces");
        input.len()
    })
    .check(b"abcd")
    .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1, 2]));
    assert!(
        found.to_string().contains("panicked: three pieces"),
        "{found}"
    );
}

#[test]
fn invariant_passes_every_plan_of_a_correct_subject_and_honours_the_knobs() {
    let runs = std::cell::Cell::new(0usize);
    let joined = |input: &[u8], plan: &Chunking| {
        runs.set(runs.get() + 1);
        (plan.pieces(input.len()).into_iter())
            .flat_map(|r| input[r].to_vec())
            .collect::<Vec<u8>>()
    };
    // Every plan of 16 bytes, the whole one included.
    Invariant::new(joined).assert(b"sixteen bytes!!!");
    assert_eq!(runs.replace(0), 1 << 15);
    Invariant::new(joined)
        .exhaustive_up_to(17)
        .assert(b"seventeen bytes!!");
    assert_eq!(runs.replace(0), 1 << 16);
    // Too long for the exhaustive search: the whole input, 10 of the one-cut plans, every
    // fixed size up to 64 (every_byte included) and 3 seeded plans.
    Invariant::new(joined)
        .exhaustive_up_to(4)
        .max_cuts(1)
        .budget(10)
        .seeded_plans(3)
        .assert(vec![7; 300]);
    assert_eq!(runs.get(), 1 + 10 + 64 + 3);
    // Lowered below the input's length, the exhaustive search is off: the whole input, every
    // one-cut plan and every fixed size.
    runs.set(0);
    Invariant::new(joined)
        .exhaustive_up_to(4)
        .max_cuts(1)
        .seeded_plans(0)
        .assert(b"sixteen bytes!!!");
    assert_eq!(runs.get(), 1 + 15 + 1 + 14);
}

#[test]
fn invariant_infers_an_unannotated_closure() {
    Invariant::new(|input, plan| {
        plan.pieces(input.len())
            .iter()
            .map(|r| r.len())
            .sum::<usize>()
    })
    .assert(b"abc");
}

// ---- ChunkedReader ------------------------------------------------------------------------

/// The calls as the report's transcript shows them, one line each.
fn shown(calls: &[Call]) -> Vec<String> {
    calls.iter().map(ToString::to_string).collect()
}

#[test]
fn a_read_gets_at_most_one_piece_and_small_buffers_split_it() {
    let mut r = ChunkedReader::new(b"hello world", Chunking::cuts([5]));
    let mut small = [0; 3];
    let mut big = [0; 64];
    assert_eq!(r.read(&mut small).unwrap(), 3);
    assert_eq!(r.read(&mut big).unwrap(), 2); // the rest of "hello", not more
    assert_eq!(r.read(&mut big).unwrap(), 6);
    assert!(r.is_done());
    assert_eq!(r.read(&mut big).unwrap(), 0);
    assert_eq!(r.position(), 11);
    assert_eq!(
        shown(r.calls()),
        [
            "read(buf of 3) -> 3 b\"hel\"",
            "read(buf of 64) -> 2 b\"lo\"",
            "read(buf of 64) -> 6 b\" world\"",
            "read(buf of 64) -> 0 b\"\"",
        ]
    );
}

#[test]
fn fill_buf_returns_the_rest_of_the_current_piece() {
    let mut r = ChunkedReader::new(b"abcdef", Chunking::fixed(4));
    assert_eq!(r.fill_buf().unwrap(), b"abcd");
    r.consume(1);
    assert_eq!(r.fill_buf().unwrap(), b"bcd");
    r.consume(3);
    assert_eq!(r.fill_buf().unwrap(), b"ef");
    r.consume(10); // more than available: the rest of the piece
    assert_eq!(r.fill_buf().unwrap(), b"");
    assert!(r.is_done());
    assert_eq!(
        r.calls()[..2],
        [
            Call::FillBuf {
                available: "abcd".into()
            },
            Call::Consume(1)
        ]
    );
}

#[test]
fn an_empty_input_is_the_end_at_once() {
    let mut r = ChunkedReader::new(b"", Chunking::every_byte());
    assert_eq!(r.read(&mut [0; 4]).unwrap(), 0);
    assert!(r.is_done());
}

#[test]
fn faults_come_once_before_their_piece_and_before_the_end() {
    let faults = Faults::none()
        .interrupt_before(0)
        .would_block_before(0)
        .would_block_before(2);
    assert_eq!(
        faults.to_string(),
        "Faults::none().interrupt_before(0).would_block_before(0).would_block_before(2)"
    );
    let mut r = ChunkedReader::new(b"ab", Chunking::every_byte()).faults(faults);
    let mut buf = [0; 8];
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(match r.read(&mut buf) {
            Ok(n) => format!("{n}"),
            Err(e) => format!("{:?}", e.kind()),
        });
    }
    assert_eq!(
        seen,
        ["Interrupted", "WouldBlock", "1", "1", "WouldBlock", "0"]
    );
    let each = Faults::none()
        .interrupt_before_each()
        .would_block_before_each();
    assert_eq!(
        each.to_string(),
        "Faults::none().interrupt_before_each().would_block_before_each()"
    );
    assert!(Faults::none().is_none() && !each.is_none());
}

#[test]
fn read_to_end_and_read_line_retry_interrupted_under_every_plan() {
    read_oracle(
        Faults::none().interrupt_before_each(),
        |r: &mut dyn Read| {
            let mut all = Vec::new();
            r.read_to_end(&mut all).map(|_| all).map_err(|e| e.kind())
        },
    )
    .assert(b"0123456789abcdef");
    buf_read_oracle(
        Faults::none().interrupt_before_each(),
        |r: &mut dyn BufRead| {
            r.lines()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.kind())
        },
    )
    .assert(b"ab\ncd\r\nef\n\ngh");
    // The faults do reach both paths: one `Interrupted` before each piece read (and the end).
    let each = || {
        ChunkedReader::new(b"ab\n", Chunking::every_byte())
            .faults(Faults::none().interrupt_before_each())
    };
    let interrupted = |r: &ChunkedReader| {
        (r.calls().iter())
            .filter(|c| **c == Call::Interrupted)
            .count()
    };
    let mut r = each();
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!((all.as_slice(), interrupted(&r)), (&b"ab\n"[..], 4));
    let mut r = each();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!((line.as_str(), interrupted(&r)), ("ab\n", 3));
}

/// Reads until the end; buggy: takes `WouldBlock` for the end.
fn until_would_block(r: &mut dyn Read) -> Result<Vec<u8>, ErrorKind> {
    let mut all = Vec::new();
    let mut buf = [0; 64];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(all),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(all), // the bug
            Err(e) => return Err(e.kind()),
        }
    }
}

#[test]
fn a_reader_that_takes_would_block_for_the_end_is_found() {
    // The whole input is one piece: its WouldBlock before piece 1 is at the end, harmless.
    let found = read_oracle(Faults::none().would_block_before(1), until_would_block)
        .check(b"abc")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    assert!(
        found.replay().contains(
            "read_oracle(piecemeal::adapters::io::Faults::none().would_block_before(1), parse)\
             .assert_plan(b\"abc\", piecemeal::Chunking::cuts([1]))"
        ),
        "{found}"
    );
}

// ---- the planted Read bug ------------------------------------------------------------------

/// A 2-byte big-endian length, then that many bytes. Buggy: assumes one `read` returns the
/// whole header.
fn frame_one_read(r: &mut dyn Read) -> Result<Vec<u8>, ErrorKind> {
    let mut header = [0; 2];
    if r.read(&mut header).map_err(|e| e.kind())? < 2 {
        return Err(ErrorKind::UnexpectedEof);
    }
    let mut body = vec![0; u16::from_be_bytes(header).into()];
    r.read_exact(&mut body).map_err(|e| e.kind())?;
    Ok(body)
}

/// The same, correct: `read_exact` for the header too.
fn frame(r: &mut dyn Read) -> Result<Vec<u8>, ErrorKind> {
    let mut header = [0; 2];
    r.read_exact(&mut header).map_err(|e| e.kind())?;
    let mut body = vec![0; u16::from_be_bytes(header).into()];
    r.read_exact(&mut body).map_err(|e| e.kind())?;
    Ok(body)
}

#[test]
fn a_parser_that_wants_its_header_in_one_read_is_found_with_one_cut_in_the_header() {
    let found = read_oracle(Faults::none(), frame_one_read)
        .check(b"\x00\x05hello")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    let report = found.to_string();
    for needle in [
        "the Read parser behaves differently when its input is cut by Chunking::cuts([1])",
        "(1 cut, the fewest found; 1 plan tried)",
        "cut at offset 1: b\"\\x00\" | b\"\\x05hello\"",
        "first difference: line 1 of the parse result",
        "Ok(",
        "Err(",
        "UnexpectedEof",
        "piecemeal::adapters::io::read_same_as_whole(b\"\\x00\\x05hello\", \
         piecemeal::Chunking::cuts([1]), parse).unwrap();",
        "transcript under Chunking::cuts([1]):\n  read(buf of 2) -> 1 b\"\\x00\"",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    // The one-line forms agree.
    assert!(
        pio::read_same_as_whole(b"\x00\x05hello", Chunking::cuts([1]), frame_one_read).is_err()
    );
    assert!(pio::read_same_as_whole(b"\x00\x05hello", Chunking::cuts([2]), frame_one_read).is_ok());
}

#[test]
#[should_panic(expected = "Chunking::cuts([1])")]
fn read_invariant_panics_with_the_report() {
    pio::read_invariant(b"\x00\x01x", frame_one_read);
}

#[test]
fn the_correct_parser_passes_every_plan_of_sixteen_bytes() {
    let input = b"\x00\x0eheader+body!!!";
    assert_eq!(input.len(), 16);
    pio::read_invariant(input, frame);
    // Short input: the same result (an error) under every plan.
    pio::read_invariant(b"\x00\x0ftoo short", frame);
}

// ---- the planted BufRead bug ---------------------------------------------------------------

/// Reads a `\n`-terminated line; buggy: takes what one `fill_buf` returns as the whole line.
fn line_one_fill(r: &mut dyn BufRead) -> Vec<u8> {
    let available = r.fill_buf().unwrap_or_default();
    let line: Vec<u8> = available
        .iter()
        .copied()
        .take_while(|&b| b != b'\n')
        .collect();
    r.consume(line.len());
    line
}

#[test]
fn a_bufread_parser_that_trusts_one_fill_buf_is_found_and_read_until_passes() {
    let found = buf_read_oracle(Faults::none(), line_one_fill)
        .check(b"GET /\n")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    assert!(
        found.replay().starts_with(
            "piecemeal::adapters::io::buf_read_same_as_whole(b\"GET /\\n\", \
             piecemeal::Chunking::cuts([1]), parse)"
        ),
        "{found}"
    );
    pio::buf_read_invariant(b"GET / HTTP/1.1\r\n", |r: &mut dyn BufRead| {
        let mut line = Vec::new();
        r.read_until(b'\n', &mut line)
            .map(|_| line)
            .map_err(|e| e.kind())
    });
}

// ---- ChunkedWriter -------------------------------------------------------------------------

/// A sink that takes at most `max` bytes per call, and says `Interrupted` every other call.
#[derive(Default)]
struct Stingy {
    max: usize,
    calls: usize,
    got: Vec<u8>,
}

impl Write for Stingy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 1 {
            return Err(ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.max);
        self.got.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_writer_retries_short_writes_and_interrupted_within_a_piece() {
    let mut sink = Stingy {
        max: 2,
        ..Stingy::default()
    };
    let mut w = ChunkedWriter::new(b"abcde", Chunking::cuts([3]));
    assert_eq!(w.drive(&mut sink).unwrap(), 5);
    assert_eq!(sink.got, b"abcde");
    assert_eq!(w.accepted(), 5);
    // Never more than one piece per call: "abc" then "c" (short), then "de".
    assert_eq!(w.write_sizes(), [3, 3, 1, 1, 2, 2]);
    assert_eq!(
        shown(w.calls()),
        [
            "write(3 b\"abc\") -> Err(Interrupted)",
            "write(3 b\"abc\") -> Ok(2)",
            "write(1 b\"c\") -> Err(Interrupted)",
            "write(1 b\"c\") -> Ok(1)",
            "write(2 b\"de\") -> Err(Interrupted)",
            "write(2 b\"de\") -> Ok(2)",
            "flush() -> Ok(())",
        ]
    );
}

#[test]
fn the_writer_stops_at_an_error_and_at_a_zero_write() {
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut w = ChunkedWriter::new(b"abcdef", Chunking::every_byte());
    assert_eq!(
        w.drive(&mut Full(4)).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(w.accepted(), 4);
    assert_eq!(w.write_sizes(), [1, 1, 1, 1, 1]);
    // Stopped at the error: no retry, no flush.
    assert_eq!(
        shown(&w.calls()[4..]),
        ["write(1 b\"e\") -> Err(WouldBlock)"]
    );

    struct Zero;
    impl Write for Zero {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Ok(0)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut w = ChunkedWriter::new(b"ab", Chunking::whole());
    assert_eq!(w.drive(&mut Zero).unwrap_err().kind(), ErrorKind::WriteZero);
    assert_eq!(shown(w.calls()), ["write(2 b\"ab\") -> Ok(0)"]);
}

// ---- the planted Write bug -----------------------------------------------------------------

/// Splits what it is written into `\n`-terminated lines. `forgetful` is the bug: a partial
/// line at the end of a write is dropped.
#[derive(Default)]
struct LineSink {
    forgetful: bool,
    partial: Vec<u8>,
    lines: Vec<String>,
}

impl Write for LineSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            if b == b'\n' {
                let line = std::mem::take(&mut self.partial);
                self.lines.push(String::from_utf8_lossy(&line).into_owned());
            } else {
                self.partial.push(b);
            }
        }
        if self.forgetful {
            self.partial.clear();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn forgetful() -> LineSink {
    LineSink {
        forgetful: true,
        ..LineSink::default()
    }
}

#[test]
fn a_sink_that_drops_a_partial_line_between_writes_is_found() {
    let found = write_oracle(forgetful, |s: LineSink| s.lines)
        .check(b"ab\ncd\n")
        .unwrap_err();
    assert_eq!(found.chunking(), &Chunking::cuts([1]));
    let report = found.to_string();
    for needle in [
        "the Write sink behaves differently when its input is cut by Chunking::cuts([1])",
        "sink result, < whole / > cut by Chunking::cuts([1])",
        "piecemeal::adapters::io::write_same_as_whole(b\"ab\\ncd\\n\", \
         piecemeal::Chunking::cuts([1]), sink, observe).unwrap();",
        "write(1 b\"a\") -> Ok(1)",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    assert!(
        pio::write_same_as_whole(b"ab\n", Chunking::cuts([2]), forgetful, |s| s.lines).is_err()
    );
}

#[test]
fn the_correct_sink_passes_every_plan_of_sixteen_bytes() {
    pio::write_invariant(b"one\ntwo\n\nthree\nf", LineSink::default, |s: LineSink| {
        (s.lines, s.partial)
    });
    // A std sink too, and one that takes two bytes at a time between Interrupted.
    pio::write_invariant(b"0123456789abcdef", Vec::new, |v: Vec<u8>| v);
    pio::write_invariant(
        b"0123456789abcdef",
        || Stingy {
            max: 2,
            ..Stingy::default()
        },
        |s: Stingy| s.got,
    );
}

// ---- inside proptest -----------------------------------------------------------------------

#[cfg(feature = "proptest")]
mod props {
    use super::*;
    use piecemeal::strategy;
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_correct_reader_passes_random_plans(
            (input, plan) in strategy::chunked(proptest::collection::vec(any::<u8>(), 0..64))
        ) {
            let mut framed = (input.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&input);
            pio::read_same_as_whole(&framed, plan, frame)?;
        }

        #[test]
        fn the_correct_sink_passes_random_plans(
            (input, plan) in strategy::chunked("[a-z\n]{0,48}")
        ) {
            pio::write_same_as_whole(&input, plan, LineSink::default, |s| (s.lines, s.partial))?;
        }
    }

    #[test]
    fn proptest_shrinks_the_planted_bug_to_one_cut() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let result = runner.run(
            &strategy::chunked("[a-z]{1,8}\n[a-z]{1,8}\n"),
            |(input, plan)| {
                pio::write_same_as_whole(&input, plan, forgetful, |s| s.lines)?;
                Ok(())
            },
        );
        let Err(proptest::test_runner::TestError::Fail(_, (input, plan))) = result else {
            panic!("the planted bug was not found: {result:?}");
        };
        assert_eq!(
            plan.cut_offsets(input.len()).len(),
            1,
            "{plan} on {input:?}"
        );
    }
}
