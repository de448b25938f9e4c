//! The `keyseal` binary: parse the arguments, run one command, map the outcome to an exit
//! status (0 success, 1 verification failed, 2 usage, input or service error).

use clap::Parser;
use keyseal::cli::{self, Cli, Outcome, output};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Cli::parse();
    let api_errors = args.speaks_api();
    let status = match cli::run(args) {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::VerificationFailed) => 1,
        Err(err) => {
            cli::print_error(&err, api_errors);
            2
        }
    };
    // A reader that went away (`| head`) ends the command quietly; a full disk is said.
    // Either way the output is incomplete, so success is not claimed.
    match output::finish() {
        Ok(()) => ExitCode::from(status),
        Err(kind) => {
            if kind != std::io::ErrorKind::BrokenPipe {
                keyseal::errln!("keyseal: error [cannot-write]: cannot write to standard output: {kind}");
            }
            ExitCode::from(status.max(2))
        }
    }
}
