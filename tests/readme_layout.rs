//! The README's layout section lists every source file of the compiler and the interpreter
//! with the first sentence of its opening paragraph (cut when long). This test rebuilds that listing from the
//! code and compares: a file added, moved or removed without the README following fails here,
//! and the failure prints the listing to paste.

use std::fs;
use std::path::Path;

/// The trees the README draws, each between `<!-- layout: ROOT -->` and the end of the fenced
/// block after it.
const TREES: &[&str] = &["compiler/src", "interpreter/src"];

/// Characters of a file's first sentence shown before it is cut.
const LONGEST_DESCRIPTION: usize = 90;

#[test]
fn the_readme_draws_the_compiler_and_interpreter_trees_as_they_are() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(repo.join("README.md")).unwrap();
    let mut stale = Vec::new();
    for root in TREES {
        let expected = draw(&repo.join(root), root);
        match drawn_in(&readme, root) {
            Some(drawn) if drawn == expected => {}
            Some(_) => stale.push(format!("<!-- layout: {root} -->\n```text\n{expected}```\n")),
            None => stale.push(format!(
                "(missing) add under ## Layout:\n<!-- layout: {root} -->\n```text\n{expected}```\n"
            )),
        }
    }
    assert!(
        stale.is_empty(),
        "README.md's layout section is out of date; replace these blocks:\n\n{}",
        stale.join("\n")
    );
}

fn drawn_in(readme: &str, root: &str) -> Option<String> {
    let marker = format!("<!-- layout: {root} -->");
    let after = &readme[readme.find(&marker)? + marker.len()..];
    let body = after.trim_start().strip_prefix("```text\n")?;
    Some(body[..body.find("```")?].to_string())
}

/// `root/` then one line per directory and file, indented two spaces a level, files with the
/// first sentence of their `//!` paragraph (cut at a word after 90 characters).
fn draw(dir: &Path, root: &str) -> String {
    let mut lines = vec![format!("{root}/")];
    walk(dir, 1, &mut lines);
    let width = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        match line.split_once('\t') {
            Some((name, what)) => out.push_str(&format!("{name:<width$}  {what}\n")),
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

fn walk(dir: &Path, depth: usize, lines: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    let indent = "  ".repeat(depth);
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            lines.push(format!("{indent}{name}/"));
            walk(&path, depth + 1, lines);
        } else if name.ends_with(".rs") {
            let text = fs::read_to_string(&path).unwrap();
            lines.push(format!("{indent}{name}\t{}", first_sentence(&text)));
        }
    }
}

fn first_sentence(text: &str) -> String {
    let paragraph: Vec<&str> = text
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    let joined = paragraph.join(" ");
    let end = joined
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .next()
        .unwrap_or(joined.len());
    let sentence = &joined[..end];
    if sentence.is_empty() {
        return "(no opening paragraph)".to_string();
    }
    // A long first sentence is cut at a word so the listing stays one screen wide.
    if sentence.chars().count() <= LONGEST_DESCRIPTION {
        return sentence.to_string();
    }
    let head: String = sentence.chars().take(LONGEST_DESCRIPTION - 2).collect();
    let cut = head.rfind(' ').unwrap_or(head.len());
    format!("{} …", &head[..cut])
}
