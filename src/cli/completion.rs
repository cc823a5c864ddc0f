//! `rcompose completion <shell>`: a shell completion script on stdout.

use super::{Cli, CliError};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

/// The arguments of `rcompose completion`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for
    pub shell: Shell,
}

/// Writes the completion script for `args.shell`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<(), CliError> {
    // Generated into memory first: clap_complete panics when its writer fails (for
    // example on a closed pipe), and a write error should be an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "rcompose", &mut script);
    out.write_all(&script).map_err(CliError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        run(&Args { shell }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn scripts_complete_the_verbs_and_global_options() {
        let bash = script(Shell::Bash);
        assert!(bash.contains("_rcompose()"), "{bash}");
        assert!(bash.contains("--project-directory"));
        assert!(script(Shell::Zsh).starts_with("#compdef rcompose"));
        assert!(script(Shell::Fish).contains("complete -c rcompose"));
    }

    #[test]
    fn scripts_do_not_offer_planned_verbs() {
        let bash = script(Shell::Bash);
        assert!(bash.contains("rcompose__subcmd__version"), "{bash}");
        assert!(bash.contains("rcompose__subcmd__up"), "{bash}");
        assert!(!bash.contains("rcompose__subcmd__pull"));
    }
}
