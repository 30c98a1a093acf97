//! What the reader tells the user about a file: diagnostics with their positions, and the
//! errors that make a file unusable as a whole.

use std::fmt;
use std::path::PathBuf;

use super::jsonc::Pos;

/// How bad a diagnostic is: a warning leaves the rule working, an error breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One thing worth telling the user about the file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// Line 0 for rules from the command line, which have no position.
    pub pos: Pos,
    /// The rule's display name, when the diagnostic belongs to one rule.
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.pos.line == 0 {
            write!(f, "{}: {sev}: ", self.file.display())?;
        } else {
            write!(f, "{}:{}: {sev}: ", self.file.display(), self.pos)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, "rule \"{rule}\": ")?;
        }
        f.write_str(&self.message)
    }
}

/// A file that cannot be used at all: unreadable, not JSON, or not a proxy config's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {reason}", file.display())]
    Read { file: PathBuf, reason: String },
    #[error("{}:{pos}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        pos: Pos,
        message: String,
    },
}

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct At<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> At<T> {
    pub(crate) fn new(value: T, pos: Pos) -> Self {
        At { value, pos }
    }
}
