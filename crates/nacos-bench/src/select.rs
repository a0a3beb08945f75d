//! `select`: `select_one_healthy_instance` from a subscription's held list, from one thread and
//! from one thread per core, beside the Node.js SDK (`nacos-naming` from npm) picking from its
//! own subscribed cache in the same run.
//!
//! No request is made during the loops: both clients answer from what they hold, so the
//! figures are the cost of the pick itself (lookup, random number, weighted choice, handing the
//! instance out). The client picks two ways: `send()`, handing out an `Arc` of the held
//! instance, and `send_with`, lending it.
//!
//! How well threads scale depends on the machine as much as on the code (two hyperthreads of
//! one core, a busy neighbour), so the same threads also run a loop of the same shape outside
//! the client: a map from service name to weighted `Arc<Instance>` lists, looked up by a fresh
//! `String`, one random number, an `Arc` cloned out. Each thread over its own private copy, the
//! machine's scaling, which shares nothing; then all over one shared copy, which shares the
//! reference counts as `send()` does. The client's speed-up is quoted against the machine's. The Node.js SDK has no single-pick call; its side is `selectInstances` from
//! the cache followed by a weighted random choice in JavaScript, as a Node.js service writes
//! it. Node.js runs one thread per process, so its "every core" row runs one process per core.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use nacos_naming::{Instance, NamingClient};

use crate::report::{self, Goal, Table};
use crate::servers::{self, DevServerOptions, DevServerProcess, Server};
use crate::{procfs, Result};

const SERVICE: &str = "bench-select";
/// The npm package and version of the Node.js side.
const NODE_SDK: &str = "nacos-naming@2.6.3";

/// Flags of `select`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Seconds each case picks, all rounds together.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds the time of each case is split into, the cases taking turns; each case is
    /// quoted by its median round, and scaling by the median of per-round ratios.
    #[arg(long, default_value_t = 12)]
    rounds: u32,
    /// Print every round's pair of rates.
    #[arg(long)]
    each_round: bool,
    /// Instances in the service, of weights 1, 2, 3...
    #[arg(long, default_value_t = 10)]
    instances: u16,
    /// Threads of the "every core" row; defaults to the cores this process may use.
    #[arg(long)]
    threads: Option<usize>,
    /// Leave out the Node.js SDK.
    #[arg(long)]
    skip_node: bool,
    /// The nacos-devserver binary; built in release mode when not given.
    #[arg(long, env = "NACOS_DEVSERVER_BIN")]
    devserver_bin: Option<PathBuf>,
}

/// Picks made by some threads (or processes) in some time.
#[derive(Debug, Clone, Copy)]
struct Sample {
    threads: usize,
    picks: u64,
    elapsed: Duration,
    /// CPU time the picking process used meanwhile: unlike wall time, not inflated when other
    /// work shares the cores.
    cpu: Duration,
}

impl Sample {
    fn per_second(&self) -> f64 {
        report::rate(self.picks, self.elapsed)
    }

    /// Wall time per pick on one thread.
    fn nanos_per_pick(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e9 * self.threads as f64 / self.picks.max(1) as f64
    }

    fn row(&self, side: &str) -> Vec<String> {
        vec![
            side.to_owned(),
            self.threads.to_string(),
            self.picks.to_string(),
            format!("{:.0}", self.per_second()),
            format!("{:.1}", self.nanos_per_pick()),
            format!(
                "{:.1}",
                self.cpu.as_secs_f64() * 1e9 / self.picks.max(1) as f64
            ),
        ]
    }
}

/// Runs the benchmark and prints its table.
pub fn run(args: Args) -> Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let binary = servers::devserver_binary(args.devserver_bin.as_deref())?;
    let server = DevServerProcess::start(&binary, &DevServerOptions::default())?;
    let addr = server.addr().to_string();
    println!(
        "server: {} on {addr}; service {SERVICE:?} with {} instances of weights 1..={}\n",
        server.name(),
        args.instances,
        args.instances
    );

    // Registered by another client, whose heartbeats keep them alive for the whole run.
    let owner = NamingClient::new(&addr)?;
    for port in 1..=args.instances {
        owner
            .add_naming_instance(SERVICE, "10.9.0.1", port)
            .weight(f64::from(port))
            .send()?;
    }

    let client = NamingClient::new(&addr)?;
    let held = Arc::new(AtomicUsize::new(0));
    let seen = held.clone();
    client
        .subscribe(SERVICE, move |event: &nacos_naming::ServiceEvent| {
            seen.store(event.service.hosts.len(), Ordering::SeqCst);
        })
        .send()?;
    let want = usize::from(args.instances);
    if !nacos_test_support::wait_until(Duration::from_secs(20), || {
        held.load(Ordering::SeqCst) == want
    }) {
        return Err("the subscription did not receive every instance within 20 s".into());
    }

    let mut table = Table::new([
        "side",
        "threads",
        "picks",
        "picks/s",
        "ns/pick",
        "CPU ns/pick",
    ]);
    let owned = |_: &()| {
        let picked = client.select_one_healthy_instance(SERVICE).send()?;
        Ok(picked.port)
    };
    let lent = |_: &()| {
        client
            .select_one_healthy_instance(SERVICE)
            .send_with(|picked| picked.port)
    };
    let hosts = client.list_naming_instance(SERVICE).send()?.hosts;
    let shared = Arc::new(Copied::new(&hosts));
    let copied = |copy: &Arc<Copied>| {
        copy.pick()
            .ok_or_else(|| nacos_naming::Error::NoInstanceAvailable {
                service: SERVICE.to_owned(),
            })
    };

    // Scaling is judged by pairs: within a round each kind of pick runs on one thread and on
    // every thread back to back (which first alternates by round), and the figure is the
    // median of the per-round ratios. A burst of other work then slows one pair, not the whole
    // figure; and unlike keeping each case's best round, the median does not favour one
    // thread, whose rate varies more from round to round (fresh threads, each with its own
    // stack and thread-locals) than the mean of several.
    let kinds = [Case::Sent, Case::Lent, Case::PrivateCopy];
    let rounds = args.rounds.max(1);
    let slice = Duration::from_secs_f64(args.seconds / rounds as f64);
    let measure = |case: Case, threads: usize| -> Result<Sample> {
        match case {
            Case::Sent => picks(threads, slice, || (), owned),
            Case::Lent => picks(threads, slice, || (), lent),
            Case::PrivateCopy => picks(threads, slice, || Arc::new(Copied::new(&hosts)), copied),
            Case::SharedCopy => picks(threads, slice, || shared.clone(), copied),
        }
    };
    let mut pairs: Vec<Vec<(Sample, Sample)>> = vec![Vec::new(); kinds.len()];
    let mut shared_rounds = Vec::new();
    for round in 0..rounds {
        for (case, pairs) in kinds.iter().zip(&mut pairs) {
            let (one, many) = if round % 2 == 0 {
                let one = measure(*case, 1)?;
                (one, measure(*case, threads)?)
            } else {
                let many = measure(*case, threads)?;
                (measure(*case, 1)?, many)
            };
            if args.each_round {
                println!(
                    "round {round:>2} {:<32} 1 thread {:>12.0}/s  {threads} threads {:>12.0}/s  \
                     per thread {}",
                    case.label(),
                    one.per_second(),
                    many.per_second(),
                    report::number(scaling(&one, &many))
                );
            }
            pairs.push((one, many));
        }
        shared_rounds.push(measure(Case::SharedCopy, threads)?);
    }
    let [sent, lent_pairs, machine_pairs] = &pairs[..] else {
        return Err("a case was not measured".into());
    };
    for (case, pairs) in kinds.iter().zip(&pairs) {
        table.row(median_sample(pairs.iter().map(|p| p.0)).row(case.label()));
        table.row(median_sample(pairs.iter().map(|p| p.1)).row(case.label()));
    }
    let shared_many = median_sample(shared_rounds.iter().copied());
    table.row(shared_many.row(Case::SharedCopy.label()));
    let one = median_sample(sent.iter().map(|p| p.0));
    let many = median_sample(sent.iter().map(|p| p.1));

    let node = if args.skip_node {
        None
    } else {
        match node_setup() {
            Ok(dir) => {
                let one = node_picks(&dir, &addr, 1, args.seconds)?;
                table.row(one.row("nacos-naming (Node.js)"));
                let many = node_picks(&dir, &addr, threads, args.seconds)?;
                table.row(many.row("nacos-naming (Node.js)"));
                Some((one, many))
            }
            Err(why) => {
                println!("Node.js side skipped: {why}\n");
                None
            }
        }
    };
    table.print();

    let machine = median_scaling(machine_pairs);
    let lent = median_scaling(lent_pairs);
    let sent_scaling = median_scaling(sent);
    let machine_one = median_sample(machine_pairs.iter().map(|p| p.0));
    report::goal(
        "picks/s on one thread, send()",
        one.per_second(),
        Goal::AtLeast(5e6),
    );
    println!(
        "per-thread speed-up with {threads} threads (picks/s / ({threads} x one thread's), \
         median of {rounds} paired rounds): machine (private copies) {}, one shared copy {}, \
         send() {}, send_with() {}",
        report::number(machine),
        report::number(shared_many.per_second() / machine_one.per_second() / threads as f64),
        report::number(sent_scaling),
        report::number(lent),
    );
    println!(
        "send() speed-up / machine speed-up = {} (threads share the picked instances' \
         reference counts)",
        report::number(sent_scaling / machine)
    );
    report::goal(
        "send_with() speed-up / machine speed-up",
        lent / machine,
        Goal::AtLeast(0.9),
    );
    if let Some((node_one, node_many)) = node {
        println!(
            "Rust send() / Node.js, one thread: {}x; every core: {}x",
            report::number(one.per_second() / node_one.per_second()),
            report::number(many.per_second() / node_many.per_second())
        );
    }
    Ok(())
}

/// What a row of the table measures.
#[derive(Debug, Clone, Copy)]
enum Case {
    /// `send()`: the held instance's `Arc` handed out.
    Sent,
    /// `send_with()`: the held instance lent.
    Lent,
    /// The same shape of pick outside the client, each thread over its own copy.
    PrivateCopy,
    /// The same, all threads over one copy: its reference counts shared.
    SharedCopy,
}

impl Case {
    fn label(self) -> &'static str {
        match self {
            Case::Sent => "nacos-naming (Rust) send()",
            Case::Lent => "nacos-naming (Rust) send_with()",
            Case::PrivateCopy => "private copy per thread",
            Case::SharedCopy => "one copy shared by the threads",
        }
    }
}

/// Picks/s on many threads over the threads times one thread's: 1 is linear growth.
fn scaling(one: &Sample, many: &Sample) -> f64 {
    many.per_second() / one.per_second() / many.threads as f64
}

/// The median of the per-round [`scaling`] of paired rounds.
fn median_scaling(pairs: &[(Sample, Sample)]) -> f64 {
    let ratios: Vec<f64> = pairs.iter().map(|(one, many)| scaling(one, many)).collect();
    median(ratios)
}

/// The sample of median rate among `samples`.
fn median_sample(samples: impl Iterator<Item = Sample>) -> Sample {
    let mut samples: Vec<Sample> = samples.collect();
    samples.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    samples[samples.len() / 2]
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs `pick` from `threads` threads for `seconds`, all started together; each thread picks
/// from what `setup` gives it (made on that thread, before the start).
fn picks<T, P>(
    threads: usize,
    seconds: Duration,
    setup: impl Fn() -> T + Sync,
    pick: P,
) -> Result<Sample>
where
    P: Fn(&T) -> std::result::Result<u16, nacos_naming::Error> + Sync,
{
    let cpu_before = procfs::cpu_time(std::process::id())?;
    let start = Barrier::new(threads + 1);
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> std::result::Result<u64, nacos_naming::Error> {
                    let from = setup();
                    start.wait();
                    let until = Instant::now() + seconds;
                    let mut picks = 0u64;
                    let mut sink = 0u64;
                    while Instant::now() < until {
                        for _ in 0..1024 {
                            sink = sink.wrapping_add(u64::from(pick(&from)?));
                        }
                        picks += 1024;
                    }
                    std::hint::black_box(sink);
                    Ok(picks)
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let picks: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (picks, began.elapsed())
    });
    let (per_thread, elapsed) = results;
    let mut total = 0;
    for picks in per_thread {
        total += picks.map_err(|_| "a picking thread panicked")??;
    }
    Ok(Sample {
        threads,
        picks: total,
        elapsed,
        cpu: procfs::cpu_time(std::process::id())?.saturating_sub(cpu_before),
    })
}

/// A service's list held outside the client, picked from in the shape of the client's pick.
struct Copied {
    /// Instances and the running totals of their weights, by service name.
    lists: HashMap<String, (Vec<Arc<Instance>>, Vec<f64>)>,
}

impl Copied {
    /// Copies `hosts` into new `Arc`s: a copy shares no reference count with another.
    fn new(hosts: &[Instance]) -> Copied {
        let mut total = 0.0;
        let ends = hosts
            .iter()
            .map(|host| {
                total += host.weight;
                total
            })
            .collect();
        let instances = hosts.iter().cloned().map(Arc::new).collect();
        Copied {
            lists: HashMap::from([(SERVICE.to_owned(), (instances, ends))]),
        }
    }

    /// The port of an instance picked as the client does: a name allocated, a list looked up,
    /// one random number, a binary search, an `Arc` handed out.
    fn pick(&self) -> Option<u16> {
        let name = std::hint::black_box(SERVICE.to_owned());
        let (instances, ends) = self.lists.get(&name)?;
        let point = fastrand::f64() * ends.last()?;
        let at = ends.partition_point(|end| *end <= point);
        let picked = instances.get(at.min(instances.len() - 1))?.clone();
        Some(picked.port)
    }
}

/// Installs the Node.js SDK under `target/nacos-bench-node` (once) and returns that directory,
/// or why the Node.js side cannot run.
fn node_setup() -> std::result::Result<PathBuf, String> {
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works("node") || !works("npm") {
        return Err("node or npm is not installed".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot tell the target directory from this binary's path")?;
    let dir = target.join("nacos-bench-node");
    if !dir.join("node_modules/nacos-naming/package.json").is_file() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        eprintln!("installing {NODE_SDK} with npm into {}", dir.display());
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(NODE_SDK)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("running npm: {e}"))?;
        if !status.success() {
            return Err(format!("npm install {NODE_SDK} failed: {status}"));
        }
    }
    Ok(dir)
}

/// Runs `processes` Node.js loops at once and adds up their picks.
fn node_picks(dir: &Path, addr: &str, processes: usize, seconds: f64) -> Result<Sample> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("node/select_loop.js");
    let children = (0..processes)
        .map(|_| {
            Command::new("node")
                .arg(&script)
                .args([addr, SERVICE, &seconds.to_string()])
                .env("NODE_PATH", dir.join("node_modules"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map(servers::ChildGuard)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut sample = Sample {
        threads: processes,
        picks: 0,
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
    };
    for mut child in children {
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = child.0.stdout.take() {
            out.read_to_string(&mut stdout)?;
        }
        if let Some(mut err) = child.0.stderr.take() {
            err.read_to_string(&mut stderr)?;
        }
        let pid = child.0.id();
        let cpu = procfs::cpu_time(pid).unwrap_or_default();
        let status = child.0.wait()?;
        if !status.success() {
            return Err(format!("the Node.js loop failed ({status}): {stderr}").into());
        }
        let line: serde_json::Value = serde_json::from_str(&stdout)?;
        sample.picks += line["picks"].as_u64().unwrap_or(0);
        // Read before the exit, after the loop printed: start-up included, a small share.
        sample.cpu += cpu;
        let elapsed = Duration::from_secs_f64(line["seconds"].as_f64().unwrap_or(0.0));
        sample.elapsed = sample.elapsed.max(elapsed);
    }
    Ok(sample)
}
