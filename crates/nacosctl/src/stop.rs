//! Waiting for the end of a long-running command: Ctrl-C, SIGTERM or SIGHUP, or output that
//! can no longer be written.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

use crate::exit::{Failure, Status};

/// Why a long-running command stops.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Ctrl-C, SIGTERM or SIGHUP: stop cleanly.
    Signal,
    /// Writing the output failed (the reader went away): stop, and report it.
    Output(io::Error),
}

/// Receives the reasons to stop; the first one ends [`wait`](Self::wait).
pub(crate) struct StopSignal {
    sender: Sender<Stop>,
    receiver: Receiver<Stop>,
}

impl StopSignal {
    /// Catches Ctrl-C, SIGTERM and SIGHUP from now on. A second signal ends the process at
    /// once with status 130, for when the clean stop (a deregistration against a server that
    /// does not answer) takes too long.
    pub(crate) fn install() -> Result<StopSignal, Failure> {
        let (sender, receiver) = mpsc::channel();
        let on_signal = sender.clone();
        let signalled = AtomicBool::new(false);
        ctrlc::set_handler(move || {
            if signalled.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            // The receiver lives until the process ends; a failed send has nobody to tell.
            let _ = on_signal.send(Stop::Signal);
        })
        .map_err(|e| Failure::other("cannot catch Ctrl-C and SIGTERM", e))?;
        Ok(StopSignal { sender, receiver })
    }

    /// A handle for other threads to stop the command (a listener whose output failed).
    pub(crate) fn sender(&self) -> Sender<Stop> {
        self.sender.clone()
    }

    /// Blocks until the first reason to stop.
    pub(crate) fn wait(&self) -> Stop {
        // `self` holds a sender, so the channel cannot close while we wait.
        self.receiver.recv().unwrap_or(Stop::Signal)
    }
}

impl Stop {
    /// The status of a command stopped for this reason, after its clean-up.
    pub(crate) fn into_result(self) -> Result<Status, Failure> {
        match self {
            Stop::Signal => Ok(Status::Success),
            Stop::Output(e) => Err(Failure::output(e)),
        }
    }
}
