//! `rbk new FILE --template NAME [--set KEY=VALUE]…` scaffolds a runbook from a template shipped
//! in the binary; `rbk new --list` lists them. The templates live in `rbk-import`.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use rbk_import::templates;

use super::check::usage_error;
use crate::exit;
use crate::workspace::describe_io;

pub struct NewArgs {
    pub file: PathBuf,
    pub template: String,
    pub set: Vec<String>,
    pub force: bool,
}

pub fn list() -> u8 {
    for template in templates::shipped() {
        println!("{}", template.name);
        println!("  {}", template.about);
        for param in &template.params {
            println!(
                "  --set {}=VALUE   {} (default {})",
                param.name, param.about, param.default
            );
        }
        println!();
    }
    println!("use: rbk new FILE.rbk --template NAME [--set KEY=VALUE]…");
    exit::OK
}

pub fn scaffold(args: NewArgs) -> u8 {
    let Some(template) = templates::find(&args.template) else {
        let names: Vec<String> = templates::shipped().into_iter().map(|t| t.name).collect();
        return usage_error(format!(
            "no template named `{}`; the templates are: {} (`rbk new --list` describes them)",
            args.template,
            names.join(", ")
        ));
    };
    let mut values = BTreeMap::new();
    for pair in &args.set {
        let Some((key, value)) = pair.split_once('=') else {
            return usage_error(format!("`--set {pair}`: write it as KEY=VALUE"));
        };
        values.insert(key.trim().to_string(), value.trim().to_string());
    }
    let text = match template.fill(&values) {
        Ok(text) => text,
        Err(message) => return usage_error(&message),
    };
    if args.file.exists() && !args.force {
        return usage_error(format!(
            "{} exists; not overwritten (use --force to replace it)",
            args.file.display()
        ));
    }
    if let Some(parent) = args.file.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Err(error) = fs::create_dir_all(parent) {
            return usage_error(format!("{}: {}", parent.display(), describe_io(&error)));
        }
    }
    if let Err(error) = fs::write(&args.file, text) {
        return usage_error(format!("{}: {}", args.file.display(), describe_io(&error)));
    }
    println!(
        "wrote {} from template {}; next: rbk check {} && rbk test {}",
        args.file.display(),
        template.name,
        args.file.display(),
        args.file.display()
    );
    exit::OK
}
