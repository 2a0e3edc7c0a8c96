use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a proxied `invokeTemplate` call makes a few hundred
/// small allocations, and glibc's `malloc`/`free` took about 8 % of the server's CPU time
/// under load (perf, `scripts/bench-proxy`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fdk_emu::cli::Cli::parse();
    fdk_emu::commands::dispatch(cli)
}
