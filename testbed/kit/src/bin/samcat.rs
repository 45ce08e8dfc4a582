//! sam-tokio's `samcat` (the same one line as sam-tokio/src/bin/samcat.rs), built in the kit as
//! `samcat-kit` so that tests/samcat_tokio.rs runs the code `cargo install sam-tokio --features
//! cli` ships (CARGO_BIN_EXE_samcat-kit; the name differs to avoid a collision in target/).

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sam_tokio::cli::main()
}
