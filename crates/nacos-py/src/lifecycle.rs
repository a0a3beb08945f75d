//! Whether Rust threads may still enter Python.
//!
//! A thread that takes the GIL while the interpreter finalizes is ended in the middle of Rust
//! code. The package's `atexit` handler (`nacos/client.py`) first shuts every client down,
//! which joins their threads, and then calls [`interpreter_exiting`]: from then on a thread
//! left behind skips Python. A Python thread (a daemon thread) whose call returns after that
//! point waits forever instead of taking the GIL back; the process is exiting and ends it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;

use pyo3::prelude::*;

static PYTHON_USABLE: AtomicBool = AtomicBool::new(false);
static EXITING_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Called when the module is imported.
pub(crate) fn interpreter_started() {
    PYTHON_USABLE.store(true, Ordering::SeqCst);
}

/// Whether a Rust thread may take the GIL.
pub(crate) fn python_usable() -> bool {
    PYTHON_USABLE.load(Ordering::SeqCst)
}

/// Called at the end of a call made with the GIL released, before taking it back: parks the
/// thread for good when the interpreter is exiting and this is not the thread that exits it.
pub(crate) fn before_reattach() {
    if python_usable() || EXITING_THREAD.get() == Some(&std::thread::current().id()) {
        return;
    }
    loop {
        std::thread::park();
    }
}

/// Tells the Rust threads that the interpreter is exiting: they no longer call listeners or
/// log to Python.
#[pyfunction]
pub(crate) fn interpreter_exiting() {
    let _ = EXITING_THREAD.set(std::thread::current().id());
    PYTHON_USABLE.store(false, Ordering::SeqCst);
}
