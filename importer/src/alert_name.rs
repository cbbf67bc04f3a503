//! Which alert a Markdown runbook is about: runbook collections name the file or the first
//! heading after the alert (`KubePodCrashLooping.md`, `# KubePodCrashLooping`), or say
//! `Alert: KubePodCrashLooping` near the top.

use std::sync::OnceLock;

use regex::Regex;

fn alert_like() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    // Two or more capitalised humps, as Prometheus alert names are written.
    PATTERN.get_or_init(|| {
        Regex::new(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$").expect("the pattern is valid")
    })
}

/// The alert named by the file stem, the title, or an `Alert:` line of the prose.
pub fn find(stem: &str, title: Option<&str>, prose: &[&str]) -> Option<String> {
    if alert_like().is_match(stem) {
        return Some(stem.to_string());
    }
    if let Some(title) = title {
        let title = title.trim().trim_matches('`');
        let first = title
            .split([' ', ':', '(', '\u{2014}', '\u{2013}'])
            .next()
            .unwrap_or("")
            .trim_matches('`');
        let rest = title[first.len()..].trim_start_matches('`').trim_start();
        let separated = rest.is_empty()
            || [":", "-", "\u{2014}", "\u{2013}", "("]
                .iter()
                .any(|s| rest.starts_with(s));
        if alert_like().is_match(first) && separated {
            return Some(first.to_string());
        }
    }
    prose.iter().find_map(|paragraph| {
        let text = paragraph.replace(['*', '_'], "");
        let rest = ["Alert:", "Alert name:", "Alertname:"]
            .iter()
            .find_map(|prefix| text.strip_prefix(prefix))?;
        let name = rest
            .trim()
            .trim_start_matches('`')
            .split(['`', ' ', ','])
            .next()?;
        alert_like().is_match(name).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn from_file_title_or_prose() {
        assert_eq!(
            find("KubeJobFailed", None, &[]).as_deref(),
            Some("KubeJobFailed")
        );
        assert_eq!(
            find("job", Some("KubeJobFailed — a job did not finish"), &[]).as_deref(),
            Some("KubeJobFailed")
        );
        assert_eq!(
            find("x", Some("`EtcdNoLeader`"), &[]).as_deref(),
            Some("EtcdNoLeader")
        );
        assert_eq!(
            find(
                "x",
                Some("Disk full"),
                &["**Alert:** `NodeFilesystemAlmostFull`"]
            )
            .as_deref(),
            Some("NodeFilesystemAlmostFull")
        );
        assert_eq!(find("disk-full", Some("PostgreSQL is down"), &[]), None);
        assert_eq!(find("notes", Some("Runbook"), &[]), None);
    }
}
