//! Reading TOML data files (rulebooks, calendars) so that every error names the file, the
//! line and the key: both shape errors found while parsing and value errors found by
//! validation afterwards.

use std::fmt;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

/// A path to a key in a TOML document: `violations.rule[3].points`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.to_string()));
        next
    }

    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        let segments = path
            .iter()
            .filter_map(|s| match s {
                S::Seq { index } => Some(Segment::Index(*index)),
                S::Map { key } => Some(Segment::Key(key.clone())),
                S::Enum { variant } => Some(Segment::Key(variant.clone())),
                S::Unknown => None,
            })
            .collect();
        KeyPath(segments)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A civil date written as a TOML local date (`2026-02-17`, unquoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TomlDate(pub jiff::civil::Date);

impl<'de> serde::Deserialize<'de> for TomlDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let dt = <toml::value::Datetime as serde::Deserialize>::deserialize(d)?;
        match (dt.date, dt.time, dt.offset) {
            (Some(date), None, None) => {
                jiff::civil::Date::new(date.year as i16, date.month as i8, date.day as i8)
                    .map(TomlDate)
                    .map_err(serde::de::Error::custom)
            }
            _ => Err(serde::de::Error::custom(format!(
                "expected a date like 2026-02-17, got {dt}"
            ))),
        }
    }
}

/// An error in a data file, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {key}: {message}")]
pub struct SourceError {
    pub file: String,
    /// 1-based; 0 when the location is unknown.
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// A parsed TOML file that can still point at its own lines.
pub struct TomlSource<'a> {
    file: &'a str,
    text: &'a str,
    spans: Option<DeValue<'a>>,
}

impl<'a> TomlSource<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let spans = DeTable::parse(text)
            .ok()
            .map(|t| DeValue::Table(t.into_inner()));
        Self { file, text, spans }
    }

    pub fn file(&self) -> &str {
        self.file
    }

    /// Deserialises the whole document; unknown keys are rejected by the target types.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, SourceError> {
        let deserializer = toml::de::Deserializer::parse(self.text).map_err(|e| SourceError {
            file: self.file.to_string(),
            line: e.span().map_or(0, |s| self.line_of(s.start)),
            key: String::from("(syntax)"),
            message: e.message().trim().to_string(),
        })?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = KeyPath::from_serde(e.path());
            let inner = e.inner();
            let line = inner
                .span()
                .map(|s| self.line_of(s.start))
                .or_else(|| self.line_of_key(&path))
                .unwrap_or(0);
            SourceError {
                file: self.file.to_string(),
                line,
                key: path.to_string(),
                message: inner.message().trim().to_string(),
            }
        })
    }

    /// An error about the value at `path`, found after parsing.
    pub fn error_at(&self, path: &KeyPath, message: impl Into<String>) -> SourceError {
        SourceError {
            file: self.file.to_string(),
            line: self.line_of_key(path).unwrap_or(0),
            key: path.to_string(),
            message: message.into(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// The line of the key's value, or of the nearest enclosing key that exists.
    fn line_of_key(&self, path: &KeyPath) -> Option<usize> {
        let mut value = self.spans.as_ref()?;
        let mut span = None;
        for seg in &path.0 {
            let next = match seg {
                Segment::Key(k) => value.get(k.as_str()),
                Segment::Index(i) => value.get(*i),
            };
            match next {
                Some(v) => {
                    span = Some(v.span());
                    value = v.get_ref();
                }
                None => break,
            }
        }
        span.map(|s| self.line_of(s.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        rule: Vec<Rule>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Rule {
        code: String,
        days: u32,
    }

    const TEXT: &str =
        "name = \"x\"\n\n[[rule]]\ncode = \"A\"\ndays = 5\n\n[[rule]]\ncode = \"B\"\ndays = 7\n";

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = TEXT.replace("days = 7", "dayz = 7");
        let err = TomlSource::new("x.toml", &text)
            .deserialize::<Doc>()
            .unwrap_err();
        assert_eq!(err.file, "x.toml");
        assert_eq!(err.line, 9);
        assert!(err.key.starts_with("rule[1]"), "{err}");
        assert!(err.message.contains("dayz"), "{err}");
    }

    #[test]
    fn negative_value_in_unsigned_field_names_the_key() {
        let text = TEXT.replace("days = 5", "days = -5");
        let err = TomlSource::new("x.toml", &text)
            .deserialize::<Doc>()
            .unwrap_err();
        assert_eq!((err.line, err.key.as_str()), (5, "rule[0].days"), "{err}");
    }

    #[test]
    fn validation_errors_point_at_the_value() {
        let source = TomlSource::new("x.toml", TEXT);
        let err = source.error_at(
            &KeyPath::root().key("rule").index(1).key("days"),
            "too long",
        );
        assert_eq!(err.to_string(), "x.toml:9: rule[1].days: too long");
    }
}
