//! The browser's side of CORS, as the Fetch standard says it: whether a request needs a
//! preflight, and each check a preflight answer and a response must pass, with the line
//! Chrome prints when one fails. Used by `devproxy cors` (which sends the requests) and by the
//! inspector (which judges the exchanges it sees).

pub(crate) mod fixes;
mod safelist;
mod seen;

use http::{HeaderMap, HeaderName, Method, StatusCode};

pub(crate) use safelist::{display, forbidden_header};
use safelist::{safelisted_header, safelisted_method};
pub(crate) use seen::seen;

/// What a page asks for: the request as `fetch` would make it.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub url: String,
    /// The page's origin, serialized (`http://localhost:5173`).
    pub origin: String,
    pub method: Method,
    /// The headers the page sets, with the values the page would give.
    pub headers: Vec<(HeaderName, String)>,
    /// `credentials: 'include'` (`withCredentials` for XHR).
    pub credentials: bool,
}

/// One check, passed or failed, said in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub ok: bool,
    pub text: String,
}

/// Why the browser blocks the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blocked {
    /// Chrome's words after "has been blocked by CORS policy: ".
    pub reason: String,
    /// What usually causes it, when the answer suggests it.
    pub hint: Option<String>,
}

/// The checks run on one answer, and the first failure (the one the browser reports).
#[derive(Debug, Clone, Default)]
pub(crate) struct Judgement {
    pub checks: Vec<Check>,
    pub blocked: Option<Blocked>,
}

impl Judgement {
    fn pass(&mut self, text: String) {
        self.checks.push(Check { ok: true, text });
    }

    /// Records a failed check; only the first becomes the verdict.
    fn fail(&mut self, text: String, reason: String, hint: Option<String>) {
        self.checks.push(Check { ok: false, text });
        if self.blocked.is_none() {
            self.blocked = Some(Blocked { reason, hint });
        }
    }
}

const PREFLIGHT: &str = "Response to preflight request doesn't pass access control check: ";
const NO_CORS: &str = " Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled.";

impl Ask {
    /// Why this request is not "simple", each reason a line; empty when no preflight is sent.
    pub(crate) fn preflight_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if !safelisted_method(&self.method) {
            reasons.push(format!(
                "the method {} is not GET, HEAD or POST",
                self.method
            ));
        }
        for (name, value) in &self.headers {
            if !safelisted_header(name, value) {
                reasons.push(match *name {
                    http::header::CONTENT_TYPE => format!(
                        "Content-Type {value} is not application/x-www-form-urlencoded, multipart/form-data or text/plain"
                    ),
                    _ => format!("the header {} is not CORS-safelisted", display(name)),
                });
            }
        }
        reasons
    }

    /// The names the preflight asks for in Access-Control-Request-Headers: lower-case,
    /// sorted, once each, as browsers send them.
    pub(crate) fn unsafe_header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, v)| !safelisted_header(n, v))
            .map(|(n, _)| n.as_str().to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The line Chrome's console prints when the call is blocked for `reason`.
    pub(crate) fn console(&self, reason: &str) -> String {
        format!(
            "Access to fetch at '{}' from origin '{}' has been blocked by CORS policy: {reason}",
            self.url, self.origin
        )
    }

    /// Checks the answer to the preflight (the OPTIONS request the browser sends first).
    pub(crate) fn judge_preflight(&self, status: StatusCode, headers: &HeaderMap) -> Judgement {
        let mut j = Judgement::default();
        if status.is_redirection() {
            j.fail(
                format!("the preflight was answered with a redirect ({status})"),
                format!("{PREFLIGHT}Redirect is not allowed for a preflight request."),
                Some("the URL redirects (a missing or extra trailing slash, http to https, a login page): call the final URL, or answer OPTIONS before the redirect".into()),
            );
            return j;
        }
        self.cors_check(headers, PREFLIGHT, &mut j);
        if status.is_success() {
            j.pass(format!("the preflight's status {status} is ok (200-299)"));
        } else {
            let hint = match status.as_u16() {
                401 | 403 => "authentication answered the preflight: preflights never carry cookies or Authorization, so let OPTIONS pass before the auth check",
                404 | 405 => "the backend has no OPTIONS route here: its CORS handling must answer OPTIONS before routing",
                _ => "the backend failed the OPTIONS request: answer it with 204 and the CORS headers",
            };
            j.fail(
                format!("the preflight's status {status} is not ok (200-299)"),
                format!("{PREFLIGHT}It does not have HTTP ok status."),
                Some(hint.into()),
            );
        }
        self.methods_check(headers, &mut j);
        self.headers_check(headers, &mut j);
        j
    }

    /// Checks the response to the request itself.
    pub(crate) fn judge_response(&self, headers: &HeaderMap) -> Judgement {
        let mut j = Judgement::default();
        self.cors_check(headers, "", &mut j);
        j
    }

    /// The CORS check: Access-Control-Allow-Origin, and -Credentials for a credentialed call.
    fn cors_check(&self, headers: &HeaderMap, prefix: &str, j: &mut Judgement) {
        const ACAO: &str = "Access-Control-Allow-Origin";
        let values: Vec<&str> = headers
            .get_all(http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{fffd}"))
            .collect();
        let no_cors = if prefix.is_empty() { NO_CORS } else { "" };
        let allow = match values.as_slice() {
            [] => {
                let tail = match prefix.is_empty() {
                    true => " If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled.",
                    false => "",
                };
                return j.fail(
                    format!("{ACAO} is missing"),
                    format!("{prefix}No '{ACAO}' header is present on the requested resource.{tail}"),
                    Some("the backend sends no CORS headers for this origin (or not on this path, or not on errors)".into()),
                );
            }
            [one] if !one.contains(',') => one.trim(),
            _ => {
                let all = values.join(", ");
                return j.fail(
                    format!("{ACAO} has more than one value: {all}"),
                    format!("{prefix}The '{ACAO}' header contains multiple values '{all}', but only one is allowed.{no_cors}"),
                    Some("two layers add the header (a proxy such as nginx and the app, or two middlewares): keep one".into()),
                );
            }
        };
        if allow == "*" {
            if self.credentials {
                return j.fail(
                    format!("{ACAO} is * but the request has credentials"),
                    format!("{prefix}The value of the '{ACAO}' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."),
                    Some(format!("name the origin instead of *: {ACAO}: {}", self.origin)),
                );
            }
            j.pass(format!("{ACAO} is * (any origin, no credentials)"));
            return;
        }
        if allow != self.origin {
            let valid = matches!(crate::url::split(allow), Some((_, a, "")) if !a.is_empty())
                || allow == "null";
            let (reason, hint) = match valid {
                false => (
                    format!("{prefix}The '{ACAO}' header contains the invalid value '{allow}'.{no_cors}"),
                    "an origin is scheme://host[:port] with no path and no trailing slash".to_string(),
                ),
                true => (
                    format!("{prefix}The '{ACAO}' header has a value '{allow}' that is not equal to the supplied origin.{no_cors}"),
                    format!("the backend allows another origin; add {} to its list (scheme, host and port must match exactly)", self.origin),
                ),
            };
            return j.fail(
                format!("{ACAO} is {allow}, not the page's origin {}", self.origin),
                reason,
                Some(hint),
            );
        }
        j.pass(format!("{ACAO} is {allow}, the page's origin"));
        if !self.credentials {
            return;
        }
        const ACAC: &str = "Access-Control-Allow-Credentials";
        match headers.get(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS) {
            Some(v) if v == "true" => j.pass(format!("{ACAC} is true (credentials allowed)")),
            other => {
                let value = other
                    .map(|v| v.to_str().unwrap_or("\u{fffd}"))
                    .unwrap_or("");
                let said = match other {
                    None => "missing".to_string(),
                    Some(_) => format!("\"{value}\", not \"true\""),
                };
                j.fail(
                    format!("{ACAC} is {said}, and the request has credentials"),
                    format!("{prefix}The value of the '{ACAC}' header in the response is '{value}' which must be 'true' when the request's credentials mode is 'include'."),
                    Some("allow credentials on the backend (and keep a named origin, never *)".into()),
                );
            }
        }
    }

    fn methods_check(&self, headers: &HeaderMap, j: &mut Judgement) {
        const ACAM: &str = "Access-Control-Allow-Methods";
        let Some(list) = list(headers, &http::header::ACCESS_CONTROL_ALLOW_METHODS) else {
            return j.fail(
                format!("{ACAM} cannot be parsed"),
                format!(
                    "{PREFLIGHT}Cannot parse {ACAM} response header field in preflight response."
                ),
                None,
            );
        };
        let m = self.method.as_str();
        if safelisted_method(&self.method) {
            return j.pass(format!("the method {m} needs no {ACAM}"));
        }
        let star = !self.credentials && list.iter().any(|x| x == "*");
        if list.iter().any(|x| x == m) || star {
            return j.pass(format!("{ACAM} allows {m}"));
        }
        let hint = if list.iter().any(|x| x.eq_ignore_ascii_case(m)) {
            format!("methods are compared case-sensitively: the page sends {m}, the backend allows another spelling")
        } else if list.iter().any(|x| x == "*") {
            "* does not cover a request with credentials: list the methods".to_string()
        } else {
            format!("add {m} to the backend's allowed methods")
        };
        let said = match list.is_empty() {
            true => "missing".to_string(),
            false => list.join(", "),
        };
        j.fail(
            format!("{ACAM} does not allow {m} ({said})"),
            format!("{PREFLIGHT}Method {m} is not allowed by {ACAM} in preflight response."),
            Some(hint),
        );
    }

    fn headers_check(&self, headers: &HeaderMap, j: &mut Judgement) {
        const ACAH: &str = "Access-Control-Allow-Headers";
        let names = self.unsafe_header_names();
        if names.is_empty() {
            return;
        }
        let Some(list) = list(headers, &http::header::ACCESS_CONTROL_ALLOW_HEADERS) else {
            return j.fail(
                format!("{ACAH} cannot be parsed"),
                format!(
                    "{PREFLIGHT}Cannot parse {ACAH} response header field in preflight response."
                ),
                None,
            );
        };
        let star = !self.credentials && list.iter().any(|x| x == "*");
        for name in names {
            let listed = list.iter().any(|x| x.eq_ignore_ascii_case(&name));
            // `*` never covers Authorization.
            if listed || (star && name != "authorization") {
                j.pass(format!("{ACAH} allows {name}"));
                continue;
            }
            let hint = match (name.as_str(), list.iter().any(|x| x == "*")) {
                ("authorization", true) => "* never covers Authorization: name it".to_string(),
                (_, true) => {
                    "* does not cover a request with credentials: list the headers".to_string()
                }
                _ => format!("add {name} to the backend's allowed headers"),
            };
            j.fail(
                format!("{ACAH} does not allow {name}"),
                format!("{PREFLIGHT}Request header field {name} is not allowed by {ACAH} in preflight response."),
                Some(hint),
            );
        }
    }
}

/// A comma-separated list header, all its lines; `None` when a token is not valid.
fn list(headers: &HeaderMap, name: &HeaderName) -> Option<Vec<String>> {
    let mut items = Vec::new();
    for line in headers.get_all(name) {
        let line = line.to_str().ok()?;
        for item in line.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !item
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b))
            {
                return None;
            }
            items.push(item.to_string());
        }
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(method: &str, headers: &[(&str, &str)], credentials: bool) -> Ask {
        Ask {
            url: "http://127.0.0.1:8080/api".into(),
            origin: "http://localhost:5173".into(),
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            headers: headers
                .iter()
                .map(|(n, v)| (HeaderName::from_bytes(n.as_bytes()).unwrap(), v.to_string()))
                .collect(),
            credentials,
        }
    }

    /// A header map from pairs (shared with `seen`'s tests).
    pub(super) fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    #[test]
    fn simple_requests_need_no_preflight() {
        assert!(ask("GET", &[], false).preflight_reasons().is_empty());
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        assert!(ask("POST", &form, false).preflight_reasons().is_empty());
        assert!(ask("GET", &[("range", "bytes=0-99")], false)
            .preflight_reasons()
            .is_empty());
        let json = ask("POST", &[("content-type", "application/json")], false);
        assert_eq!(json.preflight_reasons().len(), 1);
        assert_eq!(json.unsafe_header_names(), vec!["content-type"]);
        let put = ask("PUT", &[("x-token", "1"), ("accept", "*/*")], false);
        assert_eq!(put.preflight_reasons().len(), 2);
        assert_eq!(put.unsafe_header_names(), vec!["x-token"]);
    }

    #[test]
    fn the_cors_check_follows_the_standard() {
        let a = ask("GET", &[], false);
        assert!(a.judge_response(&map(&[])).blocked.is_some());
        assert!(a
            .judge_response(&map(&[("access-control-allow-origin", "*")]))
            .blocked
            .is_none());
        let wrong = a.judge_response(&map(&[(
            "access-control-allow-origin",
            "http://localhost:3000",
        )]));
        assert!(wrong
            .blocked
            .unwrap()
            .reason
            .contains("not equal to the supplied origin"));
        let slash = a.judge_response(&map(&[(
            "access-control-allow-origin",
            "http://localhost:5173/",
        )]));
        assert!(slash.blocked.unwrap().reason.contains("invalid value"));
        let two = a.judge_response(&map(&[
            ("access-control-allow-origin", "http://localhost:5173"),
            ("access-control-allow-origin", "http://localhost:5173"),
        ]));
        assert!(two.blocked.unwrap().reason.contains("multiple values"));

        let c = ask("GET", &[], true);
        let star = c.judge_response(&map(&[
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
        ]));
        assert!(star.blocked.unwrap().reason.contains("wildcard"));
        let no_acac = c.judge_response(&map(&[(
            "access-control-allow-origin",
            "http://localhost:5173",
        )]));
        assert!(no_acac
            .blocked
            .unwrap()
            .reason
            .contains("is '' which must be 'true'"));
        let ok = c.judge_response(&map(&[
            ("access-control-allow-origin", "http://localhost:5173"),
            ("access-control-allow-credentials", "true"),
        ]));
        assert!(ok.blocked.is_none());
        assert_eq!(ok.checks.len(), 2);
    }

    #[test]
    fn preflights_check_status_methods_and_headers() {
        let a = ask(
            "PUT",
            &[("authorization", "Bearer x"), ("x-token", "1")],
            false,
        );
        let good = [
            ("access-control-allow-origin", "http://localhost:5173"),
            ("access-control-allow-methods", "GET, PUT"),
            ("access-control-allow-headers", "Authorization, X-Token"),
        ];
        assert!(a
            .judge_preflight(StatusCode::NO_CONTENT, &map(&good))
            .blocked
            .is_none());
        let e = a
            .judge_preflight(StatusCode::UNAUTHORIZED, &map(&good))
            .blocked
            .unwrap();
        assert!(e.reason.ends_with("It does not have HTTP ok status."));
        assert!(e.hint.unwrap().contains("never carry cookies"));
        let lower = [good[0], ("access-control-allow-methods", "put"), good[2]];
        let e = a
            .judge_preflight(StatusCode::OK, &map(&lower))
            .blocked
            .unwrap();
        assert!(e.reason.contains("Method PUT is not allowed"));
        assert!(e.hint.unwrap().contains("case-sensitively"));
        let star = [good[0], good[1], ("access-control-allow-headers", "*")];
        let e = a
            .judge_preflight(StatusCode::OK, &map(&star))
            .blocked
            .unwrap();
        assert!(e
            .reason
            .contains("Request header field authorization is not allowed"));
        let e = a
            .judge_preflight(StatusCode::FOUND, &map(&good))
            .blocked
            .unwrap();
        assert!(e.reason.contains("Redirect is not allowed"));
    }
}
