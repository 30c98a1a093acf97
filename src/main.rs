//! The `devproxy` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser;
use devproxy::cli::Cli;

/// mimalloc: a proxied request allocates and frees a few dozen small objects, often on
/// different threads, where glibc's malloc is slow; transparent huge pages are off for its
/// memory (`no_thp`), which keeps idle memory small. The measurements are in bench/README.md.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => devproxy::cli::run(cli),
        Err(e) => {
            let _ = e.print();
            // clap: 0 for --help and --version, 2 for usage errors.
            ExitCode::from(e.exit_code().clamp(0, 255) as u8)
        }
    }
}
