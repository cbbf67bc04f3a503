//! Reading `.rbk` sources from disk, shared by the CLI and the language server so both refuse
//! the same things: only regular files are read. A FIFO, a device (`/dev/zero`), a socket or a
//! directory given as a source or named by `use "./x.rbk"` would block or never end, so it is
//! refused before it is opened.

use std::io;
use std::path::{Component, Path, PathBuf};

/// What `path` is when it is not a regular file ("a FIFO", "a character device", ...); `None`
/// for a regular file, or when its metadata cannot be read (reading it then says why).
/// Symbolic links are followed.
pub fn special_kind(path: &Path) -> Option<&'static str> {
    let metadata = std::fs::metadata(path).ok()?;
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Reads a source file as text, refusing anything but a regular file.
pub fn read(path: &Path) -> io::Result<String> {
    if let Some(kind) = special_kind(path) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{kind}, not a regular file"),
        ));
    }
    std::fs::read_to_string(path)
}

/// The path `use "RELATIVE"` names from the file at `from`: relative to its directory, with
/// `.` and `..` folded (`a/./b/../c` is `a/c`) without touching the file system, so the same
/// module used from several files is one path, and paths in messages stay readable.
pub fn local_module_path(from: &Path, relative: &str) -> PathBuf {
    let base = from.parent().unwrap_or(Path::new("."));
    let mut out = PathBuf::new();
    for part in base.join(relative).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_fold_dots() {
        assert_eq!(
            local_module_path(Path::new("a/b/main.rbk"), "./../c/./x.rbk"),
            PathBuf::from("a/c/x.rbk")
        );
        assert_eq!(
            local_module_path(Path::new("main.rbk"), "lib.rbk"),
            PathBuf::from("lib.rbk")
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_directories_are_not_read() {
        assert_eq!(
            special_kind(Path::new("/dev/zero")),
            Some("a character device")
        );
        assert_eq!(special_kind(Path::new("/")), Some("a directory"));
        let error = read(Path::new("/dev/zero")).expect_err("refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
