//! The optional disk cache: the last list of each subscribed service, to start from while no
//! server answers.
//!
//! One JSON file per subscription, replaced atomically (temporary file, fsync, rename), so a
//! crash leaves the previous list or the new one, never half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::live::subscription::SubscriptionKey;
use crate::service_info::ServiceInfo;

/// Longest file name written; most file systems allow 255 bytes.
const MAX_FILE_NAME: usize = 200;

/// A directory of cached service lists.
#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    temp_counter: AtomicU64,
}

impl DiskCache {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> DiskCache {
        DiskCache {
            dir: dir.into(),
            temp_counter: AtomicU64::new(0),
        }
    }

    /// The file of `key`'s list.
    pub(crate) fn path(&self, key: &SubscriptionKey) -> PathBuf {
        self.dir.join(file_name(key))
    }

    /// Replaces `key`'s cached list with `service`.
    pub(crate) fn write(&self, key: &SubscriptionKey, service: &ServiceInfo) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let path = self.path(key);
        let json = serde_json::to_vec(service).map_err(io::Error::other)?;
        let temp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            self.temp_counter.fetch_add(1, Ordering::Relaxed)
        ));
        let written = write_synced(&temp, &json).and_then(|()| fs::rename(&temp, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written?;
        // Make the rename itself durable; not every platform can open a directory.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// `key`'s cached list, if there is a readable one.
    pub(crate) fn read(&self, key: &SubscriptionKey) -> Option<ServiceInfo> {
        let path = self.path(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                log::warn!("cannot read the cached list {}: {e}", path.display());
                return None;
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(service) => Some(service),
            Err(e) => {
                log::warn!(
                    "ignoring the unreadable cached list {}: {e}",
                    path.display()
                );
                None
            }
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// `namespace@@group@@service@@clusters.json`, each part escaped so that any name makes one
/// safe file name and different keys never share one.
fn file_name(key: &SubscriptionKey) -> String {
    let namespace = key.namespace.as_deref().unwrap_or("");
    let name = [namespace, &*key.group, &*key.service, &*key.clusters]
        .map(escape)
        .join("@@");
    if name.len() <= MAX_FILE_NAME {
        return format!("{name}.json");
    }
    // Too long for a file system: keep a readable prefix and tell keys apart by a digest.
    let mut cut = MAX_FILE_NAME - 17;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{:016x}.json", &name[..cut], fnv1a(name.as_bytes()))
}

/// Every byte outside `[A-Za-z0-9._-]` as `%XX`, so `@`, `/`, `\` and `%` itself are escaped.
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    // `.` and `..` alone would name directories.
    if out.bytes().all(|b| b == b'.') {
        out = out.replace('.', "%2E");
    }
    out
}

/// FNV-1a, a stable 64-bit digest (std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Instance;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "nacos-naming-cache-test-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writes_and_reads_back() {
        let dir = temp_dir("round-trip");
        let cache = DiskCache::new(&dir);
        let key = SubscriptionKey::new(Some("ns"), "G", "svc", ["a"]);
        assert!(cache.read(&key).is_none());
        let mut service = ServiceInfo::new("svc", "G");
        service.hosts.push(Instance::new("10.0.0.1", 80));
        cache.write(&key, &service).unwrap();
        service.hosts.push(Instance::new("10.0.0.2", 80));
        cache.write(&key, &service).unwrap();
        assert_eq!(cache.read(&key), Some(service));
        // Only the list itself is left behind, no temporary file.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::write(cache.path(&key), b"{not json").unwrap();
        assert!(cache.read(&key).is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_key_gets_its_own_safe_file_name() {
        let names = [
            SubscriptionKey::new(None, "G", "a@@b", [""; 0]),
            SubscriptionKey::new(None, "G@@a", "b", [""; 0]),
            SubscriptionKey::new(None, "G", "../../etc/passwd", [""; 0]),
            SubscriptionKey::new(None, "G", "svc", ["a", "b"]),
            SubscriptionKey::new(None, "..", "..", [""; 0]),
            SubscriptionKey::new(None, "G", &"x".repeat(300), [""; 0]),
            SubscriptionKey::new(None, "G", &"x".repeat(301), [""; 0]),
        ]
        .map(|k| file_name(&k));
        for (i, a) in names.iter().enumerate() {
            assert!(
                !a.contains('/') && !a.contains('\\') && a.len() <= 255,
                "{a}"
            );
            assert!(!a.starts_with('.'), "{a}");
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
