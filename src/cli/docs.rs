//! `keyseal completions SHELL` and `keyseal man`: shell completion scripts and man pages
//! generated from the clap definitions themselves (clap_complete, clap_mangen), so they
//! can never fall out of step with the flags. Neither opens the store or needs the
//! passphrase: packagers run them at build time.

use crate::cli::{Cli, Outcome};
use crate::kms::error::KmsError;
use crate::quote::quote_path;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::path::{Path, PathBuf};

/// `keyseal completions` flags.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  keyseal completions bash > ~/.local/share/bash-completion/completions/keyseal
  keyseal completions zsh > ~/.zfunc/_keyseal      # with fpath+=(~/.zfunc) before compinit
  keyseal completions fish > ~/.config/fish/completions/keyseal.fish
  keyseal completions powershell >> $PROFILE
  keyseal completions elvish >> ~/.config/elvish/rc.elv

Open a new shell afterwards; `keyseal k<TAB>` then completes to `keyseal kms`.")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `keyseal man` flags.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  keyseal man | man -l -
  keyseal man > ~/.local/share/man/man1/keyseal.1
  keyseal man --out-dir ~/.local/share/man/man1    # then: man keyseal-kms-asymmetric-sign

The page for keyseal lists its commands; --out-dir also writes one page per command
(keyseal-kms.1, keyseal-kms-create-key.1, keyseal-sign.1, ...), named as `man` looks
them up.")]
pub struct ManArgs {
    /// Write keyseal.1 and one page per command into this directory (created if needed)
    /// instead of printing keyseal's page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Prints the completion script for one shell.
pub fn completions(args: CompletionsArgs) -> Result<Outcome, KmsError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "keyseal", &mut script);
    print_bytes(&script);
    Ok(Outcome::Success)
}

/// Prints keyseal's man page, or writes every page into `--out-dir`.
pub fn man(args: ManArgs) -> Result<Outcome, KmsError> {
    match args.out_dir {
        Some(dir) => write_pages(&dir)?,
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(man_command())
                .render(&mut page)
                .map_err(|e| KmsError::internal(format!("cannot render the man page: {e}")))?;
            print_bytes(&page);
        }
    }
    Ok(Outcome::Success)
}

/// The command line as the man pages describe it: without clap's `help` subcommand, which
/// has no page of its own (`generate_to` drops it too), so the top page names no page
/// that is not there.
fn man_command() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

fn write_pages(dir: &Path) -> Result<(), KmsError> {
    let cannot =
        |e: std::io::Error| KmsError::invalid("--out-dir", format!("cannot write into {}: {e}", quote_path(dir)));
    std::fs::create_dir_all(dir).map_err(cannot)?;
    let mut command = man_command();
    command.build();
    write_page_tree(command, dir).map_err(cannot)?;
    crate::outln!("wrote the keyseal man pages into {}", quote_path(dir));
    Ok(())
}

/// A page for `command` and each of its visible subcommands, named as
/// `clap_mangen::generate_to` names them (`keyseal-kms.1`), each written with
/// `safe_write` so that a link planted in the directory is not written through.
fn write_page_tree(command: clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        write_page_tree(sub, dir)?;
    }
    let man = clap_mangen::Man::new(command);
    let mut page = Vec::new();
    man.render(&mut page)?;
    let path = dir.join(man.get_filename());
    crate::safe_write::write_file(&path, &page, false)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", quote_path(&path))))
}

/// Generated text on stdout, through `output` so that `| head` ends quietly.
fn print_bytes(bytes: &[u8]) {
    crate::cli::output::write_stdout(format_args!("{}", String::from_utf8_lossy(bytes)));
}
