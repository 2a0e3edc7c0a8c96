//! The JSON Schemas of `schemas/` (draft 2020-12), embedded in the binary and compiled once,
//! and the translation of their errors into [`Diagnostic`](super::Diagnostic)s a person can act on.
//!
//! Schemas describe shape (types, required keys, allowed values). Their nodes may carry three
//! annotations of ours, ignored by the JSON Schema validator itself:
//! `x-messages` (keyword → message template), `x-hints`/`x-hint` (the fix) and `x-rule` (the
//! rule id). Templates may use `{0}`, `{1}`, `{-1}` (tokens of the instance's JSON pointer),
//! `{found}` (the offending value, described), `{value}` (the value as FDK would print it),
//! `{property}`, `{allowed}`, `{expected}` and `{path}`.

use std::collections::HashSet;
use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, Validator};
use serde_json::Value;

use super::position::{Target, pointer, tokens};
use super::{Ctx, Severity};

/// One schema file of `schemas/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    ManifestV2,
    ManifestV3,
    Requests,
    OAuthSingle,
    OAuthIntegrations,
    Iparams,
}

impl SchemaKind {
    fn source(self) -> &'static str {
        match self {
            SchemaKind::ManifestV2 => include_str!("../../schemas/manifest-v2.json"),
            SchemaKind::ManifestV3 => include_str!("../../schemas/manifest-v3.json"),
            SchemaKind::Requests => include_str!("../../schemas/requests.json"),
            SchemaKind::OAuthSingle => include_str!("../../schemas/oauth_config-single.json"),
            SchemaKind::OAuthIntegrations => {
                include_str!("../../schemas/oauth_config-integrations.json")
            }
            SchemaKind::Iparams => include_str!("../../schemas/iparams.json"),
        }
    }

    /// Rule id of a schema error whose schema node names none.
    fn default_rule(self) -> &'static str {
        match self {
            SchemaKind::ManifestV2 | SchemaKind::ManifestV3 => "manifest-schema",
            SchemaKind::Requests => "requests-schema",
            SchemaKind::OAuthSingle | SchemaKind::OAuthIntegrations => "oauth-schema",
            SchemaKind::Iparams => "iparams-schema",
        }
    }

    fn compiled(self) -> &'static Compiled {
        static M2: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(SchemaKind::ManifestV2));
        static M3: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(SchemaKind::ManifestV3));
        static RQ: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(SchemaKind::Requests));
        static OS: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(SchemaKind::OAuthSingle));
        static OI: LazyLock<Compiled> =
            LazyLock::new(|| Compiled::new(SchemaKind::OAuthIntegrations));
        static IP: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(SchemaKind::Iparams));
        match self {
            SchemaKind::ManifestV2 => &M2,
            SchemaKind::ManifestV3 => &M3,
            SchemaKind::Requests => &RQ,
            SchemaKind::OAuthSingle => &OS,
            SchemaKind::OAuthIntegrations => &OI,
            SchemaKind::Iparams => &IP,
        }
    }
}

struct Compiled {
    doc: Value,
    validator: Validator,
}

impl Compiled {
    /// The schemas are part of the program: one that does not parse or compile is a bug
    /// caught by the unit test below, not something a user can cause.
    fn new(kind: SchemaKind) -> Compiled {
        let doc: Value = serde_json::from_str(kind.source())
            .unwrap_or_else(|e| panic!("embedded schema {kind:?} is not JSON: {e}"));
        let validator = jsonschema::draft202012::options()
            .build(&doc)
            .unwrap_or_else(|e| panic!("embedded schema {kind:?} does not compile: {e}"));
        Compiled { doc, validator }
    }
}

/// Checks `value` (the content of `file`) against a schema and reports every error.
pub(crate) fn check(ctx: &mut Ctx<'_>, file: &str, kind: SchemaKind, value: &Value) {
    let compiled = kind.compiled();
    let errors: Vec<_> = compiled.validator.iter_errors(value).collect();
    // A value of the wrong type usually also fails its `enum`/`minLength`: say it once.
    let typed: HashSet<String> = errors
        .iter()
        .filter(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
        .map(|e| e.instance_path().as_str().to_string())
        .collect();
    for err in &errors {
        let instance_ptr = err.instance_path().as_str().to_string();
        if !matches!(err.kind(), ValidationErrorKind::Type { .. }) && typed.contains(&instance_ptr)
        {
            continue;
        }
        let schema_tokens: Vec<String> = tokens(err.schema_path().as_str()).collect();
        let (keyword, node) = match schema_tokens.split_last() {
            Some((kw, parent)) => (kw.as_str(), walk(&compiled.doc, parent)),
            None => ("", Some(&compiled.doc)),
        };
        let annotation = |name: &str, plural: &str| -> Option<String> {
            let node = node?;
            node.get(plural)
                .and_then(|m| m.get(keyword))
                .or_else(|| node.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let rule = node
            .and_then(|n| n.get("x-rule"))
            .and_then(Value::as_str)
            .unwrap_or(kind.default_rule())
            .to_string();
        let instance = err.instance();
        let mut fill = Fill {
            pointer: &instance_ptr,
            instance,
            property: String::new(),
            allowed: String::new(),
            expected: String::new(),
        };
        let (default_msg, targets): (String, Vec<(String, Target)>) = match err.kind() {
            ValidationErrorKind::Type { kind } => {
                fill.expected = expected(kind);
                (
                    "`{path}` must be {expected}; found {found}".into(),
                    vec![(instance_ptr.clone(), Target::Value)],
                )
            }
            ValidationErrorKind::Enum { options } => {
                fill.allowed = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                (
                    "`{path}` must be one of {allowed}; found {found}".into(),
                    vec![(instance_ptr.clone(), Target::Value)],
                )
            }
            ValidationErrorKind::Required { property } => {
                fill.property = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_string);
                (
                    "`{path}` is missing the required key \"{property}\"".into(),
                    vec![(instance_ptr.clone(), Target::Value)],
                )
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                // One diagnostic per unknown key, each at its key.
                for prop in unexpected {
                    let f = Fill {
                        property: prop.clone(),
                        ..fill.clone()
                    };
                    let msg = annotation("x-message", "x-messages")
                        .unwrap_or_else(|| "`{path}` has an unknown key \"{property}\"".into());
                    let hint = annotation("x-hint", "x-hints");
                    let mut tokens_now: Vec<String> = tokens(&instance_ptr).collect();
                    tokens_now.push(prop.clone());
                    ctx.push(
                        Severity::Error,
                        file,
                        &pointer(&tokens_now),
                        Target::Key,
                        &rule,
                        f.apply(&msg),
                        hint.map(|h| f.apply(&h)),
                    );
                }
                continue;
            }
            ValidationErrorKind::MinLength { .. } | ValidationErrorKind::MinProperties { .. } => (
                "`{path}` must not be empty".into(),
                vec![(instance_ptr.clone(), Target::Value)],
            ),
            ValidationErrorKind::Minimum { limit } => (
                format!("`{{path}}` must be at least {limit}; found {{found}}"),
                vec![(instance_ptr.clone(), Target::Value)],
            ),
            ValidationErrorKind::Maximum { limit } => (
                format!("`{{path}}` must be at most {limit}; found {{found}}"),
                vec![(instance_ptr.clone(), Target::Value)],
            ),
            _ => (
                format!("`{{path}}`: {}", err.masked()),
                vec![(instance_ptr.clone(), Target::Value)],
            ),
        };
        let msg = annotation("x-message", "x-messages").unwrap_or(default_msg);
        let hint = annotation("x-hint", "x-hints");
        for (ptr, target) in targets {
            ctx.push(
                Severity::Error,
                file,
                &ptr,
                target,
                &rule,
                fill.apply(&msg),
                hint.as_ref().map(|h| fill.apply(h)),
            );
        }
    }
}

/// The schema node at `path` (keyword-location tokens).
fn walk<'v>(doc: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut node = doc;
    for t in path {
        node = match node {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

#[derive(Clone)]
struct Fill<'e> {
    pointer: &'e str,
    instance: &'e Value,
    property: String,
    allowed: String,
    expected: String,
}

impl Fill<'_> {
    fn apply(&self, template: &str) -> String {
        let toks: Vec<String> = tokens(self.pointer).collect();
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let name = &after[..close];
            let replacement = match name {
                "found" => Some(describe(self.instance)),
                // As FDK's messages print it (JavaScript string interpolation): strings bare.
                "value" => Some(crate::app::requests::value_text(self.instance)),
                "property" => Some(self.property.clone()),
                "allowed" => Some(self.allowed.clone()),
                "expected" => Some(self.expected.clone()),
                "path" => Some(human_path(&toks)),
                n => n.parse::<isize>().ok().and_then(|i| {
                    let idx = if i < 0 {
                        toks.len().checked_sub(i.unsigned_abs())?
                    } else {
                        i as usize
                    };
                    toks.get(idx).cloned()
                }),
            };
            match replacement {
                Some(r) => out.push_str(&r),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// `getProfile.schema.headers["Content-Type"]`-style path for messages.
pub(crate) fn human_path(tokens: &[String]) -> String {
    if tokens.is_empty() {
        return "(top level)".into();
    }
    let mut out = String::new();
    for t in tokens {
        let simple = !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
        if t.parse::<usize>().is_ok() {
            out.push_str(&format!("[{t}]"));
        } else if simple {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(t);
        } else {
            out.push_str(&format!("[{}]", Value::String(t.clone())));
        }
    }
    out
}

/// A value as a person reads it in a message: strings quoted, containers named.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Object(_) => "an object".into(),
        Value::Array(_) => "an array".into(),
        Value::String(s) if s.chars().count() > 60 => {
            let short: String = s.chars().take(57).collect();
            format!("\"{short}…\"")
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
    }
}

fn expected(kind: &TypeKind) -> String {
    let name = |t: JsonType| match t {
        JsonType::Array => "an array",
        JsonType::Boolean => "true or false",
        JsonType::Integer => "a whole number",
        JsonType::Null => "null",
        JsonType::Number => "a number",
        JsonType::Object => "an object",
        JsonType::String => "a string",
    };
    match kind {
        TypeKind::Single(t) => name(*t).to_string(),
        TypeKind::Multiple(set) => set.iter().map(name).collect::<Vec<_>>().join(" or "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles() {
        for kind in [
            SchemaKind::ManifestV2,
            SchemaKind::ManifestV3,
            SchemaKind::Requests,
            SchemaKind::OAuthSingle,
            SchemaKind::OAuthIntegrations,
            SchemaKind::Iparams,
        ] {
            let _ = kind.compiled();
        }
    }

    #[test]
    fn human_paths() {
        let t = |s: &[&str]| human_path(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&["a", "schema", "method"]), "a.schema.method");
        assert_eq!(t(&["h", "Content Type"]), "h[\"Content Type\"]");
        assert_eq!(t(&["x", "0"]), "x[0]");
    }
}
