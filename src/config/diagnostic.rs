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

impl Diagnostic {
    /// The diagnostic without its severity, for a log line that already says it
    /// (`file:line:col: rule "…": message`).
    pub fn located(&self) -> impl fmt::Display + '_ {
        Located(self, false)
    }
}

/// `file:line:col: [severity: ]rule "…": message`.
struct Located<'a>(&'a Diagnostic, bool);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Located(d, with_severity) = self;
        // Rules from the command line have no position (line 0).
        if d.pos.line == 0 {
            write!(f, "{}: ", d.file.display())?;
        } else {
            write!(f, "{}:{}: ", d.file.display(), d.pos)?;
        }
        if *with_severity {
            f.write_str(match d.severity {
                Severity::Warning => "warning: ",
                Severity::Error => "error: ",
            })?;
        }
        if let Some(rule) = &d.rule {
            write!(f, "rule \"{rule}\": ")?;
        }
        f.write_str(&d.message)
    }
}

impl fmt::Display for Diagnostic {
    /// As compilers print them: `file:line:col: warning: rule "…": message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Located(self, true).fmt(f)
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
