//! piecemeal's benchmarks: the engine against a plain loop running the same protocol logic.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml [-- --quick | --runs N | --only ID]`
//! See `bench/README.md`.

mod echo;

use std::path::Path;
use std::process::{Command, ExitCode};

use piecemeal::Chunking;

use crate::echo::{Contender, Echo, Sample};

const FULL_LEN: usize = 1 << 20;
const QUICK_LEN: usize = 64 << 10;
const DEFAULT_RUNS: usize = 7;

const USAGE: &str = "\
usage: cargo run --release --manifest-path bench/Cargo.toml -- [OPTIONS]

  --quick        every workload once at a small size (64 KiB), no warm-up: a smoke test
  --runs N       timed runs per workload (default 7); the table shows median and min-max
  --len BYTES    payload size (default 1 MiB; 64 KiB with --quick)
  --only TEXT    only the workloads whose id contains TEXT (ids: floor/1B, pair/1B,
                 pair-norec/1B, floor/4KiB, pair/4KiB, pair-norec/4KiB)
  -h, --help     this text";

struct Options {
    quick: bool,
    runs: usize,
    len: Option<usize>,
    only: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        quick: false,
        runs: DEFAULT_RUNS,
        len: None,
        only: None,
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
    let len = opts
        .len
        .unwrap_or(if opts.quick { QUICK_LEN } else { FULL_LEN });

    print_machine();
    let load_before = loadavg();

    let sizes = [
        Echo {
            len,
            chunking: Chunking::every_byte(),
            label: "1B",
        },
        Echo {
            len,
            chunking: Chunking::fixed(4096),
            label: "4KiB",
        },
    ];
    let mut rows: Vec<(&Echo, Contender, Vec<Sample>)> = Vec::new();
    for size in &sizes {
        for who in Contender::ALL {
            let id = format!("{}/{}", who.name(), size.label);
            if opts.only.as_ref().is_none_or(|f| id.contains(f.as_str())) {
                rows.push((size, who, Vec::with_capacity(opts.runs)));
            }
        }
    }
    if rows.is_empty() {
        eprintln!("error: --only matched no workload\n\n{USAGE}");
        return ExitCode::FAILURE;
    }

    // Within each piece size, runs are interleaved round by round, so a burst of load from
    // elsewhere on the machine spreads over every contender instead of landing on one; each
    // size starts with one untimed warm-up round. The 4 KiB group runs first: a 4 KiB run
    // lasts tens of microseconds and is bound by copying 1 MiB, and after the 1-byte runs
    // (which allocate and free hundreds of MiB) it measured up to 2x slower in the same
    // process, for every contender alike.
    for size in sizes.iter().rev() {
        let group = rows.iter_mut().filter(|(s, _, _)| s.label == size.label);
        let mut group: Vec<_> = group.collect();
        if !opts.quick {
            for (s, who, _) in &group {
                let _ = s.run(*who);
            }
        }
        for _ in 0..opts.runs {
            for (s, who, samples) in &mut group {
                samples.push(s.run(*who));
            }
        }
    }

    print_table(&rows, len, opts.runs);
    println!(
        "load average (1/5/15 min): {load_before} before, {} after",
        loadavg()
    );
    ExitCode::SUCCESS
}

// ----- statistics and the table -------------------------------------------------------------

struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

fn stat(values: impl IntoIterator<Item = f64>) -> Stat {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    };
    Stat {
        median,
        min: v[0],
        max: v[n - 1],
    }
}

fn fmt_ns(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn print_table(rows: &[(&Echo, Contender, Vec<Sample>)], len: usize, runs: usize) {
    println!();
    println!(
        "W1 echo: {len} B payload, one write; each piece echoed with write_bytes; both \
         directions cut alike"
    );
    println!(
        "median of {runs} run(s) (min-max); pieces and bytes count both directions; \
         x floor = median / floor's median"
    );
    println!();
    println!(
        "{:<7} {:<20} {:>9}  {:>10} {:>19}  {:>9}  {:>8}",
        "pieces", "contender", "delivered", "ns/piece", "(min-max)", "ns/byte", "x floor"
    );
    println!("{}", "-".repeat(92));
    let mut last_label = "";
    for (size, who, samples) in rows {
        let per_piece = stat(samples.iter().map(|s| s.nanos / s.pieces as f64));
        let per_byte = stat(samples.iter().map(|s| s.nanos / s.bytes as f64));
        let floor = rows
            .iter()
            .find(|(s, w, _)| s.label == size.label && *w == Contender::Floor)
            .map(|(_, _, fs)| stat(fs.iter().map(|s| s.nanos / s.pieces as f64)).median);
        let ratio = floor.map_or_else(
            || "-".to_owned(),
            |f| format!("{:.1}", per_piece.median / f),
        );
        let label = if size.label == last_label {
            ""
        } else {
            size.label
        };
        last_label = size.label;
        println!(
            "{:<7} {:<20} {:>9}  {:>10} {:>19}  {:>9}  {:>8}",
            label,
            who.describe(),
            samples[0].pieces,
            fmt_ns(per_piece.median),
            format!("({}-{})", fmt_ns(per_piece.min), fmt_ns(per_piece.max)),
            fmt_ns(per_byte.median),
            ratio,
        );
    }
    println!();
}

// ----- the machine --------------------------------------------------------------------------

fn command_line(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn print_machine() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let rustc = command_line("rustc", &["-V"], &repo).unwrap_or_else(|| "rustc ?".to_owned());
    let commit = command_line("git", &["rev-parse", "--short", "HEAD"], &repo)
        .unwrap_or_else(|| "unknown commit".to_owned());
    // `git diff --quiet` exits 1 when the engine's sources differ from the commit.
    let dirty = Command::new("git")
        .args(["diff", "--quiet", "HEAD", "--", "src"])
        .current_dir(&repo)
        .status()
        .is_ok_and(|s| s.code() == Some(1));
    println!("piecemeal bench");
    println!("machine:   {cpus} CPUs (nproc), {model}");
    println!("compiler:  {rustc}");
    println!(
        "piecemeal: {commit}{}",
        if dirty {
            " + uncommitted changes in src/"
        } else {
            ""
        }
    );
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}
