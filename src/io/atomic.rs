//! The temporary file behind an `-o` output, and how it becomes the output: what makes SPEC §5's
//! "a failed or interrupted run leaves nothing behind" hold for files.
//!
//! On Linux the file is unnamed from the start (`O_TMPFILE` in the target's directory): however
//! the process ends, SIGKILL and power loss included, the system frees it and nothing is left.
//! At commit it is fsynced, given the target's name with `linkat` through `/proc/self/fd`
//! (when the target exists: a random name, then `rename` over it), and the directory is fsynced.
//!
//! Where `O_TMPFILE` is not supported (other systems; file systems such as NFS or old kernels)
//! the file is a hidden named one beside the target, removed on every failure the process sees,
//! and on SIGTERM, SIGINT and SIGHUP by a thread that waits for those signals (blocked in every
//! other thread) with `sigwait`. Only SIGKILL, a crash or power loss can leave it there then.
//!
//! Not for: buffering or stdout (see the parent module).

use nix::sys::signal::{SigSet, Signal};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The file an output is written to before it becomes the output.
pub(super) struct Temp {
    pub(super) file: File,
    /// `None` for an unnamed (`O_TMPFILE`) file; else the hidden name it has.
    named: Option<PathBuf>,
}

/// An unnamed file in `dir` with `mode`, or `None` when this system or file system cannot
/// make one (the caller then makes a named one). Errors are real failures (no such directory,
/// no permission, full disk).
#[cfg(target_os = "linux")]
pub(super) fn unnamed(dir: &Path, mode: u32) -> io::Result<Option<Temp>> {
    use nix::fcntl::OFlag;
    // The link at commit goes through /proc; without it the file could never get its name.
    if !Path::new("/proc/self/fd").is_dir() {
        return Ok(None);
    }
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(OFlag::O_TMPFILE.bits())
        .mode(mode)
        .open(dir);
    match opened {
        Ok(file) => Ok(Some(Temp { file, named: None })),
        // EOPNOTSUPP: the file system has no O_TMPFILE; EISDIR or EINVAL: the kernel does not
        // know the flag.
        Err(e) if matches!(e.raw_os_error(), Some(95 | 21 | 22)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn unnamed(_dir: &Path, _mode: u32) -> io::Result<Option<Temp>> {
    Ok(None)
}

/// A hidden named file beside `target`, removed on SIGTERM, SIGINT and SIGHUP as well as on
/// drop.
pub(super) fn named(dir: &Path, prefix: &std::ffi::OsStr, mode: u32) -> io::Result<Temp> {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::Builder::new()
        .prefix(prefix)
        .rand_bytes(6)
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    let (file, path) = temp.keep().map_err(|e| e.error)?;
    pending().push(path.clone());
    Ok(Temp {
        file,
        named: Some(path),
    })
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(path) = self.named.take() {
            let _ = std::fs::remove_file(&path);
            forget(&path);
        }
    }
}

impl Temp {
    /// Make the file `target`, durably: its data on disk first, then its name, then the
    /// directory entry.
    pub(super) fn commit(mut self, dir: &Path, target: &Path) -> io::Result<()> {
        self.file.sync_all()?;
        match self.named.take() {
            Some(path) => {
                let renamed = std::fs::rename(&path, target);
                if renamed.is_err() {
                    let _ = std::fs::remove_file(&path);
                }
                forget(&path);
                renamed?;
            }
            None => link(&self.file, dir, target)?,
        }
        File::open(dir)?.sync_all()
    }
}

/// Give the unnamed `file` the name `target`, replacing a file already there.
#[cfg(target_os = "linux")]
fn link(file: &File, dir: &Path, target: &Path) -> io::Result<()> {
    use nix::fcntl::{AT_FDCWD, AtFlags};
    use std::os::fd::AsRawFd;
    let proc = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let link_as = |name: &Path| {
        nix::unistd::linkat(AT_FDCWD, &proc, AT_FDCWD, name, AtFlags::AT_SYMLINK_FOLLOW)
            .map_err(io::Error::from)
    };
    match link_as(target) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // linkat never replaces: a fresh name, then rename over the target.
            let mut random = [0u8; 6];
            getrandom::fill(&mut random).map_err(|_| io::Error::other("no random bytes"))?;
            let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
            let mut name = std::ffi::OsString::from(".");
            name.push(target.file_name().unwrap_or_default());
            name.push(format!(".sealmail-{hex}"));
            let temp = dir.join(name);
            link_as(&temp)?;
            let renamed = std::fs::rename(&temp, target);
            if renamed.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            renamed
        }
        other => other,
    }
}

#[cfg(not(target_os = "linux"))]
fn link(_file: &File, _dir: &Path, _target: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Named temporary files to remove if a signal ends the run.
fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn forget(path: &Path) {
    pending().retain(|p| p != path);
}

/// Route SIGTERM, SIGINT and SIGHUP to a thread that removes the named temporary files and then
/// ends the process with the same signal. Call it before any other thread starts (threads
/// inherit the blocked set). Once per process; if the thread cannot start, the signals keep
/// their default action.
pub(super) fn guard_signals() {
    static GUARDED: OnceLock<()> = OnceLock::new();
    GUARDED.get_or_init(|| {
        let mut set = SigSet::empty();
        for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
            set.add(signal);
        }
        if set.thread_block().is_err() {
            return;
        }
        let waiter = std::thread::Builder::new().spawn(move || {
            let Ok(signal) = set.wait() else { return };
            for path in pending().drain(..) {
                let _ = std::fs::remove_file(path);
            }
            // End the way the signal would have: unblocked, it now takes its default action.
            let mut this = SigSet::empty();
            this.add(signal);
            let _ = this.thread_unblock();
            let _ = nix::sys::signal::raise(signal);
            std::process::exit(128 + signal as i32);
        });
        if waiter.is_err() {
            let _ = set.thread_unblock();
        }
    });
}

impl io::Write for Temp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
