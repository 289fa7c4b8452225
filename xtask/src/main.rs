//! `cargo xtask gen`: rewrite the man page and completions under packaging/ from the clap
//! definition. `cargo xtask check`: exit 1 if they are out of date.

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <gen|check>\n  \
         gen    rewrite packaging/man/ and packaging/completions/ from src/flags/definition.rs\n  \
         check  fail if those files are out of date"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = xtask::repo_root();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen"] => match xtask::write_all(&root) {
            Ok(changed) if changed.is_empty() => {
                println!("generated files are up to date");
                ExitCode::SUCCESS
            }
            Ok(changed) => {
                for path in changed {
                    println!("wrote {path}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask gen: {e}");
                ExitCode::FAILURE
            }
        },
        ["check"] => {
            let stale = xtask::stale(&root);
            if stale.is_empty() {
                println!("generated files are up to date");
                return ExitCode::SUCCESS;
            }
            for s in &stale {
                eprintln!("{s}");
            }
            eprintln!("run `{}` and commit the result", xtask::REGEN_COMMAND);
            ExitCode::FAILURE
        }
        _ => usage(),
    }
}
