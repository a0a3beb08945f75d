//! What a process costs, read from `/proc`: resident memory, threads, CPU time.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStats {
    /// `VmRSS`: resident memory now, in KiB.
    pub rss_kib: u64,
    /// `VmHWM`: the most resident memory so far, in KiB.
    pub hwm_kib: u64,
    /// `RssAnon`: the part of `VmRSS` that is heap and stacks (not the binary's pages).
    pub anon_kib: u64,
    /// `Threads`.
    pub threads: u64,
    /// User plus system CPU time of all its threads so far.
    pub cpu: Duration,
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn stats(pid: u32) -> io::Result<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut stats = ProcStats::default();
    for line in status.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        match name {
            "VmRSS" => stats.rss_kib = number(),
            "VmHWM" => stats.hwm_kib = number(),
            "RssAnon" => stats.anon_kib = number(),
            "Threads" => stats.threads = number(),
            _ => {}
        }
    }
    stats.cpu = cpu_time(pid)?;
    Ok(stats)
}

/// User plus system time from `/proc/<pid>/stat` (fields 14 and 15, in clock ticks).
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad /proc stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let ticks = tick(11) + tick(12);
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// The parent process id and command name of `pid`.
pub fn parent_and_name(pid: u32) -> Option<(u32, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let ppid = stat
        .get(close + 1..)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ppid, name))
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every common Linux).
fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = stats(std::process::id()).unwrap();
        assert!(me.rss_kib > 0 && me.hwm_kib >= me.rss_kib && me.anon_kib > 0);
        assert!(me.threads >= 1);
        let (ppid, name) = parent_and_name(std::process::id()).unwrap();
        assert!(ppid > 0 && !name.is_empty());
    }

    #[test]
    fn counts_cpu_time() {
        let before = cpu_time(std::process::id()).unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(cpu_time(std::process::id()).unwrap() > before);
    }
}
