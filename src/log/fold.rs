//! Folding repeats in the request log: the same successful request again and again (a
//! socket.io long-poll, a health check) becomes one line with a count instead of a screenful.
//!
//! On a terminal the previous line is rewritten in place with `(×N)`, as Vite does. Elsewhere
//! (a pipe, a file) repeats are counted and one line says how many there were, when another
//! line comes or every [`WINDOW`] while they go on.

use std::time::{Duration, Instant};

/// How long repeats are counted silently before a line reports them (when not on a terminal).
const WINDOW: Duration = Duration::from_secs(10);

/// The last request line written, and how often it has come again since.
#[derive(Default)]
pub(super) struct Fold {
    last: Option<Last>,
}

struct Last {
    key: String,
    line: String,
    repeats: u32,
    clock: String,
    since: Instant,
}

/// What to write for one log line.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Write {
    /// Lines to write as they are (a summary of earlier repeats, then the line itself).
    Lines(Vec<String>),
    /// Replace the previous line on the terminal with this one.
    Rewrite(String),
    /// Nothing: a repeat, counted.
    Nothing,
}

impl Fold {
    /// Decides what to write for `line` at `clock`. `key` is `Some` for a request line that
    /// may fold (a success), `None` for anything else; `tty` says whether lines can be
    /// rewritten in place.
    pub(super) fn next(
        &mut self,
        key: Option<String>,
        line: String,
        clock: &str,
        tty: bool,
    ) -> Write {
        if let (Some(key), Some(last)) = (&key, &mut self.last) {
            if *key == last.key {
                last.repeats += 1;
                if tty {
                    return Write::Rewrite(format!("{clock} {line} (×{})", last.repeats + 1));
                }
                if last.since.elapsed() < WINDOW {
                    return Write::Nothing;
                }
                let summary = summary(last, clock);
                last.repeats = 0;
                last.clock = clock.to_string();
                last.since = Instant::now();
                return Write::Lines(vec![summary]);
            }
        }
        let mut out = Vec::new();
        if let Some(last) = self.last.take().filter(|l| !tty && l.repeats > 0) {
            out.push(summary(&last, clock));
        }
        out.push(format!("{clock} {line}"));
        self.last = key.map(|key| Last {
            key,
            line,
            repeats: 0,
            clock: clock.to_string(),
            since: Instant::now(),
        });
        Write::Lines(out)
    }
}

fn summary(last: &Last, clock: &str) -> String {
    format!(
        "{clock} {} (×{} more since {})",
        last.line, last.repeats, last.clock
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(w: &Write) -> Vec<String> {
        match w {
            Write::Lines(l) => l.clone(),
            Write::Rewrite(l) => vec![format!("REWRITE {l}")],
            Write::Nothing => Vec::new(),
        }
    }

    #[test]
    fn repeats_fold_into_a_count() {
        let mut f = Fold::default();
        let poll = || Some("GET /poll 200".to_string());
        assert_eq!(
            lines(&f.next(poll(), "GET /poll 200".into(), "10:00:00", false)),
            ["10:00:00 GET /poll 200"]
        );
        assert_eq!(
            f.next(poll(), "GET /poll 200".into(), "10:00:01", false),
            Write::Nothing
        );
        assert_eq!(
            f.next(poll(), "GET /poll 200".into(), "10:00:02", false),
            Write::Nothing
        );
        assert_eq!(
            lines(&f.next(None, "warning: x".into(), "10:00:03", false)),
            [
                "10:00:03 GET /poll 200 (×2 more since 10:00:00)",
                "10:00:03 warning: x"
            ]
        );
        // On a terminal the line is rewritten with the count.
        let mut f = Fold::default();
        f.next(poll(), "GET /poll 200".into(), "10:00:00", true);
        assert_eq!(
            lines(&f.next(poll(), "GET /poll 200".into(), "10:00:01", true)),
            ["REWRITE 10:00:01 GET /poll 200 (×2)"]
        );
        assert_eq!(
            lines(&f.next(None, "other".into(), "10:00:02", true)),
            ["10:00:02 other"]
        );
    }
}
