//! Plumbing shared by the two-thread pipelines of `encrypt` and `decrypt`: starting a worker
//! thread in a way that lets the caller go on alone when no thread can be had, and turning a
//! worker's failure into an [`Error`]. The pipelines themselves live with the code they speed
//! up.
//!
//! A second thread is only an optimisation. Under a pids limit (`ulimit -u`, a cgroup's
//! `pids.max`, systemd's `TasksMax=`) starting one fails, and then the work is done on the
//! calling thread, with the same result. Plain std threads and std's bounded channels only: no
//! CPU affinity (a seccomp filter may kill a process that asks) and no spinning waits (they burn
//! CPU other jobs need).

use crate::error::Error;
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};

pub(crate) type Sender<T> = mpsc::SyncSender<T>;
pub(crate) type Receiver<T> = mpsc::Receiver<T>;

/// A bounded channel between the two threads of a pipeline (std's).
pub(crate) fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    mpsc::sync_channel(bound)
}

/// Starts `work(state)` on a new scoped thread. When the thread cannot be started, `state`
/// comes back untouched, so the caller can do the same work itself.
///
/// The state is handed over only once the thread runs. The worker's result is `None` only if
/// it never received it, which a started thread always does; callers treat `None` like a
/// worker that stopped.
pub(crate) fn spawn_with<'scope, S, T, F>(
    scope: &'scope Scope<'scope, '_>,
    state: S,
    work: F,
) -> Result<ScopedJoinHandle<'scope, Option<T>>, S>
where
    S: Send + 'scope,
    T: Send + 'scope,
    F: FnOnce(S) -> T + Send + 'scope,
{
    let (give, take) = mpsc::sync_channel::<S>(1);
    let Ok(handle) =
        std::thread::Builder::new().spawn_scoped(scope, move || take.recv().ok().map(work))
    else {
        return Err(state);
    };
    match give.send(state) {
        Ok(()) => Ok(handle),
        // The thread is gone without its state (it cannot be, but then nothing is lost).
        Err(mpsc::SendError(state)) => {
            let _ = handle.join();
            Err(state)
        }
    }
}

/// Why a worker stopped taking pieces: the error it sent back, if it sent one, else `stopped`.
pub(crate) fn worker_error<T>(
    from_worker: &Receiver<Result<T, Error>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_worker_gets_the_state_and_returns_its_result() {
        let got = std::thread::scope(|scope| {
            let worker = spawn_with(scope, 6u32, |six| six * 7).ok().unwrap();
            worker.join().unwrap()
        });
        assert_eq!(got, Some(42));
    }

    #[test]
    fn the_channel_keeps_order_and_reports_a_gone_end() {
        let (sender, receiver) = channel::<u32>(1);
        let got = std::thread::scope(|scope| {
            let reader = spawn_with(scope, receiver, |r| r.into_iter().collect::<Vec<_>>())
                .ok()
                .unwrap();
            for value in 0..10 {
                sender.send(value).unwrap();
            }
            drop(sender);
            reader.join().unwrap().unwrap()
        });
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        let (sender, receiver) = channel::<u32>(1);
        drop(receiver);
        assert!(sender.send(1).is_err());
    }
}
