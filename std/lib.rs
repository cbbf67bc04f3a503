//! The standard library's declarations as text: `std/NAME.rbk` declares module `std.NAME`'s
//! types, `extern action`s (with their effects) and plain `fn`s. This crate has no
//! dependencies, so the compiler's tests, the language server and the interpreter's natives
//! can all read the same sources without pulling in the runtime (kube, reqwest,
//! tokio-postgres) that implements the actions.

/// Every standard module as (name, source), embedded at build time, sorted by name.
pub const MODULES: &[(&str, &str)] = &[
    ("alertmanager", include_str!("alertmanager.rbk")),
    ("github", include_str!("github.rbk")),
    ("http", include_str!("http.rbk")),
    ("jira", include_str!("jira.rbk")),
    ("k8s", include_str!("k8s.rbk")),
    ("pagerduty", include_str!("pagerduty.rbk")),
    ("postgres", include_str!("postgres.rbk")),
    ("prometheus", include_str!("prometheus.rbk")),
    ("shell", include_str!("shell.rbk")),
    ("slack", include_str!("slack.rbk")),
];

/// The source of `std.NAME`.
pub fn module_source(name: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

/// The names of the standard modules, in order.
pub fn module_names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module file added to this directory but not to `MODULES` would be invisible to every
    /// `use std.NAME`; this keeps the list and the directory in step.
    #[test]
    fn every_rbk_file_here_is_a_module_and_the_list_is_sorted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".rbk").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = module_names().collect();
        assert_eq!(on_disk, listed);
        for (name, source) in MODULES {
            let on_disk = std::fs::read_to_string(dir.join(format!("{name}.rbk"))).unwrap();
            assert_eq!(&on_disk, source, "std/{name}.rbk");
        }
    }

    #[test]
    fn unknown_modules_have_no_source() {
        assert!(module_source("postgres").is_some_and(|s| s.contains("extern action")));
        assert_eq!(module_source("nope"), None);
        assert_eq!(module_source(""), None);
    }
}
