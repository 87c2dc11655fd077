//! Inputs and outputs: files or stdin/stdout, atomic `-o` files (temporary file in the same
//! directory, renamed into place only on success), terminal checks.
//!
//! STUB: interface only; being written.

use crate::error::Result;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Where input comes from: `None` or `-` means stdin.
pub fn open_input(path: Option<&Path>) -> Result<Box<dyn BufRead>> {
    let _ = path;
    todo!()
}

/// The size of an input file, when it is a regular file (not stdin, not a pipe).
pub fn input_len(path: Option<&Path>) -> Option<u64> {
    let _ = path;
    todo!()
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
    pub path: Option<PathBuf>,
}

impl Output {
    pub fn new(path: Option<&Path>, privacy: Privacy) -> Output {
        let _ = (path, privacy);
        todo!()
    }
    /// A writer to the destination; a file is created on the first write.
    pub fn writer(&mut self) -> Result<Box<dyn Write + '_>> {
        todo!()
    }
    /// Flush, and rename a temporary file into place.
    pub fn commit(self) -> Result<()> {
        todo!()
    }
}

pub fn stdout_is_terminal() -> bool {
    todo!()
}

pub fn write_new_file(path: &Path, bytes: &[u8], privacy: Privacy) -> Result<()> {
    let _ = (path, bytes, privacy);
    todo!()
}
