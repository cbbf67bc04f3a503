use rbk_compiler::diagnostics::Code;

use crate::exit;

pub fn run(code: &str) -> u8 {
    match Code::parse(code) {
        Some(code) => {
            print!("{}", code.explanation());
            exit::OK
        }
        None => {
            eprintln!("error: `{code}` is not a diagnostic code");
            eprintln!(
                "help: codes look like E0301 or W0102; docs/diagnostics/README.md lists them all"
            );
            exit::USAGE
        }
    }
}
