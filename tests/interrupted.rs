//! An interrupted `decrypt -o` leaves nothing (SECURITY.md, issue 10): sealmail is stopped with
//! SIGTERM, SIGINT, SIGHUP or SIGKILL while it writes the plaintext of a large message, and the
//! target's directory must then hold no file at all, neither the target nor a temporary file.
//! Also: a committed `-o` file that replaces an existing one, and nothing beside it after.

mod common;

use common::{assert_ok, fixture, sealmail, tempdir};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A text message of about `len` bytes, sealed to alice; its decryption turns CRLF back into
/// LF line by line, which keeps the writing pass going long enough to be interrupted.
fn sealed_message(dir: &Path, len: usize) -> std::path::PathBuf {
    let mut message = b"From: a@example.org\nTo: alice@example.org\nSubject: big\n\n".to_vec();
    let mut i = 0usize;
    while message.len() < len {
        message.extend_from_slice(format!("secret line {i} of the plaintext\n").as_bytes());
        i += 1;
    }
    let plain = dir.join("message.eml");
    std::fs::write(&plain, &message).unwrap();
    let sealed = dir.join("sealed.eml");
    let out = sealmail()
        .args(["encrypt", "-r"])
        .arg(fixture("keys/alice.crt"))
        .arg(&plain)
        .arg("-o")
        .arg(&sealed)
        .output()
        .unwrap();
    assert_ok(&out, "");
    std::fs::remove_file(&plain).unwrap();
    sealed
}

/// Once `child` has an open file in `dir` with plaintext in it (the writing pass has begun),
/// `Ok`; its exit status if it ended first.
fn wait_for_plaintext_in(child: &mut Child, dir: &Path) -> Result<(), ExitStatus> {
    let fds = format!("/proc/{}/fd", child.id());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(status);
        }
        let Ok(list) = std::fs::read_dir(&fds) else {
            continue;
        };
        for fd in list.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            // An unnamed file shows as `DIR/#INODE (deleted)`, a named one by its name.
            if link.starts_with(dir)
                && std::fs::metadata(fd.path()).is_ok_and(|m| m.is_file() && m.len() > 0)
            {
                return Ok(());
            }
        }
    }
}

#[test]
fn a_decrypt_stopped_by_a_signal_while_writing_leaves_no_file() {
    let work = tempdir();
    let sealed = sealed_message(work.path(), 24 << 20);
    for signal in ["TERM", "INT", "HUP", "KILL"] {
        let out_dir = tempdir();
        let target = out_dir.path().join("plain.eml");
        let mut child = sealmail()
            .args(["decrypt", "-i"])
            .arg(fixture("keys/alice.key"))
            .arg("-o")
            .arg(&target)
            .arg(&sealed)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if let Err(status) = wait_for_plaintext_in(&mut child, out_dir.path()) {
            panic!(
                "SIG{signal}: sealmail ended ({status}) before it could be interrupted: \
                 a full disk, or a machine fast enough to need a larger input"
            );
        }
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert!(!status.success(), "SIG{signal}: it still ended in success");
        assert_eq!(
            entries(out_dir.path()),
            Vec::<String>::new(),
            "SIG{signal} left a file behind"
        );
    }
}

#[test]
fn a_committed_output_replaces_the_target_and_leaves_nothing_beside_it() {
    let work = tempdir();
    let sealed = sealed_message(work.path(), 4096);
    let out_dir = tempdir();
    let target = out_dir.path().join("plain.eml");
    std::fs::write(&target, b"old").unwrap();
    for _ in 0..2 {
        let out = sealmail()
            .args(["decrypt", "-i"])
            .arg(fixture("keys/alice.key"))
            .arg("-o")
            .arg(&target)
            .arg(&sealed)
            .output()
            .unwrap();
        assert_ok(&out, "");
        assert_eq!(entries(out_dir.path()), vec!["plain.eml".to_string()]);
        let plain = std::fs::read(&target).unwrap();
        assert!(plain.starts_with(b"From: a@example.org\n"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
