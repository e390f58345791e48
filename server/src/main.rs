//! The `wijklog` binary: a thin wrapper around [`wijklog_server::cli`].

fn main() -> std::process::ExitCode {
    wijklog_server::cli::main()
}
