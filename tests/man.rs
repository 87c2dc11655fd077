//! `man/sealmail.1` is generated from the clap definition; this test fails when the committed
//! page no longer matches the CLI. Regenerate with:
//!
//!     SEALMAIL_UPDATE_MAN=1 cargo test --test man

use clap::CommandFactory;
use sealmail::cli::Cli;
use std::io::Write;
use std::path::Path;

fn render() -> Vec<u8> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone())
        .date("")
        .source(format!("sealmail {}", env!("CARGO_PKG_VERSION")));
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    // One page for the whole tool: each command's synopsis, options and examples follow.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("sealmail {}", sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase()).unwrap();
        let sub_man = clap_mangen::Man::new(sub.clone().name(name.clone()).bin_name(name));
        let mut section = Vec::new();
        sub_man.render_synopsis_section(&mut section).unwrap();
        sub_man.render_description_section(&mut section).unwrap();
        sub_man.render_options_section(&mut section).unwrap();
        sub_man.render_extra_section(&mut section).unwrap();
        // Demote the sub-page's own sections to subsections of this one.
        let section = String::from_utf8(section).unwrap().replace(".SH ", ".SS ");
        out.extend(section.as_bytes());
    }
    man.render_extra_section(&mut out).unwrap();
    out.extend(STATIC_SECTIONS.as_bytes());
    man.render_version_section(&mut out).unwrap();
    out
}

/// What clap does not know: the sections a man page reader looks for after the options.
const STATIC_SECTIONS: &str = r#".SH "EXIT STATUS"
sealmail exits with the codes of sysexits(3), which mail software (Postfix pipe, procmail) acts on:
.TP
.B 0
success
.TP
.B 64
usage error: a bad flag or value, a compose address that is not an address list, a Bcc field with \-\-header\-recipients
.TP
.B 65
the input is not a message, not S/MIME or malformed, the integrity check failed, a signature is invalid, or \-\-require\-aead refused a message without integrity protection
.TP
.B 66
an input, key or certificate file does not exist or cannot be read
.TP
.B 67
a recipient address has no certificate in the keyring
.TP
.B 73
the output file cannot be created
.TP
.B 74
an I/O error while reading or writing (a closed pipe included)
.TP
.B 77
none of the identities can decrypt the message; a wrong passphrase for a PKCS#12 file; a valid signature by a signer who is not trusted (verify, decrypt \-\-require\-trusted, which also refuses an unsigned message)
.TP
.B 78
a key or certificate is unusable, or an address has untrusted certificates with different keys in the keyring
.PP
Errors are one line on standard error, \fBsealmail: error: ...\fR, maybe followed by \fBsealmail: hint: ...\fR; nothing is written to standard output on failure (the first 8 MiB of output are held until the run succeeds; encrypt of a regular file larger than that writes as it seals, and \-o FILE never leaves a partial file).
.SH ENVIRONMENT
.TP
.B SEALMAIL_KEYRING
the keyring folder for recipient addresses when \-\-keyring is not given
.TP
.B SEALMAIL_IDENTITY
private keys for decrypt when \-i is not given (several paths separated by \fB:\fR)
.TP
.B SEALMAIL_PASSPHRASE
the key passphrase when neither \-\-passphrase\-file nor \-\-passphrase\-fd is given
.TP
.B SEALMAIL_REQUIRE_AEAD
set to 1: decrypt refuses messages without integrity protection, as \-\-require\-aead does
.TP
.B SSL_CERT_FILE, SSL_CERT_DIR
the system trust anchors (default \fI/etc/ssl/certs\fR)
.TP
.B XDG_CONFIG_HOME
where the default keyring and keys folders are (default \fI~/.config\fR)
.TP
.B HOME
the base of the default folders, and of neomutt\-index's \fI~/.smime\fR
.SH FILES
.TP
.I $XDG_CONFIG_HOME/sealmail/certs/
the default keyring: recipients' certificates (*.crt, *.pem, *.cer, *.der), matched by email address
.TP
.I KEYRING/pinned/
certificates trusted as they are (pinned), whoever issued them
.TP
.I KEYRING/ADDRESS.caps
what ADDRESS reads (one cipher name a line), which decides \-\-cipher auto; written by verify \-\-import
.TP
.I $XDG_CONFIG_HOME/sealmail/ca/
trust anchors besides the system store and \-\-ca
.TP
.I $XDG_CONFIG_HOME/sealmail/keys/
the default private keys for decrypt (folder 0700, files 0600)
.TP
.I ~/.smime/certificates/.index, ~/.smime/keys/.index
neomutt's S/MIME index files, written by \fBsealmail neomutt\-index\fR
.SH EXAMPLES
Encrypt a message file and send it:
.PP
.nf
.RS
sealmail encrypt \-r ops.crt report.eml | sendmail \-t
.RE
.fi
.PP
Compose from a CI job: the body is INPUT (or stdin), one \-\-attach per file, address lists in \-\-to:
.PP
.nf
.RS
sealmail encrypt summary.txt \-r ops.crt \-o sealed.eml \\
  \-\-from ci@example.org \-\-to 'ops@example.org, dev@example.org' \\
  \-\-subject 'build 42' \-\-attach build.log \-\-attach report.xml
sendmail \-t < sealed.eml
.RE
.fi
.PP
A sendmail filter that sends nothing when sealmail fails (its exit code becomes the filter's):
.PP
.nf
.RS
sealed=$(mktemp) || exit 75
trap 'rm \-f "$sealed"' EXIT
sealmail encrypt \-\-header\-recipients \-o "$sealed" || exit $?
/usr/sbin/sendmail \-G \-i \-f "$sender" \-\- "$@" < "$sealed"
.RE
.fi
.PP
Set up neomutt (README.md has the whole muttrc):
.PP
.nf
.RS
sealmail neomutt\-index alice.key bob.crt
.RE
.fi
.SH "SEE ALSO"
openssl\-cms(1), gpgsm(1), neomutt(1), sendmail(8), sysexits(3); RFC 8551 (S/MIME 4.0), RFC 5652 and RFC 5083 (CMS, AuthEnvelopedData), RFC 9788 (header protection).
"#;

#[test]
fn man_page_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/sealmail.1");
    let fresh = render();
    if std::env::var_os("SEALMAIL_UPDATE_MAN").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "man/sealmail.1 is stale: regenerate it with `SEALMAIL_UPDATE_MAN=1 cargo test --test man`"
    );
}

#[test]
fn man_page_documents_every_command_and_exit_codes() {
    let page = String::from_utf8(render()).unwrap();
    for word in [
        "sealmail encrypt",
        "sealmail decrypt",
        "sealmail keygen",
        "sealmail inspect",
        "\\-\\-recipient",
        "\\-\\-identity",
        "sysexits",
        "sealmail neomutt\\-index",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
        ".SH \"SEE ALSO\"",
        "SEALMAIL_KEYRING",
    ] {
        assert!(page.contains(word), "man page lacks {word}");
    }
}
