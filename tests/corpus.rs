//! `fdk-emu validate --config-only` over the 308 real apps of `../shared/corpus/apps`.
//!
//! * every app: no panic, exit code 0 or 1, and the same verdict (error and warning counts,
//!   rule ids) as committed in `tests/corpus-expectations.json`, where every error verdict is
//!   justified;
//! * each broken JSON file the corpus README lists gives a `json-syntax` error naming that
//!   file and the line of the mistake;
//! * each inconsistency the README lists gives the matching error or warning.
//!
//! Set `FDK_EMU_BLESS=1` to rewrite the counts and rule ids of the expectations file from the
//! current output (justifications are kept; new error verdicts get an empty one, which the
//! test then rejects until someone writes it).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/apps");
    assert!(
        dir.is_dir(),
        "the corpus is missing at {}: the tests expect shared/corpus beside the repository (run ./scripts/test from a checkout that has ../shared)",
        dir.display()
    );
    dir
}

fn expectations_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-expectations.json")
}

/// Runs the real binary on one app; returns (exit code, report JSON).
fn validate(app: &Path) -> (i32, Value) {
    let dir = app.to_string_lossy().into_owned();
    let (code, out, err) = common::run_cli(&[
        "validate",
        "--config-only",
        "--format",
        "json",
        "--app-dir",
        &dir,
    ]);
    assert!(
        !err.contains("panicked"),
        "fdk-emu panicked on {dir}:\n{err}"
    );
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!("validate --format json on {dir} printed no JSON ({e}):\n{out}\n{err}")
    });
    (code, report)
}

fn diagnostics(report: &Value) -> Vec<Value> {
    report["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The verdict of one report: counts and rule ids with how often each fired.
fn verdict(report: &Value) -> (u64, u64, BTreeMap<String, u64>) {
    let mut rules = BTreeMap::new();
    for d in diagnostics(report) {
        let key = format!(
            "{}:{}",
            d["severity"].as_str().unwrap_or("?"),
            d["rule"].as_str().unwrap_or("?")
        );
        *rules.entry(key).or_insert(0) += 1;
    }
    (
        report["errors"].as_u64().unwrap_or(0),
        report["warnings"].as_u64().unwrap_or(0),
        rules,
    )
}

fn app_dirs() -> Vec<PathBuf> {
    let mut apps: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("read corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    apps.sort();
    apps
}

fn slug(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_corpus_app_matches_its_committed_verdict() {
    let apps = app_dirs();
    assert_eq!(apps.len(), 308, "the corpus should hold 308 apps");
    let bless = std::env::var_os("FDK_EMU_BLESS").is_some();
    let old: Value = std::fs::read_to_string(expectations_path())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    let mut new = serde_json::Map::new();
    let mut problems = Vec::new();
    for app in &apps {
        let name = slug(app);
        let (code, report) = validate(app);
        assert!(
            code == 0 || code == 1,
            "{name}: exit code {code}, expected 0 or 1"
        );
        let (errors, warnings, rules) = verdict(&report);
        assert_eq!(
            code == 1,
            errors > 0,
            "{name}: exit code {code} with {errors} errors"
        );
        let why = old[&name]["why"].as_str().unwrap_or("").to_string();
        let entry = json!({
            "errors": errors,
            "warnings": warnings,
            "rules": rules,
            "why": why,
        });
        if bless {
            new.insert(name.clone(), entry);
            continue;
        }
        let expected = &old[&name];
        if expected.is_null() {
            problems.push(format!(
                "{name}: no committed verdict (run with FDK_EMU_BLESS=1)"
            ));
            continue;
        }
        if expected["errors"] != entry["errors"]
            || expected["warnings"] != entry["warnings"]
            || expected["rules"] != entry["rules"]
        {
            problems.push(format!(
                "{name}: expected {} errors/{} warnings {}, got {errors}/{warnings} {}\n{}",
                expected["errors"],
                expected["warnings"],
                expected["rules"],
                entry["rules"],
                serde_json::to_string_pretty(&report["diagnostics"]).unwrap_or_default()
            ));
        }
        if errors > 0 && why.trim().is_empty() {
            problems.push(format!(
                "{name}: {errors} error(s) but no justification (\"why\") in tests/corpus-expectations.json"
            ));
        }
    }
    if bless {
        let text = serde_json::to_string_pretty(&Value::Object(new)).expect("serialise");
        std::fs::write(expectations_path(), text + "\n").expect("write expectations");
        return;
    }
    assert!(
        problems.is_empty(),
        "{} corpus verdict(s) differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The README's broken files: (app, file, line of the mistake as a person finds it).
const BROKEN: &[(&str, &str, usize)] = &[
    ("Deepusrm__Notion__at-ae871bf", "config/requests.json", 1),
    (
        "freshworks-developers__configuration-page-samples__iparams-json__at-f76c36b",
        "config/requests.json",
        1,
    ),
    (
        "brekekesoftware__pbx-freshdesk__at-ae10af6",
        "manifest.json",
        15,
    ),
    (
        "freshworks__marketplace-sample-apps__Freshsales__airtable__at-dabe18f",
        "manifest.json",
        9,
    ),
    (
        "freshworks__marketplace-sample-apps__Configuration-Features__astro-boy__at-1eab701",
        "config/iparams.json",
        32,
    ),
    (
        "freshworks__marketplace-sample-apps__Freshteam__feedback-collector-app__at-df5f793",
        "config/iparams.json",
        5,
    ),
    (
        "freshworks__marketplace-sample-apps__Play-Along__Tutorials__weatherWidget__at-4911719",
        "config/iparams.json",
        6,
    ),
];

#[test]
fn broken_json_files_are_reported_with_file_and_line() {
    let root = corpus();
    for (app, file, line) in BROKEN {
        let (code, report) = validate(&root.join(app));
        assert_eq!(code, 1, "{app}: a broken file must fail validation");
        let found = diagnostics(&report).into_iter().any(|d| {
            d["rule"] == "json-syntax"
                && d["file"] == *file
                && d["line"].as_u64() == Some(*line as u64)
                && d["severity"] == "error"
        });
        assert!(
            found,
            "{app}: expected a json-syntax error in {file} at line {line}, got {}",
            serde_json::to_string_pretty(&report["diagnostics"]).unwrap_or_default()
        );
    }
}

fn has(report: &Value, severity: &str, rule: &str, file: &str, needle: &str) -> bool {
    diagnostics(report).iter().any(|d| {
        d["severity"] == severity
            && d["rule"] == rule
            && d["file"] == file
            && d["message"].as_str().is_some_and(|m| m.contains(needle))
    })
}

#[test]
fn inconsistencies_listed_in_the_readme_are_reported() {
    let root = corpus();
    let check = |app: &str, severity: &str, rule: &str, file: &str, needles: &[&str]| {
        let (_, report) = validate(&root.join(app));
        for n in needles {
            assert!(
                has(&report, severity, rule, file, n),
                "{app}: expected {severity} {rule} in {file} mentioning {n:?}, got {}",
                serde_json::to_string_pretty(&report["diagnostics"]).unwrap_or_default()
            );
        }
    };
    check(
        "freshworks-developers__request-method-samples",
        "error",
        "template-not-defined",
        "manifest.json",
        &["getContacts", "replyTicket"],
    );
    for app in [
        "ananth7453__FWAMCNEW",
        "aravindmessi__shopware-2",
        "duongvic__cti_global_sidebar",
        "faskt8__freshworksapps",
    ] {
        check(
            app,
            "warning",
            "template-undeclared",
            "config/requests.json",
            &["'"],
        );
    }
    let crayons: Vec<String> = app_dirs()
        .iter()
        .map(|p| slug(p))
        .filter(|s| s.starts_with("freshworks-developers__crayons-samples__"))
        .collect();
    assert_eq!(crayons.len(), 6);
    for app in &crayons {
        check(
            app,
            "warning",
            "template-undeclared",
            "config/requests.json",
            &["'"],
        );
    }
    check(
        "kishorm-dev__calendly-sample-app",
        "error",
        "oauth-integration-missing",
        "config/requests.json",
        &[
            "calendlyGetUser",
            "calendlyListSchedules",
            "calendlyEventDetails",
            "calendlyDeleteSchedule",
        ],
    );
    check(
        "ash25F__Wifi-PMS",
        "warning",
        "protocol-http",
        "config/requests.json",
        &["checkInGuest", "checkOutGuest"],
    );
    check(
        "daveposh__fresh_service_change_submission",
        "warning",
        "manifest-generation",
        "manifest.json",
        &["modules"],
    );
    check(
        "Shyam-Sunder-M__SurverySparrow-GoogleTask-Integration",
        "error",
        "platform-version",
        "manifest.json",
        &["1.0"],
    );
    check(
        "Shyam-Sunder-M__SurverySparrow-GoogleTask-Integration",
        "error",
        "oauth-mandatory-keys",
        "config/oauth_config.json",
        &["token_type"],
    );
    check(
        "Shyam-Sunder-M__SurverySparrow-GoogleTask-Integration",
        "warning",
        "manifest-unknown-product",
        "manifest.json",
        &["surveysparrow"],
    );
    check(
        "freshworks-developers__freshworks-platform3__ai-actions-skeleton",
        "error",
        "manifest-missing",
        "manifest.json",
        &["Could not find the app manifest"],
    );
    // Platform 3.1 with two account-level integrations is within its limits.
    let (_, report) = validate(&root.join("freshworks-developers__oauth-samples"));
    assert!(
        !diagnostics(&report)
            .iter()
            .any(|d| d["rule"] == "oauth-integration-limit" || d["rule"] == "platform-version"),
        "3.1 app must pass the platform and integration checks: {}",
        report["diagnostics"]
    );
}

/// CRLF files parse, and positions count lines as editors do (the column of a diagnostic
/// is where the named key starts, not shifted by the `\r` of earlier lines).
#[test]
fn crlf_files_get_positions_by_line() {
    let root = corpus();
    let app = "freshworks-developers__crayons-samples__Crayons-3.0__crayon-samples-v4__freshdesk";
    let text = std::fs::read_to_string(root.join(app).join("config/requests.json"))
        .expect("read requests.json");
    assert!(
        text.contains("\r\n"),
        "this corpus file has CRLF line endings"
    );
    let (_, report) = validate(&root.join(app));
    let ds: Vec<Value> = diagnostics(&report)
        .into_iter()
        .filter(|d| d["file"] == "config/requests.json")
        .collect();
    assert!(!ds.is_empty());
    for d in ds {
        let line = d["line"].as_u64().expect("line") as usize;
        let col = d["column"].as_u64().expect("column") as usize;
        let at: String = text
            .lines()
            .nth(line - 1)
            .expect("line exists")
            .chars()
            .skip(col - 1)
            .collect();
        let expect = match d["rule"].as_str() {
            Some("template-undeclared") => "\"",
            Some("iparam-undefined") => "<%=",
            other => panic!("unexpected rule {other:?}"),
        };
        assert!(
            at.starts_with(expect),
            "{} at {line}:{col} points at {at:?}",
            d["rule"]
        );
    }
}
