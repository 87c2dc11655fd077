//! Plumbing shared by the two-thread pipelines of `encrypt` and `decrypt`: how a worker's
//! failure, or a failure to start one, becomes an [`Error`]. The pipelines themselves live with
//! the code they speed up.

use crate::error::{Error, io_reason};
use std::sync::mpsc;

/// Why a worker stopped taking pieces: the error it sent back, if it sent one, else `stopped`.
pub(crate) fn worker_error<T>(
    from_worker: &mpsc::Receiver<Result<T, Error>>,
    stopped: fn() -> Error,
) -> Error {
    // The worker has stopped, so its sending end is gone and this loop ends.
    while let Ok(piece) = from_worker.recv() {
        if let Err(e) = piece {
            return e;
        }
    }
    stopped()
}

pub(crate) fn cannot_start_thread(e: std::io::Error) -> Error {
    Error::io(format!("cannot start a thread: {}", io_reason(&e)))
}
