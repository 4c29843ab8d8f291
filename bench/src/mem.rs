//! Peak memory of one W1 workload: the bench re-runs itself as a child process with
//! `--child-mem ID`, which runs that one workload once and reports its peak resident set
//! (`VmHWM` in `/proc/self/status`, Linux only; elsewhere the table says n/a).

use std::process::Command;

use crate::echo::{Contender, Echo};

/// The figures a child reports, in KiB.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    /// Peak resident set of the whole child process.
    pub hwm_kib: u64,
    /// Resident set when the child started, before the workload.
    pub start_kib: u64,
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

const TAG: &str = "piecemeal-bench peak-mem";

/// In the child: run the workload once (checked like any run, except that the log's records
/// are not counted: that would build them all and measure the check) and print the figures.
pub fn child(echo: &Echo, who: Contender) {
    let start = status_kib("VmRSS:");
    crate::echo::SKIP_LOG_CHECK.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = echo.run(who);
    match (status_kib("VmHWM:"), start) {
        (Some(hwm), Some(start)) => println!("{TAG} hwm_kib={hwm} start_kib={start}"),
        _ => println!("{TAG} n/a"),
    }
}

/// In the parent: run the child for workload `id` with the same size options; `None` when
/// the figures are not available (not Linux, or the child failed).
pub fn measure(id: &str, size_args: &[String]) -> Option<Peak> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args(size_args)
        .args(["--child-mem", id])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "peak memory of {id}: the child failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with(TAG))?;
    let field = |name: &str| -> Option<u64> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))?
            .parse()
            .ok()
    };
    Some(Peak {
        hwm_kib: field("hwm_kib=")?,
        start_kib: field("start_kib=")?,
    })
}
