//! Plumbing shared by the two-thread pipelines of `encrypt` and `decrypt`: starting a second thread that really runs beside the first, and how a
//! worker's failure, or a failure to start one, becomes an [`Error`]. The pipelines themselves
//! live with the code they speed up.

use crate::error::{Error, io_reason};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// How long [`spawn_beside`] waits for its thread to start before going on regardless.
const START_WAIT: Duration = Duration::from_millis(2);

/// How long a pipeline thread that must wait for the other one spins before it sleeps: a few
/// pieces' worth of work (a 256 KiB piece takes each side ~0.1 ms).
const SPIN: Duration = Duration::from_micros(500);

/// How long to spin: [`SPIN`], or nothing when this process may use only one CPU (affinity or
/// cgroup quota), where a spinning thread would only keep the other one from running.
fn spin_time() -> Duration {
    static SPIN_TIME: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *SPIN_TIME.get_or_init(|| match std::thread::available_parallelism() {
        Ok(n) if n.get() > 1 => SPIN,
        _ => Duration::ZERO,
    })
}

/// A bounded channel between the two threads of a pipeline: std's, except that a thread that
/// has to wait spins for up to [`SPIN`] before it sleeps (on more than one CPU).
///
/// On this project's 2-vCPU virtual machines a sleeping thread that the other one wakes is
/// often placed on the waker's CPU (the same misjudgement [`spawn_beside`] works around), and
/// the two then share one CPU until the load balancer parts them. A thread that spins is never
/// placed again. Measured, 25 interleaved runs each of a 100 MiB binary encrypt: 57-80 ms,
/// median 69, sleeping; 46-75 ms, median 56 (another minute: 69 -> 47), spinning.
pub(crate) fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    let (sender, receiver) = mpsc::sync_channel(bound);
    (Sender(sender), Receiver(receiver))
}

pub(crate) struct Sender<T>(mpsc::SyncSender<T>);

pub(crate) struct Receiver<T>(mpsc::Receiver<T>);

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full; an error once the receiver is gone.
    pub(crate) fn send(&self, mut value: T) -> Result<(), mpsc::SendError<T>> {
        let since = Instant::now();
        loop {
            match self.0.try_send(value) {
                Ok(()) => return Ok(()),
                Err(mpsc::TrySendError::Disconnected(value)) => return Err(mpsc::SendError(value)),
                Err(mpsc::TrySendError::Full(back)) if since.elapsed() >= spin_time() => {
                    return self.0.send(back);
                }
                Err(mpsc::TrySendError::Full(back)) => {
                    value = back;
                    std::hint::spin_loop();
                }
            }
        }
    }

    /// Sends `value` if there is room now, never waiting.
    pub(crate) fn try_send(&self, value: T) -> Result<(), mpsc::TrySendError<T>> {
        self.0.try_send(value)
    }
}

impl<T> Receiver<T> {
    /// The next value, waiting for it; an error once the channel is empty and the sender gone.
    pub(crate) fn recv(&self) -> Result<T, mpsc::RecvError> {
        let since = Instant::now();
        loop {
            match self.0.try_recv() {
                Ok(value) => return Ok(value),
                Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
                Err(mpsc::TryRecvError::Empty) if since.elapsed() >= spin_time() => {
                    return self.0.recv();
                }
                Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
    }
}

impl<T> Iterator for Receiver<T> {
    type Item = T;

    /// Like std's receiver as an iterator: values until the sender is gone.
    fn next(&mut self) -> Option<T> {
        self.recv().ok()
    }
}

/// Starts `work` on a new scoped thread, on another CPU than the calling thread's, and returns
/// once it has started (or after [`START_WAIT`]).
///
/// Measured on this project's 2-vCPU Linux virtual machines: a new thread is often queued on
/// its parent's CPU, and waits there, with the other CPU idle, until the parent blocks or the
/// load balancer moves it a few milliseconds later (the guest kernel takes an idle vCPU for a
/// busy one). That is the whole of a 1 ms RSA half and the first pieces of a large message. So
/// the parent yields until the thread has run, and a thread that finds itself on its parent's
/// CPU moves to the others it may use (then may use all of them again). Where the kernel places
/// the thread well in the first place, this costs the parent one thread start (~60 µs) of
/// waiting; it never pins a thread, and any failure leaves the thread where the kernel put it.
pub(crate) fn spawn_beside<'scope, F, T>(
    scope: &'scope Scope<'scope, '_>,
    work: F,
) -> std::io::Result<ScopedJoinHandle<'scope, T>>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    let started = std::sync::Arc::new(AtomicBool::new(false));
    let parent = cpu::current();
    let signal = started.clone();
    let handle = std::thread::Builder::new().spawn_scoped(scope, move || {
        cpu::leave(parent);
        signal.store(true, Ordering::Release);
        work()
    })?;
    let since = Instant::now();
    while !started.load(Ordering::Acquire) && since.elapsed() < START_WAIT {
        std::thread::yield_now();
    }
    Ok(handle)
}

#[cfg(target_os = "linux")]
mod cpu {
    use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity};
    use nix::unistd::Pid;

    pub(super) fn current() -> Option<usize> {
        sched_getcpu().ok()
    }

    /// If this thread runs on `parent`, move it to the other CPUs it may use, then let it use
    /// all of them again. Nothing happens when there is no other CPU or any call fails.
    pub(super) fn leave(parent: Option<usize>) {
        let (Some(parent), Some(here)) = (parent, current()) else {
            return;
        };
        let this_thread = Pid::from_raw(0);
        let Ok(allowed) = sched_getaffinity(this_thread) else {
            return;
        };
        let mut others = allowed;
        if here != parent || others.unset(here).is_err() {
            return;
        }
        // An empty set (this was the only CPU allowed) is refused by the kernel: no move.
        if sched_setaffinity(this_thread, &others).is_ok() {
            let _ = sched_setaffinity(this_thread, &allowed);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod cpu {
    pub(super) fn current() -> Option<usize> {
        None
    }

    pub(super) fn leave(_parent: Option<usize>) {}
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

pub(crate) fn cannot_start_thread(e: std::io::Error) -> Error {
    Error::io(format!("cannot start a thread: {}", io_reason(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_started_beside_does_its_work_and_is_not_left_pinned() {
        let parent_allowed = allowed_cpus();
        let (answer, child_allowed) = std::thread::scope(|scope| {
            let child = spawn_beside(scope, || (6 * 7, allowed_cpus())).unwrap();
            child.join().unwrap()
        });
        assert_eq!(answer, 42);
        // Whether or not it moved, the thread may afterwards run wherever its parent may.
        assert_eq!(child_allowed, parent_allowed);
    }

    #[test]
    fn the_channel_keeps_order_and_reports_a_gone_end_whether_it_spins_or_sleeps() {
        // Bound 1 and a receiver that dawdles past SPIN: the sender has to fall back to sleeping.
        let (sender, receiver) = channel::<u32>(1);
        let got = std::thread::scope(|scope| {
            let reader = spawn_beside(scope, move || {
                let mut got = Vec::new();
                for value in receiver {
                    if value % 3 == 0 {
                        std::thread::sleep(SPIN * 2);
                    }
                    got.push(value);
                }
                got
            })
            .unwrap();
            for value in 0..10 {
                sender.send(value).unwrap();
            }
            drop(sender);
            reader.join().unwrap()
        });
        assert_eq!(got, (0..10).collect::<Vec<_>>());

        let (sender, receiver) = channel::<u32>(1);
        drop(receiver);
        assert!(sender.send(1).is_err());
        let (sender, receiver) = channel::<u32>(2);
        sender.send(7).unwrap();
        assert!(sender.try_send(8).is_ok());
        assert!(sender.try_send(9).is_err(), "full");
        drop(sender);
        assert_eq!(receiver.recv(), Ok(7));
        assert_eq!(receiver.recv(), Ok(8));
        assert!(receiver.recv().is_err(), "drained and the sender gone");
    }

    #[cfg(target_os = "linux")]
    fn allowed_cpus() -> Vec<usize> {
        let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
        (0..nix::sched::CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect()
    }

    #[cfg(not(target_os = "linux"))]
    fn allowed_cpus() -> Vec<usize> {
        Vec::new()
    }
}
