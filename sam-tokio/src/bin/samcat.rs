//! `samcat`: netcat and tunnels over I2P (`cargo install sam-tokio --features cli`); see
//! `samcat --help`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    sam_tokio::cli::main()
}
