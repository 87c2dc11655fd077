//! The README's recipes, run as the README prints them: each script is taken out of README.md
//! (the fenced block after its `<!-- recipe: NAME -->` marker), so a recipe that stops working
//! fails here. `sendmail` is a stand-in on PATH (or in `$SENDMAIL`) that records its arguments
//! and the message it was given, or that it was never called.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The body of the first fenced block after `<!-- recipe: NAME -->` in README.md.
fn recipe(name: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let marker = format!("<!-- recipe: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"))
        .1;
    let fence = after.find("```").expect("a fenced block after the marker");
    let block = &after[fence..];
    let body_start = block.find('\n').expect("fence line") + 1;
    let body = &block[body_start..];
    let end = body.find("\n```").expect("closing fence");
    body[..=end].to_string()
}

fn key(name: &str) -> PathBuf {
    fixture(&format!("keys/{name}"))
}

/// A folder for one recipe: `bin/` with `sealmail` and a recording `sendmail`, `work/` to run in.
struct Stage {
    dir: tempfile::TempDir,
}

impl Stage {
    fn new() -> Stage {
        let dir = tempdir();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sealmail"), bin.join("sealmail")).unwrap();
        let sendmail = bin.join("sendmail");
        std::fs::write(
            &sendmail,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/sent.args'\ncat > '{0}/sent.eml'\n",
                dir.path().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o755)).unwrap();
        Stage { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A command with the clean test environment, our `bin/` first on PATH, run in `work/`.
    fn command(&self, program: &str) -> Command {
        let mut cmd = clean_command(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.path("bin")];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap())
            .env("TMPDIR", self.path("tmp"))
            .current_dir(self.path("work"));
        cmd
    }

    /// What the stand-in sendmail got: its arguments and the message, or `None` if never run.
    fn sent(&self) -> Option<(String, Vec<u8>)> {
        let args = std::fs::read_to_string(self.path("sent.args")).ok()?;
        Some((args, std::fs::read(self.path("sent.eml")).unwrap()))
    }

    fn tmp_is_empty(&self) -> bool {
        std::fs::read_dir(self.path("tmp"))
            .unwrap()
            .next()
            .is_none()
    }
}

fn decrypt(identity: &Path, sealed: &[u8]) -> Vec<u8> {
    let mut cmd = sealmail();
    cmd.args(["decrypt", "-i"]).arg(identity);
    let out = run(cmd, sealed);
    assert_ok(&out, "");
    out.stdout
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The Postfix filter with its keyring, as master.cf runs it: `sealmail-filter SENDER RCPT...`.
fn run_postfix_filter(stage: &Stage, message: &[u8]) -> std::process::Output {
    let filter = stage.path("sealmail-filter");
    std::fs::write(&filter, recipe("postfix-filter")).unwrap();
    std::fs::set_permissions(&filter, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ring = stage.path("certs");
    std::fs::create_dir(&ring).unwrap();
    for who in ["alice", "bob"] {
        std::fs::copy(key(&format!("{who}.crt")), ring.join(format!("{who}.crt"))).unwrap();
    }
    // `sh`, not the #! line: what the recipe must work under is the plain POSIX shell.
    let mut cmd = stage.command("sh");
    cmd.arg(&filter)
        .args(["alice@example.org", "bob@example.org"])
        .env("SEALMAIL", env!("CARGO_BIN_EXE_sealmail"))
        .env("SENDMAIL", stage.path("bin/sendmail"))
        .env("SEALMAIL_KEYRING", &ring);
    run(cmd, message)
}

#[test]
fn postfix_filter_encrypts_to_the_header_recipients_and_sends() {
    let stage = Stage::new();
    let message = b"From: alice@example.org\nTo: bob@example.org\nSubject: nightly\n\n\
disk 91% full on db1\n";
    let out = run_postfix_filter(&stage, message);
    assert_ok(&out, "");
    let (args, sent) = stage.sent().expect("sendmail was run");
    assert_eq!(args, "-G\n-i\n-f\nalice@example.org\n--\nbob@example.org\n");
    assert!(!contains(&sent, b"disk 91%"), "plaintext was sent");
    for who in ["alice", "bob"] {
        let restored = decrypt(&key(&format!("{who}.key")), &sent);
        assert!(restored.ends_with(b"\n\ndisk 91% full on db1\n"), "{who}");
    }
    assert!(stage.tmp_is_empty(), "the temporary file was left behind");
}

#[test]
fn postfix_filter_passes_on_a_missing_recipient_s_67_and_sends_nothing() {
    let stage = Stage::new();
    let message = b"From: alice@example.org\nTo: mallory@example.net\nSubject: s\n\nsecret\n";
    let out = run_postfix_filter(&stage, message);
    assert_eq!(
        out.status.code(),
        Some(67),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("mallory@example.net"));
    assert!(stage.sent().is_none(), "sendmail was run");
    assert!(stage.tmp_is_empty(), "the temporary file was left behind");
}

/// The `run: |` script of the GitHub Actions step, as the runner hands it to bash: dedented,
/// with the `${{ }}` expressions it substitutes before the shell sees them.
fn github_actions_script(status: &str) -> String {
    let yaml = recipe("github-actions");
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.trim_end().ends_with("run: |"));
    let run_line = lines.next().expect("a run: | block");
    let indent = run_line.len() - run_line.trim_start().len() + 2;
    lines
        .map(|l| l.get(indent..).unwrap_or("").to_string() + "\n")
        .collect::<String>()
        .replace("${{ job.status }}", status)
}

fn github_actions_stage() -> Stage {
    let stage = Stage::new();
    let work = stage.path("work");
    std::fs::write(work.join("summary.txt"), "all green\n").unwrap();
    std::fs::write(work.join("build.log"), "compiling...\ndone\n").unwrap();
    std::fs::write(work.join("test-report.xml"), "<testsuite ok=\"1\"/>").unwrap();
    stage
}

#[test]
fn github_actions_step_mails_the_summary_with_both_attachments() {
    use mail_parser::MimeHeaders;
    let stage = github_actions_stage();
    // GitHub's default shell for `run` on Linux: bash -e.
    let mut cmd = stage.command("bash");
    cmd.args(["-e", "-c", &github_actions_script("success")])
        .env(
            "OPS_CERT",
            std::fs::read_to_string(key("alice.crt")).unwrap(),
        )
        .env("GITHUB_RUN_NUMBER", "7");
    let out = run(cmd, b"");
    assert_ok(&out, "");
    let (args, sent) = stage.sent().expect("sendmail was run");
    assert_eq!(args, "-t\n");
    let restored = decrypt(&key("alice.key"), &sent);
    let m = mail_parser::MessageParser::default()
        .parse(&restored)
        .unwrap();
    assert_eq!(m.subject(), Some("build 7: success"));
    let to: Vec<_> = m.to().unwrap().iter().filter_map(|a| a.address()).collect();
    assert_eq!(to, ["ops@example.org", "dev@example.org"]);
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), "all green\n");
    assert_eq!(m.attachment_count(), 2);
    assert_eq!(m.attachment(0).unwrap().contents(), b"compiling...\ndone\n");
    assert_eq!(
        m.attachment(1).unwrap().attachment_name(),
        Some("test-report.xml")
    );
}

#[test]
fn github_actions_step_fails_and_sends_nothing_when_sealmail_fails() {
    let stage = github_actions_stage();
    let mut cmd = stage.command("bash");
    cmd.args(["-e", "-c", &github_actions_script("failure")])
        .env("OPS_CERT", "not a certificate")
        .env("GITHUB_RUN_NUMBER", "8");
    let out = run(cmd, b"");
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stage.sent().is_none(), "sendmail was run");
}

#[test]
fn completions_install_line_works_in_a_fresh_home() {
    let stage = Stage::new();
    let home = stage.path("home");
    std::fs::create_dir(&home).unwrap();
    let lines: String = recipe("install")
        .lines()
        .filter(|l| l.contains("bash-completion"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(lines.contains("sealmail completions bash"), "{lines}");
    let mut cmd = stage.command("sh");
    cmd.args(["-e", "-c", &lines]).env("HOME", &home);
    let out = run(cmd, b"");
    assert_ok(&out, "");
    let script =
        std::fs::read_to_string(home.join(".local/share/bash-completion/completions/sealmail"))
            .unwrap();
    assert!(script.contains("_sealmail"), "{script}");
}
