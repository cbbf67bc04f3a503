//! Where `secret("X")` finds `X`: the process environment first, then the files `rbk.toml`
//! names (`[secrets.files] X = "path"`, then the file `X` in `[secrets] dir`, as a Kubernetes
//! secret volume lays them out).
//!
//! The environment comes first so an operator can override a mounted secret for one run
//! without touching the mount. An empty variable counts as unset (an empty secret is never
//! right, and it lets a mounted file answer). A file's trailing line breaks are not part of the
//! secret (`echo token > file` writes one). Errors say where rbk looked and why a file could
//! not be read, and never quote a file's contents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rbk_compiler::config::ProjectConfig;

use crate::approval::Environment;

/// A secret file larger than this is refused: it is not a secret but a mistake (a log, a disk
/// image), and reading it whole would hold it in memory and mask with it.
pub const LARGEST_SECRET_FILE: u64 = 1024 * 1024;

/// The files a project keeps secrets in, paths made absolute against its rbk.toml.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretFiles {
    /// One file per secret, named as the secret.
    pub dir: Option<PathBuf>,
    /// A file for one secret.
    pub files: BTreeMap<String, PathBuf>,
}

impl SecretFiles {
    /// `[secrets]` of `config`, relative paths taken from `base` (the rbk.toml's directory).
    pub fn from_config(config: &ProjectConfig, base: &Path) -> SecretFiles {
        let Some(secrets) = &config.secrets else {
            return SecretFiles::default();
        };
        SecretFiles {
            dir: secrets.dir.as_ref().map(|dir| base.join(dir)),
            files: secrets
                .files
                .iter()
                .map(|(name, path)| (name.clone(), base.join(path)))
                .collect(),
        }
    }

    /// The secret `name` from its file: `Ok(None)` when no file is meant for it, `Err` when
    /// one is and cannot be read.
    pub fn read(&self, name: &str) -> Result<Option<String>, SecretError> {
        if let Some(path) = self.files.get(name) {
            return read_secret_file(name, path, SecretOrigin::Named).map(Some);
        }
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        if !is_plain_file_name(name) {
            return Ok(None);
        }
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            _ => read_secret_file(name, &path, SecretOrigin::Dir).map(Some),
        }
    }

    /// Where [`SecretFiles::read`] looked for `name` and found nothing, for the message.
    fn searched(&self, name: &str) -> Option<String> {
        let dir = self.dir.as_ref()?;
        Some(if !is_plain_file_name(name) {
            format!(
                "and `{name}` is not a plain file name, so [secrets] dir {} was not searched",
                dir.display()
            )
        } else if dir.is_dir() {
            format!(
                "no file {} ([secrets] dir in rbk.toml)",
                dir.join(name).display()
            )
        } else {
            format!("no directory {} ([secrets] dir in rbk.toml)", dir.display())
        })
    }
}

/// A name that stays inside the directory it is looked up in: no separators, not `.`/`..`,
/// and no leading dot (a Kubernetes volume's `..data` bookkeeping is not a secret).
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && Path::new(name).file_name() == Some(std::ffi::OsStr::new(name))
}

/// Why `secret("X")` has no value: where rbk looked, or what is wrong with the file it is in
/// (never what the file holds).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Nothing holds it; `searched` says where rbk looked.
    #[error("secret {name} is not set: {}", searched.join(", "))]
    NotSet { name: String, searched: Vec<String> },
    /// A file is meant to hold it and cannot give it.
    #[error(
        "secret {name} cannot be read from {} ({}): {problem}",
        path.display(),
        origin.describe(name)
    )]
    Unreadable {
        name: String,
        path: PathBuf,
        origin: SecretOrigin,
        #[source]
        problem: SecretFileProblem,
    },
}

/// Which rule of rbk.toml sent rbk to a secret's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretOrigin {
    /// `[secrets.files] X = "path"`.
    Named,
    /// The file `X` in `[secrets] dir`.
    Dir,
}

impl SecretOrigin {
    fn describe(self, name: &str) -> String {
        match self {
            SecretOrigin::Named => format!("the file rbk.toml's [secrets.files] names for {name}"),
            SecretOrigin::Dir => "a file in rbk.toml's [secrets] dir".to_string(),
        }
    }
}

/// What is wrong with a secret's file.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileProblem {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is a directory, not a file")]
    Directory,
    #[error("it holds {0} bytes, more than a secret file may ({LARGEST_SECRET_FILE})")]
    TooLarge(u64),
    #[error("it is not UTF-8 text")]
    NotUtf8,
    #[error("it is empty")]
    Empty,
}

fn read_secret_file(name: &str, path: &Path, origin: SecretOrigin) -> Result<String, SecretError> {
    let unreadable = |problem: SecretFileProblem| SecretError::Unreadable {
        name: name.to_string(),
        path: path.to_path_buf(),
        origin,
        problem,
    };
    let metadata = std::fs::metadata(path).map_err(|e| unreadable(e.into()))?;
    if metadata.is_dir() {
        return Err(unreadable(SecretFileProblem::Directory));
    }
    if metadata.len() > LARGEST_SECRET_FILE {
        return Err(unreadable(SecretFileProblem::TooLarge(metadata.len())));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.into()))?;
    // The contents are never quoted, not even in part: only what is wrong with them.
    let text = String::from_utf8(bytes).map_err(|_| unreadable(SecretFileProblem::NotUtf8))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(unreadable(SecretFileProblem::Empty));
    }
    Ok(value.to_string())
}

/// The environment a project's runs see: `env("X")` reads the process environment;
/// `secret("X")` reads it too, then the project's secret files; and the credentials rbk reads
/// for the project's integrations are named, so every run masks them.
#[derive(Clone, Debug, Default)]
pub struct ProjectEnvironment {
    pub files: SecretFiles,
    /// Variables holding credentials (rbk.toml's `*_secret` names and their defaults).
    pub credentials: Vec<String>,
}

impl ProjectEnvironment {
    /// The environment of the project whose rbk.toml is `config_file` (none: the process
    /// environment alone).
    pub fn of_project(config_file: Option<&Path>, config: &ProjectConfig) -> ProjectEnvironment {
        let base = config_file
            .and_then(Path::parent)
            .unwrap_or_else(|| Path::new("."));
        ProjectEnvironment {
            files: SecretFiles::from_config(config, base),
            credentials: config.credential_names(),
        }
    }
}

impl Environment for ProjectEnvironment {
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.read_secret(name).ok()
    }

    fn read_secret(&self, name: &str) -> Result<String, SecretError> {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
            return Ok(value);
        }
        if let Some(value) = self.files.read(name)? {
            return Ok(value);
        }
        let mut searched = vec![format!("no environment variable {name}")];
        searched.extend(self.files.searched(name));
        Err(SecretError::NotSet {
            name: name.to_string(),
            searched,
        })
    }

    fn credential_names(&self) -> Vec<String> {
        self.credentials.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("rbk-secret-files-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn project(base: &Path, toml: &str) -> ProjectEnvironment {
        let config = ProjectConfig::parse(toml).unwrap();
        ProjectEnvironment::of_project(Some(&base.join("rbk.toml")), &config)
    }

    #[test]
    fn a_secret_comes_from_its_named_file_or_the_directory_without_its_line_break() {
        let scratch = Scratch::new("found");
        std::fs::create_dir_all(scratch.0.join("mount")).unwrap();
        std::fs::write(scratch.0.join("mount/RBK_T_DIR_TOKEN"), "from-the-dir\n").unwrap();
        std::fs::write(scratch.0.join("db.url"), "postgres://u:pw-1234@h/db\r\n").unwrap();
        let env = project(
            &scratch.0,
            "[secrets]\ndir = \"mount\"\n\n[secrets.files]\nRBK_T_FILE_DB = \"db.url\"\n",
        );
        assert_eq!(env.read_secret("RBK_T_DIR_TOKEN").unwrap(), "from-the-dir");
        assert_eq!(
            env.read_secret("RBK_T_FILE_DB").unwrap(),
            "postgres://u:pw-1234@h/db"
        );
    }

    #[test]
    fn the_environment_wins_over_files_and_an_empty_variable_does_not() {
        let scratch = Scratch::new("order");
        std::fs::write(scratch.0.join("RBK_T_ORDER_A"), "from-file").unwrap();
        std::fs::write(scratch.0.join("RBK_T_ORDER_B"), "from-file-b").unwrap();
        std::env::set_var("RBK_T_ORDER_A", "from-env");
        std::env::set_var("RBK_T_ORDER_B", "");
        let env = project(&scratch.0, "[secrets]\ndir = \".\"\n");
        assert_eq!(env.read_secret("RBK_T_ORDER_A").unwrap(), "from-env");
        assert_eq!(env.read_secret("RBK_T_ORDER_B").unwrap(), "from-file-b");
    }

    #[test]
    fn a_missing_secret_says_everywhere_rbk_looked() {
        let scratch = Scratch::new("missing");
        let env = project(&scratch.0, "[secrets]\ndir = \"mount\"\n");
        let error = env.read_secret("RBK_T_NOWHERE").unwrap_err().to_string();
        assert!(
            error.contains("no environment variable RBK_T_NOWHERE"),
            "{error}"
        );
        assert!(
            error.contains(&format!(
                "no directory {}",
                scratch.0.join("mount").display()
            )),
            "{error}"
        );
        std::fs::create_dir_all(scratch.0.join("mount")).unwrap();
        let error = env.read_secret("RBK_T_NOWHERE").unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "no file {}",
                scratch.0.join("mount/RBK_T_NOWHERE").display()
            )),
            "{error}"
        );
        let plain = ProjectEnvironment::default()
            .read_secret("RBK_T_NOWHERE")
            .unwrap_err()
            .to_string();
        assert_eq!(
            plain,
            "secret RBK_T_NOWHERE is not set: no environment variable RBK_T_NOWHERE"
        );
    }

    #[test]
    fn a_name_cannot_climb_out_of_the_directory() {
        let scratch = Scratch::new("climb");
        std::fs::create_dir_all(scratch.0.join("mount")).unwrap();
        std::fs::write(scratch.0.join("outside"), "not-a-secret-of-the-mount").unwrap();
        std::fs::write(scratch.0.join("mount/..data"), "bookkeeping").unwrap();
        let env = project(&scratch.0, "[secrets]\ndir = \"mount\"\n");
        for name in ["../outside", "..", ".", "..data", "a/../../outside", ""] {
            let error = env.read_secret(name).unwrap_err().to_string();
            assert!(!error.contains("not-a-secret"), "{error}");
            assert!(!error.contains("bookkeeping"), "{error}");
        }
        assert!(env
            .read_secret("../outside")
            .unwrap_err()
            .to_string()
            .contains("is not a plain file name"));
    }

    #[test]
    fn an_unreadable_file_is_a_clear_error_that_never_quotes_it() {
        let scratch = Scratch::new("unreadable");
        std::fs::write(scratch.0.join("binary"), [0xff, 0xfe, b's', b'3', b'c']).unwrap();
        std::fs::write(scratch.0.join("blank"), "\n").unwrap();
        std::fs::create_dir_all(scratch.0.join("folder")).unwrap();
        let env = project(
            &scratch.0,
            "[secrets.files]\nBIN = \"binary\"\nBLANK = \"blank\"\nDIR = \"folder\"\nGONE = \"gone\"\n",
        );
        let error = env.read_secret("BIN").unwrap_err().to_string();
        assert!(
            error.contains("not UTF-8") && !error.contains("s3c"),
            "{error}"
        );
        assert!(env
            .read_secret("BLANK")
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        assert!(env
            .read_secret("DIR")
            .unwrap_err()
            .to_string()
            .contains("is a directory"));
        let gone = env.read_secret("GONE").unwrap_err().to_string();
        assert!(
            gone.contains(&scratch.0.join("gone").display().to_string())
                && gone.contains("[secrets.files]"),
            "{gone}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let locked = scratch.0.join("locked");
            std::fs::write(&locked, "locked-away-value").unwrap();
            std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
            let env = project(&scratch.0, "[secrets.files]\nLOCKED = \"locked\"\n");
            // Root reads anything: then there is nothing to refuse.
            if std::fs::read(&locked).is_err() {
                let error = env.read_secret("LOCKED").unwrap_err().to_string();
                assert!(error.contains("ermission denied"), "{error}");
                assert!(!error.contains("locked-away"), "{error}");
            }
        }
    }

    #[test]
    fn a_huge_file_is_refused_unread() {
        let scratch = Scratch::new("huge");
        let file = std::fs::File::create(scratch.0.join("huge")).unwrap();
        file.set_len(LARGEST_SECRET_FILE + 1).unwrap();
        let env = project(&scratch.0, "[secrets.files]\nHUGE = \"huge\"\n");
        assert!(env
            .read_secret("HUGE")
            .unwrap_err()
            .to_string()
            .contains("more than"));
    }
}
