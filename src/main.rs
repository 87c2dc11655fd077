//! The sealmail binary: parse the command line, run it, print any error and exit with its
//! sysexits(3) code. Nothing else lives here.

use clap::CommandFactory;
use sealmail::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
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
/// reported on one line like every other error, with the valid values when clap knows them.
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
            let (message, hint) = describe(&err);
            eprintln!("sealmail: error: {message}");
            eprintln!("sealmail: hint: {hint}");
            ExitCode::from(64)
        }
    }
}

/// The one-line message and the hint for a clap error. clap's rendering puts the valid values
/// and its suggestions on later lines; they are taken from the error's context instead.
fn describe(err: &clap::Error) -> (String, String) {
    use clap::error::{ContextKind, ContextValue};
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid usage");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if let Some(ContextValue::Strings(valid)) = err.get(ContextKind::ValidValue) {
        message = format!("{message}; valid values: {}", valid.join(", "));
    }
    let suggestion = [ContextKind::SuggestedValue, ContextKind::SuggestedArg]
        .into_iter()
        .find_map(|kind| match err.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join(", ")),
            _ => None,
        });
    let hint = match suggestion {
        Some(s) => format!("did you mean '{s}'? See 'sealmail COMMAND --help'"),
        None => "see 'sealmail --help' (or 'sealmail COMMAND --help')".to_string(),
    };
    (message, hint)
}
