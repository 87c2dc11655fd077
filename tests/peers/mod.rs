//! The S/MIME implementations people actually read mail with, driven as sealmail's interop peers:
//! NSS's `cmsutil` (the CMS engine of Thunderbird), GnuPG's `gpgsm`, Bouncy Castle (through
//! `PeerTool.java` beside this file, compiled with `javac` at run time) and `openssl cms`. Each
//! operation runs in a scratch directory of its own (an NSS database, a gpgsm home with its own
//! gpg-agent), encrypts content to certificates or decrypts a DER/BER message with an identity,
//! and hands back the bytes or the peer's refusal.
//!
//! It is not an oracle for sealmail: the tests compare bytes themselves. A peer whose tool is
//! not installed is reported by [`available`] with the reason, and the test skips it; with
//! `SEALMAIL_REQUIRE_PEERS` set (CI sets it, after installing every peer) a missing peer fails
//! the test instead, so CI cannot pass by skipping.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The passphrase of every PKCS#12 file and gpgsm key the harness makes (test keys only).
const PASSPHRASE: &str = "peer-test";

/// The Bouncy Castle jars of Debian's libbcprov-java / libbcpkix-java / libbcutil-java.
const BC_JARS: [&str; 3] = [
    "/usr/share/java/bcprov.jar",
    "/usr/share/java/bcpkix.jar",
    "/usr/share/java/bcutil.jar",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Openssl,
    /// Thunderbird's engine: NSS `cmsutil` with a `certutil`/`pk12util` database.
    Nss,
    Gpgsm,
    BouncyCastle,
}

pub const ALL: [Peer; 4] = [Peer::Openssl, Peer::Nss, Peer::Gpgsm, Peer::BouncyCastle];

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Peer::Openssl => "openssl cms",
            Peer::Nss => "NSS cmsutil",
            Peer::Gpgsm => "gpgsm",
            Peer::BouncyCastle => "Bouncy Castle",
        })
    }
}

/// A private key with its certificate, as files: the key PKCS#8 PEM, the certificate PEM.
#[derive(Clone, Debug)]
pub struct Identity {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub email: String,
}

impl Identity {
    /// `fixtures/peers/NAME.key` and `NAME.crt`, for `NAME@example.org`.
    pub fn fixture(name: &str) -> Identity {
        let dir = fixtures_dir();
        Identity {
            key: dir.join(format!("{name}.key")),
            cert: dir.join(format!("{name}.crt")),
            email: format!("{name}@example.org"),
        }
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/peers")
}

/// Every message in fixtures/peers (README.md there gives each one's command): the file, the
/// peer that wrote it, and whether `sam` is a recipient beside `rita`. Each holds `plain.crlf`.
pub const FIXTURES: &[(&str, Peer, bool)] = &[
    ("nss-default.ber", Peer::Nss, false),
    ("nss-two-recipients.ber", Peer::Nss, true),
    ("gpgsm-default.ber", Peer::Gpgsm, false),
    ("gpgsm-aes256.ber", Peer::Gpgsm, false),
    ("gpgsm-3des.ber", Peer::Gpgsm, false),
    ("gpgsm-two-recipients.ber", Peer::Gpgsm, true),
    ("bc-aes256-cbc.der", Peer::BouncyCastle, false),
    ("bc-aes256-cbc-stream.ber", Peer::BouncyCastle, false),
    ("bc-des3.der", Peer::BouncyCastle, false),
    ("bc-aes128-cbc-two-recipients.der", Peer::BouncyCastle, true),
    ("bc-keyid.der", Peer::BouncyCastle, false),
    ("bc-oaep-sha256.der", Peer::BouncyCastle, false),
    ("bc-oaep-sha1-stream.ber", Peer::BouncyCastle, false),
    ("bc-aes256-gcm.der", Peer::BouncyCastle, false),
    ("openssl-aes256-cbc.der", Peer::Openssl, false),
    ("openssl-aes128-cbc.smime", Peer::Openssl, false),
    ("openssl-stream.smime", Peer::Openssl, false),
    ("openssl-stream.pem", Peer::Openssl, false),
    ("openssl-des3.smime", Peer::Openssl, false),
    ("openssl-keyid.der", Peer::Openssl, false),
    ("openssl-two-recipients.smime", Peer::Openssl, true),
    ("openssl-oaep-sha1.smime", Peer::Openssl, false),
    ("openssl-oaep-sha256.der", Peer::Openssl, false),
    ("openssl-gcm-pkcs1v15.smime", Peer::Openssl, false),
];

/// The fixtures `peer` wrote, as paths.
pub fn fixtures_by(peer: Peer) -> Vec<(PathBuf, bool)> {
    FIXTURES
        .iter()
        .filter(|(_, by, _)| *by == peer)
        .map(|(name, _, sam)| (fixtures_dir().join(name), *sam))
        .collect()
}

/// A peer declined a message: what it said, for the assertion message.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The peers that can run here, in `ALL` order. For each one that cannot, prints why on stderr
/// (the test output); panics instead when `SEALMAIL_REQUIRE_PEERS` is set.
pub fn available(peers: &[Peer]) -> Vec<Peer> {
    peers
        .iter()
        .copied()
        .filter(|&peer| match unavailable(peer) {
            None => true,
            Some(why) => {
                skip(peer, &why);
                false
            }
        })
        .collect()
}

/// True when `peer` can run here; otherwise prints (or, under `SEALMAIL_REQUIRE_PEERS`, fails
/// with) the reason.
pub fn has(peer: Peer) -> bool {
    !available(&[peer]).is_empty()
}

fn skip(peer: Peer, why: &str) {
    if std::env::var_os("SEALMAIL_REQUIRE_PEERS").is_some() {
        panic!("{peer} is required (SEALMAIL_REQUIRE_PEERS) but {why}");
    }
    eprintln!("skipping {peer}: {why}");
}

/// Why `peer` cannot run on this machine, or `None` when it can.
pub fn unavailable(peer: Peer) -> Option<String> {
    let missing = |tools: &[&str], package: &str| {
        let absent: Vec<&str> = tools
            .iter()
            .copied()
            .filter(|t| find_in_path(t).is_none())
            .collect();
        (!absent.is_empty()).then(|| {
            format!(
                "{} not found in PATH (install the Debian package {package})",
                absent.join(", ")
            )
        })
    };
    match peer {
        // openssl also makes the PKCS#12 files NSS and gpgsm import.
        Peer::Openssl => missing(&["openssl"], "openssl"),
        Peer::Nss => missing(
            &["certutil", "pk12util", "cmsutil", "openssl"],
            "libnss3-tools",
        ),
        Peer::Gpgsm => missing(&["gpgsm", "gpgconf", "openssl"], "gpgsm"),
        Peer::BouncyCastle => missing(&["javac", "java"], "default-jdk-headless").or_else(|| {
            BC_JARS
                .iter()
                .find(|jar| !Path::new(jar).exists())
                .map(|jar| format!("{jar} is missing (install libbcpkix-java)"))
        }),
    }
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

impl Peer {
    /// Decrypt a DER or BER ContentInfo as `id`; the peer's own output bytes, or its refusal.
    pub fn decrypt(self, id: &Identity, message: &[u8]) -> Result<Vec<u8>, Refused> {
        let dir = scratch();
        let input = dir.path().join("message.der");
        write(&input, message);
        let output = dir.path().join("content");
        let out = match self {
            Peer::Openssl => {
                let mut cmd = Command::new("openssl");
                cmd.args(["cms", "-decrypt", "-binary", "-inform", "DER", "-in"])
                    .arg(&input)
                    .arg("-inkey")
                    .arg(&id.key)
                    .arg("-recip")
                    .arg(&id.cert)
                    .arg("-out")
                    .arg(&output);
                exec(cmd, b"")
            }
            Peer::Nss => {
                let db = NssDb::new(dir.path());
                db.import_identity(id);
                let mut cmd = Command::new("cmsutil");
                cmd.arg("-D")
                    .arg("-d")
                    .arg(&db.arg)
                    .arg("-i")
                    .arg(&input)
                    .arg("-o")
                    .arg(&output);
                exec(cmd, b"")
            }
            Peer::Gpgsm => {
                let home = GpgsmHome::new(dir.path());
                home.import_identity(id);
                let mut cmd = home.gpgsm();
                cmd.args([
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase-fd",
                    "0",
                    "--status-fd",
                    "2",
                    "-o",
                ])
                .arg(&output)
                .arg("--decrypt")
                .arg(&input);
                let mut out = exec(cmd, format!("{PASSPHRASE}\n").as_bytes());
                // gpgsm 2.2 exits 2 after any logged error, and "failed to find the
                // certificate" for another recipient of the message is one, although it then
                // decrypts with its own key: its status line is the verdict, as for a mail
                // client driving it.
                let said = String::from_utf8_lossy(&out.stderr);
                if said.contains("[GNUPG:] DECRYPTION_OKAY")
                    && !said.contains("[GNUPG:] DECRYPTION_FAILED")
                {
                    out.status = std::process::ExitStatus::default();
                }
                out
            }
            Peer::BouncyCastle => {
                let mut cmd = peer_tool();
                cmd.arg("decrypt").arg(&id.key).arg(&id.cert);
                let out = exec(cmd, message);
                if out.status.success() {
                    write(&output, &out.stdout);
                }
                out
            }
        };
        if !out.status.success() {
            return Err(Refused(format!(
                "{self} exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(std::fs::read(&output).unwrap_or_else(|e| panic!("{self} wrote no output: {e}")))
    }

    /// Encrypt `content` to every certificate of `to` with the peer's defaults; the DER (gpgsm,
    /// NSS: BER) ContentInfo. A failure here is the harness's or the peer's, so it panics.
    pub fn encrypt(self, to: &[&Identity], content: &[u8]) -> Vec<u8> {
        match self {
            Peer::Openssl => openssl_encrypt(&["-aes-256-cbc"], to, content),
            Peer::BouncyCastle => bc_encrypt(&[], to, content),
            Peer::Nss => {
                let dir = scratch();
                let db = NssDb::new(dir.path());
                for id in to {
                    db.import_cert(id);
                }
                let input = dir.path().join("content");
                write(&input, content);
                let output = dir.path().join("message.der");
                let emails: Vec<&str> = to.iter().map(|id| id.email.as_str()).collect();
                let mut cmd = Command::new("cmsutil");
                cmd.arg("-E")
                    .arg("-d")
                    .arg(&db.arg)
                    .arg("-r")
                    .arg(emails.join(","))
                    .arg("-i")
                    .arg(&input)
                    .arg("-o")
                    .arg(&output);
                expect_success("cmsutil -E", exec(cmd, b""));
                read(&output)
            }
            Peer::Gpgsm => gpgsm_encrypt(&[], to, content),
        }
    }
}

/// NSS decodes a SignedData (`cmsutil -D`, Thunderbird's engine), with the CA certificates of
/// `anchors` trusted for S/MIME in its database and `content` as the signed content of a
/// detached signature. Returns the status NSS gives the first signer (`GoodSignature`,
/// `DigestMismatch`, `SigningCertNotTrusted`, ...) and the content it decoded (empty unless
/// the signature is good).
pub fn nss_verify(signed: &[u8], content: Option<&[u8]>, anchors: &[&Path]) -> (String, Vec<u8>) {
    let dir = scratch();
    let db = NssDb::new(dir.path());
    for anchor in anchors {
        db.import_anchor(anchor);
    }
    let input = dir.path().join("signed.der");
    write(&input, signed);
    let output = dir.path().join("content");
    let detached = dir.path().join("detached");
    if let Some(content) = content {
        write(&detached, content);
    }
    // Once for the report (`-h 2 -n`: the signer status, no content), once for the content.
    // (The second fails, writing nothing, when the signature is not good.)
    let decode = |args: &[&str]| {
        let mut cmd = Command::new("cmsutil");
        cmd.arg("-D")
            .arg("-d")
            .arg(&db.arg)
            .arg("-i")
            .arg(&input)
            .args(args);
        if content.is_some() {
            cmd.arg("-c").arg(&detached);
        }
        exec(cmd, b"")
    };
    let out = expect_success("cmsutil -D -n", decode(&["-h", "2", "-n"]));
    decode(&["-o", &output.display().to_string()]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = report
        .split("signer0.status=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("cmsutil -D reported no signer status: {report}"))
        .to_string();
    (status, std::fs::read(&output).unwrap_or_default())
}

/// NSS signs `content` as `id` (`cmsutil -S -G -P`: signing time and SMIMECapabilities, as
/// Thunderbird does), detached (`-T`) or with the content inside: the DER ContentInfo. The CA
/// certificates of `anchors` are trusted in its database, since NSS checks its own signer.
pub fn nss_sign(id: &Identity, content: &[u8], detached: bool, anchors: &[&Path]) -> Vec<u8> {
    let dir = scratch();
    let db = NssDb::new(dir.path());
    for anchor in anchors {
        db.import_anchor(anchor);
    }
    db.import_identity(id);
    let input = dir.path().join("content");
    write(&input, content);
    let output = dir.path().join("signed.der");
    let mut cmd = Command::new("cmsutil");
    cmd.arg("-S")
        .arg("-d")
        .arg(&db.arg)
        .arg("-N")
        .arg(&id.email)
        .args(["-G", "-P", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&output);
    if detached {
        cmd.arg("-T");
    }
    expect_success("cmsutil -S", exec(cmd, b""));
    read(&output)
}

/// `openssl cms -encrypt -binary -outform DER ARGS -recip CERT...`: the DER or BER message.
/// `args` come before the recipients, so per-recipient `-keyopt`s go in `recip_args`.
pub fn openssl_encrypt(args: &[&str], to: &[&Identity], content: &[u8]) -> Vec<u8> {
    openssl_encrypt_with(args, &[], to, content)
}

/// As [`openssl_encrypt`], with `recip_args` (e.g. OAEP `-keyopt`s) after each `-recip`.
pub fn openssl_encrypt_with(
    args: &[&str],
    recip_args: &[&str],
    to: &[&Identity],
    content: &[u8],
) -> Vec<u8> {
    let dir = scratch();
    let input = dir.path().join("content");
    write(&input, content);
    let output = dir.path().join("message.der");
    let mut cmd = Command::new("openssl");
    cmd.args(["cms", "-encrypt", "-binary", "-outform", "DER"])
        .args(args)
        .arg("-in")
        .arg(&input)
        .arg("-out")
        .arg(&output);
    for id in to {
        cmd.arg("-recip").arg(&id.cert).args(recip_args);
    }
    expect_success("openssl cms -encrypt", exec(cmd, b""));
    read(&output)
}

/// `PeerTool encrypt ARGS CERT...` (see PeerTool.java for the options): the DER or BER message.
pub fn bc_encrypt(args: &[&str], to: &[&Identity], content: &[u8]) -> Vec<u8> {
    let mut cmd = peer_tool();
    cmd.arg("encrypt").args(args);
    for id in to {
        cmd.arg(&id.cert);
    }
    let out = exec(cmd, content);
    expect_success("PeerTool encrypt", out).stdout
}

/// `gpgsm ARGS --encrypt -r EMAIL...` with each certificate imported and trusted (trustlist.txt)
/// in a fresh home: the BER message.
pub fn gpgsm_encrypt(args: &[&str], to: &[&Identity], content: &[u8]) -> Vec<u8> {
    let dir = scratch();
    let home = GpgsmHome::new(dir.path());
    for id in to {
        home.import_and_trust_cert(id);
    }
    let input = dir.path().join("content");
    write(&input, content);
    let output = dir.path().join("message.der");
    let mut cmd = home.gpgsm();
    cmd.args(args);
    for id in to {
        cmd.arg("-r").arg(&id.email);
    }
    cmd.arg("-o").arg(&output).arg("--encrypt").arg(&input);
    expect_success("gpgsm --encrypt", exec(cmd, b""));
    read(&output)
}

/// The CMS object inside an S/MIME message (headers, empty line, base64 body): what every peer
/// but openssl needs, since they read DER/BER only.
pub fn smime_to_der(message: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let body = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| message.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
        .map(|start| &message[start..])
        .expect("an S/MIME message has a header section and a body");
    let b64: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .expect("the S/MIME body is base64")
}

/// A PKCS#12 file of `id` made by openssl with the legacy algorithms (PBE-SHA1-3DES, SHA-1
/// MAC): gpgsm 2.2 cannot read OpenSSL 3's PBES2/AES default, and NSS reads both.
fn pkcs12(dir: &Path, id: &Identity) -> PathBuf {
    let p12 = dir.join("identity.p12");
    let mut cmd = Command::new("openssl");
    cmd.args([
        "pkcs12",
        "-export",
        "-legacy",
        "-keypbe",
        "PBE-SHA1-3DES",
        "-certpbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
        "-name",
    ])
    .arg(&id.email)
    .arg("-inkey")
    .arg(&id.key)
    .arg("-in")
    .arg(&id.cert)
    .arg("-passout")
    .arg(format!("pass:{PASSPHRASE}"))
    .arg("-out")
    .arg(&p12);
    expect_success("openssl pkcs12 -export", exec(cmd, b""));
    p12
}

/// An NSS certificate database (`sql:` format, empty password) in `dir/nss`.
struct NssDb {
    arg: String,
    scratch: PathBuf,
}

impl NssDb {
    fn new(dir: &Path) -> NssDb {
        let path = dir.join("nss");
        std::fs::create_dir(&path).expect("nss db dir");
        let db = NssDb {
            arg: format!("sql:{}", path.display()),
            scratch: dir.to_path_buf(),
        };
        let mut cmd = Command::new("certutil");
        cmd.arg("-N").arg("-d").arg(&db.arg).arg("--empty-password");
        expect_success("certutil -N", exec(cmd, b""));
        db
    }

    fn import_identity(&self, id: &Identity) {
        let p12 = pkcs12(&self.scratch, id);
        let mut cmd = Command::new("pk12util");
        cmd.arg("-i")
            .arg(&p12)
            .arg("-d")
            .arg(&self.arg)
            .arg("-W")
            .arg(PASSPHRASE);
        expect_success("pk12util -i", exec(cmd, b""));
    }

    /// A CA certificate, trusted to issue S/MIME certificates (`-t ,C,`).
    fn import_anchor(&self, cert: &Path) {
        let mut cmd = Command::new("certutil");
        cmd.arg("-A")
            .arg("-d")
            .arg(&self.arg)
            .arg("-n")
            .arg(cert.display().to_string())
            .args(["-t", ",C,"])
            .arg("-i")
            .arg(cert);
        expect_success("certutil -A (anchor)", exec(cmd, b""));
    }

    fn import_cert(&self, id: &Identity) {
        let mut cmd = Command::new("certutil");
        cmd.arg("-A")
            .arg("-d")
            .arg(&self.arg)
            .arg("-n")
            .arg(&id.email)
            .args(["-t", ",,"])
            .arg("-i")
            .arg(&id.cert);
        expect_success("certutil -A", exec(cmd, b""));
    }
}

/// A gpgsm home in `dir/gnupg` with its own gpg-agent (started on demand by gpgsm, stopped on
/// drop). CRL checks and dirmngr are off: the test certificates are self-signed and offline.
struct GpgsmHome {
    home: PathBuf,
}

impl GpgsmHome {
    fn new(dir: &Path) -> GpgsmHome {
        let home = dir.join("gnupg");
        std::fs::create_dir(&home).expect("gpgsm home");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
                .expect("chmod gpgsm home");
        }
        write(
            &home.join("gpgsm.conf"),
            b"disable-crl-checks\ndisable-dirmngr\nno-common-certs-import\n",
        );
        GpgsmHome { home }
    }

    fn gpgsm(&self) -> Command {
        let mut cmd = Command::new("gpgsm");
        cmd.arg("--homedir").arg(&self.home).arg("--batch");
        cmd
    }

    /// gpgsm 2.2 takes the PKCS#12 passphrase only from `--passphrase-fd` (it has no
    /// `--passphrase`), and protects the imported key with the same passphrase.
    ///
    /// gpgsm 2.2's PKCS#12 key derivation (minip12.c `string_to_key`) writes `I_j + B + 1` back
    /// with `gcry_mpi_print`, which drops leading zero bytes, so for some salts it derives a wrong
    /// key from the right passphrase ("possibly bad passphrase given", or a data error in the
    /// key bag). With this passphrase about one file in ten fails so (the same file fails every
    /// time; the same key in a fresh file with a fresh salt imports). Up to eight fresh files
    /// tell that apart from a real failure, which fails every time.
    fn import_identity(&self, id: &Identity) {
        let mut said = String::new();
        for _ in 0..8 {
            let p12 = pkcs12(&self.home, id);
            let mut cmd = self.gpgsm();
            cmd.args([
                "--pinentry-mode",
                "loopback",
                "--passphrase-fd",
                "0",
                "--import",
            ])
            .arg(&p12);
            let out = exec(cmd, format!("{PASSPHRASE}\n").as_bytes());
            said = String::from_utf8_lossy(&out.stderr).into_owned();
            // gpgsm exits 0 even when the PKCS#12 part failed; the key count says whether it
            // worked.
            if out.status.success()
                && (said.contains("secret keys imported: 1")
                    || said.contains("secret keys unchanged: 1"))
            {
                return;
            }
        }
        panic!("gpgsm did not import the key of {}: {said}", id.email);
    }

    /// Import a recipient certificate and mark it a trusted root (it is self-signed): gpgsm
    /// encrypts only to certificates that chain to a root in the agent's trustlist.txt.
    fn import_and_trust_cert(&self, id: &Identity) {
        let mut cmd = self.gpgsm();
        cmd.arg("--import").arg(&id.cert);
        expect_success("gpgsm --import (certificate)", exec(cmd, b""));
        let mut cmd = Command::new("openssl");
        cmd.args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&id.cert);
        let out = expect_success("openssl x509 -fingerprint", exec(cmd, b""));
        let line = String::from_utf8_lossy(&out.stdout);
        let fingerprint = line
            .trim()
            .split_once('=')
            .map(|(_, fp)| fp.to_owned())
            .expect("openssl prints NAME=FINGERPRINT");
        use std::io::Write as _;
        let mut list = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.join("trustlist.txt"))
            .expect("trustlist.txt");
        writeln!(list, "{fingerprint} S relax").expect("trustlist.txt");
    }
}

impl Drop for GpgsmHome {
    fn drop(&mut self) {
        // The agent gpgsm started for this home would otherwise outlive the test.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .stdin(Stdio::null())
            .output();
    }
}

/// `java -cp CLASSES:JARS PeerTool` with PeerTool.java compiled once per source version.
fn peer_tool() -> Command {
    let classes = compiled_peer_tool();
    let mut cp = classes.display().to_string();
    for jar in BC_JARS {
        cp.push(':');
        cp.push_str(jar);
    }
    let mut cmd = Command::new("java");
    // One JIT tier and a small heap: each run is short and the machine is shared.
    cmd.args(["-XX:TieredStopAtLevel=1", "-Xmx256m", "-cp"])
        .arg(cp)
        .arg("PeerTool");
    cmd
}

/// Compiles PeerTool.java into `$CARGO_TARGET_TMPDIR/peertool-HASH` (HASH of the source, so an
/// edit recompiles and concurrent test binaries share one result) and returns that directory.
fn compiled_peer_tool() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        use sha2::Digest as _;
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/PeerTool.java");
        let text = read(&source);
        let hash: String = sha2::Sha256::digest(&text)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let classes = target.join(format!("peertool-{hash}"));
        if classes.join("PeerTool.class").is_file() {
            return classes;
        }
        let building = tempfile::Builder::new()
            .prefix("peertool-build")
            .tempdir_in(target)
            .expect("javac output dir");
        let mut cmd = Command::new("javac");
        cmd.arg("-Xlint:-path")
            .arg("-d")
            .arg(building.path())
            .arg("-cp")
            .arg(BC_JARS.join(":"))
            .arg(&source);
        expect_success("javac PeerTool.java", exec(cmd, b""));
        // Another test binary may have won the race; its classes are the same.
        if std::fs::rename(building.path(), &classes).is_err() {
            assert!(
                classes.join("PeerTool.class").is_file(),
                "could not place the compiled PeerTool in {}",
                classes.display()
            );
        }
        classes
    })
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sealmail-peer")
        .tempdir()
        .expect("scratch dir")
}

/// Runs `cmd` with `stdin` fed from a thread (so a large input cannot deadlock against the
/// output pipes).
fn exec(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write as _;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut input = child.stdin.take().expect("stdin pipe");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // A peer that refuses early closes its stdin; that is its answer, not ours.
        let _ = input.write_all(&data);
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {program}: {e}"));
    let _ = feeder.join();
    out
}

fn expect_success(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

// --- sealmail's side (the test crate's `common` module runs the binary) ------------------------

/// The MIME entity sealmail encrypts for the peers: text with LF line endings, so the peers
/// must see sealmail's canonical CRLF form.
pub const ENTITY: &[u8] = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHello from sealmail to its peers,\nGr\xc3\xbc\xc3\x9fe an Thunderbird, Outlook und gpgsm.\n\n-- \nsealmail interop test\n";

/// `sealmail encrypt --entity ARGS -r CERT...` of [`ENTITY`] in the default (S/MIME) form: the
/// message as sealmail wrote it.
pub fn sealmail_encrypt(args: &[&str], to: &[&Identity]) -> Vec<u8> {
    let mut cmd = crate::common::sealmail();
    cmd.args(["encrypt", "--entity"]).args(args);
    for id in to {
        cmd.arg("-r").arg(&id.cert);
    }
    let out = crate::common::run(cmd, ENTITY);
    assert!(
        out.status.success(),
        "sealmail encrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `sealmail decrypt -i KEY FILE`.
pub fn sealmail_decrypt(id: &Identity, message: &Path) -> Output {
    let mut cmd = crate::common::sealmail();
    cmd.arg("decrypt").arg("-i").arg(&id.key).arg(message);
    crate::common::run(cmd, b"")
}

/// A fresh `sealmail keygen` identity (RSA 2048) for `NAME@example.org` in `dir`: its
/// certificate advertises the AEADs and RSA-OAEP.
pub fn sealmail_keygen(dir: &Path, name: &str) -> Identity {
    let prefix = dir.join(name);
    let email = format!("{name}@example.org");
    let mut cmd = crate::common::sealmail();
    cmd.args(["keygen", "--bits", "2048", "--email", &email, "-o"])
        .arg(&prefix);
    let out = crate::common::run(cmd, b"");
    assert!(
        out.status.success(),
        "sealmail keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Identity {
        key: prefix.with_extension("key"),
        cert: prefix.with_extension("crt"),
        email,
    }
}

/// `sealmail decrypt -i KEY` of every fixture `peer` wrote, with each of its recipients' keys:
/// each gives back `plain.eml`, and says on stderr when the content had no integrity protection
/// (EnvelopedData) and only then.
pub fn assert_sealmail_reads_fixtures(peer: Peer) {
    let plain = read(&fixtures_dir().join("plain.eml"));
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    let fixtures = fixtures_by(peer);
    assert!(!fixtures.is_empty(), "no fixtures for {peer}");
    for (path, to_sam) in fixtures {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let aead = name.contains("gcm");
        for id in [&rita, &sam].into_iter().take(if to_sam { 2 } else { 1 }) {
            let out = sealmail_decrypt(id, &path);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name} ({}): {stderr}", id.email);
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&plain),
                "{name} ({})",
                id.email
            );
            assert_eq!(
                stderr.contains("sealmail: warning:"),
                !aead,
                "{name}: integrity warning expected only without an AEAD: {stderr}"
            );
        }
    }
}

/// `peer` encrypts [`ENTITY`] in canonical form to `rita` and `sam` with its defaults, live;
/// `sealmail decrypt --entity` gives it back with either key.
pub fn assert_sealmail_reads_peer_live(peer: Peer) {
    let (rita, sam) = (Identity::fixture("rita"), Identity::fixture("sam"));
    let dir = scratch();
    let path = dir.path().join("message.der");
    write(
        &path,
        &peer.encrypt(&[&rita, &sam], &crate::common::lf_to_crlf(ENTITY)),
    );
    for id in [&rita, &sam] {
        let mut cmd = crate::common::sealmail();
        cmd.args(["decrypt", "--entity", "-i"])
            .arg(&id.key)
            .arg(&path);
        let out = crate::common::run(cmd, b"");
        assert!(
            out.status.success(),
            "{peer} -> sealmail ({}): {}",
            id.email,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(ENTITY),
            "{peer} -> sealmail ({})",
            id.email
        );
    }
}

/// Each identity of `to` reads, with `peer`, what sealmail wrote for all of `to` by default
/// (`--cipher auto`): the DER inside the S/MIME message, then `--outform der` of a message
/// streamed from a pipe (BER, indefinite lengths).
pub fn assert_peer_reads_sealmail_default(peer: Peer, to: &[&Identity]) {
    let message = smime_to_der(&sealmail_encrypt(&[], to));
    let expected = crate::common::lf_to_crlf(ENTITY);
    for id in to {
        let got = peer
            .decrypt(id, &message)
            .unwrap_or_else(|e| panic!("{} (S/MIME): {e}", id.email));
        assert_eq!(got, expected, "{} (S/MIME)", id.email);
    }
    // Larger than sealmail's read-ahead, from stdin: the envelope is BER with a chunked
    // OCTET STRING, as a mail client streaming a large attachment would send it.
    let mut entity =
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n".to_vec();
    let head = entity.len();
    entity.extend((0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let mut cmd = crate::common::sealmail();
    cmd.args(["encrypt", "--entity", "--outform", "der"]);
    for id in to {
        cmd.arg("-r").arg(&id.cert);
    }
    let out = crate::common::run(cmd, &entity);
    assert!(
        out.status.success(),
        "sealmail encrypt (stream): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = crate::common::lf_to_crlf(&entity[..head]);
    expected.extend_from_slice(&entity[head..]);
    let got = peer
        .decrypt(to[0], &out.stdout)
        .unwrap_or_else(|e| panic!("{} (BER stream): {e}", to[0].email));
    assert!(got == expected, "{peer} read the BER stream wrongly");
}
