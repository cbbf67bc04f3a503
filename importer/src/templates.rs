//! The runbook templates `rbk new --template NAME` scaffolds: plain `.rbk` files shipped in the
//! binary, whose `{{param}}` placeholders are filled from `--set param=value`. A template's
//! header comments declare its name, what it is for and each parameter's kind and default:
//!
//! ```text
//! // template: pool-exhaustion
//! // about: Frees a nearly exhausted PostgreSQL connection pool.
//! // param service: name = orders — the service whose database it is
//! ```
//!
//! `{{service}}` is the value as given, `{{service|ident}}` the value with `-` and `.` as `_`
//! (for runbook names), `{{service|upper}}` that in upper case (for secret names). Values are
//! checked against their kind, so a value can never break out of a string or a name.

use std::collections::BTreeMap;

use regex::Regex;

/// Every shipped template's text.
const SHIPPED: &[&str] = &[
    include_str!("../templates/pool-exhaustion.rbk"),
    include_str!("../templates/disk-almost-full.rbk"),
    include_str!("../templates/crash-looping-pod.rbk"),
    include_str!("../templates/certificate-expiry.rbk"),
    include_str!("../templates/replication-lag.rbk"),
    include_str!("../templates/failed-job.rbk"),
];

#[derive(Clone, Debug)]
pub struct Template {
    pub name: String,
    pub about: String,
    pub params: Vec<Param>,
    body: String,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub kind: Kind,
    pub default: String,
    pub about: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A service, group, namespace or channel name: letters, digits, `-`, `_`, `.`, `#`.
    Name,
    Int,
    Duration,
    Percent,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        match text {
            "name" => Some(Kind::Name),
            "int" => Some(Kind::Int),
            "duration" => Some(Kind::Duration),
            "percent" => Some(Kind::Percent),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Name => "a name (letters, digits, `-`, `_`, `.`; `#` first for a channel)",
            Kind::Int => "a whole number",
            Kind::Duration => "a duration such as 30s, 5m, 2h or 7d",
            Kind::Percent => "a percent such as 80%",
        }
    }

    fn accepts(self, value: &str) -> bool {
        let pattern = match self {
            Kind::Name => r"^#?[A-Za-z][A-Za-z0-9_.\-]{0,62}$",
            Kind::Int => r"^[0-9]{1,9}$",
            Kind::Duration => r"^[1-9][0-9]{0,5}(ms|s|m|h|d)$",
            Kind::Percent => r"^[0-9]{1,3}(\.[0-9]{1,2})?%$",
        };
        Regex::new(pattern).is_ok_and(|re| re.is_match(value))
    }
}

/// The shipped templates, in the order `rbk new --list` shows them.
pub fn shipped() -> Vec<Template> {
    SHIPPED
        .iter()
        .map(|text| parse(text).expect("a shipped template's header is well formed"))
        .collect()
}

pub fn find(name: &str) -> Option<Template> {
    shipped().into_iter().find(|t| t.name == name)
}

/// What is wrong with a shipped template's header (a bug in rbk, caught by its tests).
#[derive(Debug, thiserror::Error)]
enum HeaderError {
    #[error("param without about")]
    ParamWithoutAbout,
    #[error("param without default")]
    ParamWithoutDefault,
    #[error("param without kind")]
    ParamWithoutKind,
    #[error("unknown kind")]
    UnknownKind,
    #[error("no template name")]
    NoName,
}

fn parse(text: &str) -> Result<Template, HeaderError> {
    let mut name = None;
    let mut about = String::new();
    let mut params = Vec::new();
    let mut body_start = 0;
    for line in text.lines() {
        let Some(comment) = line.strip_prefix("// ") else {
            break;
        };
        body_start += line.len() + 1;
        if let Some(value) = comment.strip_prefix("template: ") {
            name = Some(value.trim().to_string());
        } else if let Some(value) = comment.strip_prefix("about: ") {
            about = value.trim().to_string();
        } else if let Some(value) = comment.strip_prefix("param ") {
            let (declaration, about) = value
                .split_once(" — ")
                .ok_or(HeaderError::ParamWithoutAbout)?;
            let (head, default) = declaration
                .split_once(" = ")
                .ok_or(HeaderError::ParamWithoutDefault)?;
            let (param, kind) = head.split_once(": ").ok_or(HeaderError::ParamWithoutKind)?;
            let kind = Kind::parse(kind.trim()).ok_or(HeaderError::UnknownKind)?;
            params.push(Param {
                name: param.trim().to_string(),
                kind,
                default: default.trim().to_string(),
                about: about.trim().to_string(),
            });
        }
    }
    Ok(Template {
        name: name.ok_or(HeaderError::NoName)?,
        about,
        params,
        body: text[body_start.min(text.len())..]
            .trim_start_matches('\n')
            .to_string(),
    })
}

impl Template {
    /// The runbook with every `{{param}}` filled: `values` from `--set`, the rest defaults.
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<String, FillError> {
        for key in values.keys() {
            if !self.params.iter().any(|p| &p.name == key) {
                return Err(FillError::NoSuchParameter {
                    template: self.name.clone(),
                    given: key.clone(),
                    known: self.params.iter().map(|p| p.name.clone()).collect(),
                });
            }
        }
        let mut text = self.body.clone();
        for param in &self.params {
            let value = values.get(&param.name).unwrap_or(&param.default);
            if !param.kind.accepts(value) {
                return Err(FillError::Refused {
                    param: param.name.clone(),
                    value: value.clone(),
                    kind: param.kind,
                });
            }
            let ident = value
                .trim_start_matches('#')
                .replace(['-', '.'], "_")
                .to_lowercase();
            text = text
                .replace(&format!("{{{{{}}}}}", param.name), value)
                .replace(&format!("{{{{{}|ident}}}}", param.name), &ident)
                .replace(
                    &format!("{{{{{}|upper}}}}", param.name),
                    &ident.to_uppercase(),
                );
        }
        if let Some(start) = text.find("{{") {
            let rest = &text[start..];
            let end = rest.find("}}").map(|e| e + 2).unwrap_or(rest.len());
            return Err(FillError::Unfilled {
                template: self.name.clone(),
                placeholder: rest[..end].to_string(),
            });
        }
        Ok(text)
    }
}

/// Why a template cannot be filled with the values given.
#[derive(Debug, thiserror::Error)]
pub enum FillError {
    #[error("template {template} has no parameter `{given}`; it has: {}", known.join(", "))]
    NoSuchParameter {
        template: String,
        given: String,
        known: Vec<String>,
    },
    #[error("`{param}={value}`: {param} must be {}", kind.describe())]
    Refused {
        param: String,
        value: String,
        kind: Kind,
    },
    /// A placeholder in the template's body no parameter fills: a bug in the template.
    #[error(
        "template {template} uses `{placeholder}`, which no parameter fills; this is a bug in rbk"
    )]
    Unfilled {
        template: String,
        placeholder: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_shipped_template_parses_and_fills_with_its_defaults() {
        let templates = shipped();
        assert!(templates.len() >= 6);
        for template in &templates {
            assert!(!template.about.is_empty(), "{}", template.name);
            let text = template.fill(&BTreeMap::new()).unwrap();
            assert!(!text.contains("{{"), "{}", template.name);
            assert!(!text.starts_with("// template:"), "{}", template.name);
        }
    }

    #[test]
    fn values_that_could_break_out_of_a_string_are_refused() {
        let template = find("pool-exhaustion").unwrap();
        for bad in ["orders\"", "a{b}", "x y", "", "-lead", "a\nb"] {
            assert!(
                template.fill(&values(&[("service", bad)])).is_err(),
                "{bad:?} accepted"
            );
        }
        let error = template
            .fill(&values(&[("servce", "orders")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("no parameter `servce`"), "{error}");
    }
}
