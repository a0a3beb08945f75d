//! The format before the log: one JSON file per service, `naming/<namespace>/<name>.json`,
//! where `<name>` is the escaped grouped name, or `~` and a hash for long names. The files
//! hold their names, so they are found by reading the folders, whatever the file is called;
//! the store reads them once, writes their content into its snapshot and then removes them.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::change::{ServiceRecord, StoredInstance};
use super::{invalid, with_path, TEMP_SUFFIX};

/// One file of the old format.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LegacyRecord {
    namespace: String,
    service: String,
    #[serde(default)]
    defined: bool,
    #[serde(default)]
    protect_threshold: f32,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    instances: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The fields an instance of the old format may have (nacos-naming's `Instance`, camelCase).
const INSTANCE_FIELDS: &[&str] = &[
    "instanceId",
    "ip",
    "port",
    "weight",
    "healthy",
    "enabled",
    "ephemeral",
    "clusterName",
    "serviceName",
    "metadata",
];

/// The old format's files under `root` (`naming/`), and what they hold. Temporary files a
/// crash left are removed: the file they were to replace still holds.
pub(crate) fn read(root: &Path) -> io::Result<(Vec<PathBuf>, Vec<ServiceRecord>)> {
    let mut files = Vec::new();
    let mut records = Vec::new();
    for ns_dir in super::read_dir(root)? {
        if !ns_dir.is_dir() {
            continue;
        }
        for file in super::read_dir(&ns_dir)? {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(TEMP_SUFFIX) {
                fs::remove_file(&file)
                    .map_err(|e| with_path(e, "cannot remove temporary file", &file))?;
            } else if name.ends_with(".json") {
                records.push(read_record(&file)?);
                files.push(file);
            }
        }
    }
    Ok((files, records))
}

fn read_record(path: &Path) -> io::Result<ServiceRecord> {
    let bytes = fs::read(path).map_err(|e| with_path(e, "cannot read", path))?;
    let old: LegacyRecord = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(path, None, &format!("not a service record: {e}")))?;
    let mut instances = Vec::with_capacity(old.instances.len());
    for (i, fields) in old.instances.into_iter().enumerate() {
        if let Some(unknown) = fields
            .keys()
            .find(|k| !INSTANCE_FIELDS.contains(&k.as_str()))
        {
            return Err(invalid(
                path,
                None,
                &format!("instances[{i}].{unknown}: unknown field"),
            ));
        }
        // The client's decoder is lenient (a weight of -5 would read as 0): check the raw value.
        if let Some(weight) = fields.get("weight") {
            let value = weight
                .as_f64()
                .or_else(|| weight.as_str()?.trim().parse().ok());
            if !value.is_some_and(|w| w.is_finite() && (0.0..=10_000.0).contains(&w)) {
                return Err(invalid(
                    path,
                    None,
                    &format!("instances[{i}].weight: {weight} is not a weight (0 to 10000)"),
                ));
            }
        }
        let instance: nacos_naming::Instance =
            serde_json::from_value(serde_json::Value::Object(fields))
                .map_err(|e| invalid(path, None, &format!("instances[{i}]: {e}")))?;
        instances.push(StoredInstance {
            cluster: instance.cluster_name,
            ip: instance.ip,
            port: instance.port,
            weight: instance.weight,
            healthy: instance.healthy,
            enabled: instance.enabled,
            metadata: instance.metadata,
        });
    }
    let record = ServiceRecord {
        namespace: old.namespace,
        service: old.service,
        defined: old.defined,
        protect_threshold: old.protect_threshold,
        metadata: old.metadata,
        ephemeral: None,
        instances,
        modifies: Vec::new(),
    };
    if let Some(problem) = record.problem() {
        return Err(invalid(path, None, &problem));
    }
    Ok(record)
}
