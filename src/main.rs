use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fdk_emu::cli::Cli::parse();
    fdk_emu::commands::dispatch(cli)
}
