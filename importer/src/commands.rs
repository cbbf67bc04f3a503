//! The commands of a fenced block: shell lines (prompts stripped, `\` continuations joined,
//! `#` comments dropped) and SQL statements (from `sql`/`psql` blocks and `psql -c "…"`).
//! Blocks in other languages (YAML, JSON, PromQL, output) hold no commands.

use crate::markdown::CodeBlock;
use crate::words::{self, Line, Part, Placeholder, Shape, Word};

#[derive(Clone, Debug)]
pub struct Command {
    /// The command as the Markdown spells it (continuations joined).
    pub original: String,
    /// 1-based line in the Markdown file.
    pub line: usize,
    pub body: Body,
}

#[derive(Clone, Debug)]
pub enum Body {
    Shell(Line),
    /// One SQL statement (without its `;`), with placeholders as inputs.
    Sql {
        sql: Word,
        placeholders: Vec<Placeholder>,
    },
}

impl Command {
    pub fn placeholders(&self) -> &[Placeholder] {
        match &self.body {
            Body::Shell(line) => &line.placeholders,
            Body::Sql { placeholders, .. } => placeholders,
        }
    }
}

/// What a block holds: commands, or why it holds none.
pub enum BlockContent {
    Commands(Vec<Command>),
    NotCommands(String),
}

const SHELL_LANGUAGES: &[&str] = &["", "sh", "bash", "shell", "zsh", "ksh", "terminal"];
const SESSION_LANGUAGES: &[&str] = &["console", "shell-session", "shellsession"];
const SQL_LANGUAGES: &[&str] = &["sql", "psql", "postgres", "postgresql", "pgsql", "plpgsql"];

pub fn commands_of(block: &CodeBlock) -> BlockContent {
    let language = block.language.as_str();
    if SQL_LANGUAGES.contains(&language) {
        BlockContent::Commands(sql_statements(block))
    } else if SHELL_LANGUAGES.contains(&language) || SESSION_LANGUAGES.contains(&language) {
        let session = SESSION_LANGUAGES.contains(&language);
        BlockContent::Commands(shell_lines(block, session))
    } else {
        BlockContent::NotCommands(format!("a `{language}` block holds no commands"))
    }
}

fn shell_lines(block: &CodeBlock, session: bool) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    for (offset, raw) in block.text.lines().enumerate() {
        let line_number = block.line + 1 + offset;
        let trimmed = raw.trim();
        let text = match pending.take() {
            Some((so_far, first)) => Some((format!("{so_far} {trimmed}"), first)),
            None => {
                let prompt = ["$ ", "% "]
                    .iter()
                    .find_map(|prompt| trimmed.strip_prefix(prompt));
                match prompt {
                    Some(command) => Some((command.trim().to_string(), line_number)),
                    // In a console transcript, lines without a prompt are output.
                    None if session => None,
                    None if trimmed.is_empty() || trimmed.starts_with('#') => None,
                    None => Some((trimmed.to_string(), line_number)),
                }
            }
        };
        let Some((text, first)) = text else { continue };
        if let Some(continued) = text.strip_suffix('\\') {
            pending = Some((continued.trim_end().to_string(), first));
            continue;
        }
        commands.push(shell_command(text, first));
    }
    if let Some((text, first)) = pending {
        commands.push(shell_command(text, first));
    }
    commands
}

/// A shell line; `psql … -c "SQL"` is a SQL statement.
fn shell_command(original: String, line: usize) -> Command {
    let split = words::split(&original);
    if let Shape::Argv(argv) = &split.shape {
        if words::literal(&argv[0]) == Some("psql") {
            let sql = argv
                .iter()
                .enumerate()
                .find_map(|(i, word)| match words::literal(word) {
                    Some("-c" | "--command") => argv.get(i + 1).cloned(),
                    Some(flag) => flag.strip_prefix("--command=").map(|sql| {
                        let mut word = word.clone();
                        if let Some(Part::Text(first)) = word.first_mut() {
                            *first = first["--command=".len()..].to_string();
                        } else {
                            word = vec![Part::Text(sql.to_string())];
                        }
                        word
                    }),
                    None => None,
                });
            if let Some(sql) = sql {
                let sql = trim_statement(sql);
                return Command {
                    original,
                    line,
                    body: Body::Sql {
                        sql,
                        placeholders: split.placeholders,
                    },
                };
            }
        }
    }
    Command {
        original,
        line,
        body: Body::Shell(split),
    }
}

fn trim_statement(mut word: Word) -> Word {
    if let Some(Part::Text(last)) = word.last_mut() {
        *last = last.trim_end().trim_end_matches(';').trim_end().to_string();
    }
    if let Some(Part::Text(first)) = word.first_mut() {
        *first = first.trim_start().to_string();
    }
    word.retain(|part| !matches!(part, Part::Text(t) if t.is_empty()));
    word
}

/// Statements end at a `;` outside quotes; `--` comments and psql's `\` commands are dropped.
fn sql_statements(block: &CodeBlock) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut statement = String::new();
    let mut first_line = 0;
    let mut quoted = false;
    for (offset, raw) in block.text.lines().enumerate() {
        let line_number = block.line + 1 + offset;
        let mut line = raw.trim();
        if !quoted {
            if line.starts_with("--") || line.starts_with('\\') || line.is_empty() {
                continue;
            }
            if let Some(rest) = line
                .strip_prefix("=> ")
                .or_else(|| line.strip_prefix("=# "))
            {
                line = rest;
            }
        }
        if statement.is_empty() {
            first_line = line_number;
        } else {
            statement.push(' ');
        }
        for c in line.chars() {
            if c == '\'' {
                quoted = !quoted;
            }
            if c == ';' && !quoted {
                commands.push(sql_command(std::mem::take(&mut statement), first_line));
                first_line = line_number;
                continue;
            }
            statement.push(c);
        }
    }
    if !statement.trim().is_empty() {
        commands.push(sql_command(statement, first_line));
    }
    commands.retain(|c| !c.original.is_empty());
    commands
}

fn sql_command(statement: String, line: usize) -> Command {
    let original = statement.trim().to_string();
    // Placeholders are found as in shell lines; the statement is one word.
    let split = words::split(&format!("'{}'", original.replace('\'', "'\\''")));
    let sql = match split.shape {
        Shape::Argv(mut argv) if argv.len() == 1 => argv.remove(0),
        _ => vec![Part::Text(original.clone())],
    };
    Command {
        original,
        line,
        body: Body::Sql {
            sql,
            placeholders: split.placeholders,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(language: &str, text: &str) -> CodeBlock {
        CodeBlock {
            language: language.into(),
            text: text.into(),
            line: 10,
        }
    }

    fn originals(block: &CodeBlock) -> Vec<(String, usize)> {
        match commands_of(block) {
            BlockContent::Commands(commands) => {
                commands.into_iter().map(|c| (c.original, c.line)).collect()
            }
            BlockContent::NotCommands(why) => panic!("{why}"),
        }
    }

    #[test]
    fn prompts_comments_and_continuations() {
        let found = originals(&block(
            "bash",
            "# look first\n$ kubectl get pods \\\n    -n prod\n\nkubectl top pods\n",
        ));
        assert_eq!(
            found,
            vec![
                ("kubectl get pods -n prod".to_string(), 12),
                ("kubectl top pods".to_string(), 15)
            ]
        );
    }

    #[test]
    fn console_output_is_not_a_command() {
        let found = originals(&block(
            "console",
            "$ df -h\nFilesystem Size\n/dev/sda 10G\n",
        ));
        assert_eq!(found, vec![("df -h".to_string(), 11)]);
    }

    #[test]
    fn sql_blocks_split_on_semicolons_outside_quotes() {
        let found = originals(&block(
            "sql",
            "-- who is connected\nSELECT count(*) FROM pg_stat_activity\n  WHERE state = 'a;b';\n\\x\nSELECT 1;\n",
        ));
        assert_eq!(
            found,
            vec![
                (
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'a;b'".to_string(),
                    12
                ),
                ("SELECT 1".to_string(), 15)
            ]
        );
    }

    #[test]
    fn psql_dash_c_is_a_sql_statement() {
        let BlockContent::Commands(found) = commands_of(&block(
            "sh",
            "psql -d orders -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity;\"",
        )) else {
            panic!()
        };
        let Body::Sql { sql, .. } = &found[0].body else {
            panic!("{:?}", found[0])
        };
        assert_eq!(
            words::literal(sql),
            Some("SELECT pg_terminate_backend(pid) FROM pg_stat_activity")
        );
    }

    #[test]
    fn yaml_is_not_commands() {
        assert!(matches!(
            commands_of(&block("yaml", "a: 1\n")),
            BlockContent::NotCommands(_)
        ));
    }
}
