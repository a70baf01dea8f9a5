//! Peak resident memory of a command, for the benchmarks' flat-memory checks.
//!
//! Not `wait4`'s rusage of a child spawned from the benchmark itself: Linux records a
//! process's peak RSS across `exec` from the memory it had before, and a child spawned with
//! `vfork` (as `std::process::Command` does) starts out in the benchmark's own memory, so
//! every child would report the benchmark's peak (hundreds of MiB, the same for every
//! command). GNU `time` forks from its own small process and reports its child's `%M`.

use std::process::{Command, Stdio};

/// Runs `cmd` to completion under `/usr/bin/time`; panics when it fails (with its stderr);
/// returns its peak RSS in KiB.
pub fn run_measured(cmd: &Command) -> i64 {
    let out = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(out.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let result = timed
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("/usr/bin/time runs (Debian package `time`)");
    assert!(
        result.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let text = std::fs::read_to_string(out.path()).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().parse::<i64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {text:?}"))
}
