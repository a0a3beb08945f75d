//! Persistent instances and service definitions on disk.
//!
//! One JSON file per service, `<data dir>/naming/<namespace>/<group@@service>.json`, written
//! atomically: a temporary file, fsync, rename over the old one, fsync of the directory. A
//! `kill -9` at any point leaves either the old file or the new one, never a torn one.
//! Ephemeral instances are never written: they live by beats and come back by re-registration.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use nacos_naming::{Instance, GROUP_SEPARATOR};
use serde::{Deserialize, Serialize};

/// Names longer than this (once escaped) are stored under a hash; the file holds the name.
const MAX_FILE_STEM: usize = 160;
const TEMP_SUFFIX: &str = ".tmp";

/// What is persisted of one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceRecord {
    pub(crate) namespace: String,
    /// `group@@service`.
    pub(crate) service: String,
    /// Created or updated through the service API.
    #[serde(default)]
    pub(crate) defined: bool,
    #[serde(default)]
    pub(crate) protect_threshold: f32,
    #[serde(default)]
    pub(crate) metadata: BTreeMap<String, String>,
    /// The persistent instances.
    #[serde(default)]
    pub(crate) instances: Vec<Instance>,
    /// Orders snapshots taken concurrently; not stored.
    #[serde(skip)]
    pub(crate) version: u64,
}

impl ServiceRecord {
    /// Whether nothing is left to keep (the file goes).
    fn is_empty(&self) -> bool {
        !self.defined && self.instances.is_empty()
    }
}

/// The files of a data directory.
#[derive(Debug)]
pub(crate) struct Store {
    root: PathBuf,
    /// The version last written per (namespace, service); also serializes writes.
    written: Mutex<HashMap<(String, String), u64>>,
}

impl Store {
    /// Opens (creating) `dir`, clears temporary files a crash left, and reads every service.
    pub(crate) fn open(dir: &Path) -> io::Result<(Store, Vec<ServiceRecord>)> {
        let root = dir.join("naming");
        fs::create_dir_all(&root)
            .map_err(|e| with_path(e, "cannot create data directory", &root))?;
        let mut records = Vec::new();
        for ns_dir in read_dir(&root)? {
            if !ns_dir.is_dir() {
                continue;
            }
            for file in read_dir(&ns_dir)? {
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(TEMP_SUFFIX) {
                    // A write that a crash interrupted before its rename: the old file holds.
                    fs::remove_file(&file)
                        .map_err(|e| with_path(e, "cannot remove temporary file", &file))?;
                } else if name.ends_with(".json") {
                    records.push(read_record(&file)?);
                }
            }
        }
        let written = records
            .iter()
            .map(|r| ((r.namespace.clone(), r.service.clone()), 0))
            .collect();
        let store = Store {
            root,
            written: Mutex::new(written),
        };
        Ok((store, records))
    }

    /// Writes `record` unless a newer snapshot of the same service was written already;
    /// removes the file when nothing is left to keep.
    pub(crate) fn save(&self, record: &ServiceRecord) -> io::Result<()> {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (record.namespace.clone(), record.service.clone());
        if written.get(&key).is_some_and(|&v| v >= record.version) {
            return Ok(());
        }
        let dir = self.root.join(file_stem(&record.namespace));
        let path = dir.join(format!("{}.json", file_stem(&record.service)));
        if record.is_empty() {
            match fs::remove_file(&path) {
                Ok(()) => sync_dir(&dir)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(with_path(e, "cannot remove", &path)),
            }
        } else {
            if !dir.is_dir() {
                fs::create_dir_all(&dir).map_err(|e| with_path(e, "cannot create", &dir))?;
                sync_dir(&self.root)?;
            }
            let json = serde_json::to_vec_pretty(record)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            write_atomically(&path, &json)?;
        }
        written.insert(key, record.version);
        Ok(())
    }
}

fn read_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| with_path(e, "cannot read", dir))? {
        paths.push(entry.map_err(|e| with_path(e, "cannot read", dir))?.path());
    }
    paths.sort();
    Ok(paths)
}

/// Reads one file; a file that does not parse stops the start rather than losing its data.
fn read_record(path: &Path) -> io::Result<ServiceRecord> {
    let bytes = fs::read(path).map_err(|e| with_path(e, "cannot read", path))?;
    let record: ServiceRecord = serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a service record: {e}", path.display()),
        )
    })?;
    let grouped = record
        .service
        .split_once(GROUP_SEPARATOR)
        .is_some_and(|(g, s)| !g.is_empty() && !s.is_empty());
    if record.namespace.is_empty() || !grouped {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: bad namespace or service name", path.display()),
        ));
    }
    Ok(record)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(TEMP_SUFFIX);
    let temp = PathBuf::from(temp);
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

/// A file name for any namespace or service name: letters, digits, `-` and `_` kept, every
/// other byte as `%XX` (so `.` and `..` cannot occur), long names hashed.
fn file_stem(name: &str) -> String {
    let mut stem = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            stem.push(char::from(b));
        } else {
            stem.push_str(&format!("%{b:02X}"));
        }
    }
    if stem.len() <= MAX_FILE_STEM && !stem.is_empty() {
        return stem;
    }
    let mut halves = [0u64; 2];
    for (seed, half) in (0u8..).zip(halves.iter_mut()) {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        name.hash(&mut h);
        *half = h.finish();
    }
    format!("~{:016x}{:016x}", halves[0], halves[1])
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(service: &str, version: u64, ips: &[&str]) -> ServiceRecord {
        ServiceRecord {
            namespace: "public".into(),
            service: service.into(),
            defined: false,
            protect_threshold: 0.0,
            metadata: BTreeMap::new(),
            instances: ips
                .iter()
                .map(|ip| {
                    let mut i = Instance::new(*ip, 80);
                    i.ephemeral = false;
                    i
                })
                .collect(),
            version,
        }
    }

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, loaded) = Store::open(dir.path()).unwrap();
        assert!(loaded.is_empty());
        store.save(&record("G@@a/b..c", 1, &["1.1.1.1"])).unwrap();
        store.save(&record("G@@x", 2, &["2.2.2.2"])).unwrap();
        let (_, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded.len(), 2);
        let names: Vec<_> = loaded.iter().map(|r| r.service.as_str()).collect();
        assert!(names.contains(&"G@@a/b..c") && names.contains(&"G@@x"));
        store.save(&record("G@@x", 3, &[])).unwrap();
        let (_, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded.len(), 1);
    }

    #[test]
    fn an_older_snapshot_never_overwrites_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        store.save(&record("G@@s", 5, &["5.5.5.5"])).unwrap();
        store.save(&record("G@@s", 4, &["4.4.4.4"])).unwrap();
        let (_, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded[0].instances[0].ip, "5.5.5.5");
    }

    #[test]
    fn temporary_files_are_cleared_and_bad_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        store.save(&record("G@@s", 1, &["1.1.1.1"])).unwrap();
        let ns = dir.path().join("naming").join("public");
        fs::write(ns.join("G%40%40s.json.tmp"), b"{torn").unwrap();
        let (_, loaded) = Store::open(dir.path()).unwrap();
        assert_eq!(loaded.len(), 1);
        assert!(!ns.join("G%40%40s.json.tmp").exists());
        fs::write(ns.join("bad.json"), b"{torn").unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn file_names_are_safe_for_any_name() {
        assert_eq!(file_stem("G@@svc"), "G%40%40svc");
        assert_eq!(file_stem(".."), "%2E%2E");
        assert!(file_stem(&"x".repeat(300)).starts_with('~'));
        assert_ne!(file_stem(&"x".repeat(300)), file_stem(&"x".repeat(301)));
    }
}
