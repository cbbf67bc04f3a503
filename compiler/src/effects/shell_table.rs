//! What `shell.run` does, when its command words are written out: the standard library ships a
//! table of commands that only read (`kubectl get`, `df`, `etcdctl endpoint status`, …) and a
//! project adds its own in rbk.toml (`[shell] read_only = ["kafka-topics --describe"]`). A call
//! whose first words are literals matching an entry is `read`; anything else stays
//! `destructive`, as `std.shell` declares it.
//!
//! An entry must stay read-only whatever arguments follow its words, because only the leading
//! words are matched: `journalctl` is not here (`--vacuum-size` deletes logs), nor `mount` or
//! `hostname` (with arguments they change the machine), nor any command that runs others.

use crate::syntax::{Expr, ExprKind};

/// The standard table: each entry is the command's first words.
pub const STD_READ_ONLY: &[&str] = &[
    // Kubernetes
    "kubectl get",
    "kubectl describe",
    "kubectl logs",
    "kubectl top",
    "kubectl events",
    "kubectl auth can-i",
    "kubectl version",
    "kubectl api-resources",
    "kubectl explain",
    "kubectl rollout status",
    "kubectl rollout history",
    "helm list",
    "helm status",
    "helm history",
    // Files and disks
    "df",
    "du",
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "stat",
    "lsblk",
    "findmnt",
    // Processes, memory and the network
    "ps",
    "top -b",
    "uptime",
    "free",
    "vmstat",
    "iostat",
    "ss",
    "netstat",
    "dig",
    "nslookup",
    "host",
    "ping",
    "systemctl status",
    "systemctl is-active",
    "systemctl is-failed",
    // Data stores and queues
    "pg_isready",
    "etcdctl endpoint status",
    "etcdctl endpoint health",
    "etcdctl member list",
    "etcdctl alarm list",
    "rabbitmqctl list_queues",
    "rabbitmqctl list_connections",
    "rabbitmqctl list_consumers",
    "rabbitmqctl status",
    "rabbitmqctl cluster_status",
    "redis-cli info",
    "redis-cli ping",
    "docker ps",
    "docker logs",
    "docker inspect",
    "git status",
    "git log",
];

/// Why a `shell.run` call only reads: the entry its words matched and the table it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOnlyCommand {
    pub words: String,
    /// `std` or `rbk.toml`.
    pub table: &'static str,
}

impl ReadOnlyCommand {
    pub fn reason(&self) -> String {
        match self.table {
            "std" => format!("`{}` is read-only by the std table", self.words),
            _ => format!(
                "`{}` is read-only by rbk.toml's [shell] read_only",
                self.words
            ),
        }
    }
}

/// The entry that the call's literal leading words match, if any. `project` holds rbk.toml's
/// entries. The longest matching entry wins, so a project can name a narrower command.
pub fn read_only_command(argv: &Expr, project: &[String]) -> Option<ReadOnlyCommand> {
    let ExprKind::List(items) = &argv.kind else {
        return None;
    };
    let literal_words: Vec<String> = items.iter().map_while(Expr::as_plain_str).collect();
    let program = literal_words.first()?;
    // `/usr/bin/kubectl` is `kubectl`; `./kubectl` could be anything.
    let program = match program.rsplit_once('/') {
        Some((dir, name)) if dir.starts_with('/') && !dir.contains("..") => name.to_string(),
        Some(_) => return None,
        None => program.clone(),
    };
    let mut words = vec![program];
    words.extend(literal_words.into_iter().skip(1));
    let std_entries = STD_READ_ONLY.iter().map(|entry| (*entry, "std"));
    let project_entries = project.iter().map(|entry| (entry.as_str(), "rbk.toml"));
    std_entries
        .chain(project_entries)
        .filter(|(entry, _)| {
            let wanted: Vec<&str> = entry.split_whitespace().collect();
            !wanted.is_empty()
                && wanted.len() <= words.len()
                && wanted.iter().zip(&words).all(|(want, word)| want == word)
        })
        .max_by_key(|(entry, _)| entry.split_whitespace().count())
        .map(|(entry, table)| ReadOnlyCommand {
            words: entry.split_whitespace().collect::<Vec<_>>().join(" "),
            table,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Expr, ExprId, ExprKind, Span, StrPart};

    fn text(s: &str) -> Expr {
        expr(ExprKind::Str(vec![StrPart::Text(s.to_string())]))
    }

    fn expr(kind: ExprKind) -> Expr {
        Expr {
            id: ExprId(0),
            span: Span { start: 0, end: 0 },
            kind,
        }
    }

    fn argv(words: Vec<Expr>) -> Expr {
        expr(ExprKind::List(words))
    }

    fn words(list: &[&str]) -> Expr {
        argv(list.iter().map(|w| text(w)).collect())
    }

    #[test]
    fn written_out_read_commands_match_the_std_table() {
        let found = read_only_command(&words(&["kubectl", "get", "pods", "-o", "json"]), &[]);
        assert_eq!(
            found.map(|c| c.reason()),
            Some("`kubectl get` is read-only by the std table".to_string())
        );
        assert!(read_only_command(&words(&["/usr/bin/df", "-h"]), &[]).is_some());
        assert!(read_only_command(&words(&["etcdctl", "endpoint", "status"]), &[]).is_some());
    }

    #[test]
    fn anything_else_stays_unknown() {
        for command in [
            vec!["kubectl", "delete", "pod", "x"],
            vec!["kubectl"],
            vec!["etcdctl", "endpoint"],
            vec!["./df"],
            vec!["../bin/ls"],
            vec!["sh", "-c", "df"],
            vec!["journalctl", "--vacuum-size=1M"],
            vec!["redis-cli", "-h", "db", "info"],
        ] {
            assert_eq!(
                read_only_command(&words(&command), &[]),
                None,
                "{command:?}"
            );
        }
        // The command word is not written out: it could be anything.
        let name = expr(ExprKind::Name(crate::syntax::Ident {
            name: "tool".into(),
            span: Span { start: 0, end: 0 },
        }));
        assert_eq!(read_only_command(&argv(vec![name, text("get")]), &[]), None);
    }

    #[test]
    fn a_project_adds_its_own_commands() {
        let project = vec!["kafka-topics --describe".to_string()];
        let found = read_only_command(
            &words(&["kafka-topics", "--describe", "--topic", "x"]),
            &project,
        );
        assert_eq!(
            found.map(|c| c.reason()),
            Some(
                "`kafka-topics --describe` is read-only by rbk.toml's [shell] read_only"
                    .to_string()
            )
        );
        assert_eq!(
            read_only_command(&words(&["kafka-topics", "--delete"]), &project),
            None
        );
    }
}
