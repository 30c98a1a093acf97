//! A small JSON-with-comments parser that keeps the line and column of every value.
//!
//! Angular reads `proxy.conf.json` as JSONC: `//` and `/* */` comments and trailing commas are
//! allowed. We parse it ourselves rather than through `serde_json` so that every value carries
//! its position (errors about a rule point at the rule, not at the file) and so that duplicate
//! keys stay visible (JSON.parse keeps the last one; we do too, but say so).

use std::fmt;

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A parsed value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    /// The number as written, and its value.
    Number(String, f64),
    String(String),
    Array(Vec<Value>),
    /// Members in file order; duplicates are kept (see [`Value::members`]).
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member {
    pub key: String,
    pub key_pos: Pos,
    pub value: Value,
}

/// Sets every position in `v` to line 0 ("no position"): for JSON that devproxy made itself,
/// whose lines mean nothing to the user.
pub(crate) fn forget_positions(v: &mut Value) {
    v.pos = Pos::default();
    match &mut v.kind {
        Kind::Array(items) => items.iter_mut().for_each(forget_positions),
        Kind::Object(members) => {
            for m in members {
                m.key_pos = Pos::default();
                forget_positions(&mut m.value);
            }
        }
        _ => {}
    }
}

impl Value {
    /// A short name of the value's type, for error messages ("expected a string, found an array").
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(..) => "a number",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A syntax error: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Parses a whole JSONC document.
pub(crate) fn parse(text: &str) -> Result<Value, SyntaxError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    // A UTF-8 byte order mark is common in files saved by Windows editors.
    if p.peek() == Some('\u{feff}') {
        p.i += 1;
    }
    p.skip_ws()?;
    if p.peek().is_none() {
        return Err(p.error("the file is empty; expected a JSON object or array"));
    }
    let value = p.value(0)?;
    p.skip_ws()?;
    if let Some(c) = p.peek() {
        return Err(p.error(format!(
            "unexpected {} after the end of the document",
            describe(c)
        )));
    }
    Ok(value)
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

struct Parser {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

fn describe(c: char) -> String {
    match c {
        '\n' | '\r' => "end of line".to_string(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

impl Parser {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos: self.pos(),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        match self.peek() {
            Some(c) => self.error(format!("expected {expected}, found {}", describe(c))),
            None => self.error(format!("expected {expected}, found the end of the file")),
        }
    }

    /// Skips white space and comments.
    fn skip_ws(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r' | '\u{feff}') => {
                    self.bump();
                }
                Some('/') => {
                    let start = self.pos();
                    match self.chars.get(self.i + 1) {
                        Some('/') => {
                            while !matches!(self.peek(), None | Some('\n')) {
                                self.bump();
                            }
                        }
                        Some('*') => {
                            self.bump();
                            self.bump();
                            loop {
                                match self.bump() {
                                    Some('*') if self.peek() == Some('/') => {
                                        self.bump();
                                        break;
                                    }
                                    Some(_) => {}
                                    None => {
                                        return Err(SyntaxError {
                                            pos: start,
                                            message: "this /* comment is never closed".into(),
                                        })
                                    }
                                }
                            }
                        }
                        _ => return Err(self.unexpected("a value")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let pos = self.pos();
        let kind = match self.peek() {
            Some('{') => self.object(depth)?,
            Some('[') => self.array(depth)?,
            Some('"') => Kind::String(self.string()?),
            Some('-' | '0'..='9') => self.number()?,
            Some('t') => self.word("true", Kind::Bool(true))?,
            Some('f') => self.word("false", Kind::Bool(false))?,
            Some('n') => self.word("null", Kind::Null)?,
            Some(c) if c.is_alphabetic() => self.word("", Kind::Null)?,
            Some('\'') => {
                return Err(self.error("strings must use double quotes (\"), not single quotes"))
            }
            _ => return Err(self.unexpected("a value")),
        };
        Ok(Value { pos, kind })
    }

    fn word(&mut self, word: &str, kind: Kind) -> Result<Kind, SyntaxError> {
        let start = self.pos();
        let end = self.i + word.chars().count();
        let matches = self
            .chars
            .get(self.i..end)
            .is_some_and(|s| s.iter().copied().eq(word.chars()));
        let boundary = !self
            .chars
            .get(end)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_');
        if !word.is_empty() && matches && boundary {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(kind)
        } else {
            let mut found = String::new();
            while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                found.push(c);
                self.bump();
            }
            Err(SyntaxError {
                pos: start,
                message: format!("expected a value, found `{found}` (strings need double quotes)"),
            })
        }
    }

    fn number(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.pos();
        let mut raw = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            raw.push(c);
            self.bump();
        }
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && !raw.starts_with('+') => Ok(Kind::Number(raw, v)),
            _ => Err(SyntaxError {
                pos: start,
                message: format!("`{raw}` is not a valid number"),
            }),
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos();
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let here = self.pos();
            match self.bump() {
                Some('"') => return Ok(out),
                Some('\\') => {
                    let c = self.bump();
                    match c {
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some('/') => out.push('/'),
                        Some('b') => out.push('\u{8}'),
                        Some('f') => out.push('\u{c}'),
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('t') => out.push('\t'),
                        Some('u') => out.push(self.unicode_escape(here)?),
                        _ => {
                            return Err(SyntaxError {
                                pos: here,
                                message: format!(
                                    "invalid escape `\\{}` in a string (a regex needs `\\\\`)",
                                    c.map(String::from).unwrap_or_default()
                                ),
                            })
                        }
                    }
                }
                Some('\n') | None => {
                    return Err(SyntaxError {
                        pos: start,
                        message: "this string is never closed (missing \")".into(),
                    })
                }
                Some(c) if (c as u32) < 0x20 && c != '\t' => {
                    return Err(SyntaxError {
                        pos: here,
                        message: format!("{} inside a string", describe(c)),
                    })
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn hex4(&mut self, at: Pos) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|c| c.to_digit(16))
                .ok_or(SyntaxError {
                    pos: at,
                    message: "a \\u escape needs four hex digits".into(),
                })?;
            self.bump();
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn unicode_escape(&mut self, at: Pos) -> Result<char, SyntaxError> {
        let hi = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            // A surrogate pair, as JSON spells characters outside the BMP.
            if self.peek() == Some('\\') && self.chars.get(self.i + 1) == Some(&'u') {
                self.bump();
                self.bump();
                let lo = self.hex4(at)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return Err(SyntaxError {
                        pos: at,
                        message: "unpaired surrogate in a \\u escape".into(),
                    });
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            } else {
                return Err(SyntaxError {
                    pos: at,
                    message: "unpaired surrogate in a \\u escape".into(),
                });
            }
        } else {
            hi
        };
        char::from_u32(code).ok_or(SyntaxError {
            pos: at,
            message: "invalid character in a \\u escape".into(),
        })
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.bump(); // [
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek() == Some(']') {
                self.bump();
                return Ok(Kind::Array(items));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.bump(); // {
        let mut members = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some('}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                Some('"') => {}
                Some('\'') => {
                    return Err(self.error("keys must use double quotes (\"), not single quotes"))
                }
                Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {
                    return Err(self.error("keys must be in double quotes"))
                }
                _ => return Err(self.unexpected("a key in double quotes or '}'")),
            }
            let key_pos = self.pos();
            let key = self.string()?;
            self.skip_ws()?;
            if self.peek() != Some(':') {
                return Err(self.unexpected(&format!("':' after the key \"{key}\"")));
            }
            self.bump();
            self.skip_ws()?;
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn comments_and_trailing_commas() {
        let v = parse("// lead\n{ /* a */ \"a\": [1, 2,], \"b\": \"x\", }\n").unwrap();
        let Kind::Object(m) = v.kind else {
            panic!("not an object")
        };
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].key, "a");
        assert_eq!(m[0].key_pos, Pos { line: 2, col: 11 });
        assert_eq!(m[1].value.as_str(), Some("x"));
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let v = parse(r#"{"a": 1, "a": 2}"#).unwrap();
        let Kind::Object(m) = v.kind else {
            panic!("not an object")
        };
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn escapes() {
        let v = parse(r#""\u00e9\ud83d\ude00\n\\d+""#).unwrap();
        assert_eq!(v.as_str(), Some("é😀\n\\d+"));
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(
            err("{\n  \"a\": 1\n  \"b\": 2\n}"),
            "3:3: expected ',' or '}', found '\"'"
        );
        assert_eq!(
            err("{\"a\": tru}"),
            "1:7: expected a value, found `tru` (strings need double quotes)"
        );
        assert_eq!(
            err("{\"a\" 1}"),
            "1:6: expected ':' after the key \"a\", found '1'"
        );
        assert_eq!(
            err(""),
            "1:1: the file is empty; expected a JSON object or array"
        );
        assert_eq!(
            err("{\"a\": \"x}"),
            "1:7: this string is never closed (missing \")"
        );
        assert_eq!(
            err("{} x"),
            "1:4: unexpected 'x' after the end of the document"
        );
        assert_eq!(
            err("{\"a\": \"\\d\"}"),
            "1:8: invalid escape `\\d` in a string (a regex needs `\\\\`)"
        );
        assert_eq!(err("/* open"), "1:1: this /* comment is never closed");
        assert_eq!(
            err("{'a': 1}"),
            "1:2: keys must use double quotes (\"), not single quotes"
        );
        assert_eq!(
            err("{\"a\": 1"),
            "1:8: expected ',' or '}', found the end of the file"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(1000);
        assert!(err(&text).contains("nested more than"));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(
            err("{\"é\": x}"),
            "1:7: expected a value, found `x` (strings need double quotes)"
        );
    }
}
