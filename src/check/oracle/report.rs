//! [`Divergence`]: what the chunking-invariance oracle reports, and how it is rendered.

use std::error::Error;
use std::fmt::{self, Write as _};

use bytes::Bytes;
use pretty_assertions::Comparison;

use crate::chunking::Chunking;
use crate::event::{Escaped, Event};

/// A chunking under which a protocol (or any subject) behaved differently than with its input
/// uncut: the failure of the chunking-invariance oracle ([`Invariance`](super::Invariance),
/// [`Outbound`](super::Outbound), [`same_as_whole`](super::same_as_whole), the generic
/// [`Invariant`](super::Invariant) and the [`adapters`](crate::adapters) built on it).
///
/// `Display` (and `Debug`, so `unwrap` shows it) is the full report: the input, the plan and
/// the bytes on both sides of each of its cuts, the first event that differs and after how
/// many received bytes (for a subject that is not a protocol: the first line of its result
/// that differs), a diff of the two runs' normalised events (and of the written bytes and
/// observed state, when those differ; for other subjects, of their results), a line to paste
/// into a regression test, and the end of the failing run's transcript (when the subject keeps
/// one). It converts into a proptest `TestCaseError` with `?`.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{check, Chunking, Protocol, Transport};
///
/// /// Echoes CRLF lines, but drops a `\n` that starts a piece.
/// #[derive(Default)]
/// struct Lines(Vec<u8>);
/// impl Protocol for Lines {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         self.0.extend_from_slice(data.strip_prefix(b"\n").unwrap_or(&data));
///         while let Some(i) = self.0.windows(2).position(|w| w == b"\r\n") {
///             tx.write(self.0.drain(..i + 2).collect::<Vec<u8>>());
///         }
///     }
/// }
///
/// let d = check::same_as_whole(b"\r\n", Chunking::cuts([1]), Lines::default).unwrap_err();
/// assert_eq!(d.chunking(), &Chunking::cuts([1]));
/// assert_eq!(d.input(), b"\r\n");
/// assert_eq!(d.first_difference(), Some(2));
/// assert!(d.replay().contains(r#"assert_same_as_whole(b"\r\n", piecemeal::Chunking::cuts([1]), factory)"#));
/// ```
#[derive(Clone)]
pub struct Divergence {
    parts: Box<Parts>,
    first: Option<(usize, usize)>,
}

/// Everything a report is made of (built by the oracle).
#[derive(Clone)]
pub(super) struct Parts {
    /// "Lines behaves" / "server A and client B behave".
    pub(super) subject: String,
    /// "its input" / "what server A writes".
    pub(super) stream: String,
    /// The stream that was cut.
    pub(super) input: Bytes,
    pub(super) plan: Chunking,
    pub(super) tried: usize,
    pub(super) whole: Side,
    pub(super) cut: Side,
    /// Each end's events in the cut run, not normalised (to place the difference).
    pub(super) raw: Vec<Vec<Event>>,
    /// What `Side::observed` is called in the report: "observed state", "result", ...
    pub(super) observed_as: String,
    /// The end of the failing run's transcript; empty if the subject keeps none.
    pub(super) transcript: String,
    pub(super) replay: String,
}

/// What one run produced, rendered for the report: the ends' normalised events (none for a
/// subject that is not a protocol), the bytes written, and the observed value's `{:#?}`.
#[derive(Clone)]
pub(super) struct Side {
    pub(super) ends: Vec<(String, Vec<Event>)>,
    pub(super) written: Bytes,
    pub(super) observed: Option<String>,
}

impl Divergence {
    pub(super) fn new(parts: Parts) -> Self {
        let first = (parts.whole.ends.iter().zip(&parts.cut.ends))
            .enumerate()
            .find_map(|(e, ((_, a), (_, b)))| super::first_difference(a, b).map(|i| (e, i)));
        Self {
            parts: Box::new(parts),
            first,
        }
    }

    /// The stream that was cut: the input (inbound) or what the protocol wrote (outbound).
    #[must_use]
    pub fn input(&self) -> &[u8] {
        &self.parts.input
    }

    /// The chunking that shows the difference, with the fewest cuts the search found.
    #[must_use]
    pub fn chunking(&self) -> &Chunking {
        &self.parts.plan
    }

    /// How many chunkings the search ran, counting those it ran while shrinking this one; 0
    /// when a single given chunking was checked ([`same_as_whole`](super::same_as_whole),
    /// `check_plan`).
    #[must_use]
    pub fn plans_tried(&self) -> usize {
        self.parts.tried
    }

    /// The index of the first differing event in the normalised events of the first end that
    /// differs, or `None` if the events agree and only the written bytes or the observed
    /// state differ (always `None` for a subject that is not a protocol: its report shows the
    /// first line of its result that differs instead).
    #[must_use]
    pub fn first_difference(&self) -> Option<usize> {
        self.first.map(|(_, i)| i)
    }

    /// A line to paste into a regression test (`factory`, `observe`, `proto` and `peer` stand
    /// for the closures you passed).
    #[must_use]
    pub fn replay(&self) -> &str {
        &self.parts.replay
    }

    /// The end of the failing run's transcript (empty when the subject keeps none).
    #[must_use]
    pub fn transcript(&self) -> &str {
        &self.parts.transcript
    }

    fn write_cuts(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.parts.input;
        let cuts = self.parts.plan.cut_offsets(input.len());
        for &at in cuts.iter().take(SHOWN_CUTS) {
            let before = &input[at.saturating_sub(CONTEXT)..at];
            let after = &input[at..(at + CONTEXT).min(input.len())];
            let dots = |cut: bool| if cut { "…" } else { "" };
            writeln!(
                f,
                "  cut at offset {at}: {}{} | {}{}    hex {} | {}",
                dots(at > CONTEXT),
                Escaped(before),
                Escaped(after),
                dots(at + CONTEXT < input.len()),
                hex(before),
                hex(after),
            )?;
        }
        if cuts.len() > SHOWN_CUTS {
            writeln!(f, "  … and {} more cuts", cuts.len() - SHOWN_CUTS)?;
        }
        Ok(())
    }

    fn write_first(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((end, i)) = self.first else {
            return self.write_first_line(f);
        };
        let (name, whole) = &self.parts.whole.ends[end];
        let cut = &self.parts.cut.ends[end].1;
        let raw = self.parts.raw.get(end).map_or(&[][..], Vec::as_slice);
        let received = received_before(whole, cut, raw, i);
        let show =
            |e: Option<&Event>| e.map_or_else(|| "(nothing more)".to_owned(), Event::to_string);
        let plan = self.parts.plan.to_string();
        let width = plan.len().max(5);
        writeln!(
            f,
            "\nfirst difference: normalised event {i} of {name}, after it had received \
             {received} byte{}",
            if received == 1 { "" } else { "s" }
        )?;
        writeln!(f, "  {:<width$}  {}", "whole", show(whole.get(i)))?;
        writeln!(f, "  {plan:<width$}  {}", show(cut.get(i)))
    }

    /// For a subject with no events: the first line of the two results' `{:#?}` that differs.
    fn write_first_line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parts;
        let (Some(whole), Some(cut)) = (&p.whole.observed, &p.cut.observed) else {
            return Ok(());
        };
        if !p.whole.ends.is_empty() || whole == cut {
            return Ok(());
        }
        let (mut a, mut b) = (whole.lines(), cut.lines());
        let mut line = 1;
        let (x, y) = loop {
            match (a.next(), b.next()) {
                (x, y) if x == y && x.is_some() => line += 1,
                (x, y) => break (x, y),
            }
        };
        let show = |l: Option<&str>| {
            l.map_or_else(|| "(nothing more)".to_owned(), |l| l.trim().to_owned())
        };
        let plan = p.plan.to_string();
        let width = plan.len().max(5);
        writeln!(
            f,
            "\nfirst difference: line {line} of the {}",
            p.observed_as
        )?;
        writeln!(f, "  {:<width$}  {}", "whole", show(x))?;
        writeln!(f, "  {plan:<width$}  {}", show(y))
    }
}

/// How many bytes an end had received, in the cut run, when it did the first thing that
/// differs from the whole run: event `i` of the normalised runs. A differing non-data event
/// comes after everything received before it; for differing writes, the place is the write
/// that holds the first differing byte (or the end of the run, if that byte never came).
fn received_before(whole: &[Event], cut: &[Event], raw: &[Event], i: usize) -> usize {
    let len = |e: &Event| match e {
        Event::Received(b) | Event::Wrote(b) => b.len(),
        _ => 0,
    };
    let is_wrote = |e: Option<&Event>| matches!(e, Some(Event::Wrote(_)));
    if !is_wrote(whole.get(i)) && !is_wrote(cut.get(i)) {
        let received = cut[..i.min(cut.len())]
            .iter()
            .filter(|e| matches!(e, Event::Received(_)));
        return received.map(len).sum();
    }
    let written_before: usize = (cut[..i].iter())
        .filter(|e| matches!(e, Event::Wrote(_)))
        .map(len)
        .sum();
    let same = match (whole.get(i), cut.get(i)) {
        (Some(Event::Wrote(a)), Some(Event::Wrote(b))) => {
            a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count()
        }
        _ => 0,
    };
    let target = written_before + same;
    let (mut received, mut written) = (0, 0);
    for event in raw {
        match event {
            Event::Received(b) => received += b.len(),
            Event::Wrote(b) => {
                written += b.len();
                if written > target {
                    break;
                }
            }
            _ => {}
        }
    }
    received
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parts;
        let cuts = p.plan.cut_offsets(p.input.len()).len();
        writeln!(
            f,
            "chunking invariance broken: {} differently when {} is cut by {} than when it \
             arrives whole",
            p.subject, p.stream, p.plan
        )?;
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match p.tried {
            0 => writeln!(f, "({cuts} cut{}, as given)\n", plural(cuts))?,
            n => writeln!(
                f,
                "({cuts} cut{}, the fewest found; {n} plan{} tried)\n",
                plural(cuts),
                plural(n)
            )?,
        }
        writeln!(f, "input ({} bytes): {}", p.input.len(), Escaped(&p.input))?;
        self.write_cuts(f)?;
        self.write_first(f)?;
        for ((name, whole), (_, cut)) in p.whole.ends.iter().zip(&p.cut.ends) {
            if super::first_difference(whole, cut).is_some() {
                writeln!(
                    f,
                    "\nnormalised events of {name}, < whole / > cut by {}:",
                    p.plan
                )?;
                write!(f, "{}", Comparison::new(whole, cut))?;
            }
        }
        if self.first.is_none() && p.whole.written != p.cut.written {
            writeln!(f, "\nbytes written, < whole / > cut by {}:", p.plan)?;
            write!(f, "{}", Comparison::new(&p.whole.written, &p.cut.written))?;
        }
        if let (Some(whole), Some(cut)) = (&p.whole.observed, &p.cut.observed)
            && whole != cut
        {
            writeln!(f, "\n{}, < whole / > cut by {}:", p.observed_as, p.plan)?;
            write!(f, "{}", Comparison::new(&Raw(whole), &Raw(cut)))?;
        }
        writeln!(
            f,
            "\nreplay (paste into a regression test):\n    {};",
            p.replay
        )?;
        if p.transcript.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\ntranscript under {}:\n{}",
            p.plan,
            p.transcript.trim_end()
        )
    }
}

impl fmt::Debug for Divergence {
    /// The same report as `Display`, so `unwrap()` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error for Divergence {}

/// Prints a string as is (a pre-rendered `{:#?}`), for `Comparison`.
struct Raw<'a>(&'a str);

impl fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The whole of `bytes` as a Rust byte-string literal (never truncated: it is for replay).
pub(super) fn literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push_str("b\"");
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// Bytes shown on each side of a cut.
const CONTEXT: usize = 8;

/// Cuts shown with their context.
const SHOWN_CUTS: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_escapes_everything_and_never_truncates() {
        assert_eq!(literal(b"a\"\\\r\n\t\x00\xff"), r#"b"a\"\\\r\n\t\x00\xff""#);
        assert_eq!(literal(&[b'x'; 100]).len(), 103);
        assert_eq!(hex(b"\r\n"), "0d 0a");
    }
}
