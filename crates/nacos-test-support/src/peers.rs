//! Where the real peers are: the rnacos binary and the Python with nacos-sdk-python.

use std::path::{Path, PathBuf};

/// Whether this run is CI's (`CI=true` or `CI=1`), where a missing peer fails instead of
/// skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The rnacos binary: `$RNACOS_BIN`, else `rnacos` on `PATH`, else `bin/rnacos` under
/// `$NACOS_CI_TOOLS` or `$HOME/.cache/nacos-ci` (where `scripts/ci` installs it).
///
/// `None` when none of them is a file. A `RNACOS_BIN` that names no file gives `None` too:
/// a wrong setting must not silently fall back to another binary.
pub fn rnacos_path() -> Option<PathBuf> {
    if let Some(bin) = non_empty_env("RNACOS_BIN") {
        return is_file(PathBuf::from(bin));
    }
    if let Some(found) = find_program("rnacos") {
        return Some(found);
    }
    let tools = non_empty_env("NACOS_CI_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            non_empty_env("HOME").map(|home| Path::new(&home).join(".cache").join("nacos-ci"))
        })?;
    is_file(tools.join("bin").join("rnacos"))
}

/// The Python that has nacos-sdk-python 1.0.0: `$NACOS_PYTHON`, else the virtual environment
/// `scripts/ci` makes in the workspace's `target/py-venv`.
///
/// `None` when neither is a file; a `NACOS_PYTHON` that names no file gives `None` too.
pub fn python_path() -> Option<PathBuf> {
    if let Some(python) = non_empty_env("NACOS_PYTHON") {
        return is_file(PathBuf::from(python));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    is_file(workspace.join("target/py-venv/bin/python"))
}

/// `program` in a directory of `PATH`.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find_map(|dir| is_file(dir.join(program)))
}

pub(crate) fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn is_file(path: PathBuf) -> Option<PathBuf> {
    path.is_file().then_some(path)
}
