//! Skipping tests whose real peer is absent, loudly, and never under CI.

use std::io::Write;
use std::path::PathBuf;

use crate::{chromium_path, in_ci, python_path, rnacos_path, Chromium};

/// Returns from the calling test, after printing why, when the rnacos binary is not found;
/// panics instead under CI, where a skip would hide a broken setup. Evaluates to the binary's
/// path otherwise.
///
/// ```
/// fn needs_rnacos() {
///     let _bin = nacos_test_support::skip_unless_rnacos!();
///     // ... start `Rnacos` and test against it
/// }
/// # if !nacos_test_support::in_ci() { needs_rnacos(); }
/// ```
#[macro_export]
macro_rules! skip_unless_rnacos {
    () => {
        match $crate::rnacos_or_skip() {
            Some(path) => path,
            None => return,
        }
    };
}

/// Returns from the calling test, after printing why, when no Python with nacos-sdk-python is
/// found; panics instead under CI. Evaluates to the interpreter's path otherwise.
#[macro_export]
macro_rules! skip_unless_python {
    () => {
        match $crate::python_or_skip() {
            Some(path) => path,
            None => return,
        }
    };
}

/// Returns from the calling test, after printing why, when Chromium or chromedriver is not
/// found; panics instead under CI. Evaluates to their paths ([`Chromium`]) otherwise.
#[macro_export]
macro_rules! skip_unless_chromium {
    () => {
        match $crate::chromium_or_skip() {
            Some(chromium) => chromium,
            None => return,
        }
    };
}

/// Chromium and chromedriver, or `None` after printing that the calling test is skipped;
/// panics under CI.
#[track_caller]
pub fn chromium_or_skip() -> Option<Chromium> {
    chromium_path().or_else(|| {
        skip(
            "chromium or chromedriver not found (install Debian's chromium and chromium-driver, \
             set CHROMIUM_BIN and CHROMEDRIVER_BIN, or run scripts/ci)",
        )
    })
}

/// The rnacos binary, or `None` after printing that the calling test is skipped; panics
/// under CI. For fixtures that cannot `return` from the test themselves.
#[track_caller]
pub fn rnacos_or_skip() -> Option<PathBuf> {
    rnacos_path().or_else(|| skip("rnacos not found (set RNACOS_BIN or run scripts/ci)"))
}

/// The Python with nacos-sdk-python 1.0.0, or `None` after printing that the calling test is
/// skipped; panics under CI.
#[track_caller]
pub fn python_or_skip() -> Option<PathBuf> {
    python_path().or_else(|| {
        skip(
            "python peer not found (set NACOS_PYTHON to a python with nacos-sdk-python==1.0.0, \
             or run scripts/ci)",
        )
    })
}

#[track_caller]
fn skip<T>(why: &str) -> Option<T> {
    if in_ci() {
        panic!("{why}: required under CI=true");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    // Straight to stderr, not through `eprintln!`, which the test harness captures and hides
    // for passing tests: a skip must be seen.
    let _ = writeln!(std::io::stderr(), "skipped: {why} [{test}]");
    None
}
