//! keygen's passphrase (issue 10): an empty passphrase from an option is refused (64, no file
//! written); without a passphrase option and without a terminal, nothing is prompted for and
//! the key is written unencrypted, saying so on stderr.

mod common;

use common::{run, sealmail, tempdir};

#[test]
fn an_empty_passphrase_is_refused_and_nothing_is_written() {
    let dir = tempdir();
    let pass = dir.path().join("pass.txt");
    for content in [&b""[..], b"\n", b"\r\n"] {
        std::fs::write(&pass, content).unwrap();
        let prefix = dir.path().join("alice");
        let mut cmd = sealmail();
        cmd.args(["keygen", "--email", "alice@example.org", "--bits", "2048"])
            .arg("--passphrase-file")
            .arg(&pass)
            .arg("-o")
            .arg(&prefix);
        let out = run(cmd, b"");
        common::assert_fails(&out, 64, "passphrase for the new key is empty");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, vec![std::ffi::OsString::from("pass.txt")]);
    }
    // The same through a file descriptor (here stdin).
    let mut cmd = sealmail();
    cmd.args(["keygen", "--email", "alice@example.org", "--bits", "2048"])
        .args(["--passphrase-fd", "0", "-o"])
        .arg(dir.path().join("bob"));
    common::assert_fails(&run(cmd, b"\n"), 64, "empty");
}

#[test]
fn without_a_passphrase_or_a_terminal_the_key_is_unencrypted_and_that_is_said() {
    let dir = tempdir();
    let prefix = dir.path().join("carol");
    let mut cmd = sealmail();
    cmd.args([
        "keygen",
        "--email",
        "carol@example.org",
        "--bits",
        "2048",
        "-o",
    ])
    .arg(&prefix);
    // stdin is a pipe, not a terminal: no prompt may wait on it.
    let out = run(cmd, b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("carol.key is written unencrypted"),
        "{stderr}"
    );
    assert!(!stderr.contains("passphrase to encrypt"), "{stderr}");
    let key = std::fs::read_to_string(dir.path().join("carol.key")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
}
