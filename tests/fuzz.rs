//! Property tests standing in for fuzzing (this toolchain is stable, so no `cargo fuzz`):
//! the config loader, the pattern matcher and the path rewriter never panic, whatever the
//! input, and what they produce keeps its promises.
//!
//! `PROPTEST_CASES=200000 cargo test --release --test fuzz` runs them for longer.

use std::path::Path;

use devproxy::RuleSet;
use proptest::prelude::*;

fn rule_set(text: &str) -> Option<RuleSet> {
    RuleSet::parse(Path::new("fuzz.json"), text).ok()
}

/// JSON-ish text built from the pieces real configs are made of, so the search reaches
/// deep into the loader instead of stopping at the first syntax error.
fn config_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("/api".to_string()),
        Just("^/v[0-9]+/".to_string()),
        Just("/a/**".to_string()),
        Just("!/x/*".to_string()),
        "[/^*!?{}\\[\\]a-z().\\\\$]{0,12}",
    ];
    let value = prop_oneof![
        Just("true".to_string()),
        Just("\"false\"".to_string()),
        Just("12".to_string()),
        Just("-1e999".to_string()),
        Just("null".to_string()),
        "\"[a-z:/.0-9$&{}()*?\\\\^-]{0,24}\"",
        Just("{ \"protocol\": \"https:\", \"host\": \"h\", \"port\": 99999 }".to_string()),
    ];
    let option = prop_oneof![
        Just("target"),
        Just("changeOrigin"),
        Just("pathRewrite"),
        Just("ws"),
        Just("secure"),
        Just("headers"),
        Just("router"),
        Just("cookieDomainRewrite"),
        Just("cookies"),
        Just("logLevel"),
        Just("proxyTimeout"),
        Just("context"),
        Just("auth"),
        Just("source"),
        Just("destination"),
    ];
    let member = (
        option,
        prop_oneof![
            value.clone(),
            (key.clone(), value.clone()).prop_map(|(k, v)| format!("{{ \"{k}\": {v} }}")),
            value.clone().prop_map(|v| format!("[{v}, {v}]"))
        ],
    )
        .prop_map(|(k, v)| format!("\"{k}\": {v}"));
    let rule = prop::collection::vec(member, 0..5).prop_map(|m| format!("{{ {} }}", m.join(", ")));
    prop_oneof![
        prop::collection::vec((key, rule.clone()), 0..4).prop_map(|rules| {
            let body: Vec<String> = rules
                .iter()
                .map(|(k, r)| format!("\"{}\": {r}", k.replace('\\', "\\\\").replace('"', "")))
                .collect();
            format!("{{ {} }}", body.join(",\n"))
        }),
        prop::collection::vec(rule.clone(), 0..4)
            .prop_map(|rules| format!("[{}]", rules.join(", "))),
        prop::collection::vec(rule, 0..3)
            .prop_map(|rules| format!("{{ \"rewrites\": [{}] }}", rules.join(", "))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics_on_any_text(text in "\\PC{0,200}") {
        let _ = rule_set(&text);
    }

    #[test]
    fn loader_never_panics_on_config_shaped_text(text in config_text()) {
        if let Some(set) = rule_set(&text) {
            for d in set.diagnostics() {
                prop_assert!(d.pos.line >= 1, "{d}");
            }
            for r in set.rules() {
                prop_assert!(r.describe().starts_with(r.name()));
                // A usable rule always builds a URL on its target.
                if r.problem().is_none() {
                    if let Some(url) = r.upstream_url("/api/x?y=1") {
                        prop_assert!(url.starts_with("http://") || url.starts_with("https://"), "{url}");
                    }
                }
            }
        }
    }

    #[test]
    fn matcher_never_panics(pattern in "[!/^*?{},\\[\\]a-z().\\\\]{0,16}", path in "/[a-z/.%*?]{0,24}") {
        let text = format!("[{{ \"context\": [{}], \"target\": \"http://localhost:1\" }}]", serde_quote(&pattern));
        if let Some(set) = rule_set(&text) {
            let _ = set.find(&path);
        }
    }

    #[test]
    fn rewriter_never_panics_and_keeps_the_target(
        key in "[\\^/a-z()\\[\\]+*?.|$\\\\d]{0,16}",
        replacement in "[/a-z$&`'<>0-9]{0,16}",
        path in "/[a-z0-9/._~%-]{0,24}(\\?[a-z=&]{0,8})?",
    ) {
        let text = format!(
            "{{ \"/\": {{ \"target\": \"http://localhost:1/base\", \"pathRewrite\": {{ {}: {} }} }} }}",
            serde_quote(&key),
            serde_quote(&replacement)
        );
        if let Some(set) = rule_set(&text) {
            if let Some(rule) = set.rules().first() {
                if let Some(url) = rule.upstream_url(&path) {
                    prop_assert!(url.starts_with("http://localhost:1/base"), "{url}");
                }
            }
        }
    }
}

/// A JSON string literal for `s`.
fn serde_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
