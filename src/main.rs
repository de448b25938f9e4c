//! The `keyseal` binary: parse the arguments, run one command, map the outcome to an exit
//! status (0 success, 1 verification failed, 2 usage, input or service error).
#![forbid(unsafe_code)]

use clap::Parser;
use keyseal::cli::{self, Cli, Outcome};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Cli::parse();
    let api_errors = args.speaks_api();
    match cli::run(args) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::VerificationFailed) => ExitCode::from(1),
        Err(err) => {
            cli::print_error(&err, api_errors);
            ExitCode::from(2)
        }
    }
}
