//! `devproxy cors URL`: the CORS doctor. Does what a browser does for a page on `--origin`
//! calling URL (the preflight when the call is not simple, then the call), prints each check
//! with ✓ or ✗ and, when the browser would block it, Chrome's console line and the fix.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use http::{header, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};

use super::CorsArgs;
use crate::body::{self, Body};
use crate::cors::{fixes, Ask, Judgement};

/// How long each of the two requests may take.
const TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn run(args: CorsArgs) -> ExitCode {
    let (ask, notes) = match ask(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match super::runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let allowed = runtime.block_on(doctor(&ask, &notes, !args.insecure));
    match allowed {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// The call as the page would make it, from the arguments, and notes on what was assumed.
fn ask(args: &CorsArgs) -> Result<(Ask, Vec<String>), String> {
    let mut notes = Vec::new();
    let url = args.url.trim();
    let uri: Uri = url.parse().map_err(|_| {
        format!("\"{url}\" is not a URL; write it as http://localhost:8080/api/users")
    })?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(format!(
            "\"{url}\" is not an http:// or https:// URL, e.g. http://localhost:8080/api/users"
        ));
    }
    let origin = args.origin.trim_end_matches('/').to_string();
    match crate::url::split(&origin) {
        Some((_, authority, "")) if !authority.is_empty() => {}
        _ => {
            return Err(format!(
                "--origin \"{}\" is not an origin; write it as scheme://host[:port], e.g. http://localhost:5173",
                args.origin
            ))
        }
    }
    if args.origin.ends_with('/') {
        notes.push(format!(
            "the origin is {origin} (an origin has no trailing slash)"
        ));
    }
    let method = method(&args.method)?;
    let mut headers = Vec::new();
    for h in &args.headers {
        let (name, value) = match h.split_once(':') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (h.trim(), None),
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("--header \"{h}\": \"{name}\" is not a header name"))?;
        if crate::cors::forbidden_header(&name) {
            let why = match name {
                header::COOKIE => " (cookies go with --credentials)",
                _ => "",
            };
            notes.push(format!(
                "a page cannot set {}: the browser drops it, so it is left out{why}",
                crate::cors::display(&name)
            ));
            continue;
        }
        let value = match (value, &name) {
            (Some(v), _) => v.to_string(),
            (None, &header::CONTENT_TYPE) => {
                notes.push("Content-Type taken as application/json; give --header 'Content-Type: text/plain' for another".into());
                "application/json".to_string()
            }
            (None, &header::ACCEPT) => "*/*".to_string(),
            (None, &header::ACCEPT_LANGUAGE | &header::CONTENT_LANGUAGE) => "en".to_string(),
            (None, _) => "devproxy-cors".to_string(),
        };
        HeaderValue::from_str(&value)
            .map_err(|_| format!("--header \"{h}\": the value is not a valid header value"))?;
        headers.push((name, value));
    }
    let ask = Ask {
        url: url.to_string(),
        origin,
        method,
        headers,
        credentials: args.credentials,
    };
    Ok((ask, notes))
}

/// The method as `fetch` sends it: the six standard names upper-cased, others as written.
fn method(m: &str) -> Result<Method, String> {
    let upper = m.to_ascii_uppercase();
    let normalized = match upper.as_str() {
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "POST" | "PUT" => upper.as_str(),
        "CONNECT" | "TRACE" | "TRACK" => {
            return Err(format!(
                "--method {m}: browsers never send {upper} from a page"
            ))
        }
        _ => m,
    };
    Method::from_bytes(normalized.as_bytes())
        .map_err(|_| format!("--method \"{m}\" is not an HTTP method"))
}

/// Runs the checks and prints them; `true` when the browser would allow the call.
async fn doctor(ask: &Ask, notes: &[String], secure: bool) -> bool {
    let client = match crate::proxy::client(secure) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return false;
        }
    };
    let credentials = match ask.credentials {
        true => ", with credentials",
        false => "",
    };
    println!(
        "{} {} from {}{credentials}",
        ask.method, ask.url, ask.origin
    );
    for note in notes {
        println!("  note: {note}");
    }
    if let Some((scheme, authority, _)) = crate::url::split(&ask.url) {
        // Same scheme and host:port; http://x and https://x are two origins.
        if crate::url::split(&ask.origin).is_some_and(|(s, a, _)| {
            s.eq_ignore_ascii_case(scheme) && a.eq_ignore_ascii_case(authority)
        }) {
            println!("\nSame origin: CORS does not apply, the browser allows it.");
            return true;
        }
    }
    let reasons = ask.preflight_reasons();
    println!();
    if reasons.is_empty() {
        println!("A simple request: no preflight, the browser sends it and checks the answer.");
    } else {
        println!("Not a simple request, so the browser asks first with a preflight:");
        for r in &reasons {
            println!("  · {r}");
        }
        let Some((status, headers)) = send(&client, preflight(ask)).await else {
            return false;
        };
        println!("\nPreflight: OPTIONS {} → {}", ask.url, status_text(status));
        let j = ask.judge_preflight(status, &headers);
        if !verdict(ask, &j, true) {
            return false;
        }
    }
    let Some((status, headers)) = send(&client, request(ask)).await else {
        return false;
    };
    println!(
        "\nRequest: {} {} → {}",
        ask.method,
        ask.url,
        status_text(status)
    );
    let j = ask.judge_response(&headers);
    if !verdict(ask, &j, false) {
        return false;
    }
    if status.is_redirection() {
        if let Some(to) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) {
            println!("  note: a redirect to {to}; the browser follows it and checks that answer too: run devproxy cors on it");
        }
    }
    println!("\nAllowed: the browser gives the response to the page.");
    println!("  {}", readable(&headers));
    true
}

/// Prints the checks of one answer; when one failed, the console line and the fixes.
fn verdict(ask: &Ask, j: &Judgement, preflight: bool) -> bool {
    for c in &j.checks {
        let mark = if c.ok { "✓" } else { "✗" };
        println!("  {mark} {}", c.text);
    }
    let Some(blocked) = &j.blocked else {
        return true;
    };
    let stop = match preflight {
        true => format!("the browser stops here and never sends the {}", ask.method),
        false => "the page's fetch fails with a TypeError and cannot read the answer".to_string(),
    };
    println!("\nBlocked: {stop}.");
    println!("Chrome's console says:\n  {}", ask.console(&blocked.reason));
    if let Some(hint) = &blocked.hint {
        println!("Likely cause: {hint}.");
    }
    print_fixes(ask);
    false
}

fn print_fixes(ask: &Ask) {
    let mut what = format!("origin {}", ask.origin);
    let names = ask.unsafe_header_names();
    if !names.is_empty() {
        let _ = write!(what, ", headers {}", names.join(", "));
    }
    if ask.credentials {
        what.push_str(", credentials");
    }
    println!("\nFix it on the backend (allow {what}):");
    print!("{}", fixes::backends(ask));
    if let Some((rule, call)) = fixes::devproxy_rule(&ask.url) {
        println!("\nOr make the call same-origin: serve the page with devproxy, add this rule to proxy.conf.json");
        println!("and call {call} instead of {}:", ask.url);
        println!("  {rule}");
    }
}

/// Which response headers the page's JavaScript can read.
fn readable(headers: &http::HeaderMap) -> String {
    const SAFE: [&str; 7] = [
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    ];
    let exposed: Vec<String> = headers
        .get_all(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let hidden: Vec<&str> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|n| !SAFE.contains(n) && !exposed.iter().any(|e| e == n || e == "*"))
        .filter(|n| {
            !n.starts_with("access-control-")
                && !matches!(
                    *n,
                    "date" | "connection" | "vary" | "keep-alive" | "transfer-encoding" | "server"
                )
        })
        .collect();
    match hidden.is_empty() {
        true => "JavaScript can read every header of it.".to_string(),
        false => format!(
            "JavaScript cannot read {} (list them in Access-Control-Expose-Headers to expose them).",
            hidden.join(", ")
        ),
    }
}

fn status_text(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_string()
}

/// The preflight as Chrome sends it: no cookies, no body, the method and header names asked.
fn preflight(ask: &Ask) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::OPTIONS)
        .uri(&ask.url)
        .header(header::ORIGIN, &ask.origin)
        .header(header::ACCEPT, "*/*")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, ask.method.as_str())
        .header("sec-fetch-mode", "cors");
    let names = ask.unsafe_header_names();
    if !names.is_empty() {
        b = b.header(header::ACCESS_CONTROL_REQUEST_HEADERS, names.join(","));
    }
    b.body(body::empty()).unwrap_or_default()
}

/// The call itself, with the page's headers and an empty body.
fn request(ask: &Ask) -> Request<Body> {
    let mut b = Request::builder()
        .method(ask.method.clone())
        .uri(&ask.url)
        .header(header::ORIGIN, &ask.origin)
        .header("sec-fetch-mode", "cors");
    for (name, value) in &ask.headers {
        b = b.header(name, value);
    }
    if !ask.headers.iter().any(|(n, _)| n == header::ACCEPT) {
        b = b.header(header::ACCEPT, "*/*");
    }
    b.body(body::empty()).unwrap_or_default()
}

/// Sends one request; on failure prints why, as the browser would fail the fetch.
async fn send(
    client: &hyper_util::client::legacy::Client<crate::proxy::Connector, Body>,
    req: Request<Body>,
) -> Option<(StatusCode, http::HeaderMap)> {
    let uri = req.uri().clone();
    let what = format!("{} {}", req.method(), uri);
    let cause = match tokio::time::timeout(TIMEOUT, client.request(req)).await {
        Ok(Ok(res)) => return Some((res.status(), res.headers().clone())),
        Ok(Err(e)) => crate::proxy::explain(
            &e,
            &target(&uri),
            " (the browser refuses it too unless its CA is trusted there; -k accepts it here)",
        ),
        Err(_) => format!("no answer within {} s", TIMEOUT.as_secs()),
    };
    println!("\n{what} failed: {cause}");
    println!("\nBlocked: the page's fetch fails with \"TypeError: Failed to fetch\" (not a CORS error; no answer came).");
    None
}

fn target(uri: &Uri) -> crate::rules::Target {
    let tls = uri.scheme_str() == Some("https");
    crate::rules::Target {
        tls,
        ws_scheme: false,
        host: uri.host().unwrap_or("").to_ascii_lowercase(),
        port: uri.port_u16().unwrap_or(if tls { 443 } else { 80 }),
        base_path: String::new(),
    }
}
