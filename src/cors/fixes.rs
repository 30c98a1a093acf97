//! The fix for a blocked call, written for the backends people run (Express, Flask, Spring,
//! ASP.NET Core, nginx), and the devproxy rule that makes the call same-origin instead.

use super::{display, Ask};

/// What the backend must allow for `ask`.
struct Allow {
    origin: String,
    /// Methods beyond GET/HEAD/POST, with the common ones so the fix does not narrow the API.
    methods: Vec<String>,
    headers: Vec<String>,
    credentials: bool,
}

impl Allow {
    fn of(ask: &Ask) -> Allow {
        let mut methods: Vec<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec();
        let m = ask.method.as_str();
        if m != "HEAD" && !methods.iter().any(|x| x == m) {
            methods.push(m.to_string());
        }
        let mut headers: Vec<String> = Vec::new();
        for name in ask.unsafe_header_names() {
            let written = ask
                .headers
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(n, _)| display(n))
                .unwrap_or(name);
            headers.push(written);
        }
        Allow {
            origin: ask.origin.clone(),
            methods,
            headers,
            credentials: ask.credentials,
        }
    }
}

fn quoted(items: &[String], q: char) -> String {
    items
        .iter()
        .map(|i| format!("{q}{i}{q}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lines to add on each common backend, indented for the terminal.
pub(crate) fn backends(ask: &Ask) -> String {
    let a = Allow::of(ask);
    let mut out = String::new();
    out.push_str(&express(&a));
    out.push_str(&flask(&a));
    out.push_str(&spring(&a));
    out.push_str(&aspnet(&a));
    out.push_str(&nginx(&a));
    out
}

impl Allow {
    /// The allowed set as one library's options: `origin`, `methods` and `headers` say how
    /// each is written, `credentials` is the flag; joined with ", ".
    fn options(
        &self,
        origin: impl Fn(&str) -> String,
        methods: impl Fn(&[String]) -> String,
        headers: impl Fn(&[String]) -> String,
        credentials: &str,
    ) -> String {
        let mut opts = vec![origin(&self.origin), methods(&self.methods)];
        if !self.headers.is_empty() {
            opts.push(headers(&self.headers));
        }
        if self.credentials {
            opts.push(credentials.to_string());
        }
        opts.join(", ")
    }
}

fn express(a: &Allow) -> String {
    let opts = a.options(
        |o| format!("origin: '{o}'"),
        |m| format!("methods: [{}]", quoted(m, '\'')),
        |h| format!("allowedHeaders: [{}]", quoted(h, '\'')),
        "credentials: true",
    );
    format!("  Express (npm install cors), before your routes:\n    const cors = require('cors');\n    app.use(cors({{ {opts} }}));\n")
}

fn flask(a: &Allow) -> String {
    let opts = a.options(
        |o| format!("origins=['{o}']"),
        |m| format!("methods=[{}]", quoted(m, '\'')),
        |h| format!("allow_headers=[{}]", quoted(h, '\'')),
        "supports_credentials=True",
    );
    format!("  Flask (pip install flask-cors):\n    from flask_cors import CORS\n    CORS(app, {opts})\n")
}

fn spring(a: &Allow) -> String {
    let opts = a.options(
        |o| format!("origins = \"{o}\""),
        |m| {
            let m: Vec<String> = m.iter().map(|m| format!("RequestMethod.{m}")).collect();
            format!("methods = {{{}}}", m.join(", "))
        },
        |h| format!("allowedHeaders = {{{}}}", quoted(h, '"')),
        "allowCredentials = \"true\"",
    );
    format!("  Spring, on the controller (with Spring Security, also http.cors(Customizer.withDefaults())):\n    @CrossOrigin({opts})\n")
}

fn aspnet(a: &Allow) -> String {
    let mut policy = format!(
        "p.WithOrigins(\"{}\").WithMethods({})",
        a.origin,
        quoted(&a.methods, '"')
    );
    if !a.headers.is_empty() {
        policy.push_str(&format!(".WithHeaders({})", quoted(&a.headers, '"')));
    }
    if a.credentials {
        policy.push_str(".AllowCredentials()");
    }
    format!(
        "  ASP.NET Core, in Program.cs:\n    builder.Services.AddCors(o => o.AddDefaultPolicy(p => {policy}));\n    app.UseCors(); // after UseRouting, before UseAuthentication\n"
    )
}

fn nginx(a: &Allow) -> String {
    let mut common = vec![
        format!(
            "add_header Access-Control-Allow-Origin \"{}\" always;",
            a.origin
        ),
        "add_header Vary Origin always;".to_string(),
    ];
    if a.credentials {
        common.push("add_header Access-Control-Allow-Credentials \"true\" always;".into());
    }
    let mut preflight = common.clone();
    preflight.push(format!(
        "add_header Access-Control-Allow-Methods \"{}\" always;",
        a.methods.join(", ")
    ));
    if !a.headers.is_empty() {
        preflight.push(format!(
            "add_header Access-Control-Allow-Headers \"{}\" always;",
            a.headers.join(", ")
        ));
    }
    preflight.push("add_header Access-Control-Max-Age 600 always;".into());
    preflight.push("return 204;".into());
    let mut out = String::from("  nginx, in the API's location (and no CORS headers from the app behind it):\n    if ($request_method = OPTIONS) {\n");
    for line in preflight {
        out.push_str(&format!("        {line}\n"));
    }
    out.push_str("    }\n");
    for line in common {
        out.push_str(&format!("    {line}\n"));
    }
    out
}

/// The proxy rule that makes the call same-origin: the page calls the path on its own
/// origin, and devproxy forwards it to the backend. `None` when the URL cannot be split.
pub(crate) fn devproxy_rule(url: &str) -> Option<(String, String)> {
    let (scheme, authority, rest) = crate::url::split(url)?;
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|s| !s.is_empty());
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let local = crate::url::is_localhost(host)
        || matches!(crate::url::unbracket(host), "127.0.0.1" | "::1");
    let change_origin = match local {
        true => "",
        false => ", \"changeOrigin\": true",
    };
    let target = format!("\"target\": \"{scheme}://{authority}\"{change_origin}");
    Some(match first {
        Some(first) => (
            format!("{{ \"/{first}\": {{ {target} }} }}"),
            path.to_string(),
        ),
        // A call to the root gets a prefix of its own, taken off on the way.
        None => (
            format!(
                "{{ \"/backend\": {{ {target}, \"pathRewrite\": {{ \"^/backend\": \"\" }} }} }}"
            ),
            "/backend/".to_string(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn fixes_name_the_origin_headers_and_credentials() {
        let ask = Ask {
            url: "http://127.0.0.1:8080/api/items".into(),
            origin: "http://localhost:5173".into(),
            method: Method::from_bytes(b"PURGE").unwrap(),
            headers: vec![(http::HeaderName::from_static("x-api-key"), "1".into())],
            credentials: true,
        };
        let text = backends(&ask);
        assert!(text.contains("app.use(cors({ origin: 'http://localhost:5173', methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'PURGE'], allowedHeaders: ['X-Api-Key'], credentials: true }));"), "{text}");
        assert!(text.contains("supports_credentials=True"));
        assert!(text.contains("allowCredentials = \"true\""));
        assert!(text.contains(".AllowCredentials()"));
        assert!(text.contains("add_header Access-Control-Allow-Headers \"X-Api-Key\" always;"));
    }

    #[test]
    fn the_devproxy_rule_takes_the_first_segment() {
        let (rule, call) = devproxy_rule("http://127.0.0.1:8080/api/items?x=1").unwrap();
        assert_eq!(rule, r#"{ "/api": { "target": "http://127.0.0.1:8080" } }"#);
        assert_eq!(call, "/api/items");
        let (rule, _) = devproxy_rule("https://api.example.com/v1/x").unwrap();
        assert!(rule.contains("\"changeOrigin\": true"));
        let (rule, call) = devproxy_rule("http://localhost:8080").unwrap();
        assert_eq!(call, "/backend/");
        assert!(
            rule.contains(r#""pathRewrite": { "^/backend": "" }"#),
            "{rule}"
        );
    }
}
