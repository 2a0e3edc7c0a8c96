//! Tests of the public API: rendering, errors, references, JSON values, and properties.

use super::*;
use serde_json::json;

fn scope(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("scope must be an object, got {other}"),
    }
}

/// A scope like the proxy builds for an OAuth request template.
fn sample() -> Map<String, Value> {
    scope(json!({
        "iparam": {
            "api_key": "k3y",
            "domain": "acme.freshdesk.com",
            "empty": "",
            "nothing": null,
            "count": 3,
            "ratio": 1.5,
            "flag": true,
            "obj": {"a": 1, "b": [true, null]},
            "quote": "say \"hi\" \\ <%= iparam.api_key %> ${x}",
        },
        "context": {
            "ticket_id": 42,
            "a-b": "dash",
            "items": ["zero", "one"],
            "nested": {"deep": {"x": "y"}},
            "zero": 0,
        },
        "access_token": "tok",
        "oauth_iparams": {"tenant": "t1"},
        "current_host": {"endpoint_urls": {"freshdesk": "https://acme.freshdesk.com"}},
    }))
}

fn r(src: &str) -> String {
    match render_str(src, &sample()) {
        Ok(s) => s,
        Err(e) => panic!("{src:?}: {e}"),
    }
}

fn render_err(src: &str) -> RenderError {
    let t = parse(src).unwrap_or_else(|e| panic!("{src:?} does not parse: {e}"));
    match t.render(&sample()) {
        Ok(s) => panic!("{src:?} rendered {s:?}"),
        Err(e) => e,
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn text_without_tags_is_unchanged() {
    for src in ["", "plain", "100% sure %> done", "a < % b", "ünïcødé"] {
        let t = parse(src).unwrap();
        assert!(t.is_literal());
        assert!(t.references().is_empty());
        assert_eq!(t.render(&Map::new()).unwrap(), src);
        assert_eq!(t.source(), src);
    }
    assert!(!parse("<%= a %>").unwrap().is_literal());
}

#[test]
fn variables() {
    assert_eq!(
        r("https://<%= iparam.domain %>/api"),
        "https://acme.freshdesk.com/api"
    );
    assert_eq!(r("<%=iparam.api_key%>"), "k3y");
    assert_eq!(r("Bearer <%= access_token %>"), "Bearer tok");
    assert_eq!(r("<%= oauth_iparams.tenant %>"), "t1");
    assert_eq!(
        r("<%= current_host.endpoint_urls.freshdesk %>"),
        "https://acme.freshdesk.com"
    );
    assert_eq!(r("<%= context.nested.deep.x %>"), "y");
    assert_eq!(r(r#"<%= context["a-b"] %>"#), "dash");
    assert_eq!(r("<%= context['nested'][\"deep\"].x %>"), "y");
    assert_eq!(r("<%= context.items[1] %>"), "one");
    assert_eq!(r("<%= context.items['0'] %>"), "zero");
    assert_eq!(r("<%- iparam.api_key %>"), "k3y");
    assert_eq!(
        r("a<%= iparam.api_key %>b<%= access_token %>c"),
        "ak3ybtokc"
    );
}

#[test]
fn values_print_like_javascript() {
    assert_eq!(r("/tickets/<%= context.ticket_id %>"), "/tickets/42");
    assert_eq!(r("<%= iparam.ratio %>"), "1.5");
    assert_eq!(r("<%= iparam.flag %>"), "true");
    assert_eq!(r("<%= false %>"), "false");
    assert_eq!(r("<%= context.zero %>"), "0");
    assert_eq!(r("<%= iparam.obj %>"), r#"{"a":1,"b":[true,null]}"#);
    assert_eq!(r("<%= context.items %>"), r#"["zero","one"]"#);
    assert_eq!(r("<%= 1.50 %>"), "1.5");
    assert_eq!(r("<%= 2e21 %>"), "2e+21");
    assert_eq!(r("<%= -0.5 %>"), "-0.5");
    assert_eq!(r("<%= iparam.empty %>"), "");
}

#[test]
fn string_literals() {
    assert_eq!(r(r"<%= 'it\'s' %>"), "it's");
    assert_eq!(r(r#"<%= "a\tb\u0041" %>"#), "a\tbA");
    assert_eq!(r(r"<%= '\\' %>"), "\\");
    assert_eq!(r("<%= '%>' %>"), "%>");
}

#[test]
fn plus_concatenates_or_adds() {
    assert_eq!(r("<%= iparam.api_key + ':X' %>"), "k3y:X");
    assert_eq!(r("<%= 'n' + context.ticket_id %>"), "n42");
    assert_eq!(r("<%= context.ticket_id + 1 %>"), "43");
    assert_eq!(r("<%= 1 + 2 + 'a' %>"), "3a");
    assert_eq!(r("<%= 'a' + 1 + 2 %>"), "a12");
    assert_eq!(r("<%= 'a' + (1 + 2) %>"), "a3");
    assert_eq!(r("<%= iparam.flag + 1 %>"), "2");
    assert_eq!(r("<%= iparam.ratio + iparam.count %>"), "4.5");
    assert_eq!(r("<%= 'o' + iparam.obj %>"), r#"o{"a":1,"b":[true,null]}"#);
    assert_eq!(r("<%= 0.1 + 0.2 %>"), "0.30000000000000004");
    assert_eq!(r("<%= 'a' + -1 %>"), "a-1");
    assert_eq!(r("<%= context.ticket_id + -2 %>"), "40");
}

#[test]
fn or_defaults() {
    assert_eq!(r("<%= iparam.region || 'us' %>"), "us");
    assert_eq!(r("<%= iparam.domain || 'x' %>"), "acme.freshdesk.com");
    assert_eq!(r("<%= iparam.empty || 'fallback' %>"), "fallback");
    assert_eq!(r("<%= iparam.nothing || 'fallback' %>"), "fallback");
    assert_eq!(r("<%= context.zero || 7 %>"), "7");
    assert_eq!(r("<%= iparam.a || iparam.b || 'c' %>"), "c");
    assert_eq!(r("<%= iparam.a || (iparam.b || 'c') %>"), "c");
    // A missing parent counts as missing too, unlike JavaScript's TypeError.
    assert_eq!(r("<%= context.ticket.id || 'none' %>"), "none");
    assert_eq!(r("<%= context.items[9] || 'none' %>"), "none");
    assert_eq!(r("<%= iparam.api_key.x || 'none' %>"), "none");
    // The result is the left value itself, not a boolean.
    assert_eq!(r("<%= context.ticket_id || 'x' %>"), "42");
    assert_eq!(
        r("<%= 'https://' + (iparam.host || iparam.domain) %>"),
        "https://acme.freshdesk.com"
    );
}

#[test]
fn or_right_side_is_still_required() {
    let e = render_err("<%= iparam.region || iparam.default_region %>");
    assert_eq!(e.kind.path(), Some("iparam.default_region"));
    assert!(matches!(e.kind, RenderErrorKind::Undefined { .. }));
    // Inside `+` under `||` the operands are used, so they must exist.
    let e = render_err("<%= (iparam.region + '-x') || 'us' %>");
    assert_eq!(e.kind.path(), Some("iparam.region"));
    // A root that does not exist is a mistake, even where values are optional.
    let e = render_err("<%= iparams.region || 'us' %>");
    assert!(
        matches!(e.kind, RenderErrorKind::RootUnavailable { ref root, .. } if root == "iparams")
    );
    assert!(e.to_string().contains("did you mean `iparam`?"), "{e}");
}

#[test]
fn ternary() {
    assert_eq!(r("<%= iparam.flag ? 'on' : 'off' %>"), "on");
    assert_eq!(r("<%= iparam.region ? iparam.region : 'us' %>"), "us");
    assert_eq!(
        r("<%= iparam.empty ? 'a' : iparam.count ? 'b' : 'c' %>"),
        "b"
    );
    assert_eq!(r("<%= (iparam.flag ? 'a' : 'b') + '!' %>"), "a!");
    // The branch not taken is not evaluated, so it may use missing values.
    assert_eq!(r("<%= iparam.flag ? 'a' : iparam.missing %>"), "a");
    // The branch taken is used, so its values must exist.
    let e = render_err("<%= iparam.flag ? iparam.missing : 'a' %>");
    assert_eq!(e.kind.path(), Some("iparam.missing"));
    // ... unless it is itself an `||` default.
    assert_eq!(r("<%= iparam.flag ? iparam.missing || 'd' : 'a' %>"), "d");
    assert_eq!(
        r("<%= iparam.region === 'eu' ? 'api.eu.example.com' : 'api.example.com' %>"),
        "api.example.com"
    );
}

#[test]
fn strict_equality() {
    assert_eq!(r("<%= iparam.api_key === 'k3y' %>"), "true");
    assert_eq!(r("<%= iparam.api_key !== 'k3y' %>"), "false");
    assert_eq!(r("<%= context.ticket_id === 42 %>"), "true");
    assert_eq!(r("<%= context.ticket_id === '42' %>"), "false");
    assert_eq!(r("<%= iparam.missing === undefined %>"), "true");
    assert_eq!(r("<%= iparam.nothing === null %>"), "true");
    assert_eq!(r("<%= iparam.nothing === undefined %>"), "false");
    assert_eq!(
        r("<%= iparam.missing !== undefined ? 'set' : 'unset' %>"),
        "unset"
    );
    assert_eq!(r("<%= iparam.obj === iparam.obj %>"), "true");
    assert_eq!(r("<%= 1 === 1 === true %>"), "true");
    assert_eq!(r("<%= 1 + 1 === 2 %>"), "true");
}

#[test]
fn encode_is_base64_of_the_text() {
    assert_eq!(
        r("Basic <%= encode(iparam.api_key) %>"),
        format!("Basic {}", b64("k3y"))
    );
    assert_eq!(r("<%= encode(iparam.api_key + ':X') %>"), b64("k3y:X"));
    assert_eq!(r("<%= encode(iparam.api_key, 'base64') %>"), b64("k3y"));
    assert_eq!(r("<%= encode(iparam.api_key, 'hex') %>"), b64("k3y"));
    assert_eq!(r("<%= encode(context.ticket_id) %>"), b64("42"));
    assert_eq!(r("<%= encode('é') %>"), "w6k=");
    assert_eq!(r("<%= encode('') %>"), "");
    assert_eq!(
        r("<%= encode(iparam.obj) %>"),
        b64(r#"{"a":1,"b":[true,null]}"#)
    );
    assert_eq!(r("<%= encode(encode('a')) %>"), b64(&b64("a")));
    // The ignored encoding argument is not evaluated.
    assert_eq!(r("<%= encode('a', iparam.missing) %>"), b64("a"));
    let e = render_err("<%= encode(iparam.missing) %>");
    assert_eq!(e.kind.path(), Some("iparam.missing"));
}

#[test]
fn missing_key_errors_name_the_path() {
    let e = render_err("Basic <%= encode(iparam.api_ky) %>");
    assert_eq!(e.span, 6..34);
    assert_eq!(
        e.to_string(),
        "`iparam.api_ky` is not defined: no installation parameter `api_ky` is set \
         (write `iparam.api_ky || 'default'` if it is optional)"
    );
    assert_eq!(
        render_err("<%= context.ticket %>").to_string(),
        "`context.ticket` is not defined: the call passed no `context.ticket`"
    );
    assert_eq!(
        render_err("<%= context.nested.deep.z %>").to_string(),
        "`context.nested.deep.z` is not defined: `context.nested.deep` has no key `z`"
    );
    assert_eq!(
        render_err("<%= context.items[5] %>").to_string(),
        "`context.items[5]` is not defined: `context.items` has only 2 items"
    );
    assert_eq!(
        render_err("<%= context.items.first %>").to_string(),
        "`context.items.first` is not defined: `context.items` is an array: index it like `context.items[0]`"
    );
    assert_eq!(
        render_err("<%= iparam.api_key.x %>").to_string(),
        "`iparam.api_key.x` is not defined: `iparam.api_key` is a string, not an object"
    );
    assert_eq!(
        render_err("<%= iparam.nothing.x %>").to_string(),
        "`iparam.nothing.x` is not defined: `iparam.nothing` is null"
    );
    assert_eq!(
        render_err("<%= iparam.count.x %>").to_string(),
        "`iparam.count.x` is not defined: `iparam.count` is a number, not an object"
    );
    assert_eq!(
        render_err("<%= oauth_iparams.shop %>").to_string(),
        "`oauth_iparams.shop` is not defined: no OAuth iparam `shop` is set"
    );
    assert_eq!(
        render_err(r#"<%= current_host["endpoint_urls"].freshsales %>"#).to_string(),
        "`current_host.endpoint_urls.freshsales` is not defined: \
         `current_host.endpoint_urls` has no key `freshsales`"
    );
    assert_eq!(
        render_err(r#"<%= context["x y"] %>"#).kind.path(),
        Some(r#"context["x y"]"#)
    );
}

#[test]
fn unavailable_roots_are_told_apart_from_missing_keys() {
    let mut s = sample();
    s.remove("access_token");
    s.remove("context");
    let t = parse("Bearer <%= access_token %>").unwrap();
    let e = t.render(&s).unwrap_err();
    assert_eq!(e.span, 7..26);
    match &e.kind {
        RenderErrorKind::RootUnavailable {
            path,
            root,
            available,
        } => {
            assert_eq!(path, "access_token");
            assert_eq!(root, "access_token");
            assert_eq!(available, &["iparam", "oauth_iparams", "current_host"]);
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("`options.isOAuth`") && msg.contains("`options.oauth`"),
        "{msg}"
    );
    let e = parse("<%= context.ticket %>")
        .unwrap()
        .render(&s)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`context.ticket` cannot be read: `context` is not available here \
         (the call passed no context); the variables here are: iparam, oauth_iparams, current_host"
    );
    let e = parse("<%= iparam.x %>")
        .unwrap()
        .render(&Map::new())
        .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("this template has no variables at all"),
        "{e}"
    );
}

#[test]
fn null_is_an_error_where_used() {
    let e = render_err("<%= iparam.nothing %>");
    assert_eq!(
        e.to_string(),
        "`iparam.nothing` is null: a null value cannot be substituted \
         (write `iparam.nothing || 'default'` if it is optional)"
    );
    assert!(matches!(
        render_err("<%= null %>").kind,
        RenderErrorKind::NullLiteral { literal: "null" }
    ));
    assert!(matches!(
        render_err("<%= undefined %>").kind,
        RenderErrorKind::NullLiteral {
            literal: "undefined"
        }
    ));
    assert!(matches!(
        render_err("<%= 'a' + null %>").kind,
        RenderErrorKind::NullLiteral { .. }
    ));
    assert!(matches!(
        render_err("<%= iparam.x || null %>").kind,
        RenderErrorKind::NullLiteral { .. }
    ));
    assert_eq!(
        render_err("<%= 'a' + iparam.nothing %>").kind.path(),
        Some("iparam.nothing")
    );
}

#[test]
fn substituted_values_are_never_parsed_again() {
    assert_eq!(
        r("<%= iparam.quote %>"),
        "say \"hi\" \\ <%= iparam.api_key %> ${x}"
    );
    let v = render_value(&json!({"h": "X <%= iparam.quote %>"}), &sample()).unwrap();
    assert_eq!(
        v,
        json!({"h": "X say \"hi\" \\ <%= iparam.api_key %> ${x}"})
    );
    // lodash would interpolate `${…}` in text too; we leave it alone.
    assert_eq!(
        r("${iparam.api_key} <%= access_token %>"),
        "${iparam.api_key} tok"
    );
}

#[test]
fn errors_on_a_later_tag_carry_its_span() {
    let src = "<%= iparam.api_key %>/<%= context.nope %>";
    let e = render_err(src);
    assert_eq!(&src[e.span.clone()], "<%= context.nope %>");
}

#[test]
fn references_in_order_with_spans() {
    let src = "x<%= encode(iparam.user + ':' + iparam.pass) %>/<%= context.a ? context['b-c'][0] : access_token %><%= iparam.user %>";
    let t = parse(src).unwrap();
    let refs = t.references();
    let paths: Vec<String> = refs.iter().map(Reference::dotted).collect();
    assert_eq!(
        paths,
        [
            "iparam.user",
            "iparam.pass",
            "context.a",
            r#"context["b-c"][0]"#,
            "access_token",
            "iparam.user"
        ]
    );
    assert_eq!(refs[3].path, ["context", "b-c", "0"]);
    assert_eq!(refs[4].root(), "access_token");
    assert_eq!(
        &src[refs[0].span.clone()],
        "<%= encode(iparam.user + ':' + iparam.pass) %>"
    );
    assert_eq!(refs[0].span, refs[1].span);
    assert_eq!(
        &src[refs[2].span.clone()],
        "<%= context.a ? context['b-c'][0] : access_token %>"
    );
    assert_eq!(&src[refs[5].span.clone()], "<%= iparam.user %>");
    assert_eq!(
        parse("<%= 'a' + 1 === 2 || encode('x', 'base64') %>")
            .unwrap()
            .references(),
        vec![]
    );
    assert_eq!(
        parse("<%= encode(a, b) %>").unwrap().references().len(),
        2,
        "the ignored encoding argument is still a reference"
    );
}

#[test]
fn render_str_reports_either_error() {
    assert!(matches!(
        render_str("<%= a", &sample()),
        Err(Error::Parse(_))
    ));
    assert!(matches!(
        render_str("<%= a %>", &sample()),
        Err(Error::Render(_))
    ));
    assert_eq!(
        render_str("no tags <% here", &sample())
            .unwrap_err()
            .to_string(),
        "`<%` must be followed by `=`: fdk-emu substitutes values with `<%= expression %>` and does not run code blocks (`<% … %>`) (at byte 8)"
    );
}

#[test]
fn render_into_appends() {
    let mut out = String::from("https://");
    parse("<%= iparam.domain %>")
        .unwrap()
        .render_into(&sample(), &mut out)
        .unwrap();
    parse("/api/<%= context.ticket_id %>")
        .unwrap()
        .render_into(&sample(), &mut out)
        .unwrap();
    assert_eq!(out, "https://acme.freshdesk.com/api/42");
}

#[test]
fn render_value_renders_strings_only() {
    let template = json!({
        "method": "GET",
        "host": "<%= iparam.domain %>",
        "headers": {
            "Authorization": "Basic <%= encode(iparam.api_key + ':X') %>",
            "<%= not.a.key %>": "keys are left alone",
        },
        "query": {"page": "<%= context.ticket_id %>", "n": 5, "b": true, "z": null},
        "list": ["<%= access_token %>", 1, ["<%= oauth_iparams.tenant %>"]],
    });
    let out = render_value(&template, &sample()).unwrap();
    assert_eq!(
        out,
        json!({
            "method": "GET",
            "host": "acme.freshdesk.com",
            "headers": {
                "Authorization": format!("Basic {}", b64("k3y:X")),
                "<%= not.a.key %>": "keys are left alone",
            },
            "query": {"page": "42", "n": 5, "b": true, "z": null},
            "list": ["tok", 1, ["t1"]],
        })
    );
    // Key order is kept.
    let keys: Vec<&String> = out["headers"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Authorization", "<%= not.a.key %>"]);
    assert_eq!(
        render_value(&json!("<%= access_token %>"), &sample()).unwrap(),
        json!("tok")
    );
}

#[test]
fn render_value_errors_carry_the_json_pointer() {
    let v = json!({"headers": {"X-Key/Name~1": "<%= iparam.missing %>"}, "list": ["ok", "<%= a"]});
    let e = render_value(&v, &sample()).unwrap_err();
    assert_eq!(e.pointer, "/headers/X-Key~1Name~01");
    assert!(matches!(e.error, Error::Render(_)));
    assert!(
        e.to_string()
            .starts_with("/headers/X-Key~1Name~01: `iparam.missing` is not defined"),
        "{e}"
    );
    let e = render_value(&json!({"list": ["ok", "<%= a"]}), &sample()).unwrap_err();
    assert_eq!(e.pointer, "/list/1");
    assert!(matches!(e.error, Error::Parse(_)));
    let e = render_value(&json!("<%= iparam.missing %>"), &sample()).unwrap_err();
    assert_eq!(e.pointer, "");
    assert!(e.to_string().starts_with("in the value: "), "{e}");
    let e = render_value(&json!({"a": [0, "<%= context.x %>"]}), &sample()).unwrap_err();
    assert_eq!(e.pointer, "/a/1");
    assert_eq!(
        e.error.to_string(),
        "`context.x` is not defined: the call passed no `context.x`"
    );
}

#[test]
fn expressions_seen_in_real_apps() {
    // Every distinct non-trivial expression in shared/corpus, with values that make sense.
    let s = scope(json!({
        "iparam": {"api_key": "k", "apiKey": "K", "usernameAs7": "u", "passwordAs7": "p"},
        "context": {"api_key": "c", "basic_credentials": "u:p"},
        "oauth_iparams": {"client_id": "", "client_secret": "s"},
        "app_settings": {"freshdesk_api_key": "f"},
    }));
    for (src, want) in [
        ("<%= encode(iparam.api_key) %>", b64("k")),
        ("<%= encode(iparam.apiKey) %>", b64("K")),
        ("<%= encode(iparam.api_key + ':X') %>", b64("k:X")),
        ("<%=encode(iparam.api_key + ':X')%>", b64("k:X")),
        ("<%= encode(context.api_key) %>", b64("c")),
        (
            "<%= encode(iparam.usernameAs7 + ':' + iparam.passwordAs7) %>",
            b64("u:p"),
        ),
        ("<%= encode(context.basic_credentials) %>", b64("u:p")),
        ("<%= encode(app_settings.freshdesk_api_key) %>", b64("f")),
        (
            "<%= oauth_iparams.client_id || 'xxxxxxx' %>",
            "xxxxxxx".into(),
        ),
        ("<%= oauth_iparams.client_secret || 'f7eb' %>", "s".into()),
    ] {
        assert_eq!(render_str(src, &s).unwrap(), want, "{src}");
    }
}

#[test]
fn deep_but_allowed_nesting_renders() {
    let depth = MAX_DEPTH - 1;
    let src = format!(
        "<%= {}iparam.api_key{} %>",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(r(&src), "k3y");
    let src = format!("<%= {}'a'{} %>", "encode(".repeat(depth), ")".repeat(depth));
    assert!(parse(&src).unwrap().render(&sample()).is_ok());
    let too_deep = format!("<%= {}'a'{} %>", "(".repeat(100_000), ")".repeat(100_000));
    assert!(matches!(
        parse(&too_deep).unwrap_err().kind,
        ParseErrorKind::TooDeep { .. }
    ));
    // Long flat chains are not nesting: they render (iteratively) without trouble.
    let src = format!("<%= ''{} %>", " + 'ab'".repeat(50_000));
    assert_eq!(r(&src).len(), 100_000);
    let src = format!("<%= {}'end' %>", "iparam.missing || ".repeat(50_000));
    assert_eq!(r(&src), "end");
}

#[test]
fn objects_too_deep_to_print_are_an_error_not_a_crash() {
    let mut deep = json!("leaf");
    for _ in 0..200 {
        deep = json!({"d": deep});
    }
    let s = scope(json!({"context": {"deep": deep}}));
    let e = parse("<%= context.deep %>")
        .unwrap()
        .render(&s)
        .unwrap_err();
    assert_eq!(
        e.kind,
        RenderErrorKind::TooDeep {
            path: "context.deep".into()
        }
    );
    let e = parse("<%= encode('a' + context.deep) %>")
        .unwrap()
        .render(&s)
        .unwrap_err();
    assert!(matches!(e.kind, RenderErrorKind::TooDeep { .. }));
}

#[test]
fn parse_error_excerpt_for_the_terminal() {
    let src = "Basic <%= encode(iparam.api_key) + %>";
    let e = parse(src).unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected an expression after `+`, found `%>` (the end of the tag) (at byte 35)"
    );
    assert_eq!(
        e.excerpt(src),
        "Basic <%= encode(iparam.api_key) + %>\n                                   ^"
    );
}

#[test]
fn templates_can_be_shared_across_threads() {
    // The app snapshot holding parsed templates sits behind an Arc used by every worker.
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Error>();
    assert_send_sync::<ValueError>();
}

#[test]
fn template_from_str() {
    let t: Template = "<%= access_token %>".parse().unwrap();
    assert_eq!(t.render(&sample()).unwrap(), "tok");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary JSON values, small enough to keep cases fast.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from), // NaN/inf become null
            ".{0,12}".prop_map(Value::String),
            "(<%=? ?[a-z.]{0,6} ?%>|['\"\\\\])".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-c]{1,2}|0|1", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Scopes whose keys are the usual roots and a few short names that generated paths hit.
    fn any_scope() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec(
            (
                prop_oneof![
                    Just("iparam".to_string()),
                    Just("context".to_string()),
                    Just("access_token".to_string()),
                    "[a-c]{1,2}",
                ],
                json_value(),
            ),
            0..6,
        )
        .prop_map(|kv| kv.into_iter().collect())
    }

    /// Text built from the language's own pieces, so that many cases get past the first token.
    fn template_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("<%= ".to_string()),
            Just("<%- ".to_string()),
            Just(" %>".to_string()),
            Just("<%".to_string()),
            Just("%>".to_string()),
            "[a-c]{1,2}",
            Just("iparam".to_string()),
            Just("context".to_string()),
            Just(".".to_string()),
            Just("[0]".to_string()),
            Just("['a']".to_string()),
            Just("[".to_string()),
            Just(" + ".to_string()),
            Just(" || ".to_string()),
            Just(" ? ".to_string()),
            Just(" : ".to_string()),
            Just(" === ".to_string()),
            Just(" !== ".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("encode(".to_string()),
            Just(",".to_string()),
            Just("'x'".to_string()),
            Just("\"\\u00e9\"".to_string()),
            Just("'".to_string()),
            Just("\\".to_string()),
            Just("1.5".to_string()),
            Just("-".to_string()),
            Just("null".to_string()),
            Just("undefined".to_string()),
            Just("true".to_string()),
            ".{0,3}",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    /// Valid expressions of the language, with paths that often hit the generated scopes.
    fn valid_expr() -> impl Strategy<Value = String> {
        let step = prop_oneof![
            "[a-c]{1,2}".prop_map(|k| format!(".{k}")),
            "[a-c01]".prop_map(|k| format!("['{k}']")),
            (0..3u8).prop_map(|i| format!("[{i}]")),
        ];
        let path = (
            prop_oneof![
                Just("iparam"),
                Just("context"),
                Just("access_token"),
                Just("a"),
                Just("b"),
                Just("oauth_iparams"),
            ],
            prop::collection::vec(step, 0..4),
        )
            .prop_map(|(root, steps)| format!("{root}{}", steps.concat()));
        let leaf = prop_oneof![
            4 => path,
            1 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
            1 => any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| format!("{x:e}")),
            1 => (0..1000u32).prop_map(|n| n.to_string()),
            1 => prop_oneof![Just("true"), Just("false"), Just("null"), Just("undefined")]
                .prop_map(str::to_string),
        ];
        leaf.prop_recursive(6, 48, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} + {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}||{b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} === {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}!=={b}")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(a, b, c)| format!("{a} ? {b} : {c}")),
                inner.clone().prop_map(|a| format!("({a})")),
                inner.clone().prop_map(|a| format!("encode({a})")),
                (inner.clone(), inner).prop_map(|(a, b)| format!("encode( {a} , {b} )")),
            ]
        })
    }

    /// Templates made of text and tags holding valid expressions.
    fn valid_template() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "[^<]{0,6}",
            valid_expr().prop_map(|e| format!("<%= {e} %>")),
            valid_expr().prop_map(|e| format!("<%-{e}%>")),
        ];
        prop::collection::vec(part, 0..5).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn valid_templates_parse_and_render_without_panics(src in valid_template(), s in any_scope()) {
            // Any expression the grammar produces parses, unless it nests too deeply
            // (proptest's depth and parentheses can stack up past the limit).
            let t = match parse(&src) {
                Ok(t) => t,
                Err(ParseError { kind: ParseErrorKind::TooDeep { .. }, .. }) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("{src:?}: {e}"))),
            };
            for r in t.references() {
                prop_assert!(src[r.span.clone()].starts_with("<%"));
                prop_assert!(!r.path.is_empty());
            }
            match t.render(&s) {
                Ok(out) => {
                    // Rendering is a pure function of template and scope.
                    prop_assert_eq!(t.render(&s).ok(), Some(out));
                }
                Err(e) => {
                    prop_assert!(src.get(e.span.clone()).is_some_and(|tag| tag.starts_with("<%")));
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }

        #[test]
        fn parse_never_panics(src in any::<String>()) {
            let _ = parse(&src);
        }

        #[test]
        fn parse_and_render_never_panic(src in template_like(), s in any_scope()) {
            match parse(&src) {
                Ok(t) => {
                    let _ = t.references();
                    if let Err(e) = t.render(&s) {
                        // Error spans always point at a tag of the source.
                        prop_assert!(src.get(e.span.clone()).is_some_and(|tag| tag.starts_with("<%")));
                        let _ = e.to_string();
                    }
                }
                Err(e) => {
                    prop_assert!(e.offset <= src.len());
                    let _ = e.excerpt(&src);
                    let _ = e.to_string();
                }
            }
        }

        #[test]
        fn arbitrary_text_with_arbitrary_scope_never_panics(src in any::<String>(), s in any_scope()) {
            let _ = render_str(&src, &s);
        }

        #[test]
        fn text_without_tags_renders_unchanged(src in any::<String>(), s in any_scope()) {
            prop_assume!(!src.contains("<%"));
            let t = parse(&src).unwrap();
            prop_assert!(t.is_literal());
            prop_assert_eq!(t.render(&s).unwrap(), src.clone());
            prop_assert_eq!(render_str(&src, &s).unwrap(), src);
        }

        #[test]
        fn substituted_strings_are_inserted_verbatim(value in any::<String>(), before in "[^<]{0,8}", after in "[^<]{0,8}") {
            let s = scope(json!({"context": {"v": value}}));
            let src = format!("{before}<%= context.v %>{after}");
            prop_assert_eq!(render_str(&src, &s).unwrap(), format!("{before}{value}{after}"));
            let enc = render_str("<%= encode(context.v) %>", &s).unwrap();
            prop_assert_eq!(enc, base64::engine::general_purpose::STANDARD.encode(value.as_bytes()));
        }

        #[test]
        fn string_literals_round_trip_through_json_escapes(value in any::<String>()) {
            // A JSON string literal is also a valid JavaScript one for these escapes.
            let literal = serde_json::to_string(&value).unwrap();
            let src = format!("<%= {literal} %>");
            prop_assert_eq!(render_str(&src, &Map::new()).unwrap(), value);
        }

        #[test]
        fn render_value_keeps_shape(v in json_value(), s in any_scope()) {
            if let Ok(out) = render_value(&v, &s) {
                prop_assert_eq!(shape(&out), shape(&v));
            }
        }
    }

    /// The value with every string replaced by "", to compare structure.
    fn shape(v: &Value) -> Value {
        match v {
            Value::String(_) => Value::String(String::new()),
            Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
            }
            other => other.clone(),
        }
    }
}
