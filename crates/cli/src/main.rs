//! `nta`: the command line. Argument parsing and wiring only; the work is in the library crates.

mod args;
mod commands;
mod history;
mod rules;
mod serve;
mod store;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg.push_str(": ");
                    msg.push_str(&c);
                }
            }
            eprintln!("nta: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The reader of our output went away (`nta read x.pcap | head`): stop quietly, as Unix tools do.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<nta_engine::EngineError>().is_some_and(|ee| {
                matches!(ee, nta_engine::EngineError::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}
