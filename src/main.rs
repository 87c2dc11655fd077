//! The sealmail binary: parse the command line, run it, print any error and exit with its
//! sysexits(3) code. Nothing else lives here.

use clap::{CommandFactory, Parser};
use sealmail::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let request = match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "sealmail",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        command => command.into_request(),
    };
    let Some(request) = request else {
        return ExitCode::SUCCESS;
    };
    match sealmail::app::run(request) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sealmail: error: {}", err.message());
            if let Some(hint) = err.hint() {
                eprintln!("sealmail: hint: {hint}");
            }
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// clap's own errors: help and version go to stdout with 0; anything else is a usage error, 64,
/// reported on one line like every other error.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{}", err.render());
            ExitCode::from(64)
        }
        _ => {
            let rendered = err.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid usage");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("sealmail: error: {first}");
            eprintln!("sealmail: hint: see 'sealmail --help' (or 'sealmail COMMAND --help')");
            ExitCode::from(64)
        }
    }
}
