//! Statistics, tables (printed as text, written as Markdown), and the machine's description.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

// ----- statistics ---------------------------------------------------------------------------

/// Median, min and max of a set of runs.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn stat(values: impl IntoIterator<Item = f64>) -> Stat {
    let mut v: Vec<f64> = values.into_iter().collect();
    assert!(!v.is_empty(), "stat of no values");
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

/// A number with three significant figures at most, no exponent.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 || (x.fract() == 0.0 && a < 1e15) {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// `median (min–max)`.
pub fn fmt_stat(s: Stat) -> String {
    format!(
        "{} ({}–{})",
        fmt_num(s.median),
        fmt_num(s.min),
        fmt_num(s.max)
    )
}

/// A ratio: `12.3×`.
pub fn fmt_ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.1}×")
    }
}

// ----- tables -------------------------------------------------------------------------------

/// A table with a title and notes; printed as aligned text, written as Markdown.
#[derive(Debug, Default)]
pub struct Table {
    pub title: String,
    pub notes: Vec<String>,
    pub header: Vec<String>,
    /// Columns aligned right (numbers); the others are aligned left.
    pub right: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: &[(&str, bool)]) -> Self {
        Self {
            title: title.into(),
            header: header.iter().map(|(h, _)| (*h).to_owned()).collect(),
            right: header.iter().map(|(_, r)| *r).collect(),
            ..Self::default()
        }
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.header.len(),
            "row width in {}",
            self.title
        );
        self.rows.push(cells);
    }

    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.header[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i] - c.chars().count();
                if i > 0 {
                    s.push_str("  ");
                }
                if self.right[i] {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
            }
            s.trim_end().to_owned()
        };
        let mut out = format!("{}\n", self.title);
        for n in &self.notes {
            let _ = writeln!(out, "  {n}");
        }
        out.push('\n');
        let head = line(&self.header);
        let _ = writeln!(out, "{head}");
        let _ = writeln!(out, "{}", "-".repeat(head.chars().count()));
        for r in &self.rows {
            let _ = writeln!(out, "{}", line(r));
        }
        out
    }

    pub fn markdown(&self, level: &str) -> String {
        let mut out = format!("{level} {}\n\n", self.title);
        for n in &self.notes {
            let _ = writeln!(out, "{n}");
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
        let esc = |c: &str| c.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} |",
            self.header
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            out,
            "|{}|",
            self.right
                .iter()
                .map(|&r| if r { "---:" } else { "---" })
                .collect::<Vec<_>>()
                .join("|")
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} |",
                r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        out
    }
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

/// What the report says about where and on what it ran.
#[derive(Debug)]
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub memory: String,
    pub os: String,
    pub rustc: String,
    pub commit: String,
    pub date: String,
}

impl Machine {
    pub fn describe() -> Self {
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
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                let kib: f64 = s
                    .lines()
                    .find(|l| l.starts_with("MemTotal:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                Some(format!("{:.1} GiB RAM", kib / (1024.0 * 1024.0)))
            })
            .unwrap_or_else(|| "RAM unknown".to_owned());
        let os = command_line("uname", &["-sr"], &repo).unwrap_or_else(|| "unknown OS".into());
        let rustc = command_line("rustc", &["-V"], &repo).unwrap_or_else(|| "rustc ?".to_owned());
        let commit = command_line("git", &["rev-parse", "--short", "HEAD"], &repo)
            .unwrap_or_else(|| "unknown commit".to_owned());
        // `git diff --quiet` exits 1 when the crate's sources differ from the commit.
        let dirty = Command::new("git")
            .args(["diff", "--quiet", "HEAD", "--", "src"])
            .current_dir(&repo)
            .status()
            .is_ok_and(|s| s.code() == Some(1));
        let untracked = command_line(
            "git",
            &["ls-files", "--others", "--exclude-standard", "src"],
            &repo,
        )
        .is_some();
        let commit = if dirty || untracked {
            format!("{commit} + uncommitted changes in src/")
        } else {
            commit
        };
        let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"], &repo)
            .unwrap_or_else(|| "date unknown".to_owned());
        Self {
            cpus,
            model,
            memory,
            os,
            rustc,
            commit,
            date,
        }
    }

    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "machine:   {} CPUs (nproc), {}, {}, {}",
                self.cpus, self.model, self.memory, self.os
            ),
            format!("compiler:  {}, release profile", self.rustc),
            format!("piecemeal: {}", self.commit),
            format!("peers:     {}", versions().join(", ")),
            format!("date:      {}", self.date),
        ]
    }
}

/// The peers' versions, read from the lock file the bench was built with.
pub fn versions() -> Vec<String> {
    const LOCK: &str = include_str!("../Cargo.lock");
    ["tokio", "partial-io", "turmoil", "tokio-test", "proptest"]
        .iter()
        .map(|name| {
            let needle = format!("name = \"{name}\"\nversion = \"");
            let version = LOCK
                .find(&needle)
                .map(|i| &LOCK[i + needle.len()..])
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?");
            format!("{name} {version}")
        })
        .collect()
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}
