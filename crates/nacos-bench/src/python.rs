//! The Python peer: nacos-sdk-python 1.0.0 in a virtual environment, driven by the scripts in
//! this crate's `python/` directory.

use std::path::PathBuf;

use crate::Result;

/// The Python with nacos-sdk-python 1.0.0 (`NACOS_PYTHON`, else `target/py-venv`).
pub fn interpreter() -> Result<PathBuf> {
    nacos_test_support::python_path().ok_or_else(|| {
        "no Python with nacos-sdk-python 1.0.0: set NACOS_PYTHON, or run \
         `python3 -m venv target/py-venv && target/py-venv/bin/pip install --no-deps \
         nacos-sdk-python==1.0.0` (or pass --skip-python)"
            .into()
    })
}

/// A script of this crate's `python/` directory.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}
