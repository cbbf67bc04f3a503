//! `rbk lsp` driven by a language client this project did not write: pytest-lsp (on pygls)
//! runs `editors/lsp-client-test/` against the binary cargo built. This test makes a virtual
//! environment under the target directory (`lsp-client-venv`), installs
//! `editors/lsp-client-test/requirements.txt` into it when the environment is missing or the
//! requirements changed, and runs pytest with `RBK_BIN` set. Python 3 with `venv` and `pip` is
//! required: without them the test fails, it does not skip.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REQUIREMENTS: &str = "editors/lsp-client-test/requirements.txt";

fn rbk_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rbk"))
}

/// The cargo target directory: CARGO_TARGET_DIR if set, else two levels above the binary
/// (`<target>/<profile>/rbk`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return support::repo_root().join(dir);
    }
    rbk_bin()
        .parent()
        .and_then(Path::parent)
        .expect("the rbk binary lies in <target>/<profile>/")
        .to_path_buf()
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn output_text(output: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `command`; panics with `what` and the command's output unless it succeeds.
fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{what}: {command:?} exited with {}\n{}",
            output.status,
            output_text(&output)
        );
    }
    output
}

/// The system Python 3 that makes the environment: RBK_PYTHON, else `python3`, else `python`.
fn system_python() -> String {
    let candidates: Vec<String> = match std::env::var("RBK_PYTHON") {
        Ok(python) => vec![python],
        Err(_) => vec!["python3".into(), "python".into()],
    };
    for python in &candidates {
        let version = Command::new(python)
            .args(["-c", "import sys; print(sys.version_info[0])"])
            .output();
        if let Ok(output) = version {
            if output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "3" {
                return python.clone();
            }
        }
    }
    panic!(
        "the LSP client test needs Python 3 with venv and pip (it installs pytest-lsp from \
         PyPI), and none of {candidates:?} is a working Python 3; install python3 and \
         python3-venv, or set RBK_PYTHON to a Python 3 interpreter"
    );
}

/// Holds an exclusive lock on `<venv>.lock` while alive, so that two `cargo test` runs
/// sharing a target directory do not build the environment at the same time.
struct Lock(#[allow(dead_code)] fs::File);

fn lock(path: &Path) -> Lock {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a file descriptor this function owns; released when it closes.
        let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(status, 0, "locking {}", path.display());
    }
    Lock(file)
}

/// The environment with the pinned requirements, made or updated if needed; returns its Python.
fn client_environment() -> PathBuf {
    let target = target_dir();
    fs::create_dir_all(&target).expect("the target directory exists");
    let venv = target.join("lsp-client-venv");
    let _lock = lock(&target.join("lsp-client-venv.lock"));
    let requirements_path = support::repo_root().join(REQUIREMENTS);
    let requirements = fs::read_to_string(&requirements_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", requirements_path.display()));
    // The stamp holds the requirements the environment was made from, written last: a
    // missing or different stamp (an interrupted install, edited requirements) means rebuild.
    let stamp = venv.join("rbk-requirements.txt");
    let python = venv_python(&venv);
    if python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements) {
        return python;
    }
    let system = system_python();
    run(
        Command::new(&system)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "making the Python environment for the LSP client test (is the venv module installed? \
         on Debian: apt-get install python3-venv)",
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "-r",
            ])
            .arg(&requirements_path),
        "installing pytest-lsp and its pinned dependencies from PyPI with pip",
    );
    fs::write(&stamp, &requirements).expect("writing the requirements stamp");
    python
}

#[test]
fn pytest_lsp_client_drives_rbk_lsp() {
    let python = client_environment();
    let output = Command::new(&python)
        .args(["-m", "pytest", "editors/lsp-client-test", "-q"])
        .current_dir(support::repo_root())
        .env("RBK_BIN", rbk_bin())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", python.display()));
    let text = output_text(&output);
    assert!(
        output.status.success(),
        "pytest-lsp against `rbk lsp` failed ({}):\n{text}",
        output.status
    );
    // Every test ran: none skipped, none deselected.
    let summary = String::from_utf8_lossy(&output.stdout)
        .lines()
        .rev()
        .find(|line| line.contains(" passed"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no pytest summary line:\n{text}"));
    assert!(
        !summary.contains("skipped") && !summary.contains("deselected"),
        "{summary}\n{text}"
    );
}
