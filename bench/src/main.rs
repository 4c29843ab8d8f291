//! piecemeal's benchmarks, side by side with its peers, in one run.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml [-- --quick | --runs N | --only ID |
//! --len BYTES | --markdown PATH | --no-mem]`. See `bench/README.md`.

mod echo;
mod lines;
mod mem;
mod peers;
mod reactor;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::echo::{Contender, Echo, Sample};
use crate::lines::{W2, W2Run, W3};
use crate::reactor::Shape;
use crate::report::{Machine, Stat, Table, fmt_num, fmt_ratio, fmt_stat, loadavg, stat};

const DEFAULT_RUNS: usize = 10;

const USAGE: &str = "\
usage: cargo run --release --manifest-path bench/Cargo.toml -- [OPTIONS]

  --quick          every workload once at small sizes, no warm-up: a smoke test that checks
                   every contender's output (CI runs it)
  --runs N         timed runs per workload, and base seeds for W2 (default 10); the tables
                   show median and min-max
  --len BYTES      W1 payload size for both piece sizes (default 256 KiB at 1-byte pieces,
                   4 MiB at 4 KiB pieces; 16 KiB and 256 KiB with --quick)
  --only TEXT      only the workloads whose id contains TEXT. W1: CONTENDER/SIZE, with
                   CONTENDER one of floor, floor-history, pair, pair-norec, pair-seeded,
                   pair-copy, duplex, duplex-tight, partial-io, turmoil and SIZE 1B or
                   4KiB (e.g. pair/1B);
                   W2: w2/piecemeal, w2/piecemeal-flatmap, w2/partial-io, w2/tokio-test;
                   W3: w3/floor, w3/harness, w3/harness-norec; W4: w4/Nbusy+Midle (e.g.
                   w4/1000busy+0idle)
  --markdown PATH  also write the report as Markdown to PATH (docs/performance.md)
  --no-mem         skip the peak-memory children
  -h, --help       this text";

struct Options {
    quick: bool,
    runs: usize,
    len: Option<usize>,
    only: Option<String>,
    markdown: Option<PathBuf>,
    mem: bool,
    child_mem: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        quick: false,
        runs: DEFAULT_RUNS,
        len: None,
        only: None,
        markdown: None,
        mem: true,
        child_mem: None,
    };
    let mut runs_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--runs" => {
                let v = value("--runs")?;
                opts.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--runs {v}: expected a positive integer"))?;
                runs_given = true;
            }
            "--len" => {
                let v = value("--len")?;
                opts.len = Some(
                    v.parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or(format!("--len {v}: expected a positive integer"))?,
                );
            }
            "--only" => opts.only = Some(value("--only")?),
            "--markdown" => opts.markdown = Some(PathBuf::from(value("--markdown")?)),
            "--no-mem" => opts.mem = false,
            // Internal: the peak-memory child (see mem.rs).
            "--child-mem" => opts.child_mem = Some(value("--child-mem")?),
            "-h" | "--help" => return Err(String::new()),
            // `cargo bench` passes this to harness = false targets.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if opts.quick && !runs_given {
        opts.runs = 1;
    }
    Ok(opts)
}

impl Options {
    fn selected(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|f| id.contains(f.as_str()))
    }

    /// The W1 sizes: the issue's (256 KiB at 1 byte, 4 MiB at 4 KiB), smaller with --quick.
    fn sizes(&self) -> [Echo; 2] {
        let (one, four) = if self.quick {
            (16 << 10, 256 << 10)
        } else {
            (256 << 10, 4 << 20)
        };
        [
            Echo {
                len: self.len.unwrap_or(one),
                piece: 1,
                label: "1B",
            },
            Echo {
                len: self.len.unwrap_or(four),
                piece: 4096,
                label: "4KiB",
            },
        ]
    }

    /// The arguments a peak-memory child needs to size its workload like this run.
    fn size_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.quick {
            v.push("--quick".to_owned());
        }
        if let Some(len) = self.len {
            v.extend(["--len".to_owned(), len.to_string()]);
        }
        v
    }

    /// W2's case counts (K), and the cases allowed to find the planted bug.
    fn w2_cases(&self) -> ([u32; 2], u32) {
        if self.quick {
            ([16, 64], 256)
        } else {
            ([256, 1024], 1024)
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}\n");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    if let Some(id) = &opts.child_mem {
        let sizes = opts.sizes();
        let found = sizes
            .iter()
            .flat_map(|s| Contender::ALL.map(|w| (s, w)))
            .find(|(s, w)| s.id(*w) == *id);
        return match found {
            Some((s, w)) => {
                mem::child(s, w);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: --child-mem {id}: no such W1 workload");
                ExitCode::FAILURE
            }
        };
    }

    let machine = Machine::describe();
    for l in machine.lines() {
        println!("{l}");
    }
    let load_before = loadavg();
    println!("load average (1/5/15 min) before: {load_before}\n");

    let w1 = run_w1(&opts);
    let w2 = run_w2(&opts);
    let w3 = run_w3(&opts);
    let w4 = run_w4(&opts);
    let mems = if opts.mem {
        peak_memory(&opts, &w1)
    } else {
        Vec::new()
    };
    let load_after = loadavg();

    let mut tables = Vec::new();
    if !w1.is_empty() {
        tables.push(w1_table(&w1, &mems, opts.runs));
    }
    if !w2.timing.is_empty() {
        tables.push(w2_timing_table(&w2, opts.runs));
    }
    if !w2.bugs.is_empty() {
        tables.push(w2_bug_table(&w2, &opts));
        tables.push(w2_examples_table(&w2));
    }
    if !w3.is_empty() {
        tables.push(w3_table(&w3, opts.runs));
    }
    if !w4.is_empty() {
        tables.push(w4_table(&w4, &opts));
    }
    if tables.is_empty() {
        eprintln!("error: --only matched no workload\n\n{USAGE}");
        return ExitCode::FAILURE;
    }
    let targets = targets_table(&w1, &w2);

    for t in targets.iter().chain(&tables) {
        println!("{}", t.text());
    }
    println!("load average (1/5/15 min): {load_before} before, {load_after} after");

    if let Some(path) = &opts.markdown {
        let md = markdown(
            &machine,
            &opts,
            &load_before,
            &load_after,
            targets.as_ref(),
            &tables,
        );
        if let Err(e) = std::fs::write(path, md) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

fn progress(msg: &str) {
    eprintln!("  .. {msg}");
}

// ----- W1 -----------------------------------------------------------------------------------

struct W1Row {
    size: Echo,
    who: Contender,
    samples: Vec<Sample>,
}

fn run_w1(opts: &Options) -> Vec<W1Row> {
    let mut rows: Vec<W1Row> = Vec::new();
    for size in opts.sizes() {
        for who in Contender::ALL {
            if opts.selected(&size.id(who)) {
                rows.push(W1Row {
                    size: size.clone(),
                    who,
                    samples: Vec::with_capacity(opts.runs),
                });
            }
        }
    }
    // Within each piece size, runs are interleaved round by round, so a burst of load from
    // elsewhere on the machine spreads over every contender instead of landing on one; each
    // size starts with one untimed warm-up round. The 4 KiB group runs first: its runs are
    // bound by copying, and after the 1-byte runs (which allocate and free hundreds of MiB)
    // they measured up to 2x slower in the same process, for every contender alike.
    for label in ["4KiB", "1B"] {
        let mut group: Vec<&mut W1Row> =
            rows.iter_mut().filter(|r| r.size.label == label).collect();
        if group.is_empty() {
            continue;
        }
        if !opts.quick {
            progress(&format!("W1 {label}: warm-up"));
            for r in &group {
                let _ = r.size.run(r.who);
            }
        }
        for run in 0..opts.runs {
            progress(&format!("W1 {label}: run {}/{}", run + 1, opts.runs));
            for r in &mut group {
                let s = r.size.run(r.who);
                r.samples.push(s);
            }
        }
    }
    rows
}

fn fmt_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

fn per_piece(samples: &[Sample]) -> Stat {
    stat(samples.iter().map(|s| s.nanos / s.pieces as f64))
}

fn per_byte(samples: &[Sample]) -> Stat {
    stat(samples.iter().map(|s| s.nanos / s.bytes as f64))
}

fn w1_median(rows: &[W1Row], label: &str, who: Contender) -> Option<f64> {
    rows.iter()
        .find(|r| r.size.label == label && r.who == who)
        .map(|r| per_piece(&r.samples).median)
}

fn w1_table(rows: &[W1Row], mems: &[(String, Option<mem::Peak>)], runs: usize) -> Table {
    let mut t = Table::new(
        "W1 echo: ns per piece and per byte, ratios, peak memory",
        &[
            ("workload", false),
            ("contender", false),
            ("pieces delivered", true),
            ("ns/piece: median (min–max)", true),
            ("ns/byte", true),
            ("× piecemeal", true),
            ("× floor", true),
            ("peak RSS MiB (above start)", true),
        ],
    );
    t.note(format!(
        "Median of {runs} run(s), min–max in parentheses. Pieces and bytes count both \
         directions (a round trip is two pieces). × piecemeal and × floor divide the row's \
         median ns/piece by that of `piecemeal Pair, recording` and of the floor at the same \
         size. Peak RSS: VmHWM of a child process that ran the workload once."
    ));
    let mut last = "";
    for r in rows {
        let pp = per_piece(&r.samples);
        let pb = per_byte(&r.samples);
        let ratio = |who| {
            w1_median(rows, r.size.label, who)
                .map_or_else(|| "–".to_owned(), |m| fmt_ratio(pp.median / m))
        };
        let label = if r.size.label == last {
            String::new()
        } else {
            format!("{} @ {}", fmt_bytes(r.size.len), fmt_bytes(r.size.piece))
        };
        last = r.size.label;
        let id = r.size.id(r.who);
        let peak = mems.iter().find(|(i, _)| *i == id).map_or_else(
            || "–".to_owned(),
            |(_, p)| match p {
                Some(p) => format!(
                    "{:.1} ({:.1})",
                    p.hwm_kib as f64 / 1024.0,
                    p.hwm_kib.saturating_sub(p.start_kib) as f64 / 1024.0
                ),
                None => "n/a".to_owned(),
            },
        );
        t.row(vec![
            label,
            r.who.describe().to_owned(),
            r.samples[0].pieces.to_string(),
            fmt_stat(pp),
            fmt_num(pb.median),
            ratio(Contender::PIECEMEAL),
            ratio(Contender::Floor),
            peak,
        ]);
    }
    t
}

fn peak_memory(opts: &Options, rows: &[W1Row]) -> Vec<(String, Option<mem::Peak>)> {
    let args = opts.size_args();
    rows.iter()
        .map(|r| {
            let id = r.size.id(r.who);
            progress(&format!("peak memory: {id}"));
            let peak = if cfg!(target_os = "linux") {
                mem::measure(&id, &args)
            } else {
                None
            };
            (id, peak)
        })
        .collect()
}

// ----- W2 -----------------------------------------------------------------------------------

#[derive(Default)]
struct W2Results {
    /// (K, contender, one run per seed)
    timing: Vec<(u32, W2, Vec<W2Run>)>,
    /// (contender, one run per seed)
    bugs: Vec<(W2, Vec<W2Run>)>,
    bug_cases: u32,
}

fn run_w2(opts: &Options) -> W2Results {
    let (ks, bug_cases) = opts.w2_cases();
    let whos: Vec<W2> = W2::ALL
        .into_iter()
        .filter(|w| opts.selected(&format!("w2/{}", w.name())))
        .collect();
    let mut res = W2Results {
        bug_cases,
        ..W2Results::default()
    };
    if whos.is_empty() {
        return res;
    }
    for k in ks {
        let mut runs: Vec<Vec<W2Run>> = vec![Vec::new(); whos.len()];
        if !opts.quick {
            for &w in &whos {
                let _ = lines::run_w2(w, k, lines::seed(usize::MAX), false);
            }
        }
        for s in 0..opts.runs {
            progress(&format!("W2 K={k}: seed {}/{}", s + 1, opts.runs));
            for (i, &w) in whos.iter().enumerate() {
                runs[i].push(lines::run_w2(w, k, lines::seed(s), false));
            }
        }
        res.timing
            .extend(whos.iter().zip(runs).map(|(&w, r)| (k, w, r)));
    }
    let mut bugs: Vec<Vec<W2Run>> = vec![Vec::new(); whos.len()];
    for s in 0..opts.runs {
        progress(&format!("W2 planted bug: seed {}/{}", s + 1, opts.runs));
        for (i, &w) in whos.iter().enumerate() {
            bugs[i].push(lines::run_w2(w, bug_cases, lines::seed(s), true));
        }
    }
    res.bugs = whos.into_iter().zip(bugs).collect();
    res
}

fn w2_timing_table(res: &W2Results, runs: usize) -> Table {
    let mut t = Table::new(
        "W2 property test: wall time per case, K passing cases",
        &[
            ("K", true),
            ("contender", false),
            ("µs/case: median (min–max)", true),
            ("K cases, ms", true),
            ("pieces/case", true),
            ("× piecemeal", true),
        ],
    );
    t.note(format!(
        "Median over {runs} base seed(s) (one TestRunner run of K cases each, ChaCha rng, no \
         failure persistence), min–max in parentheses. A case is: generate the lines and the \
         chunking, deliver, decode, compare. Generation is included: it is what a property \
         test pays."
    ));
    let mut last = 0;
    for (k, w, rs) in &res.timing {
        let per = stat(rs.iter().map(|r| r.nanos / 1e3 / f64::from(*k)));
        let total = stat(rs.iter().map(|r| r.nanos / 1e6));
        let base = res
            .timing
            .iter()
            .find(|(k2, w2, _)| k2 == k && *w2 == W2::Piecemeal)
            .map(|(_, _, rs)| stat(rs.iter().map(|r| r.nanos)).median);
        let ratio = base.map_or_else(
            || "–".to_owned(),
            |b| fmt_ratio(stat(rs.iter().map(|r| r.nanos)).median / b),
        );
        t.row(vec![
            if *k == last {
                String::new()
            } else {
                k.to_string()
            },
            w.describe().to_owned(),
            fmt_stat(per),
            fmt_num(total.median),
            fmt_num(stat(rs.iter().map(|r| r.pieces as f64 / r.calls as f64)).median),
            ratio,
        ]);
        last = *k;
    }
    t
}

fn opt_stat(values: Vec<f64>) -> String {
    if values.is_empty() {
        "–".to_owned()
    } else {
        fmt_stat(stat(values))
    }
}

fn w2_bug_table(res: &W2Results, opts: &Options) -> Table {
    let mut t = Table::new(
        "W2 planted split-CRLF bug: finding it and shrinking it",
        &[
            ("contender", false),
            ("found (seeds)", true),
            ("cases to 1st failure", true),
            ("shrink steps", true),
            ("shrink ms", true),
            ("shrunk bytes", true),
            ("shrunk lines", true),
            ("shrunk cuts", true),
            ("true minimum (seeds)", true),
        ],
    );
    t.note(format!(
        "The decoder drops a `\\n` that starts a piece. Each of {} base seed(s) runs up to {} \
         cases; figures are median (min–max) over the seeds that found the bug. Cases to 1st \
         failure counts the failing case; shrink steps are the test calls proptest made while \
         shrinking. Shrunk cuts: the cuts of the delivery the shrunk case made. The true \
         minimum is one empty line, `\"\\r\\n\"` (2 bytes), cut once between `\\r` and `\\n`.",
        opts.runs, res.bug_cases
    ));
    for (w, rs) in &res.bugs {
        let found: Vec<&W2Run> = rs.iter().filter(|r| r.shrunk.is_some()).collect();
        let sh = |f: fn(&lines::Shrunk) -> f64| {
            opt_stat(
                found
                    .iter()
                    .filter_map(|r| r.shrunk.as_ref().map(f))
                    .collect(),
            )
        };
        let minimal = found
            .iter()
            .filter(|r| r.shrunk.as_ref().is_some_and(lines::Shrunk::is_minimal))
            .count();
        t.row(vec![
            w.describe().to_owned(),
            format!("{}/{}", found.len(), rs.len()),
            opt_stat(
                found
                    .iter()
                    .filter_map(|r| r.first_failure.map(|n| n as f64))
                    .collect(),
            ),
            opt_stat(
                found
                    .iter()
                    .filter_map(|r| r.first_failure.map(|n| (r.calls - n) as f64))
                    .collect(),
            ),
            opt_stat(found.iter().map(|r| r.shrink_nanos / 1e6).collect()),
            sh(|s| s.bytes as f64),
            sh(|s| s.lines as f64),
            sh(|s| s.cuts.len() as f64),
            format!("{minimal}/{}", found.len()),
        ]);
    }
    t
}

fn w2_examples_table(res: &W2Results) -> Table {
    let mut t = Table::new(
        "W2 shrunk counterexamples, first base seed",
        &[("contender", false), ("counterexample", false)],
    );
    t.note("Each contender's own value after shrinking (at most three lines shown).");
    for (w, rs) in &res.bugs {
        let ex = rs
            .first()
            .and_then(|r| r.shrunk.as_ref())
            .map_or_else(|| "not found".to_owned(), |s| s.literal.clone());
        t.row(vec![w.name().to_owned(), format!("`{ex}`")]);
    }
    t
}

// ----- W3 -----------------------------------------------------------------------------------

struct W3Row {
    who: W3,
    /// (nanos, plans, pieces)
    runs: Vec<(f64, u64, u64)>,
}

fn run_w3(opts: &Options) -> Vec<W3Row> {
    let mut rows: Vec<W3Row> = W3::ALL
        .into_iter()
        .filter(|w| opts.selected(&format!("w3/{}", w.name())))
        .map(|who| W3Row {
            who,
            runs: Vec::new(),
        })
        .collect();
    if rows.is_empty() {
        return rows;
    }
    if !opts.quick {
        for r in &rows {
            let _ = lines::run_w3(r.who);
        }
    }
    for run in 0..opts.runs {
        progress(&format!("W3: run {}/{}", run + 1, opts.runs));
        for r in &mut rows {
            r.runs.push(lines::run_w3(r.who));
        }
    }
    rows
}

fn w3_table(rows: &[W3Row], runs: usize) -> Table {
    let mut t = Table::new(
        "W3 exhaustive: every plan of a 16-byte input",
        &[
            ("contender", false),
            ("plans", true),
            ("pieces", true),
            ("all plans, ms: median (min–max)", true),
            ("µs/plan", true),
            ("ns/piece", true),
            ("× floor", true),
        ],
    );
    t.note(format!(
        "`Chunking::all(16)` over {:?} (four lines), each plan delivered to a line-echo \
         protocol in a fresh `Harness` and its output checked; the floor runs the same logic \
         over the same pieces in a plain loop. Median of {runs} run(s).",
        String::from_utf8_lossy(lines::W3_INPUT)
    ));
    let floor = rows
        .iter()
        .find(|r| r.who == W3::Floor)
        .map(|r| stat(r.runs.iter().map(|x| x.0)).median);
    for r in rows {
        let ms = stat(r.runs.iter().map(|x| x.0 / 1e6));
        let total = stat(r.runs.iter().map(|x| x.0)).median;
        let (_, plans, pieces) = r.runs[0];
        t.row(vec![
            r.who.describe().to_owned(),
            plans.to_string(),
            pieces.to_string(),
            fmt_stat(ms),
            fmt_num(total / 1e3 / plans as f64),
            fmt_num(total / pieces as f64),
            floor.map_or_else(|| "–".to_owned(), |f| fmt_ratio(total / f)),
        ]);
    }
    t
}

// ----- W4 -----------------------------------------------------------------------------------

struct W4Row {
    shape: Shape,
    /// (nanos, pieces)
    runs: Vec<(f64, u64)>,
}

/// Bytes each busy connection echoes.
fn w4_len(opts: &Options) -> usize {
    if opts.quick { 64 } else { 1024 }
}

fn run_w4(opts: &Options) -> Vec<W4Row> {
    let mut rows: Vec<W4Row> = reactor::shapes(opts.quick)
        .into_iter()
        .filter(|s| opts.selected(&s.id()))
        .map(|shape| W4Row {
            shape,
            runs: Vec::new(),
        })
        .collect();
    let len = w4_len(opts);
    for run in 0..opts.runs {
        progress(&format!("W4: run {}/{}", run + 1, opts.runs));
        for r in &mut rows {
            r.runs.push(reactor::run(r.shape, len));
        }
    }
    rows
}

fn w4_table(rows: &[W4Row], opts: &Options) -> Table {
    let mut t = Table::new(
        "W4 many connections: a Reactor, 1-byte pieces",
        &[
            ("busy connections", true),
            ("idle connections", true),
            ("pieces", true),
            ("ns/piece: median (min–max)", true),
            ("× one connection", true),
        ],
    );
    t.note(format!(
        "Every busy connection echoes {} bytes (`Chunking::every_byte()` both ways, recording \
         on); idle connections are open and silent. Connecting is setup; the timed part is one \
         `run()` delivering everything. Median of {} run(s).",
        w4_len(opts),
        opts.runs
    ));
    let per_piece = |r: &W4Row| stat(r.runs.iter().map(|&(ns, p)| ns / p as f64));
    let single = rows
        .iter()
        .find(|r| r.shape == Shape { busy: 1, idle: 0 })
        .map(|r| per_piece(r).median);
    for r in rows {
        let s = per_piece(r);
        t.row(vec![
            r.shape.busy.to_string(),
            r.shape.idle.to_string(),
            r.runs[0].1.to_string(),
            fmt_stat(s),
            single.map_or_else(|| "–".to_owned(), |one| fmt_ratio(s.median / one)),
        ]);
    }
    t
}

// ----- targets ------------------------------------------------------------------------------

fn targets_table(w1: &[W1Row], w2: &W2Results) -> Option<Table> {
    let mut t = Table::new(
        "Targets (issue 6)",
        &[("target", false), ("measured", false), ("verdict", false)],
    );
    let m = |who| w1_median(w1, "1B", who);
    let verdict = |ok: bool, by: String| {
        if ok {
            "met".to_owned()
        } else {
            format!("MISSED {by}")
        }
    };
    if let (Some(f), Some(p)) = (m(Contender::Floor), m(Contender::PIECEMEAL)) {
        let x = p / f;
        t.row(vec![
            "1-byte pieces: piecemeal (recording) within 3× of the floor".to_owned(),
            format!(
                "{}× ({} vs {} ns/piece)",
                fmt_num(x),
                fmt_num(p),
                fmt_num(f)
            ),
            verdict(
                x <= 3.0,
                format!("({}× over the 3× asked)", fmt_num(x / 3.0)),
            ),
        ]);
        if let Some(h) = m(Contender::FloorHistory) {
            t.row(vec![
                "(the floor keeping a handle on each write, as a log must)".to_owned(),
                format!(
                    "{}× ({} ns/piece); piecemeal recording is {}× this",
                    fmt_num(h / f),
                    fmt_num(h),
                    fmt_num(p / h)
                ),
                "for reference".to_owned(),
            ]);
        }
        if let Some(n) = m(Contender::Pair { record: false }) {
            let x = n / f;
            t.row(vec![
                "(same, record(false))".to_owned(),
                format!(
                    "{}× ({} vs {} ns/piece)",
                    fmt_num(x),
                    fmt_num(n),
                    fmt_num(f)
                ),
                verdict(
                    x <= 3.0,
                    format!("({}× over the 3× asked)", fmt_num(x / 3.0)),
                ),
            ]);
        }
    }
    for peer in [
        Contender::Duplex,
        Contender::DuplexTight,
        Contender::Turmoil,
    ] {
        if let (Some(q), Some(p)) = (m(peer), m(Contender::PIECEMEAL)) {
            let x = q / p;
            t.row(vec![
                format!(
                    "1-byte pieces: piecemeal ≥ 10× cheaper per piece than {}",
                    peer.describe()
                ),
                format!(
                    "{}× ({} vs {} ns/piece)",
                    fmt_num(x),
                    fmt_num(q),
                    fmt_num(p)
                ),
                verdict(
                    x >= 10.0,
                    format!(
                        "({}× of the 10× asked: {}× short)",
                        fmt_num(x),
                        fmt_num(10.0 / x)
                    ),
                ),
            ]);
        }
    }
    if !w2.bugs.is_empty() {
        let minimal = |w: W2| {
            w2.bugs.iter().find(|(x, _)| *x == w).map(|(_, rs)| {
                let n = rs
                    .iter()
                    .filter(|r| r.shrunk.as_ref().is_some_and(lines::Shrunk::is_minimal))
                    .count();
                (n, rs.len())
            })
        };
        if let Some((n, of)) = minimal(W2::Piecemeal) {
            t.row(vec![
                "W2: piecemeal (`strategy::chunked`) shrinks the planted bug to the true \
                 minimum (\"\\r\\n\", one cut)"
                    .to_owned(),
                format!("{n} of {of} seeds"),
                verdict(n == of, format!("({} of {of} seeds minimal)", n)),
            ]);
        }
        let peers: Vec<(W2, usize, usize)> = [W2::PartialIo, W2::TokioTest]
            .into_iter()
            .filter_map(|w| minimal(w).map(|(k, o)| (w, k, o)))
            .collect();
        if !peers.is_empty() {
            let reached: usize = peers.iter().map(|p| p.1).sum();
            let of: usize = peers.iter().map(|p| p.2).sum();
            t.row(vec![
                "W2: the peers do not".to_owned(),
                peers
                    .iter()
                    .map(|(w, k, o)| format!("{} {k} of {o} seeds", w.name()))
                    .collect::<Vec<_>>()
                    .join(", "),
                if reached == 0 {
                    "holds".to_owned()
                } else {
                    format!("holds in {} of {of} peer runs", of - reached)
                },
            ]);
        }
    }
    (!t.rows.is_empty()).then_some(t)
}

// ----- the Markdown report ------------------------------------------------------------------

const SETUP: &str = "\
**W1, echo.** A client sends a payload, the server echoes every piece it receives, the client
collects what comes back; every run is checked byte for byte (and the piece count: exactly the
plan for piecemeal and the floor, at least the plan for the async peers, whose reads return at
most one piece). Payload `byte[i] = (i * 31) % 251`. Setup (payloads, runtimes, collector
buffers with their pages touched, the simulation's hosts) happens before the clock starts.

- *floor (plain loop)*: the echo function and the collector the piecemeal protocols use,
  called by a loop over the payload's pieces (ranges computed before the clock starts). No
  harness at all: what the protocol logic alone costs.
- *floor, keeping each write*: the floor, also keeping a clone of every echoed piece in a
  `Vec` allocated and touched before the clock starts (and dropped after it stops): the least
  a zero-copy event log adds, one reference count and one store a write.
- *piecemeal Pair*: the client writes the payload in `connection_made` as one `Bytes`; the
  server echoes each piece with `write_bytes`; `Chunking::fixed(piece)` both ways;
  `Config::step_limit(u64::MAX)`; event log on (the default), or `record(false)`. The whole
  payload is ready at once and the engine runs the oldest ready task first, so the server's
  pieces and the client's echoes alternate, each echo one piece behind: a throughput test, not
  a ping-pong. `pair-seeded` is the same under `Schedule::seeded(7)`; `pair-copy` records, and
  its server echoes a copy of each piece with `Transport::write`.
- *tokio::io::duplex(64 KiB)*: on a current-thread runtime; the client writes piece-sized
  `write_all`s and half-closes (`shutdown`) while it reads into a piece-sized buffer
  (`tokio::join!`); the server task reads into a piece-sized buffer and `write_all`s each read
  back. The chunk size is decoupled from the pipe's capacity, as the reference asks: this is
  the fair setup, and the one the target is checked against.
- *tokio::io::duplex(piece)*: the same code with the pipe's capacity equal to one piece (the
  reference pilot's setup): every piece waits for the reader, a task switch per piece.
- *partial-io over duplex*: the same code over the same `duplex(64 KiB)`, but with 64 KiB
  buffers and one `write_all` of the whole payload; both ends are wrapped in
  `PartialAsyncWrite::new(PartialAsyncRead::new(end, repeat(Limited(piece))),
  repeat(Limited(piece)))`, so the wrappers do all the cutting.
- *turmoil*: `Builder::tcp_capacity(64)` (its default, pinned), default latency, fixed
  `rng_seed`, `simulation_duration` 10⁶ s; a server host echoes on `turmoil::net::TcpListener`,
  the client writes piece-sized writes (turmoil's only way to cut: a read never crosses a
  segment) and reads into a piece-sized buffer. All of `sim.run()` is timed.

**W2, property test.** Lines `vec([a-z]{0,40}, 0..40)`, CRLF-terminated, delivered under a
generated chunking to one shared CRLF line decoder; the decoded lines must equal the input.
proptest's `TestRunner::new_with_rng(config, TestRng::from_seed(ChaCha, seed))`, no failure
persistence, one base seed per run.

- *piecemeal, `chunked`*: `piecemeal::strategy::chunked(lines.prop_map(encode))`, payload
  and cuts generated and shrunk as one value; the bytes delivered with `Harness::deliver`
  (event log on). This is the strategy the W2 target is checked against.
- *piecemeal, `flat_map`*: `lines.prop_flat_map(|l| (Just(l), strategy::chunking(len)))`, the
  same delivery: how the two had to be combined before `chunked`.
- *partial-io*: `(lines, vec(partial_op_strategy(Just(None), 64), 0..128))` over
  `PartialRead<Cursor<_>>`, read into a 64 KiB buffer (sync).
- *tokio-test*: `(lines, vec(any::<Index>(), 0..64))` mapped to cut offsets, one
  `io::Builder::read` per piece, read on one reused current-thread runtime.

**W3, exhaustive.** Every plan of a 16-byte input (`Chunking::all(16)`: 2¹⁵ = 32,768 plans)
through a line-echo protocol, each in a fresh `Harness`, output checked.

**W4, many connections.** A `Reactor` with `Chunking::every_byte()` both ways and recording
on: each busy connection's client writes a 1,024-byte payload that the server echoes (each
client's byte count and the total piece count are checked); idle connections are connected
and silent. Connecting
everything is setup; the clock covers the one `run()` that delivers every payload.
";

fn markdown(
    machine: &Machine,
    opts: &Options,
    load_before: &str,
    load_after: &str,
    targets: Option<&Table>,
    tables: &[Table],
) -> String {
    let mut md = String::new();
    md.push_str("# Performance\n\n");
    md.push_str(
        "What piecemeal costs per piece, next to its peers, measured by the `bench/` package. \
         This page is generated: every figure below comes from one run on one machine \
         (medians of several runs, with min and max). To reproduce it, run from the \
         repository's root:\n\n",
    );
    md.push_str(
        "```sh\ncargo run --release --manifest-path bench/Cargo.toml -- --markdown \
         docs/performance.md\n```\n\n",
    );
    md.push_str(
        "(`-- --quick` is the seconds-long smoke test CI runs; `bench/README.md` has every \
         option.)\n\n",
    );
    md.push_str("## The run\n\n```text\n");
    for l in machine.lines() {
        md.push_str(&l);
        md.push('\n');
    }
    md.push_str(&format!(
        "runs:      {} per workload{}\nload:      {load_before} before, {load_after} after \
         (1/5/15-minute load averages)\n```\n\n",
        opts.runs,
        if opts.quick { " (--quick)" } else { "" }
    ));
    md.push_str(
        "The machine is shared: a load average near or above the CPU count, or a wide \
         min–max, means the figures are noisy; ratios between contenders are steadier than \
         absolute figures because runs are interleaved round by round.\n\n",
    );
    if let Some(t) = targets {
        md.push_str(&t.markdown("##"));
        md.push('\n');
        md.push_str(
            "Where a target is missed, *Why the missed targets are missed* at the end of this \
             page says why, with a profile.\n\n",
        );
    }
    md.push_str("## Results\n\n");
    for t in tables {
        md.push_str(&t.markdown("###"));
        md.push('\n');
    }
    md.push_str("## What is measured\n\n");
    md.push_str(SETUP);
    let analysis = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/analysis.md"));
    if let Ok(a) = analysis {
        md.push('\n');
        md.push_str(&a);
    }
    md
}
