//! The embedded standard library as files an editor can open: go to definition on
//! `pg.terminate` lands in `std/postgres.rbk`, which lives only inside the binary. Each module
//! is written once to a cache directory named after the binary's version and the sources' hash,
//! so an upgraded `rbk` never shows an older declaration.

use std::fs;
use std::path::PathBuf;

/// The cache directory: `$RBK_CACHE_DIR`, else `$XDG_CACHE_HOME/rbk`, else `~/.cache/rbk`, else
/// the system temporary directory.
fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("RBK_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("rbk");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("rbk");
    }
    std::env::temp_dir().join("rbk")
}

/// FNV-1a over every module's name and source: which standard library this binary carries.
fn sources_hash() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, source) in rbk_std::MODULES {
        for byte in name.bytes().chain([0]).chain(source.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The file holding `std.NAME`'s source, written if it is missing or differs. `None` when the
/// module is unknown or no cache directory can be written.
pub fn std_file(name: &str) -> Option<PathBuf> {
    let source = rbk_std::module_source(name)?;
    let dir = cache_root().join(format!(
        "std-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        sources_hash()
    ));
    let path = dir.join(format!("{name}.rbk"));
    if fs::read_to_string(&path).ok().as_deref() == Some(source) {
        return Some(path);
    }
    fs::create_dir_all(&dir).ok()?;
    // Write beside, then rename: two servers starting at once never see half a file.
    let partial = dir.join(format!(".{name}.rbk.{}", std::process::id()));
    fs::write(&partial, source).ok()?;
    if let Ok(metadata) = fs::metadata(&partial) {
        let mut permissions = metadata.permissions();
        permissions.set_readonly(true);
        let _ = fs::set_permissions(&partial, permissions);
    }
    fs::rename(&partial, &path).ok()?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_each_module_once_with_its_embedded_source() {
        for name in rbk_std::module_names() {
            let path = std_file(name).expect("a writable cache directory");
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                rbk_std::module_source(name).unwrap()
            );
            assert_eq!(std_file(name), Some(path));
        }
        assert_eq!(std_file("no_such_module"), None);
    }
}
