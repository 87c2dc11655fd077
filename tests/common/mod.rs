//! Helpers shared by the integration tests: the binary, fixtures, openssl.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub fn read_fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// The sealmail binary with a clean environment (no keyring or identity from the developer's
/// own config leaking into a test).
pub fn sealmail() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealmail"));
    clean_env(&mut cmd);
    cmd
}

/// The sealmail binary run by another program (`sh -c`, `taskset`), with the same clean
/// environment: `WRAPPER WRAPPER_ARGS... sealmail`, to which the caller adds sealmail's arguments.
pub fn sealmail_under(wrapper: &str, wrapper_args: &[&str]) -> Command {
    let mut cmd = Command::new(wrapper);
    cmd.args(wrapper_args).arg(env!("CARGO_BIN_EXE_sealmail"));
    clean_env(&mut cmd);
    cmd
}

/// Any program (a shell running a README recipe) with the same clean environment.
pub fn clean_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd);
    cmd
}

fn clean_env(cmd: &mut Command) {
    let empty = std::env::temp_dir().join("sealmail-test-no-config");
    cmd.env_remove("SEALMAIL_KEYRING")
        .env_remove("SEALMAIL_IDENTITY")
        .env_remove("SEALMAIL_PASSPHRASE")
        .env("XDG_CONFIG_HOME", &empty)
        .env("HOME", &empty);
}

/// Run a command with `stdin` as its standard input.
pub fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    out
}

pub fn openssl() -> Command {
    Command::new("openssl")
}

/// `openssl ARGS` run in `dir`, which must succeed (else the test fails showing the arguments
/// and openssl's stderr).
pub fn openssl_in(dir: &Path, args: &[&str]) -> Output {
    let out = openssl()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert_ok(&out, &format!("openssl {args:?}"));
    out
}

/// A run that must have succeeded: else the test fails naming `what`, with the exit code and
/// stderr.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// [`assert_ok`], then the run's stdout.
pub fn stdout_ok(out: Output, what: &str) -> Vec<u8> {
    assert_ok(&out, what);
    out.stdout
}

/// Whether a peer tool (openssl, pk12util, ...) is installed. A test without it skips, saying
/// so; in CI (`SEALMAIL_REQUIRE_PEERS`, set by `.ci/run`, which installs them) it fails instead.
pub fn has_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipping: {tool} is not installed (.ci/run installs it)");
    }
    assert!(
        found || std::env::var_os("SEALMAIL_REQUIRE_PEERS").is_none(),
        "{tool} is required (SEALMAIL_REQUIRE_PEERS is set)"
    );
    found
}

/// Check a failed run: its exit code, the one-line error naming `needle`, and an empty stdout.
pub fn assert_fails(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout not empty on failure: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("sealmail: error: "), "stderr: {stderr}");
    assert!(first.contains(needle), "expected {needle:?} in: {stderr}");
    for line in stderr.lines().skip(1) {
        assert!(
            line.starts_with("sealmail: hint: ") || line.starts_with("sealmail: warning: "),
            "stray stderr line: {line}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

pub fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
