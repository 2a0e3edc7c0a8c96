//! Every validation rule, run through the real binary on fixture apps: each failing fixture
//! names the file, line, column and rule of each expected problem (`--format json`), the
//! passing fixtures report no error, the text format shows an excerpt and a hint, and the exit
//! codes are 0 (no errors), 1 (errors) and 2 (unreadable folder).
//!
//! Expected positions are given as a *needle*: a piece of the fixture's text that appears once;
//! the diagnostic must point at the line and column where the needle starts. That keeps the
//! expectations readable and robust to edits elsewhere in the fixture.

mod common;

use serde_json::Value;

fn validate_json(app: &str, extra: &[&str]) -> (i32, Value) {
    let dir = common::fixture_app(app);
    let dir = dir.to_string_lossy().into_owned();
    let mut args = vec!["validate", "--format", "json", "--app-dir", &dir];
    args.extend_from_slice(extra);
    let (code, out, err) = common::run_cli(&args);
    let report = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{app}: no JSON report ({e}):\n{out}\n{err}"));
    (code, report)
}

fn diags(report: &Value) -> Vec<Value> {
    report["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// 1-based line and column (in characters) where `needle` starts in the fixture file.
fn locate(app: &str, file: &str, needle: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(common::fixture_app(app).join(file))
        .unwrap_or_else(|e| panic!("read {app}/{file}: {e}"));
    let hits: Vec<_> = text.match_indices(needle).collect();
    assert_eq!(
        hits.len(),
        1,
        "{app}/{file}: needle {needle:?} must occur once"
    );
    let at = hits[0].0;
    let line = text[..at].matches('\n').count() + 1;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..at].chars().count() + 1;
    (line as u64, col as u64)
}

struct Checked {
    app: &'static str,
    report: Value,
}

impl Checked {
    fn run(app: &'static str) -> Checked {
        let (_, report) = validate_json(app, &[]);
        Checked { app, report }
    }

    /// A diagnostic of `rule` and `severity` in `file`, at the start of `needle` (or at
    /// line 1, column 1 for a problem about a whole file).
    fn at(&self, severity: &str, rule: &str, file: &str, needle: Option<&str>) -> &Self {
        let (line, col) = needle.map_or((1, 1), |n| locate(self.app, file, n));
        let ok = diags(&self.report).iter().any(|d| {
            d["rule"] == rule
                && d["severity"] == severity
                && d["file"] == file
                && d["line"].as_u64() == Some(line)
                && d["column"].as_u64() == Some(col)
        });
        assert!(
            ok,
            "{}: expected {severity} [{rule}] at {file}:{line}:{col} ({needle:?}); got\n{}",
            self.app,
            pretty(&self.report)
        );
        self
    }

    /// A diagnostic of `rule` whose message or fix hint contains `text`.
    fn says(&self, rule: &str, text: &str) -> &Self {
        let ok = diags(&self.report).iter().any(|d| {
            d["rule"] == rule
                && (d["message"].as_str().is_some_and(|m| m.contains(text))
                    || d["hint"].as_str().is_some_and(|m| m.contains(text)))
        });
        assert!(
            ok,
            "{}: no [{rule}] saying {text:?}; got\n{}",
            self.app,
            pretty(&self.report)
        );
        self
    }

    fn count(&self, rule: &str) -> usize {
        diags(&self.report)
            .iter()
            .filter(|d| d["rule"] == rule)
            .count()
    }
}

fn pretty(report: &Value) -> String {
    diags(report)
        .iter()
        .map(|d| {
            format!(
                "  {} [{}] {}:{}:{} {}",
                d["severity"].as_str().unwrap_or(""),
                d["rule"].as_str().unwrap_or(""),
                d["file"].as_str().unwrap_or(""),
                d["line"],
                d["column"],
                d["message"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn passing_fixtures_have_no_errors_and_exit_0() {
    for app in ["demo", "valid-v3", "valid-v2-html"] {
        let (code, report) = validate_json(app, &[]);
        assert_eq!(
            report["errors"],
            0,
            "{app} must validate:\n{}",
            pretty(&report)
        );
        assert_eq!(code, 0, "{app}: exit code");
    }
    // The well-formed apps do not even get warnings.
    for app in ["valid-v3", "valid-v2-html"] {
        let (_, report) = validate_json(app, &[]);
        assert_eq!(report["warnings"], 0, "{app}:\n{}", pretty(&report));
    }
}

#[test]
fn request_template_rules() {
    const R: &str = "config/requests.json";
    const M: &str = "manifest.json";
    let c = Checked::run("bad-requests");
    c.at(
        "error",
        "template-not-defined",
        M,
        Some("\"missingTemplate\""),
    )
    .says(
        "template-not-defined",
        "Request template 'missingTemplate' is not defined in config/requests.json",
    );
    c.at("warning", "template-undeclared", R, Some("\"notDeclared\""));
    c.at("error", "template-name", R, Some("\"bad name\""));
    c.at(
        "error",
        "host-format",
        R,
        Some("\"https://api.example.com\""),
    )
    .says("host-format", "must not have a scheme");
    c.at("error", "host-format", R, Some("\"api.example.com/v1\""))
        .says("host-format", "must not have path");
    c.at("error", "host-format", R, Some("\"api.example.com:8443\""))
        .says("host-format", "must not have a port");
    c.at("error", "host-format", R, Some("\"10.1.2.3\""))
        .says("host-format", "must not be an IP address");
    assert_eq!(
        c.count("host-format"),
        4,
        "tags in hosts stand for valid labels"
    );
    c.at("error", "path-format", R, Some("\"v1/items\""));
    c.at("warning", "protocol-http", R, Some("\"http\""));
    c.at("warning", "path-query", R, Some("\"/?page=1\""));
    c.at("warning", "query-value-type", R, Some("true } }"));
    c.at("warning", "option-range", R, Some("9,"));
    c.at("warning", "option-range", R, Some("5000"));
    c.at("error", "oauth-integration-missing", R, Some("\"gitlab\""))
        .says(
            "oauth-integration-missing",
            "use one of the defined integrations: github",
        );
    c.at("error", "isoauth-with-integrations", R, Some("\"isOAuth\""));
    // access_token without an OAuth option: at the tag, inside the header value.
    let token_line = locate("bad-requests", R, "\"tokenNoOauth\"").0 + 1;
    let text = std::fs::read_to_string(common::fixture_app("bad-requests").join(R)).expect("read");
    let line_text = text.lines().nth(token_line as usize - 1).expect("line");
    let tag_col = line_text.find("<%= access_token").expect("tag") as u64 + 1;
    assert!(
        diags(&c.report)
            .iter()
            .any(|d| d["rule"] == "access-token-without-oauth"
                && d["line"].as_u64() == Some(token_line)
                && d["column"].as_u64() == Some(tag_col)),
        "access-token-without-oauth at {token_line}:{tag_col}:\n{}",
        pretty(&c.report)
    );
    c.says(
        "access-token-without-oauth",
        "OAuth request missing options",
    );
    c.at("error", "expression-syntax", R, Some("<%= context.id\""))
        .says(
            "expression-syntax",
            "unclosed `<%=` tag: end the expression with `%>`",
        );
    c.at(
        "error",
        "expression-unknown-root",
        R,
        Some("<%= iparams.domain"),
    )
    .says("expression-unknown-root", "did you mean `iparam`");
    c.at("error", "iparam-undefined", R, Some("<%= iparam.region"));
    c.at(
        "warning",
        "oauth-iparam-undefined",
        R,
        Some("<%= oauth_iparams.org"),
    );
    c.at(
        "warning",
        "secure-iparam-placement",
        R,
        Some("<%= iparam.api_key %>\" }"),
    );
    c.at("error", "requests-schema", R, Some("\"FETCH\"")).says(
        "requests-schema",
        "`schema.method` must be one of GET, POST, PUT, DELETE, PATCH; found \"FETCH\"",
    );
    c.at("error", "requests-schema", R, Some("\"body\"")).says(
        "requests-schema",
        "Request template 'withBody' schema must NOT have additional properties 'body'",
    );
    // The header with a secure iparam is fine; tags in getTicket raise nothing.
    let get_ticket = locate("bad-requests", R, "\"getTicket\"").0;
    assert!(
        !diags(&c.report).iter().any(|d| d["file"] == R
            && (get_ticket..get_ticket + 7).contains(&d["line"].as_u64().unwrap_or(0))),
        "getTicket is valid:\n{}",
        pretty(&c.report)
    );
}

#[test]
fn template_limit() {
    let c = Checked::run("too-many-templates");
    c.at(
        "error",
        "template-limit",
        "config/requests.json",
        Some("\"t100\""),
    )
    .says("template-limit", "maximum of 100 templates");
}

#[test]
fn oauth_rules_platform_3_0() {
    const O: &str = "config/oauth_config.json";
    let c = Checked::run("bad-oauth-v30");
    c.at("error", "oauth-mandatory-keys", O, Some("\"two\""))
        .says(
            "oauth-mandatory-keys",
            "Mandatory key(s) missing in oauth_config.json - client_secret. (integration 'two')",
        );
    c.at("warning", "oauth-credentials-empty", O, Some("\"\""))
        .says(
            "oauth-credentials-empty",
            "client_id of integration 'two' is empty",
        );
    c.at("error", "oauth-token-type", O, Some("\"user\"")).says(
        "oauth-token-type",
        "Invalid token type mentioned in oauth_config.json - user.",
    );
    c.at("error", "oauth-iparams", O, Some("\"password\""))
        .says(
            "oauth-iparams",
            "Invalid type 'password' found in oauth_config.json.",
        );
    c.at("error", "oauth-iparams", O, Some("\"placeholder\""));
    c.at("error", "oauth-iparams", O, Some("\"shop\": {")).says(
        "oauth-iparams",
        "Mandatory key(s) description missing for shop in oauth_config.json.",
    );
    c.at("error", "oauth-integration-limit", O, Some("\"four\""))
        .says("oauth-integration-limit", "at most 3 OAuth integrations");
    c.says("oauth-integration-limit", "at most 1 agent-level");
    c.at("error", "oauth-schema", O, Some("\"client_id\": \"stray\""))
        .says(
            "oauth-schema",
            "OAuth config must NOT have additional properties",
        );
    c.at(
        "error",
        "expression-unknown-root",
        O,
        Some("<%= secrets.id"),
    );
    c.at(
        "warning",
        "iparam-in-oauth-config",
        O,
        Some("<%= iparam.shop"),
    );
    c.at(
        "warning",
        "oauth-iparam-undefined",
        O,
        Some("<%= oauth_iparams.shop"),
    );
}

#[test]
fn oauth_rules_platform_3_1_and_form() {
    let c = Checked::run("bad-oauth-v31");
    c.at(
        "error",
        "oauth-integration-limit",
        "config/oauth_config.json",
        Some("\"agent\""),
    )
    .says("oauth-integration-limit", "account-level OAuth only");
    let c = Checked::run("bad-oauth-single-v3");
    c.at(
        "error",
        "oauth-form-platform",
        "config/oauth_config.json",
        Some("{"),
    )
    .says(
        "oauth-form-platform",
        "OAuth config must have required property 'integrations'",
    );
    // isOAuth with a single-form config is how 2.3 works: no extra error for it.
    assert_eq!(c.count("isoauth-with-integrations"), 0);
}

#[test]
fn iparams_rules() {
    const I: &str = "config/iparams.json";
    let c = Checked::run("bad-iparams");
    c.at("error", "iparam-reserved-key", I, Some("\"type\": {"))
        .says(
            "iparam-reserved-key",
            "Do not use reserved keywords, type, as keys.",
        );
    c.at(
        "error",
        "iparam-keys",
        I,
        Some("{\n    \"display_name\": \"Missing type\""),
    )
    .says(
        "iparam-keys",
        "The mandatory key(s), type, missing for the 'no_type' field.",
    );
    c.at("error", "iparam-type", I, Some("\"password\"")).says(
        "iparam-type",
        "Invalid type, password, found in the 'odd_type' field.",
    );
    c.at("error", "iparam-keys", I, Some("\"placeholder\""))
        .says(
            "iparam-keys",
            "Invalid key(s), placeholder, found in the 'extra_key' field.",
        );
    c.at("error", "iparam-boolean", I, Some("\"yes\"")).says(
        "iparam-boolean",
        "Specify either true or false for the required key in the 'extra_key' field.",
    );
    c.at("error", "iparam-default", I, Some("\"blue\"")).says(
        "iparam-default",
        "The default value specified for the 'color' dropdown type is not listed in the options.",
    );
    c.at("error", "iparam-default", I, Some("\"size\"")).says(
        "iparam-default",
        "In the 'size' field, specify the default value for the radio type.",
    );
    c.at("error", "iparam-options", I, Some("\"options\": [\"a\"]"))
        .says(
            "iparam-options",
            "Options must not be specified for paragraph type in the 'note' field.",
        );
    c.at("error", "iparam-boolean", I, Some("\"true\"")).says(
        "iparam-boolean",
        "Specify either true or false for the default_value key in the 'agree' field.",
    );
    c.at("error", "iparam-regex", I, Some("\"digits\"")).says(
        "iparam-regex",
        "In the 'code' field, error message is missing for 'digits'.",
    );
    c.says("iparam-regex", "Regex for number type is not supported.");
    c.at("error", "iparam-type-attributes", I, Some("\"helpdesk\""))
        .says(
            "iparam-type-attributes",
            "type_attributes must be specified for type domain in iparams.json.",
        );
    c.at("error", "iparam-type-attributes", I, Some("{}")).says(
        "iparam-type-attributes",
        "Mandatory key(s) product missing in type_attributes for helpdesk_key in iparams.json.",
    );
    c.at("error", "iparam-type-attributes", I, Some("\"Fresh Desk\""))
        .says(
            "iparam-type-attributes",
            "Invalid product name format 'Fresh Desk'. Use lowercase without space",
        );
    c.at("error", "iparam-data-bind", I, Some("\"freshservice\""))
        .says(
            "iparam-data-bind",
            "It must be the same as the product name mentioned in manifest.json",
        );
    c.at("error", "iparam-events", I, Some("\"projectChanged\""))
        .says(
            "iparam-events",
            "The projectChanged function does not exist for the 'project' field.",
        );
    c.at("error", "iparam-events", I, Some("\"blur\"")).says(
        "iparam-events",
        "The blur event is not supported in the 'project' field",
    );
    c.at("warning", "iparam-secure-name", I, Some("\"auth_token\""))
        .says(
            "iparam-secure-name",
            "iparam 'auth_token' appears to be a secure param but it isn't marked as secure.",
        );
    c.at("error", "iparam-default", I, Some("[\"eu\", \"in\"]"));
    c.at("error", "iparam-keys", I, Some("\"modules\"")).says(
        "iparam-keys",
        "Invalid key(s), modules, found in the 'regions' field.",
    );
    // A platform 2.3 app with the 3.x integrations form.
    c.at(
        "warning",
        "oauth-integrations-platform",
        "config/oauth_config.json",
        Some("\"integrations\""),
    );
    // helpdesk_key is secure: no secure-name warning for it.
    assert!(!diags(&c.report).iter().any(|d| {
        d["rule"] == "iparam-secure-name"
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("helpdesk_key"))
    }));
}

#[test]
fn events_need_iparams_js_except_with_config_only() {
    let (_, report) = validate_json("bad-iparams", &["--config-only"]);
    assert!(
        !diags(&report).iter().any(|d| d["message"]
            .as_str()
            .is_some_and(|m| m.contains("function does not exist"))),
        "--config-only does not read config/assets"
    );
}

#[test]
fn manifest_rules_platform_2() {
    const M: &str = "manifest.json";
    let c = Checked::run("bad-manifest-v2");
    c.at("error", "location-file-missing", M, Some("\"missing.html\""))
        .says("location-file-missing", "Template file 'missing.html' mentioned in freshdesk/ticket_sidebar is not found in app folder");
    c.at("error", "location-file-missing", M, Some("\"missing.svg\""))
        .says(
            "location-file-missing",
            "Icon 'missing.svg' mentioned in freshdesk/ticket_sidebar is not found in app folder",
        );
    c.at("error", "location-url", M, Some("\"contact_sidebar\""))
        .says(
            "location-url",
            "Url is either not mentioned or empty in freshdesk/contact_sidebar",
        );
    c.at("warning", "location-icon", M, Some("\"full_page_app\""));
    c.at("error", "location-icon-size", M, Some("\"small.svg\""))
        .says(
            "location-icon-size",
            "Invalid dimension of icon 'small.svg' for freshdesk/requester_info: it is 32x32, and the marketplace takes 64x64",
        );
    c.at("error", "location-empty", M, Some("{}\n    }"))
        .says("location-empty", "Missing locations for product: surveyapp");
    c.at(
        "warning",
        "manifest-unknown-product",
        M,
        Some("\"surveyapp\""),
    );
    c.at(
        "error",
        "whitelisted-domains-deprecated",
        M,
        Some("\"whitelisted-domains\""),
    );
    c.at("warning", "manifest-generation", M, Some("\"modules\""));
    c.at("warning", "config-dir-entry", "config/notes.txt", None)
        .says(
            "config-dir-entry",
            "Config directory has invalid file(s) - notes.txt",
        );
    c.at(
        "warning",
        "iparam-test-data-deprecated",
        "config/iparam_test_data.json",
        None,
    );
    // With --config-only the app/ files are not looked at.
    let (_, report) = validate_json("bad-manifest-v2", &["--config-only"]);
    assert!(
        !diags(&report)
            .iter()
            .any(|d| d["rule"] == "location-file-missing")
    );
}

#[test]
fn manifest_rules_platform_3() {
    const M: &str = "manifest.json";
    let c = Checked::run("bad-manifest-v3");
    c.at("error", "platform-version", M, Some("\"3.2\"")).says(
        "platform-version",
        "Invalid platform version mentioned in manifest.json - 3.2",
    );
    c.at("warning", "manifest-generation", M, Some("\"product\""));
    c.at("error", "manifest-no-module", M, Some("\"modules\""))
        .says(
            "manifest-no-module",
            "At least one module apart from common must be mentioned",
        );
    c.at("error", "manifest-schema", M, Some("5,")).says(
        "manifest-schema",
        "`modules.common.location.full_page_app.url` must be a string; found 5",
    );
    let c = Checked::run("no-app-dir");
    c.at("error", "app-dir-missing", M, Some("\"ticket_sidebar\""))
        .says("app-dir-missing", "Mandatory folder(s) missing: app");
}

#[test]
fn installation_page_files() {
    let c = Checked::run("both-iparams");
    c.at("error", "iparams-both", "config/iparams.json", None)
        .says(
            "iparams-both",
            "Unsupported File(s). Specify either iparams.html or iparams.json",
        );
    c.at("error", "iparams-html-methods", "config/iparams.html", None)
        .says(
            "iparams-html-methods",
            "Mandatory method(s) missing in iparams.html: postConfigs.",
        );
    c.at(
        "warning",
        "iparams-html-validate",
        "config/iparams.html",
        None,
    );
    c.at("error", "iparams-html-apply", "config/iparams.html", None);
}

#[test]
fn broken_json_is_reported_at_its_position() {
    let c = Checked::run("bad-json");
    c.at("error", "json-syntax", "manifest.json", Some("}\n}"))
        .says("json-syntax", "trailing comma");
    c.at(
        "error",
        "json-syntax",
        "config/iparams.json",
        Some("\"type\": \"text\""),
    );
    c.at("error", "json-syntax", "config/requests.json", None)
        .says("json-syntax", "empty");
    // Nothing else is said about files that do not parse.
    assert_eq!(
        c.count("json-syntax"),
        diags(&c.report).len(),
        "{}",
        pretty(&c.report)
    );
}

#[test]
fn text_format_shows_excerpt_caret_and_hint() {
    let dir = common::fixture_app("bad-requests")
        .to_string_lossy()
        .into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--app-dir", &dir]);
    assert_eq!(code, 1);
    let (line, col) = locate("bad-requests", "config/requests.json", "\"FETCH\"");
    let expected_loc = format!("--> config/requests.json:{line}:{col}");
    let block: Vec<&str> = out
        .split("\n\n")
        .filter(|b| b.contains(&expected_loc))
        .collect();
    assert_eq!(block.len(), 1, "one block at {expected_loc}:\n{out}");
    let b = block[0];
    assert!(b.starts_with("error[requests-schema]:"), "{b}");
    assert!(
        b.contains("{ \"method\": \"FETCH\""),
        "excerpt of the line:\n{b}"
    );
    let caret_line = b
        .lines()
        .find(|l| l.trim_end().ends_with('^'))
        .expect("caret");
    let excerpt_line = b
        .lines()
        .find(|l| l.contains(" | ") && l.contains("\"FETCH\""))
        .expect("excerpt line");
    assert_eq!(
        caret_line.find('^'),
        excerpt_line.find("\"FETCH\""),
        "caret under the value:\n{b}"
    );
    assert!(
        b.contains("= fix: use one of GET, POST, PUT, DELETE, PATCH"),
        "{b}"
    );
    assert!(
        !out.contains("\x1b["),
        "no colour when not on a terminal / NO_COLOR"
    );
    assert!(
        out.trim_end().ends_with("warnings."),
        "summary line:\n{out}"
    );
}

#[test]
fn exit_codes() {
    let (code, _) = validate_json("valid-v3", &[]);
    assert_eq!(code, 0);
    let (code, _) = validate_json("bad-requests", &[]);
    assert_eq!(code, 1);
    let missing = common::fixtures().join("apps/does-not-exist");
    let (code, out, err) = common::run_cli(&["validate", "--app-dir", &missing.to_string_lossy()]);
    assert_eq!(code, 2, "unreadable folder: {out}{err}");
    assert!(err.contains("does not exist"), "{err}");
}

/// Every rule a fixture triggers is listed in `validate::RULES` with the severity it is
/// reported at, so the list documents what editors and CI can filter on.
#[test]
fn every_reported_rule_is_documented_with_its_severity() {
    let apps = std::fs::read_dir(common::fixtures().join("apps")).expect("fixtures");
    let mut seen = 0;
    for app in apps.flatten() {
        let dir = app.path().to_string_lossy().into_owned();
        let (_, out, _) = common::run_cli(&["validate", "--format", "json", "--app-dir", &dir]);
        let report: Value = serde_json::from_str(&out).expect("json report");
        for d in diags(&report) {
            let rule = d["rule"].as_str().unwrap_or("");
            let severity = d["severity"].as_str().unwrap_or("");
            let listed = fdk_emu::validate::RULES.iter().find(|(r, _)| *r == rule);
            let Some((_, s)) = listed else {
                panic!("{dir}: rule {rule} is not in validate::RULES");
            };
            let s = match s {
                fdk_emu::validate::Severity::Error => "error",
                fdk_emu::validate::Severity::Warning => "warning",
            };
            assert_eq!(
                s, severity,
                "{dir}: rule {rule} is listed as {s} but reported as {severity}"
            );
            seen += 1;
        }
    }
    assert!(
        seen > 50,
        "the fixtures exercise the rules ({seen} diagnostics)"
    );
}

/// Run one folder too high (a repository of several apps), the hint names the app folders.
#[test]
fn a_folder_above_the_apps_names_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    for app in ["demo", "invoke"] {
        common::copy_dir(&common::fixture_app(app), &tmp.path().join(app));
    }
    std::fs::create_dir(tmp.path().join("docs")).expect("mkdir");
    let dir = tmp.path().to_string_lossy().into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--format", "json", "--app-dir", &dir]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).expect("json report");
    let missing = diags(&report)
        .into_iter()
        .find(|d| d["rule"] == "manifest-missing")
        .expect("manifest-missing");
    let hint = missing["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("2 folders here hold a manifest.json (demo, invoke)")
            && hint.contains(&format!("--app-dir {}", tmp.path().join("demo").display())),
        "{hint}"
    );

    std::fs::remove_dir_all(tmp.path().join("invoke")).expect("rm");
    let (_, out, _) = common::run_cli(&["validate", "--app-dir", &dir]);
    assert!(
        out.contains(&format!(
            "the app seems to be in the folder \"demo\" here: pass --app-dir {}",
            tmp.path().join("demo").display()
        )),
        "{out}"
    );
}

/// The excerpt under a problem never shows a literal client secret (one dot per character, so
/// the caret stays right).
#[test]
fn excerpts_blot_out_client_secrets() {
    let (_tmp, app) = common::copy_app("demo");
    std::fs::write(
        app.join("config/oauth_config.json"),
        r#"{"integrations": {"demo": {"display_name": "Demo", "client_id": "demo-client", "token_type": "sideways", "client_secret": "SEKRIT-VALUE-42", "authorize_url": "https://id.example.com/authorize", "token_url": "https://id.example.com/token", "options": {}}}}"#,
    )
    .expect("write");
    let dir = app.to_string_lossy().into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--app-dir", &dir]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Invalid token type"), "{out}");
    assert!(
        !out.contains("SEKRIT")
            && out.contains(r#""client_secret": "•••••••••••••••", "authorize_u"#),
        "{out}"
    );
}

/// Placeholder client credentials are warned about where they are written.
#[test]
fn placeholder_credentials_are_warned_about() {
    let c = Checked::run("oauth-placeholders");
    c.at(
        "warning",
        "oauth-credentials-placeholder",
        "config/oauth_config.json",
        Some("\"YOUR_CLIENT_ID\""),
    )
    .at(
        "warning",
        "oauth-credentials-placeholder",
        "config/oauth_config.json",
        Some("\"<client_id>\""),
    )
    .says("oauth-credentials-placeholder", "placeholder");
    assert_eq!(c.report["errors"], 0, "{}", pretty(&c.report));
}

/// An icon written with a leading slash is found under app/, as the platform finds it.
#[test]
fn icons_with_a_leading_slash_are_found_under_app() {
    let (_tmp, app) = common::copy_app("valid-v3");
    let path = app.join("manifest.json");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("\"styles/images/icon.svg\"", "\"/styles/images/icon.svg\""),
    )
    .expect("write");
    let dir = app.to_string_lossy().into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--format", "json", "--app-dir", &dir]);
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(code, 0, "{}", pretty(&report));
    assert_eq!(report["errors"], 0, "{}", pretty(&report));
    // A missing icon is still reported, at its real place.
    std::fs::remove_file(app.join("app/styles/images/icon.svg")).expect("rm");
    let (code, out, _) = common::run_cli(&["validate", "--format", "json", "--app-dir", &dir]);
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(code, 1);
    let missing = diags(&report)
        .into_iter()
        .find(|d| d["rule"] == "location-file-missing")
        .expect("location-file-missing");
    assert!(
        missing["hint"]
            .as_str()
            .is_some_and(|h| h.contains("app/styles/images/icon.svg") && !h.contains("app//")),
        "{missing}"
    );
}

/// getConfigs, postConfigs and validate may live in a script the page loads from
/// config/assets/ (the layout current FDK documents); missing everywhere they are still an
/// error.
#[test]
fn iparams_html_methods_may_live_in_config_assets() {
    let (code, report) = validate_json("iparams-html-assets", &[]);
    assert_eq!(code, 0, "{}", pretty(&report));
    assert_eq!(report["warnings"], 0, "{}", pretty(&report));
    let (_tmp, app) = common::copy_app("iparams-html-assets");
    std::fs::write(
        app.join("config/assets/iparams.js"),
        "function getConfigs(c) {}\n",
    )
    .expect("write");
    let dir = app.to_string_lossy().into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--format", "json", "--app-dir", &dir]);
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(code, 1);
    let d = diags(&report)
        .into_iter()
        .find(|d| d["rule"] == "iparams-html-methods")
        .expect("iparams-html-methods");
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("missing in iparams.html: postConfigs.")),
        "{d}"
    );
}

/// The serverless parts: what the files say (a function's timeout, a package required but
/// not declared) and what Node finds when it loads server.js (exports, syntax).
#[test]
fn serverless_parts() {
    let c = Checked::run("serverless-invalid");
    c.at(
        "error",
        "smi-function-missing",
        "manifest.json",
        Some("\"missingFn\""),
    )
    .says("smi-function-missing", "it exports greet, slowFn")
    .at("error", "function-timeout", "manifest.json", Some("7 }"))
    .says("function-timeout", "5, 10, 15, 20")
    .at(
        "error",
        "event-handler-missing",
        "manifest.json",
        Some("\"onTicketCreateHandler\""),
    )
    .at(
        "warning",
        "dependency-undeclared",
        "server/server.js",
        Some("left-pad');"),
    );
    // Declared (axios) and built-in (path) modules are fine, and a package that is not
    // installed does not keep validate from reading the exports.
    assert_eq!(c.count("dependency-undeclared"), 1);
    assert_eq!(c.report["errors"], 3, "{}", pretty(&c.report));

    Checked::run("serverless-syntax")
        .at(
            "error",
            "server-syntax",
            "server/server.js",
            Some("}\n  }\n};"),
        )
        .says(
            "server-syntax",
            "SyntaxError: missing ) after argument list",
        );

    let (code, report) = validate_json("serverless", &[]);
    assert_eq!(code, 0, "{}", pretty(&report));
    assert_eq!(report["errors"], 0, "{}", pretty(&report));

    // --config-only leaves server/ alone.
    let (code, report) = validate_json("serverless-syntax", &["--config-only"]);
    assert_eq!(code, 0, "{}", pretty(&report));
}

/// Functions or events declared without a server.js to run them.
#[test]
fn serverless_declarations_need_a_server_js() {
    let (_tmp, app) = common::copy_app("serverless-invalid");
    std::fs::remove_dir_all(app.join("server")).expect("rm server/");
    let dir = app.to_string_lossy().into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--format", "json", "--app-dir", &dir]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).expect("json");
    let d = diags(&report)
        .into_iter()
        .find(|d| d["rule"] == "server-js-missing")
        .unwrap_or_else(|| panic!("no server-js-missing:\n{}", pretty(&report)));
    let m = d["message"].as_str().unwrap_or_default();
    assert!(
        m.contains("SMI functions (greet, missingFn, slowFn)")
            && m.contains("events (onTicketCreate)")
            && m.contains("server/server.js"),
        "{m}"
    );
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64()),
        (Some("manifest.json"), Some(6))
    );
}

/// Without Node, validate says what it could not check and checks the rest; a Node of
/// another major version than engines.node is a warning.
#[test]
fn serverless_checks_without_node_or_with_another_node() {
    let dir = common::fixture_app("serverless-invalid")
        .to_string_lossy()
        .into_owned();
    let out = std::process::Command::new(common::bin())
        .args(["validate", "--format", "json", "--app-dir", &dir])
        .env("NO_COLOR", "1")
        .env("PATH", "/nonexistent")
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let missing = diags(&report)
        .into_iter()
        .find(|d| d["rule"] == "node-missing")
        .unwrap_or_else(|| panic!("no node-missing:\n{}", pretty(&report)));
    assert_eq!(missing["severity"], "warning");
    assert_eq!(missing["file"], "server/server.js");
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.contains("apt-get install nodejs npm") && m.contains("--node")),
        "{missing}"
    );
    // The file checks still ran; the ones that need Node did not.
    let rules: Vec<String> = diags(&report)
        .iter()
        .filter_map(|d| d["rule"].as_str().map(str::to_string))
        .collect();
    let has = |r: &str| rules.iter().any(|x| x == r);
    assert!(
        has("function-timeout") && has("dependency-undeclared"),
        "{rules:?}"
    );
    assert!(!has("smi-function-missing"), "{rules:?}");

    let (_tmp, app) = common::copy_app("serverless");
    let manifest = app.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("\"18.20.8\"", "\"1.0.0\"")).expect("write");
    let dir = app.to_string_lossy().into_owned();
    let (code, out, _) = common::run_cli(&["validate", "--app-dir", &dir]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning[node-version]: manifest.json names Node 1.0.0 (engines.node)")
            && out.contains("\"node\": \"1.0.0\""),
        "{out}"
    );
}
