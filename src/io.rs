//! Inputs and outputs: files or stdin/stdout, atomic `-o` files (temporary file in the same
//! directory, renamed into place only on success), terminal checks.
//!
//! The rule this module keeps is SPEC §5's "a failed run leaves nothing behind": an `-o` file is
//! written to a hidden temporary file beside its target, created only on the first write (no
//! empty file after an early error, rage's habit), and renamed into place by [`Output::commit`];
//! an uncommitted output removes it. Stdout cannot be taken back, so the first
//! [`STDOUT_HOLD`] bytes are held in memory and written only when that buffer overflows or on
//! commit: a run that fails before then writes nothing at all. Past that point stdout is written
//! through; callers that must not release anything before they are sure (decrypt checks the tag
//! at the very end) can ask for [`Output::hold_until_commit`], which spills the excess to an
//! unnamed temporary file instead.
//!
//! Not here: what the bytes are (see [`crate::smime`]) and which files to open (see
//! [`crate::app`]).

use crate::error::{Error, Result, io_reason};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

mod atomic;

/// Buffer size for writing files (and copying held-back output out of its spill file): large, so
/// that the 100 MiB workloads move in few system calls.
const IO_BUFFER: usize = 256 * 1024;

/// Buffer size for reading inputs. The large reads of the body pipelines (256 KiB) go past a
/// `BufReader` whose buffer is empty and no larger than the read, straight into the caller's
/// buffer; a small buffer here keeps them doing that, where a larger one would copy every byte
/// twice.
const INPUT_BUFFER: usize = 64 * 1024;

/// How much of stdout's output is held back in memory before any of it is written.
pub const STDOUT_HOLD: usize = 8 * 1024 * 1024;

/// `None` and `-` both mean the standard stream.
fn named(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| p.as_os_str() != "-")
}

/// Where input comes from: `None` or `-` means stdin.
pub fn open_input(path: Option<&Path>) -> Result<Box<dyn BufRead>> {
    let Some(path) = named(path) else {
        return Ok(Box::new(BufReader::with_capacity(
            INPUT_BUFFER,
            io::stdin().lock(),
        )));
    };
    let file = File::open(path).map_err(|e| Error::read_file(path, &e))?;
    // Linux opens a directory for reading without complaint; reading it then fails with EISDIR.
    // Say so now, as the missing-file error it is.
    let meta = file.metadata().map_err(|e| Error::read_file(path, &e))?;
    if meta.is_dir() {
        return Err(Error::read_file(
            path,
            &io::Error::from(io::ErrorKind::IsADirectory),
        ));
    }
    Ok(Box::new(BufReader::with_capacity(INPUT_BUFFER, file)))
}

/// The size of an input file, when it is a regular file (not stdin, not a pipe).
pub fn input_len(path: Option<&Path>) -> Option<u64> {
    let meta = std::fs::metadata(named(path)?).ok()?;
    meta.is_file().then_some(meta.len())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// Ciphertext: the umask decides.
    Public,
    /// Decrypted plaintext or a private key: 0600.
    Private,
}

/// The destination of a run: stdout or an atomic file.
pub struct Output {
    /// The `-o` file; `None` for stdout.
    pub path: Option<PathBuf>,
    sink: Sink,
}

enum Sink {
    /// Stdout (or, in tests, any writer) behind a hold-back buffer.
    Stream(Held),
    File(AtomicFile),
}

/// Holds the first `limit` bytes in memory; past that, either writes through to `out` (after
/// the held bytes) or, when `hold_all`, spills to an unnamed temporary file copied out at commit.
struct Held {
    out: Box<dyn Write>,
    limit: usize,
    held: Vec<u8>,
    hold_all: bool,
    /// Set once the held bytes have gone to `out`: every later write goes straight through.
    through: bool,
    spill: Option<BufWriter<File>>,
    /// Plaintext: the held bytes are allocated once at `limit` and wiped when done with.
    private: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.private {
            // Only the bytes written: the rest of the capacity was never touched.
            self.held.as_mut_slice().zeroize();
        }
    }
}

struct AtomicFile {
    target: PathBuf,
    privacy: Privacy,
    /// Unnamed and made at once where the system allows it; else a named one, created on the
    /// first write (or at commit when nothing was written).
    temp: Option<BufWriter<atomic::Temp>>,
}

impl Output {
    /// An output to `path` (`None` or `-`: stdout). Nothing is created yet.
    pub fn new(path: Option<&Path>, privacy: Privacy) -> Output {
        match named(path) {
            None => {
                let mut output = Output::to_writer(Box::new(io::stdout()), STDOUT_HOLD);
                if let Sink::Stream(held) = &mut output.sink {
                    held.private = privacy == Privacy::Private;
                }
                output
            }
            Some(p) => {
                let mut file = AtomicFile {
                    target: p.to_path_buf(),
                    privacy,
                    temp: None,
                };
                file.prepare();
                Output {
                    path: Some(p.to_path_buf()),
                    sink: Sink::File(file),
                }
            }
        }
    }

    /// An output that behaves like stdout but writes to `out`, holding back the first `limit`
    /// bytes. For tests, and for callers that need stdout's semantics on another stream.
    pub fn to_writer(out: Box<dyn Write>, limit: usize) -> Output {
        Output {
            path: None,
            sink: Sink::Stream(Held {
                out,
                limit,
                held: Vec::new(),
                hold_all: false,
                through: false,
                spill: None,
                private: false,
            }),
        }
    }

    /// Is this stdout (or a [`Output::to_writer`] stream) rather than a file?
    pub fn is_stdout(&self) -> bool {
        self.path.is_none()
    }

    /// Write nothing at all to stdout before [`Output::commit`]: what does not fit in the memory
    /// buffer goes to an unnamed temporary file (deleted by the system however the run ends).
    /// No effect on a file output, which is already atomic. Call it before the first write.
    pub fn hold_until_commit(&mut self) {
        if let Sink::Stream(held) = &mut self.sink {
            held.hold_all = true;
        }
    }

    /// Write stdout's output as it comes instead of holding the first [`STDOUT_HOLD`] bytes.
    ///
    /// For an output already known to be larger than the hold, which could then keep only an
    /// early failure off stdout, at the cost of copying 8 MiB into fresh memory (measured: about
    /// 5 ms, 8 %, of a 100 MiB encrypt). No effect on a file output or after the first write.
    pub fn write_through(&mut self) {
        if let Sink::Stream(held) = &mut self.sink
            && held.held.is_empty()
            && !held.hold_all
        {
            held.through = true;
        }
    }

    /// A writer to the destination; a file is created on the first write.
    ///
    /// Errors come out as `io::Error`s wrapping an [`Error`]: 73 when the file cannot be
    /// created, 74 when a write fails (a broken pipe included); `Error::from` recovers them.
    pub fn writer(&mut self) -> Result<Box<dyn Write + '_>> {
        Ok(Box::new(OutputWriter { output: self }))
    }

    /// Flush, and rename a temporary file into place (creating it first if nothing was
    /// written: an empty result is a result). For stdout, write what was held back.
    pub fn commit(self) -> Result<()> {
        match self.sink {
            Sink::Stream(mut held) => held.commit(),
            Sink::File(mut file) => {
                file.ensure_created()?;
                let Some(temp) = file.temp.take() else {
                    return Err(Error::cant_create(format!(
                        "cannot create {}",
                        file.target.display()
                    )));
                };
                let temp = temp.into_inner().map_err(|e| file.write_error(e.error()))?;
                temp.commit(file.dir(), &file.target).map_err(|e| {
                    Error::cant_create(format!(
                        "cannot create {}: {}",
                        file.target.display(),
                        io_reason(&e)
                    ))
                })?;
                Ok(())
            }
        }
    }
}

/// The borrowed writer [`Output::writer`] hands out.
struct OutputWriter<'a> {
    output: &'a mut Output,
}

impl Write for OutputWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.output.sink {
            Sink::Stream(held) => held.write(buf),
            Sink::File(file) => file.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.output.sink {
            Sink::Stream(held) => held.write(buf).map(drop),
            Sink::File(file) => file.write(buf).map(drop),
        }
    }
    /// Flushing does not release held-back stdout bytes; only commit does.
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.output.sink {
            Sink::Stream(held) if held.through => held.out.flush().map_err(stdout_error),
            Sink::Stream(_) => Ok(()),
            Sink::File(file) => match &mut file.temp {
                Some(temp) => temp
                    .flush()
                    .map_err(|e| file_write_error(&file.target, &e).into()),
                None => Ok(()),
            },
        }
    }
}

/// A stdout write error: a broken pipe stays one (error.rs names it); the rest say "stdout".
fn stdout_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe || e.get_ref().is_some_and(|i| i.is::<Error>()) {
        return e;
    }
    Error::io(format!("cannot write to stdout: {}", io_reason(&e))).into()
}

fn file_write_error(target: &Path, e: &io::Error) -> Error {
    Error::io(format!(
        "cannot write {}: {}",
        target.display(),
        io_reason(e)
    ))
}

impl Held {
    /// Takes the whole buffer (the `Write::write_all` contract, in one call).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.through {
            self.out.write_all(buf).map_err(stdout_error)?;
        } else if let Some(spill) = &mut self.spill {
            spill.write_all(buf).map_err(spill_error)?;
        } else if self.held.len() + buf.len() <= self.limit {
            if self.private && self.held.capacity() < self.limit {
                // Growing by reallocation would leave copies of plaintext in freed memory.
                self.held.reserve_exact(self.limit);
            }
            self.held.extend_from_slice(buf);
        } else if self.hold_all {
            let mut spill =
                BufWriter::with_capacity(IO_BUFFER, tempfile::tempfile().map_err(spill_error)?);
            spill.write_all(&self.held).map_err(spill_error)?;
            spill.write_all(buf).map_err(spill_error)?;
            self.held.as_mut_slice().zeroize();
            self.held.clear();
            self.spill = Some(spill);
        } else {
            self.through = true;
            self.out.write_all(&self.held).map_err(stdout_error)?;
            self.out.write_all(buf).map_err(stdout_error)?;
            if self.private {
                self.held.as_mut_slice().zeroize();
            }
            self.held.clear();
        }
        Ok(buf.len())
    }

    fn commit(&mut self) -> Result<()> {
        if let Some(spill) = self.spill.take() {
            let mut file = spill
                .into_inner()
                .map_err(|e| spill_error(e.into_error()))?;
            file.rewind().map_err(spill_error)?;
            let mut reader = BufReader::with_capacity(IO_BUFFER, file);
            loop {
                let buf = reader.fill_buf().map_err(spill_error)?;
                if buf.is_empty() {
                    break;
                }
                let n = buf.len();
                self.out.write_all(buf).map_err(stdout_error)?;
                reader.consume(n);
            }
        } else {
            self.out.write_all(&self.held).map_err(stdout_error)?;
            if self.private {
                self.held.as_mut_slice().zeroize();
            }
            self.held.clear();
        }
        self.through = true;
        self.out.flush().map_err(stdout_error)?;
        Ok(())
    }
}

fn spill_error(e: io::Error) -> io::Error {
    Error::io(format!(
        "cannot write the temporary file that holds the output: {}",
        io_reason(&e)
    ))
    .into()
}

impl AtomicFile {
    fn dir(&self) -> &Path {
        match self.target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        }
    }

    /// Private files are 0600 from their first instant; public ones get what the umask leaves
    /// of 0666, like any file a shell redirection creates.
    fn mode(&self) -> u32 {
        match self.privacy {
            Privacy::Private => 0o600,
            Privacy::Public => 0o666,
        }
    }

    /// Before any thread starts: make the unnamed temporary file now (it leaves nothing behind,
    /// so there is no reason to wait), or, where there can be none, route the termination
    /// signals to the cleanup of the named one to come. Errors wait for the first write, which
    /// reports them.
    fn prepare(&mut self) {
        if self.target.is_dir() || self.target.file_name().is_none() {
            return;
        }
        match atomic::unnamed(self.dir(), self.mode()) {
            Ok(Some(temp)) => self.temp = Some(BufWriter::with_capacity(IO_BUFFER, temp)),
            Ok(None) => atomic::guard_signals(),
            Err(_) => {}
        }
    }

    /// Create the temporary file beside the target, if not yet done.
    fn ensure_created(&mut self) -> Result<()> {
        if self.temp.is_some() {
            return Ok(());
        }
        let target = &self.target;
        let cant = |reason: String| {
            Error::cant_create(format!("cannot create {}: {reason}", target.display()))
        };
        if target.is_dir() {
            return Err(cant("it is a directory".into()));
        }
        let name = target
            .file_name()
            .ok_or_else(|| cant("it names no file".into()))?;
        let dir = self.dir();
        let mode = self.mode();
        let temp = match atomic::unnamed(dir, mode).map_err(|e| cant(io_reason(&e)))? {
            Some(temp) => temp,
            None => {
                let mut prefix = std::ffi::OsString::from(".");
                prefix.push(name);
                prefix.push(".sealmail-");
                atomic::named(dir, &prefix, mode).map_err(|e| cant(io_reason(&e)))?
            }
        };
        self.temp = Some(BufWriter::with_capacity(IO_BUFFER, temp));
        Ok(())
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.ensure_created()?;
        match &mut self.temp {
            Some(temp) => temp
                .write_all(buf)
                .map_err(|e| file_write_error(&self.target, &e))?,
            None => {
                return Err(
                    Error::cant_create(format!("cannot create {}", self.target.display())).into(),
                );
            }
        }
        Ok(buf.len())
    }

    fn write_error(&self, e: &io::Error) -> Error {
        file_write_error(&self.target, e)
    }
}

/// Is stdout a terminal?
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Refuse to write binary (DER) output to a terminal unless forced (rage's habit): it would
/// garble the terminal and help nobody.
pub fn refuse_binary_to_terminal(
    path_is_stdout: bool,
    form_is_der: bool,
    force: bool,
) -> Result<()> {
    check_binary_to_terminal(path_is_stdout && stdout_is_terminal(), form_is_der, force)
}

fn check_binary_to_terminal(to_terminal: bool, form_is_der: bool, force: bool) -> Result<()> {
    if to_terminal && form_is_der && !force {
        return Err(Error::usage("refusing to write DER to a terminal")
            .with_hint("redirect the output or use -o FILE"));
    }
    Ok(())
}

/// Create a new file for a private key: mode 0600 from the start, and never over an existing
/// file (a key is not something to overwrite by accident).
pub fn create_new_private(path: &Path) -> Result<File> {
    create_new_mode(path, 0o600)
}

/// Create a new file for a certificate or other public material (0644 less the umask); refuses
/// to overwrite.
pub fn create_new(path: &Path) -> Result<File> {
    create_new_mode(path, 0o644)
}

fn create_new_mode(path: &Path, mode: u32) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::cant_create(format!("{} already exists", path.display()))
                    .with_hint("remove it first or choose another name")
            } else {
                Error::cant_create(format!(
                    "cannot create {}: {}",
                    path.display(),
                    io_reason(&e)
                ))
            }
        })
}

/// Create a directory and any missing parents (a keyring's `pinned/`); the error names it.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::cant_create(format!(
            "cannot create {}: {}",
            dir.display(),
            io_reason(&e)
        ))
    })
}

/// Read all of a small input (a key, a certificate, a recipients file) that names itself in
/// errors. Not for messages, which stream.
pub fn read_small_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut input = open_input(Some(path))?;
    let mut bytes = Vec::new();
    input
        .by_ref()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read_file(path, &e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::data(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Write a new file (never overwriting one): keygen's key (0600) and certificate.
pub fn write_new_file(path: &Path, bytes: &[u8], privacy: Privacy) -> Result<()> {
    let mut file = match privacy {
        Privacy::Private => create_new_private(path)?,
        Privacy::Public => create_new(path)?,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // The data, then the directory entry that names it: both on disk before keygen says so.
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| File::open(dir)?.sync_all())
        .map_err(|e| {
            Error::io(format!(
                "cannot write {}: {}",
                path.display(),
                io_reason(&e)
            ))
        })
}

/// A buffer for secrets (plaintext, a key read from stdin), allocated once at its size, so that
/// nothing is left behind by growing it, and wiped when dropped as far as anything was ever
/// written to it. `Zeroizing<Vec>` wipes the whole allocation, which writes (and so maps) every
/// page of it: for decrypt's 1 MiB header buffer and 256 KiB chunk, ~290 page faults, a tenth of
/// a 4 KiB message's decrypt. Fresh zeroed pages cost nothing until used.
pub(crate) struct WipedPrefix {
    pub(crate) buf: Vec<u8>,
    /// How far `buf` was ever written.
    high: usize,
}

impl WipedPrefix {
    pub(crate) fn zeroed(len: usize) -> Self {
        WipedPrefix {
            buf: vec![0u8; len],
            high: 0,
        }
    }

    /// One read into the buffer; the bytes read are `buf[..n]`.
    pub(crate) fn read_from(&mut self, input: &mut impl Read) -> std::io::Result<usize> {
        let n = loop {
            match input.read(&mut self.buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.high = self.high.max(n);
        Ok(n)
    }

    /// Fill the buffer from `input` as far as it goes (to its end or the input's): the bytes read.
    pub(crate) fn fill_from(&mut self, input: &mut impl Read) -> std::io::Result<&[u8]> {
        let mut filled = 0;
        while let Some(rest) = self.buf.get_mut(filled..).filter(|r| !r.is_empty()) {
            match input.read(rest) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    self.high = self.high.max(filled);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.buf.get(..filled).unwrap_or_default())
    }
}

impl Drop for WipedPrefix {
    fn drop(&mut self) {
        if let Some(written) = self.buf.get_mut(..self.high) {
            written.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_to_a_terminal_is_refused_unless_forced() {
        let err = check_binary_to_terminal(true, true, false).unwrap_err();
        assert_eq!(err.exit_code(), 64);
        assert_eq!(err.hint(), Some("redirect the output or use -o FILE"));
        assert!(check_binary_to_terminal(true, true, true).is_ok());
        assert!(check_binary_to_terminal(true, false, false).is_ok());
        assert!(check_binary_to_terminal(false, true, false).is_ok());
    }

    #[test]
    fn dash_means_the_standard_stream() {
        assert_eq!(named(Some(Path::new("-"))), None);
        assert_eq!(named(Some(Path::new("f"))), Some(Path::new("f")));
        assert!(Output::new(Some(Path::new("-")), Privacy::Public).is_stdout());
        assert_eq!(input_len(Some(Path::new("-"))), None);
    }

    /// Gives `data` a byte at a time, interrupted before each byte.
    struct Trickle<'a> {
        data: &'a [u8],
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let Some((&first, rest)) = self.data.split_first() else {
                return Ok(0);
            };
            match buf.first_mut() {
                Some(b) => *b = first,
                None => return Ok(0),
            }
            self.data = rest;
            Ok(1)
        }
    }

    #[test]
    fn a_wiped_prefix_fills_through_short_and_interrupted_reads_and_knows_how_far_it_was_written() {
        let mut head = WipedPrefix::zeroed(8);
        let mut input = Trickle {
            data: b"0123456789",
            interrupt: false,
        };
        assert_eq!(head.fill_from(&mut input).unwrap(), b"01234567");
        assert_eq!(head.high, 8);
        let mut chunk = WipedPrefix::zeroed(4);
        assert_eq!(chunk.read_from(&mut input).unwrap(), 1);
        assert_eq!(&chunk.buf[..1], b"8");
        assert_eq!(chunk.read_from(&mut input).unwrap(), 1);
        assert_eq!(chunk.read_from(&mut input).unwrap(), 0);
        assert_eq!(chunk.high, 1);

        let mut short = WipedPrefix::zeroed(16);
        assert_eq!(short.fill_from(&mut &b"abc"[..]).unwrap(), b"abc");
        assert_eq!(short.high, 3);
    }
}
