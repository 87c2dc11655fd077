//! The one error type of sealmail: a message, an optional hint, and the sysexits(3) code it maps to.
//!
//! Every failure anywhere in the library becomes an [`Error`] whose [`Kind`] decides the exit code
//! in exactly one place ([`Kind::exit_code`]). Messages never carry secret material: callers pass
//! file names, recipient addresses and reasons, never key bytes or plaintext.

use std::fmt;
use std::path::Path;

/// What went wrong, in the terms of SPEC §2's exit-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 64 EX_USAGE: bad flags or a combination that cannot work.
    Usage,
    /// 65 EX_DATAERR: not a message / not S/MIME / malformed CMS, or the integrity check failed.
    Data,
    /// 66 EX_NOINPUT: an input, key or certificate file does not exist or cannot be read.
    NoInput,
    /// 67 EX_NOUSER: a recipient address has no certificate in the keyring.
    NoUser,
    /// 73 EX_CANTCREAT: the output file cannot be created.
    CantCreate,
    /// 74 EX_IOERR: an I/O error while reading or writing (a closed pipe included).
    Io,
    /// 77 EX_NOPERM: none of the identities can decrypt this message.
    NoPermission,
    /// 78 EX_CONFIG: a key or certificate is unusable.
    Config,
}

impl Kind {
    /// The sysexits(3) code for this kind of failure.
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Usage => 64,
            Kind::Data => 65,
            Kind::NoInput => 66,
            Kind::NoUser => 67,
            Kind::CantCreate => 73,
            Kind::Io => 74,
            Kind::NoPermission => 77,
            Kind::Config => 78,
        }
    }
}

/// A failure with a one-line message and, where there is one, a hint that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    message: String,
    hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: one_line(message.into()),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(Kind::Data, message)
    }
    pub fn no_input(message: impl Into<String>) -> Self {
        Self::new(Kind::NoInput, message)
    }
    pub fn no_user(message: impl Into<String>) -> Self {
        Self::new(Kind::NoUser, message)
    }
    pub fn cant_create(message: impl Into<String>) -> Self {
        Self::new(Kind::CantCreate, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(Kind::Io, message)
    }
    pub fn no_permission(message: impl Into<String>) -> Self {
        Self::new(Kind::NoPermission, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }

    /// A file could not be opened or read: 66 when it is missing or unreadable.
    pub fn read_file(path: &Path, err: &std::io::Error) -> Self {
        Self::no_input(format!(
            "cannot read {}: {}",
            path.display(),
            io_reason(err)
        ))
    }

    /// Attach the `sealmail: hint:` line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(one_line(hint.into()));
        self
    }

    /// Prefix the message with context, e.g. the file it concerns.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// An I/O error while streaming (not while opening a named file): 74.
impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::io("output closed before all of it was written (broken pipe)");
        }
        // Errors raised by our own streaming readers carry an Error inside.
        if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
            return inner.clone();
        }
        Error::io(format!("I/O error: {}", io_reason(&err)))
    }
}

/// Wrap an [`Error`] in an `io::Error` so it can cross a `Read`/`Write` boundary intact.
impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        std::io::Error::other(err)
    }
}

/// The reason of an I/O error without the "(os error N)" noise.
pub fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "it is a directory".into(),
        _ => {
            let s = err.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Messages are printed on one line: fold any newline an underlying library put in.
fn one_line(s: String) -> String {
    if s.contains(['\n', '\r']) {
        s.split(['\n', '\r'])
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_sysexits_code() {
        let table = [
            (Kind::Usage, 64),
            (Kind::Data, 65),
            (Kind::NoInput, 66),
            (Kind::NoUser, 67),
            (Kind::CantCreate, 73),
            (Kind::Io, 74),
            (Kind::NoPermission, 77),
            (Kind::Config, 78),
        ];
        for (kind, code) in table {
            assert_eq!(Error::new(kind, "x").exit_code(), code);
        }
    }

    #[test]
    fn messages_are_folded_to_one_line() {
        let e = Error::data("first\nsecond\r\nthird").with_hint("a\nb");
        assert_eq!(e.message(), "first second third");
        assert_eq!(e.hint(), Some("a b"));
    }

    #[test]
    fn an_error_survives_a_round_trip_through_io_error() {
        let e = Error::data("bad tag").with_hint("h");
        let io: std::io::Error = e.clone().into();
        assert_eq!(Error::from(io), e);
    }

    #[test]
    fn broken_pipe_is_an_io_error() {
        let e = Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit_code(), 74);
    }
}
