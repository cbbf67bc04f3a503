//! Reads a Markdown runbook into what the draft is built from: its title, and per section the
//! prose, the numbered (or command-carrying) list items that become steps, and the fenced code
//! blocks. Nothing here knows about commands or `.rbk`.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

#[derive(Debug, Default)]
pub struct Document {
    /// The text of the first heading.
    pub title: Option<String>,
    /// Everything under one heading (the part before the first heading has none).
    pub sections: Vec<Section>,
}

#[derive(Debug, Default)]
pub struct Section {
    pub heading: Option<String>,
    pub blocks: Vec<Block>,
}

#[derive(Debug)]
pub enum Block {
    /// A paragraph, a bullet point or a quote: kept as a comment.
    Prose(String),
    /// A numbered list item, or any list item that holds a fenced block: one step.
    Step(ListStep),
    /// A fenced block outside any list.
    Code(CodeBlock),
    /// Something with no place in a draft (raw HTML, an image).
    Skipped(Skipped),
}

#[derive(Debug, Default)]
pub struct ListStep {
    /// The item's first paragraph.
    pub title: String,
    /// Its further paragraphs and nested bullets.
    pub prose: Vec<String>,
    pub code: Vec<CodeBlock>,
}

#[derive(Debug, Clone)]
pub struct CodeBlock {
    /// The info string's first word, lower case (`""` when none).
    pub language: String,
    pub text: String,
    /// 1-based line of the opening fence.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Skipped {
    pub what: String,
    pub line: usize,
}

/// Where text is being collected while walking the events.
#[derive(Default)]
struct Walk {
    document: Document,
    section: Section,
    in_heading: bool,
    heading: String,
    text: String,
    /// Nesting of lists: `true` for numbered ones.
    lists: Vec<bool>,
    item: Option<(bool, ListStep, Vec<String>)>,
    code: Option<CodeBlock>,
}

pub fn parse(markdown: &str) -> Document {
    let line_of = |offset: usize| markdown[..offset].matches('\n').count() + 1;
    let mut walk = Walk::default();
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                walk.flush_text();
                walk.in_heading = true;
                walk.heading.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                walk.in_heading = false;
                let heading = walk.heading.trim().to_string();
                if walk.document.title.is_none() {
                    walk.document.title = Some(heading);
                } else {
                    let finished = std::mem::take(&mut walk.section);
                    walk.push_section(finished);
                    walk.section.heading = Some(heading);
                }
            }
            Event::Start(Tag::List(first_number)) => {
                walk.flush_text();
                walk.lists.push(first_number.is_some());
            }
            Event::End(TagEnd::List(_)) => {
                walk.flush_text();
                walk.lists.pop();
            }
            Event::Start(Tag::Item) => {
                walk.flush_text();
                if walk.lists.len() == 1 {
                    let numbered = walk.lists[0];
                    walk.item = Some((numbered, ListStep::default(), Vec::new()));
                }
            }
            Event::End(TagEnd::Item) => {
                walk.flush_text();
                if walk.lists.len() == 1 {
                    if let Some((numbered, step, bullets)) = walk.item.take() {
                        walk.finish_item(numbered, step, bullets);
                    }
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                walk.flush_text();
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                        .next()
                        .unwrap_or("")
                        .to_lowercase(),
                    CodeBlockKind::Indented => String::new(),
                };
                walk.code = Some(CodeBlock {
                    language,
                    text: String::new(),
                    line: line_of(range.start),
                });
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(code) = walk.code.take() {
                    match &mut walk.item {
                        Some((_, step, _)) => step.code.push(code),
                        None => walk.section.blocks.push(Block::Code(code)),
                    }
                }
            }
            Event::Start(Tag::HtmlBlock) => walk.skip("raw HTML", line_of(range.start)),
            Event::Start(Tag::Image { dest_url, .. }) => {
                walk.skip(&format!("image {dest_url}"), line_of(range.start))
            }
            Event::End(TagEnd::Paragraph | TagEnd::BlockQuote(_)) => walk.flush_text(),
            Event::Text(text) => walk.push(&text),
            Event::Code(code) => walk.push(&format!("`{code}`")),
            Event::SoftBreak | Event::HardBreak => walk.push(" "),
            _ => {}
        }
    }
    walk.flush_text();
    let last = std::mem::take(&mut walk.section);
    walk.push_section(last);
    walk.document
}

impl Walk {
    fn push(&mut self, text: &str) {
        if let Some(code) = &mut self.code {
            code.text.push_str(text);
        } else if self.in_heading {
            self.heading.push_str(text);
        } else {
            self.text.push_str(text);
        }
    }

    /// Ends a paragraph: it becomes the open item's title or prose, or a prose block.
    fn flush_text(&mut self) {
        let text = collapse_spaces(&std::mem::take(&mut self.text));
        if text.is_empty() {
            return;
        }
        match &mut self.item {
            Some((_, step, bullets)) if self.lists.len() > 1 => bullets.push(text),
            Some((_, step, _)) if step.title.is_empty() => step.title = text,
            Some((_, step, _)) => step.prose.push(text),
            None => self.section.blocks.push(Block::Prose(text)),
        }
    }

    fn finish_item(&mut self, numbered: bool, mut step: ListStep, bullets: Vec<String>) {
        step.prose
            .extend(bullets.into_iter().map(|b| format!("- {b}")));
        if numbered || !step.code.is_empty() {
            self.section.blocks.push(Block::Step(step));
        } else {
            self.section
                .blocks
                .push(Block::Prose(format!("- {}", step.title)));
            self.section
                .blocks
                .extend(step.prose.into_iter().map(Block::Prose));
        }
    }

    fn skip(&mut self, what: &str, line: usize) {
        self.section.blocks.push(Block::Skipped(Skipped {
            what: what.to_string(),
            line,
        }));
    }

    fn push_section(&mut self, section: Section) {
        if section.heading.is_some() || !section.blocks.is_empty() {
            self.document.sections.push(section);
        }
    }
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_items_become_steps_and_bullets_stay_prose() {
        let doc = parse(
            "# KubeJobFailed\n\n## Meaning\n\nA job failed.\n\n- users see nothing\n\n## Mitigation\n\n1. Look at the job\n\n   ```bash\n   kubectl describe job x -n y\n   ```\n\n2. Delete it\n",
        );
        assert_eq!(doc.title.as_deref(), Some("KubeJobFailed"));
        assert_eq!(doc.sections.len(), 2);
        assert!(matches!(&doc.sections[0].blocks[0], Block::Prose(p) if p == "A job failed."));
        assert!(
            matches!(&doc.sections[0].blocks[1], Block::Prose(p) if p == "- users see nothing")
        );
        let Block::Step(first) = &doc.sections[1].blocks[0] else {
            panic!("{:?}", doc.sections[1].blocks)
        };
        assert_eq!(first.title, "Look at the job");
        assert_eq!(first.code[0].language, "bash");
        assert_eq!(first.code[0].text, "kubectl describe job x -n y\n");
        assert_eq!(first.code[0].line, 13);
        assert!(matches!(&doc.sections[1].blocks[1], Block::Step(s) if s.code.is_empty()));
    }

    #[test]
    fn html_and_images_are_reported_as_skipped() {
        let doc = parse("# T\n\n<div>x</div>\n\n![graph](g.png)\n");
        let skipped: Vec<_> = doc.sections[0]
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Skipped(s) => Some(s.what.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(skipped, vec!["raw HTML", "image g.png"]);
    }
}
