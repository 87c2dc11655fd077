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
    man.render_version_section(&mut out).unwrap();
    out
}

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
    ] {
        assert!(page.contains(word), "man page lacks {word}");
    }
}
