//! Files that are not what they seem: a FIFO or a device given as a source or named by `use`
//! (reading either would never end), a symbolic link looping back up a walked directory, a
//! module used by hundreds of others, and a file with a hundred thousand errors.

mod support;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rbk_compiler::{check, CheckOptions, ModuleLoader};
use support::rbk_in;

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rbk-hostile-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

const HELLO: &str = "runbook hello {\n  title \"Hello\"\n  step greet {\n    log \"hi\"\n  }\n}\n";

#[test]
fn a_fifo_or_device_on_the_command_line_is_refused_not_read_forever() {
    let dir = scratch("fifo-arg");
    mkfifo(&dir.join("pipe.rbk"));
    for target in ["pipe.rbk", "/dev/zero"] {
        for command in [
            vec!["check"],
            vec!["fmt", "--check"],
            vec!["plan"],
            vec!["test"],
            vec!["run", "--dry-run"],
        ] {
            let mut args = command.clone();
            args.push(target);
            let run = rbk_in(&dir, &args);
            assert_eq!(run.status, 2, "rbk {}: {}", args.join(" "), run.stderr);
            assert!(
                run.stderr.contains("not a regular file"),
                "rbk {}: {}",
                args.join(" "),
                run.stderr
            );
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_fifo_in_a_walked_directory_is_refused_not_read_forever() {
    let dir = scratch("fifo-walk");
    fs::write(dir.join("a.rbk"), HELLO).unwrap();
    mkfifo(&dir.join("b.rbk"));
    let run = rbk_in(&dir, &["check", "."]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("b.rbk"), "{}", run.stderr);
    assert!(run.stderr.contains("FIFO"), "{}", run.stderr);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_use_of_a_fifo_or_device_is_diagnosed_not_read_forever() {
    let dir = scratch("fifo-use");
    mkfifo(&dir.join("pipe.rbk"));
    fs::create_dir_all(dir.join("folder.rbk")).unwrap();
    for target in ["./pipe.rbk", "/dev/zero", "./folder.rbk"] {
        fs::write(
            dir.join("main.rbk"),
            format!("use \"{target}\" as m\n\n{HELLO}"),
        )
        .unwrap();
        let run = rbk_in(&dir, &["check", "--format", "json", "main.rbk"]);
        assert_eq!(run.status, 1, "use {target}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("E0107"), "use {target}: {}", run.stdout);
    }
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_in_a_walked_directory_is_walked_once() {
    let dir = scratch("symlink-loop");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/a.rbk"), HELLO).unwrap();
    // sub/again -> sub, sub/up -> the root: both loop back.
    std::os::unix::fs::symlink(dir.join("sub"), dir.join("sub/again")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/up")).unwrap();
    let run = rbk_in(&dir, &["check", "."]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ok: 1 file checked"), "{}", run.stdout);
    let _ = fs::remove_dir_all(&dir);
}

/// Serves local modules from memory and counts how often each is read.
struct CountingLoader {
    modules: HashMap<PathBuf, String>,
    reads: RefCell<HashMap<PathBuf, usize>>,
}

impl ModuleLoader for CountingLoader {
    fn std_module(&self, name: &str) -> Option<String> {
        rbk_stdlib::module_source(name).map(str::to_string)
    }
    fn std_module_names(&self) -> Vec<String> {
        rbk_stdlib::module_names().map(str::to_string).collect()
    }
    fn local_module(
        &self,
        from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), rbk_compiler::ModuleUnavailable> {
        let path = rbk_compiler::source_files::local_module_path(from, relative);
        *self.reads.borrow_mut().entry(path.clone()).or_default() += 1;
        match self.modules.get(&path) {
            Some(text) => Ok((path, text.clone())),
            None => Err(rbk_compiler::ModuleUnavailable::NotFound),
        }
    }
}

#[test]
fn a_module_used_by_hundreds_of_others_is_read_once() {
    // 300 modules each use `common` and the module before them (a chain of diamonds); the
    // root uses all of them.
    let count = 300;
    let mut modules = HashMap::new();
    modules.insert(
        PathBuf::from("w/common.rbk"),
        "fn base() -> int {\n  return 1\n}\n".to_string(),
    );
    for i in 0..count {
        let previous = if i == 0 {
            String::new()
        } else {
            format!("use \"./m{}.rbk\" as p\n", i - 1)
        };
        modules.insert(
            PathBuf::from(format!("w/m{i}.rbk")),
            format!(
                "use \"./common.rbk\" as c\n{previous}fn f{i}() -> int {{\n  return c.base()\n}}\n"
            ),
        );
    }
    let root: String = (0..count)
        .map(|i| format!("use \"./m{i}.rbk\" as m{i}\n"))
        .collect();
    let loader = CountingLoader {
        modules,
        reads: RefCell::new(HashMap::new()),
    };
    let analysis = check(
        vec![(PathBuf::from("w/main.rbk"), root)],
        &loader,
        &CheckOptions::default(),
    );
    assert!(!analysis.has_errors(), "{:#?}", analysis.diagnostics);
    let reads = loader.reads.borrow();
    assert_eq!(reads.len(), count + 1);
    let reread: Vec<_> = reads.iter().filter(|(_, &n)| n > 1).collect();
    assert!(reread.is_empty(), "read more than once: {reread:?}");
    // Each module is one file of the analysis, checked once.
    assert_eq!(
        analysis
            .files
            .iter()
            .filter(|f| f.path.starts_with("w"))
            .count(),
        count + 2
    );
}

#[test]
fn human_output_of_many_diagnostics_points_at_their_lines() {
    // The renderer is handed only the lines around each diagnostic; line numbers must still be
    // the file's, for the first diagnostic and the last of thousands.
    let dir = scratch("many-diagnostics");
    let count = 5_000;
    let body: String = (0..count)
        .map(|i| format!("    let x{i} = nope{i}\n"))
        .collect();
    fs::write(
        dir.join("many.rbk"),
        format!("runbook r {{\n  title \"t\"\n  step s {{\n{body}  }}\n}}\n"),
    )
    .unwrap();
    let run = rbk_in(&dir, &["check", "many.rbk"]);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.stdout.matches("E0101").count(),
        count,
        "{}",
        &run.stdout[..2000]
    );
    assert!(
        run.stdout.contains("[many.rbk:4:14]"),
        "{}",
        &run.stdout[..2000]
    );
    let last_line = 4 + count - 1;
    assert!(
        run.stdout.contains(&format!("[many.rbk:{last_line}:")),
        "{}",
        &run.stdout[run.stdout.len() - 2000..]
    );
    assert!(run.stdout.contains(&format!(
        "{last_line} │     let x{} = nope{}",
        count - 1,
        count - 1
    )));
    let _ = fs::remove_dir_all(&dir);
}
