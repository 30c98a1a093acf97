//! Terminal output: one short line per event, local time first, the request log coloured by
//! status on a terminal and plain otherwise.

mod fold;

use std::fmt::{self, Write as _};
use std::io::IsTerminal;
use std::sync::Mutex;

use time::{format_description::FormatItem, macros::format_description, UtcOffset};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The tracing target of request lines.
pub(crate) const ACCESS: &str = "devproxy::access";

const CLOCK: &[FormatItem<'static>] = format_description!("[hour]:[minute]:[second]");

/// Sets up logging. Call before the runtime starts threads: the local UTC offset can only be
/// read safely while the process is single-threaded.
pub(crate) fn init(verbosity: i8) {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let default = match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn,devproxy=info",
        1 => "warn,devproxy=debug",
        _ => "debug",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stdout)
        .event_format(LineFormat {
            offset,
            fold: Mutex::default(),
        })
        .try_init();
}

struct LineFormat {
    offset: UtcOffset,
    fold: Mutex<fold::Fold>,
}

#[derive(Default)]
struct Fields {
    message: String,
    method: String,
    path: String,
    upstream: String,
    status: u64,
    ms: u64,
    rule: String,
    cause: String,
    other: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "method" => self.method = value.to_string(),
            "path" => self.path = value.to_string(),
            "upstream" => self.upstream = value.to_string(),
            "rule" => self.rule = value.to_string(),
            "cause" => self.cause = value.to_string(),
            "message" => self.message = value.to_string(),
            name => self.other.push((name.to_string(), value.to_string())),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "status" => self.status = value,
            "ms" => self.ms = value,
            name => self.other.push((name.to_string(), value.to_string())),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = text,
            _ => self.record_str(field, &text),
        }
    }
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let tty = writer.has_ansi_escapes();
        let paint = Paint(tty);
        let now = time::OffsetDateTime::now_utc().to_offset(self.offset);
        let clock = paint.wrap("2", &now.format(CLOCK).unwrap_or_default());
        let mut f = Fields::default();
        event.record(&mut f);
        let (key, line) = if event.metadata().target() == ACCESS {
            (f.fold_key(), f.access_line(&paint))
        } else {
            (None, f.message_line(*event.metadata().level(), &paint))
        };
        let mut fold = self.fold.lock().unwrap_or_else(|e| e.into_inner());
        match fold.next(key, line, &clock, tty) {
            fold::Write::Lines(lines) => lines.iter().try_for_each(|l| writeln!(writer, "{l}")),
            // Up one line, clear it, write the new one.
            fold::Write::Rewrite(l) => writeln!(writer, "\x1b[1A\x1b[2K{l}"),
            fold::Write::Nothing => Ok(()),
        }
    }
}

impl Fields {
    /// Successful request lines fold when method, path (without the query), upstream, status
    /// and rule are the same.
    fn fold_key(&self) -> Option<String> {
        let ok = self.status < 400 && self.cause.is_empty();
        let path = self.path.split('?').next().unwrap_or("");
        let upstream = self.upstream.split('?').next().unwrap_or("");
        ok.then(|| {
            format!(
                "{} {path} {upstream} {} {}",
                self.method, self.status, self.rule
            )
        })
    }

    /// `GET /api/x?y → http://backend/x 200 4ms [/api] cause`.
    fn access_line(&self, paint: &Paint) -> String {
        let colour = match self.status {
            500.. => "31",
            400..=499 => "33",
            300..=399 => "36",
            _ => "32",
        };
        let mut s = format!("{} {}", paint.wrap("1", &self.method), self.path);
        if !self.upstream.is_empty() {
            let _ = write!(s, " → {}", self.upstream);
        }
        let status = self.status.to_string();
        let _ = write!(s, " {} {}ms", paint.wrap(colour, &status), self.ms);
        if !self.rule.is_empty() {
            let _ = write!(s, " {}", paint.wrap("2", &format!("[{}]", self.rule)));
        }
        if !self.cause.is_empty() {
            let _ = write!(s, " {}", paint.wrap("31", &self.cause));
        }
        s
    }

    /// `warning: message [rule] key=value`.
    fn message_line(&self, level: Level, paint: &Paint) -> String {
        let mut s = match level {
            Level::ERROR => format!("{} ", paint.wrap("1;31", "error:")),
            Level::WARN => format!("{} ", paint.wrap("1;33", "warning:")),
            _ => String::new(),
        };
        s.push_str(&self.message);
        if !self.rule.is_empty() {
            let _ = write!(s, " {}", paint.wrap("2", &format!("[{}]", self.rule)));
        }
        for (k, v) in &self.other {
            let _ = write!(s, " {}", paint.wrap("2", &format!("{k}={v}")));
        }
        s
    }
}
