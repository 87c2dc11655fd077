//! Inputs and outputs: atomic `-o` files (unnamed until commit on Linux, linked or renamed
//! into place, gone on drop, 0600 when private), stdout's hold-back buffer, and the exit codes of each failure.

use sealmail::io::{
    Output, Privacy, create_new, create_new_private, input_len, open_input, read_small_file,
};
use sealmail::{Error, Kind};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::rc::Rc;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The process umask, as the kernel reports it.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
}

fn write(output: &mut Output, bytes: &[u8]) -> Result<(), Error> {
    let mut w = output.writer()?;
    w.write_all(bytes)?;
    w.flush()?;
    Ok(())
}

#[test]
fn nothing_is_created_before_the_first_write() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.eml");
    let mut output = Output::new(Some(&target), Privacy::Private);
    drop(output.writer().unwrap());
    drop(output);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn the_target_changes_only_on_commit_and_the_temporary_file_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.eml");
    std::fs::write(&target, b"old").unwrap();

    let mut output = Output::new(Some(&target), Privacy::Public);
    write(&mut output, b"new ").unwrap();
    write(&mut output, b"content").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    // The content being written has no name at all (O_TMPFILE): nothing beside the target.
    assert_eq!(entries(dir.path()), ["out.eml"]);
    output.commit().unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"new content");
    assert_eq!(entries(dir.path()), ["out.eml"]);
}

#[test]
fn an_uncommitted_output_leaves_the_target_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.eml");
    let mut output = Output::new(Some(&target), Privacy::Private);
    write(&mut output, &vec![7u8; 1 << 20]).unwrap();
    drop(output);
    assert!(entries(dir.path()).is_empty());

    std::fs::write(&target, b"old").unwrap();
    let mut output = Output::new(Some(&target), Privacy::Private);
    write(&mut output, b"partial").unwrap();
    drop(output);
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(entries(dir.path()), ["out.eml"]);
}

#[test]
fn an_empty_result_is_still_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("empty");
    Output::new(Some(&target), Privacy::Public)
        .commit()
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"");
}

#[test]
fn private_output_is_0600_from_the_start_and_public_follows_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("plain.eml");
    let mut output = Output::new(Some(&target), Privacy::Private);
    write(&mut output, b"secret").unwrap();
    // Unnamed while it is written: no other process can open it by a name.
    assert_eq!(entries(dir.path()), Vec::<String>::new());
    output.commit().unwrap();
    assert_eq!(mode(&target), 0o600);
    assert_eq!(std::fs::read(&target).unwrap(), b"secret");

    let target = dir.path().join("sealed.eml");
    let mut output = Output::new(Some(&target), Privacy::Public);
    write(&mut output, b"ciphertext").unwrap();
    output.commit().unwrap();
    assert_eq!(mode(&target), 0o666 & !umask());
}

#[test]
fn a_missing_directory_is_cant_create_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-dir").join("out.eml");
    let mut output = Output::new(Some(&target), Privacy::Public);
    let err = write(&mut output, b"x").unwrap_err();
    assert_eq!(err.kind(), Kind::CantCreate);
    assert_eq!(err.exit_code(), 73);
    assert!(
        err.message().contains("no-such-dir/out.eml"),
        "{}",
        err.message()
    );

    let err = Output::new(Some(&target), Privacy::Public)
        .commit()
        .unwrap_err();
    assert_eq!(err.kind(), Kind::CantCreate);
}

#[test]
fn a_directory_as_target_is_cant_create() {
    let dir = tempfile::tempdir().unwrap();
    let mut output = Output::new(Some(dir.path()), Privacy::Public);
    let err = write(&mut output, b"x").unwrap_err();
    assert_eq!(err.kind(), Kind::CantCreate);
    assert!(err.message().contains("directory"), "{}", err.message());
}

/// A writer whose bytes the test can look at while the Output still owns it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Shared {
    fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
}

#[test]
fn stdout_holds_everything_back_until_commit_while_it_fits() {
    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 100);
    assert!(output.is_stdout());
    write(&mut output, &[1; 60]).unwrap();
    write(&mut output, &[2; 40]).unwrap();
    assert!(
        sink.bytes().is_empty(),
        "nothing may reach stdout before commit"
    );
    output.commit().unwrap();
    assert_eq!(sink.bytes(), [[1; 60].as_slice(), &[2; 40]].concat());
}

#[test]
fn an_uncommitted_stdout_writes_nothing() {
    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 100);
    write(&mut output, b"plaintext that must not escape").unwrap();
    drop(output);
    assert!(sink.bytes().is_empty());
}

#[test]
fn stdout_writes_through_once_the_buffer_overflows() {
    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 100);
    write(&mut output, &[1; 80]).unwrap();
    assert!(sink.bytes().is_empty());
    write(&mut output, &[2; 30]).unwrap();
    assert_eq!(
        sink.bytes().len(),
        110,
        "the held bytes and the overflow go out in order"
    );
    write(&mut output, &[3; 5]).unwrap();
    assert_eq!(sink.bytes().len(), 115);
    output.commit().unwrap();
    assert_eq!(
        sink.bytes(),
        [[1; 80].as_slice(), &[2; 30], &[3; 5]].concat()
    );
}

#[test]
fn hold_until_commit_spills_instead_of_writing_through() {
    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 1000);
    output.hold_until_commit();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for piece in data.chunks(777) {
        write(&mut output, piece).unwrap();
    }
    assert!(sink.bytes().is_empty());
    output.commit().unwrap();
    assert_eq!(sink.bytes(), data);

    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 10);
    output.hold_until_commit();
    write(&mut output, &data).unwrap();
    drop(output);
    assert!(sink.bytes().is_empty());
}

#[test]
fn write_through_sends_bytes_at_once_but_never_undoes_a_hold() {
    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 100);
    output.write_through();
    write(&mut output, &[1; 10]).unwrap();
    assert_eq!(sink.bytes(), [1; 10], "written before commit");
    output.commit().unwrap();
    assert_eq!(sink.bytes(), [1; 10]);

    // Once bytes are held, or when the caller asked for everything to be held, it is too late.
    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 100);
    write(&mut output, &[2; 10]).unwrap();
    output.write_through();
    write(&mut output, &[3; 10]).unwrap();
    assert!(sink.bytes().is_empty());
    drop(output);
    assert!(sink.bytes().is_empty());

    let sink = Shared::default();
    let mut output = Output::to_writer(Box::new(sink.clone()), 100);
    output.hold_until_commit();
    output.write_through();
    write(&mut output, &[4; 10]).unwrap();
    drop(output);
    assert!(sink.bytes().is_empty(), "decrypt's hold is not undone");
}

struct Failing(std::io::ErrorKind);
impl Write for Failing {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(self.0.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn stdout_write_failures_are_io_errors() {
    for kind in [
        std::io::ErrorKind::BrokenPipe,
        std::io::ErrorKind::StorageFull,
    ] {
        let mut output = Output::to_writer(Box::new(Failing(kind)), 4);
        write(&mut output, b"abc").unwrap();
        let err = output.commit().unwrap_err();
        assert_eq!(err.kind(), Kind::Io, "{kind:?}");
        assert_eq!(err.exit_code(), 74);

        let mut output = Output::to_writer(Box::new(Failing(kind)), 4);
        let err = write(&mut output, b"abcdef").unwrap_err();
        assert_eq!(err.kind(), Kind::Io, "{kind:?}");
    }
}

#[test]
fn inputs_open_and_missing_or_directory_inputs_are_66() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.eml");
    std::fs::write(&file, b"Subject: x\n\nbody\n").unwrap();
    let mut text = String::new();
    open_input(Some(&file))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "Subject: x\n\nbody\n");
    assert_eq!(input_len(Some(&file)), Some(17));

    let missing = dir.path().join("missing.eml");
    let err = open_input(Some(&missing)).err().unwrap();
    assert_eq!(err.exit_code(), 66);
    assert!(err.message().contains("missing.eml"), "{}", err.message());
    let err = open_input(Some(dir.path())).err().unwrap();
    assert_eq!(err.exit_code(), 66);
    assert!(err.message().contains("directory"), "{}", err.message());

    assert_eq!(input_len(Some(&missing)), None);
    assert_eq!(input_len(Some(dir.path())), None);
    assert_eq!(input_len(None), None);
}

#[test]
fn small_files_are_read_whole_up_to_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key.pem");
    std::fs::write(&file, b"0123456789").unwrap();
    assert_eq!(read_small_file(&file, 10).unwrap(), b"0123456789");
    assert_eq!(read_small_file(&file, 9).unwrap_err().kind(), Kind::Data);
    assert_eq!(
        read_small_file(&dir.path().join("nope"), 9)
            .unwrap_err()
            .kind(),
        Kind::NoInput
    );
}

#[test]
fn key_files_are_new_and_0600_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("me.key");
    create_new_private(&key).unwrap().write_all(b"key").unwrap();
    assert_eq!(mode(&key), 0o600);
    let err = create_new_private(&key).unwrap_err();
    assert_eq!(err.kind(), Kind::CantCreate);
    assert!(
        err.message().ends_with("me.key already exists"),
        "{}",
        err.message()
    );
    assert!(err.hint().is_some());
    assert_eq!(std::fs::read(&key).unwrap(), b"key");

    let cert = dir.path().join("me.crt");
    create_new(&cert).unwrap();
    assert_eq!(mode(&cert), 0o644 & !umask());
    assert_eq!(create_new(&cert).unwrap_err().kind(), Kind::CantCreate);

    let err = create_new(&dir.path().join("no-dir").join("x.crt")).unwrap_err();
    assert_eq!(err.exit_code(), 73);
}
