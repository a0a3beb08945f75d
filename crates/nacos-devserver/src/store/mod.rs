//! Persistent instances and service definitions on disk: an append-only log with group
//! commit, compacted into a snapshot. Ephemeral instances are never written: they live by beats
//! and come back by re-registration.
//!
//! The files, in `<data dir>/naming/`, are plain JSON a person can read and edit:
//!
//! - `snapshot.json`: the persistent state at the last compaction,
//!   `{"format": 1, "services": [{"namespace", "service", "defined", "protectThreshold",
//!   "metadata", "ephemeral"?, "instances": [{"cluster", "ip", "port", "weight", "healthy",
//!   "enabled", "metadata"}], "modifies"?: [{"cluster", "ip", "port", "weight", "enabled",
//!   "metadata"}]}]}` (`ephemeral`: the kind a created service holds; `modifies`: the 2.x
//!   modifies a persistent service keeps by address).
//! - `changes.jsonl`: every change since, one object per line, each saying what now is:
//!   `{"op": "put", "namespace", "service", "instance": {...}}`,
//!   `{"op": "remove", "namespace", "service", "cluster", "ip", "port"}`,
//!   `{"op": "define", "namespace", "service", "defined", "protectThreshold", "metadata",
//!   "ephemeral"?}`, `{"op": "modify", "namespace", "service", "modify": {...}}` or
//!   `{"op": "unmodify", "namespace", "service", "cluster", "ip", "port"}`.
//!
//! A write call is answered once its line is on disk (`fdatasync`). One thread writes: it
//! takes every change that arrived while it was syncing and syncs them together, so the cost
//! of a write is one line plus a share of one sync, whatever the services hold. When the log
//! outgrows the snapshot it is compacted: a new snapshot (temporary file, fsync, rename, fsync
//! of the folder), then the log emptied. A crash between the two replays the old log onto the
//! new snapshot, which changes nothing, since every line says what is.
//!
//! At start the snapshot is read, then the log. A last line cut short by a crash (it was never
//! acknowledged) is moved to `changes.torn` and cut off. Anything else that is not understood
//! (a field unknown or misspelled, a weight out of range, an empty ip) stops the start with
//! the file, line and field named; nothing is rewritten until it is fixed. Files of the
//! format before the log, one per service, are still read and folded into the snapshot (see
//! `legacy`).

mod change;
mod legacy;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use change::Persistent;
pub(crate) use change::{Change, KeptModify, ServiceRecord, StoredInstance};

/// The snapshot file's name in `naming/`.
pub(crate) const SNAPSHOT_FILE: &str = "snapshot.json";
/// The log file's name in `naming/`.
pub(crate) const LOG_FILE: &str = "changes.jsonl";
/// Where a torn last line of the log is kept.
const TORN_FILE: &str = "changes.torn";
const TEMP_SUFFIX: &str = ".tmp";
const FORMAT: u32 = 1;
/// The log is compacted once it is larger than this and larger than the snapshot, so the
/// snapshot's cost is spread over at least as many bytes of changes as it holds.
const MIN_COMPACT_BYTES: u64 = 4 << 20;

/// The snapshot file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    format: u32,
    services: Vec<ServiceRecord>,
}

/// The data directory, open for writing.
pub(crate) struct Journal {
    /// `None` once stopped.
    queue: RwLock<Option<mpsc::Sender<Batch>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Changes of one call, and whom to tell when they are on disk.
struct Batch {
    changes: Vec<Change>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Resolves when a call's changes are on disk.
#[derive(Debug)]
pub(crate) struct Receipt(oneshot::Receiver<Result<(), String>>);

impl Receipt {
    /// Waits until the changes are on disk, or why they could not be written.
    pub(crate) async fn written(self) -> Result<(), String> {
        self.0
            .await
            .unwrap_or_else(|_| Err("the data directory is closed".into()))
    }

    /// [`written`](Self::written) for a test outside a runtime.
    #[cfg(test)]
    pub(crate) fn wait(self) -> Result<(), String> {
        self.0
            .blocking_recv()
            .unwrap_or_else(|_| Err("the data directory is closed".into()))
    }
}

impl Journal {
    /// Opens (creating) `dir`, reads what it holds and starts the writer thread. Refuses
    /// files it does not fully understand, naming the file and the field.
    pub(crate) fn open(dir: &Path) -> io::Result<(Journal, Vec<ServiceRecord>)> {
        Journal::open_compacting_at(dir, MIN_COMPACT_BYTES)
    }

    /// [`open`](Self::open), compacting once the log is larger than `min_compact_bytes` (and
    /// than the snapshot).
    fn open_compacting_at(
        dir: &Path,
        min_compact_bytes: u64,
    ) -> io::Result<(Journal, Vec<ServiceRecord>)> {
        let root = dir.join("naming");
        fs::create_dir_all(&root)
            .map_err(|e| with_path(e, "cannot create data directory", &root))?;
        let snapshot_temp = temp_path(&root.join(SNAPSHOT_FILE));
        if snapshot_temp.exists() {
            // A compaction a crash interrupted before its rename: the old snapshot holds.
            fs::remove_file(&snapshot_temp)
                .map_err(|e| with_path(e, "cannot remove temporary file", &snapshot_temp))?;
        }
        let (legacy_files, legacy_records) = legacy::read(&root)?;
        let mut state = Persistent::default();
        for record in legacy_records {
            state.insert(record);
        }
        let snapshot_bytes = read_snapshot(&root.join(SNAPSHOT_FILE), &mut state)?;
        let (log, log_bytes) = replay_log(&root, &mut state)?;
        let mut writer = Writer {
            root,
            log,
            log_bytes,
            snapshot_bytes,
            min_compact_bytes,
            state,
        };
        if !legacy_files.is_empty() {
            writer.compact()?;
            writer.remove_legacy(&legacy_files)?;
        }
        let records = writer.state.records();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("nacos-devserver-journal".into())
            .spawn(move || writer.run(rx))?;
        let journal = Journal {
            queue: RwLock::new(Some(tx)),
            writer: Mutex::new(Some(thread)),
        };
        Ok((journal, records))
    }

    /// Queues `changes` for the log. Called under the lock of the service they belong to, so
    /// the changes of one service reach the log in the order they were made.
    pub(crate) fn submit(&self, changes: Vec<Change>) -> Receipt {
        let (done, receipt) = oneshot::channel();
        let queue = self.queue.read().unwrap_or_else(PoisonError::into_inner);
        match &*queue {
            Some(queue) => {
                if let Err(mpsc::SendError(batch)) = queue.send(Batch { changes, done }) {
                    let _ = batch
                        .done
                        .send(Err("the data directory's writer stopped".into()));
                }
            }
            None => {
                let _ = done.send(Err("the data directory is closed".into()));
            }
        }
        Receipt(receipt)
    }

    /// Writes what is queued, then stops the writer thread and waits for it.
    pub(crate) fn stop(&self) {
        self.queue
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread's side: the open log and the state the files add up to.
struct Writer {
    root: PathBuf,
    log: File,
    /// Bytes of the log known to be on disk.
    log_bytes: u64,
    snapshot_bytes: u64,
    min_compact_bytes: u64,
    state: Persistent,
}

impl Writer {
    fn run(mut self, queue: mpsc::Receiver<Batch>) {
        while let Ok(first) = queue.recv() {
            let mut batches = vec![first];
            batches.extend(queue.try_iter());
            self.write(batches);
            if self.log_bytes > self.min_compact_bytes.max(self.snapshot_bytes) {
                if let Err(e) = self.compact() {
                    // The log keeps everything; compaction is tried again after the next write.
                    log::error!("cannot compact the data directory: {e}");
                }
            }
        }
    }

    /// Appends every batch's lines with one sync, then tells each caller.
    fn write(&mut self, batches: Vec<Batch>) {
        let mut lines = Vec::new();
        for change in batches.iter().flat_map(|b| &b.changes) {
            // Plain strings, numbers and maps always serialize.
            let _ = serde_json::to_writer(&mut lines, change);
            lines.push(b'\n');
        }
        let written = self
            .log
            .write_all(&lines)
            .and_then(|()| self.log.sync_data());
        let outcome = match written {
            Ok(()) => {
                self.log_bytes += lines.len() as u64;
                Ok(())
            }
            Err(e) => {
                let path = self.root.join(LOG_FILE);
                log::error!("cannot write {}: {e}", path.display());
                // Cut back to what was on disk, so a part of this batch never lingers.
                if let Err(e) = self.log.set_len(self.log_bytes) {
                    log::error!("cannot cut {} back: {e}", path.display());
                }
                Err(format!("cannot write {}: {e}", path.display()))
            }
        };
        for batch in batches {
            if outcome.is_ok() {
                for change in batch.changes {
                    self.state.apply(change);
                }
            }
            let _ = batch.done.send(outcome.clone());
        }
    }

    /// Writes the state as the new snapshot and empties the log.
    fn compact(&mut self) -> io::Result<()> {
        let snapshot = Snapshot {
            format: FORMAT,
            services: self.state.records(),
        };
        let bytes = serde_json::to_vec_pretty(&snapshot)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        write_atomically(&self.root.join(SNAPSHOT_FILE), &bytes)?;
        let path = self.root.join(LOG_FILE);
        self.log
            .set_len(0)
            .and_then(|()| self.log.sync_all())
            .map_err(|e| with_path(e, "cannot empty", &path))?;
        self.log_bytes = 0;
        self.snapshot_bytes = bytes.len() as u64;
        log::info!(
            "data directory compacted: {} persistent instances in {}",
            self.state.instances(),
            self.root.join(SNAPSHOT_FILE).display()
        );
        Ok(())
    }

    /// Removes the old format's files once their content is in the snapshot.
    fn remove_legacy(&self, files: &[PathBuf]) -> io::Result<()> {
        for file in files {
            fs::remove_file(file).map_err(|e| with_path(e, "cannot remove", file))?;
            if let Some(dir) = file.parent() {
                // Only succeeds once the folder is empty.
                let _ = fs::remove_dir(dir);
            }
        }
        sync_dir(&self.root)?;
        log::info!(
            "{} service files of the older format folded into {}",
            files.len(),
            SNAPSHOT_FILE
        );
        Ok(())
    }
}

/// Reads the snapshot into `state`; its size in bytes (0 when there is none).
fn read_snapshot(path: &Path, state: &mut Persistent) -> io::Result<u64> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(with_path(e, "cannot read", path)),
    };
    let snapshot: Snapshot =
        serde_json::from_slice(&bytes).map_err(|e| invalid(path, None, &e.to_string()))?;
    if snapshot.format != FORMAT {
        return Err(invalid(
            path,
            None,
            &format!("format: {} is not {FORMAT}", snapshot.format),
        ));
    }
    for (i, record) in snapshot.services.iter().enumerate() {
        if let Some(problem) = record.problem() {
            return Err(invalid(path, None, &format!("services[{i}].{problem}")));
        }
    }
    for record in snapshot.services {
        state.insert(record);
    }
    Ok(bytes.len() as u64)
}

/// Applies the log's lines to `state` and opens it for appending; its size in bytes.
fn replay_log(root: &Path, state: &mut Persistent) -> io::Result<(File, u64)> {
    let path = root.join(LOG_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(with_path(e, "cannot read", &path)),
    };
    let mut good = 0;
    let mut changes = Vec::new();
    let mut unterminated = false;
    for (number, line) in (1..).zip(bytes.split_inclusive(|b| *b == b'\n')) {
        let complete = line.ends_with(b"\n");
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if text.iter().all(u8::is_ascii_whitespace) && complete {
            good += line.len();
            continue;
        }
        let change = match serde_json::from_slice::<Change>(text) {
            Ok(change) => change,
            Err(e) => {
                // A write cut short by a crash (never acknowledged, possibly padded with
                // zeros) is the last thing in the file.
                let rest = &bytes[good + line.len()..];
                let torn = !complete || text.iter().all(|b| *b == 0);
                if torn && rest.iter().all(|b| *b == 0 || *b == b'\n') {
                    keep_torn(root, &bytes[good..])?;
                    break;
                }
                return Err(invalid(&path, Some(number), &e.to_string()));
            }
        };
        if let Some(problem) = change.problem() {
            return Err(invalid(&path, Some(number), &problem));
        }
        changes.push(change);
        good += line.len();
        // A whole change without its newline (an edit by hand): kept, and ended below.
        unterminated = !complete;
    }
    for change in changes {
        state.apply(change);
    }
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| with_path(e, "cannot open", &path))?;
    if good < bytes.len() {
        log.set_len(good as u64)
            .and_then(|()| log.sync_all())
            .map_err(|e| with_path(e, "cannot cut the torn line off", &path))?;
    }
    if unterminated {
        log.write_all(b"\n")
            .and_then(|()| log.sync_all())
            .map_err(|e| with_path(e, "cannot write", &path))?;
        good += 1;
    }
    Ok((log, good as u64))
}

/// Keeps a torn tail of the log in `changes.torn`, so what is cut off can still be read.
fn keep_torn(root: &Path, tail: &[u8]) -> io::Result<()> {
    let path = root.join(TORN_FILE);
    log::warn!(
        "{}: a last line cut short by a crash ({} bytes, never acknowledged) moved to {}",
        root.join(LOG_FILE).display(),
        tail.len(),
        path.display()
    );
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| with_path(e, "cannot open", &path))?;
    file.write_all(tail)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| with_path(e, "cannot write", &path))
}

fn read_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| with_path(e, "cannot read", dir))? {
        paths.push(entry.map_err(|e| with_path(e, "cannot read", dir))?.path());
    }
    paths.sort();
    Ok(paths)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut temp = path.as_os_str().to_owned();
    temp.push(TEMP_SUFFIX);
    PathBuf::from(temp)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    let mut file = File::create(&temp).map_err(|e| with_path(e, "cannot create", &temp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| with_path(e, "cannot write", &temp))?;
    drop(file);
    fs::rename(&temp, path).map_err(|e| with_path(e, "cannot rename", &temp))?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| with_path(e, "cannot sync", dir))
    }
    // Directories cannot be opened as files elsewhere; renames are durable there already.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// A file that is not understood: which file, which line, which field and why.
fn invalid(path: &Path, line: Option<usize>, why: &str) -> io::Error {
    let at = line.map(|n| format!(" line {n}:")).unwrap_or_default();
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}:{at} {why} (fix or move the file; nothing is written until then)",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests;
