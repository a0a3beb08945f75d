//! Counting the threads a test started, without counting threads that are on their way out.
//!
//! A joined thread keeps its `/proc/self/task` entry until the kernel has reaped it, and
//! threads the test does not own (an HTTP client's resolver threads, the test harness's own)
//! come and go at any time. Tests that check "nothing left behind" therefore look only at
//! threads named with a given prefix that still run user code.

/// The kernel's flag of a thread that has left user code for good (`PF_EXITING`).
const PF_EXITING: u64 = 0x4;

/// The names of this process's threads that start with `prefix` and are not exiting, sorted;
/// `None` where the system does not tell (anything but Linux).
pub fn running_threads(prefix: &str) -> Option<Vec<String>> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut names = Vec::new();
    for task in tasks.filter_map(Result::ok) {
        let dir = task.path();
        // A thread that finished meanwhile has no files any more: not counted.
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        let name = name.trim_end();
        if !name.starts_with(prefix) || is_exiting(&stat) {
            continue;
        }
        names.push(name.to_owned());
    }
    names.sort();
    Some(names)
}

/// Whether a `/proc/<pid>/task/<tid>/stat` line carries `PF_EXITING`.
fn is_exiting(stat: &str) -> bool {
    // After the name in parentheses (which may itself hold spaces and parentheses): state,
    // ppid, pgrp, session, tty, tpgid, flags.
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    stat[close + 1..]
        .split_whitespace()
        .nth(6)
        .and_then(|flags| flags.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_EXITING != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_flags_after_a_name_with_parentheses() {
        let running = "12 (a (b) c) S 1 1 1 0 -1 4194368 0 0";
        let exiting = "12 (nacos-beat-0) S 1 1 1 0 -1 4194372 0 0";
        assert!(!is_exiting(running));
        assert!(is_exiting(exiting));
        assert!(!is_exiting("garbage"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sees_a_named_thread_and_not_after_it_is_joined() {
        let (release, parked) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tsupport-probe".into())
            .spawn(move || parked.recv())
            .unwrap();
        // A new thread takes its name when it first runs, which may be after `spawn` returns.
        assert!(crate::wait_until(
            std::time::Duration::from_secs(10),
            || { running_threads("tsupport-probe") == Some(vec!["tsupport-probe".to_owned()]) }
        ));
        release.send(()).unwrap();
        thread.join().unwrap().unwrap();
        assert_eq!(running_threads("tsupport-probe"), Some(vec![]));
    }
}
