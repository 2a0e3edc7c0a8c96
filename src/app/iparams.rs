//! `config/iparams.json` (the platform-generated installation page) or `config/iparams.html`
//! (the app's own page).

use indexmap::IndexMap;
use serde_json::Value;

use super::manifest::escape;

/// The 13 field types of the generated installation page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IparamType {
    Text,
    Paragraph,
    Dropdown,
    Email,
    PhoneNumber,
    Number,
    Url,
    Radio,
    Checkbox,
    Multiselect,
    Date,
    Domain,
    ApiKey,
}

impl IparamType {
    pub const ALL: [IparamType; 13] = [
        IparamType::Text,
        IparamType::Paragraph,
        IparamType::Dropdown,
        IparamType::Email,
        IparamType::PhoneNumber,
        IparamType::Number,
        IparamType::Url,
        IparamType::Radio,
        IparamType::Checkbox,
        IparamType::Multiselect,
        IparamType::Date,
        IparamType::Domain,
        IparamType::ApiKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IparamType::Text => "text",
            IparamType::Paragraph => "paragraph",
            IparamType::Dropdown => "dropdown",
            IparamType::Email => "email",
            IparamType::PhoneNumber => "phone_number",
            IparamType::Number => "number",
            IparamType::Url => "url",
            IparamType::Radio => "radio",
            IparamType::Checkbox => "checkbox",
            IparamType::Multiselect => "multiselect",
            IparamType::Date => "date",
            IparamType::Domain => "domain",
            IparamType::ApiKey => "api_key",
        }
    }

    pub fn parse(s: &str) -> Option<IparamType> {
        IparamType::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Types whose value is chosen from `options`.
    pub fn has_options(self) -> bool {
        matches!(
            self,
            IparamType::Dropdown | IparamType::Radio | IparamType::Multiselect
        )
    }
}

/// One `regex` entry: the pattern and the message shown when the value does not match.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IparamRegex {
    pub name: String,
    pub pattern: String,
    pub error_message: Option<String>,
}

/// One field of iparams.json.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IparamField {
    pub name: String,
    pub pointer: String,
    pub display_name: String,
    pub description: String,
    /// `None` when `type` is missing or unknown (validation reports it).
    pub kind: Option<IparamType>,
    pub required: bool,
    pub secure: bool,
    pub default_value: Option<Value>,
    /// Option values as strings (FDK's generator takes plain strings).
    pub options: Vec<String>,
    /// Anything but `false` is visible, as in FDK's generator.
    pub visible: bool,
    pub regex: Vec<IparamRegex>,
    pub type_attributes: Option<Value>,
    pub events: Option<Value>,
    /// For a `domain` field: the product's domain the value belongs to (`.freshdesk.com`),
    /// when the product has one. The platform's installation page then takes the account's
    /// subdomain alone and shows the rest after the input; apps' templates append it
    /// themselves (`"host": "<%= iparam.domain %>.freshdesk.com"`).
    pub domain_suffix: Option<&'static str>,
}

/// The domain every account of `product` lives under, for the products whose accounts all
/// share one (`acme.freshdesk.com`). Freshsales accounts live under `freshsales.io`,
/// `freshworks.com` or `myfreshworks.com`, so a Freshsales domain is taken whole.
pub fn product_domain(product: &str) -> Option<&'static str> {
    match product {
        "freshdesk" => Some(".freshdesk.com"),
        "freshservice" => Some(".freshservice.com"),
        "freshteam" => Some(".freshteam.com"),
        "freshcaller" => Some(".freshcaller.com"),
        _ => None,
    }
}

impl IparamField {
    /// `type_attributes.product` as written (`current` included).
    pub fn product(&self) -> Option<&str> {
        self.type_attributes.as_ref()?.get("product")?.as_str()
    }
}

/// The installation page an app has.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IparamsPage {
    /// Neither iparams.json nor iparams.html.
    None,
    /// Generated from iparams.json.
    Json {
        fields: IndexMap<String, IparamField>,
    },
    /// The app's own `config/iparams.html`.
    Html,
}

impl IparamsPage {
    pub fn fields(&self) -> Option<&IndexMap<String, IparamField>> {
        match self {
            IparamsPage::Json { fields } => Some(fields),
            _ => None,
        }
    }

    /// Whether the app has any installation parameters to set.
    pub fn has_iparams(&self) -> bool {
        match self {
            IparamsPage::None => false,
            IparamsPage::Json { fields } => !fields.is_empty(),
            IparamsPage::Html => true,
        }
    }

    /// Names of the fields marked `secure` (iparams.json only; iparams.html pages say which
    /// keys are secure in `__meta.secure` of what they store).
    pub fn secure_names(&self) -> Vec<String> {
        self.fields()
            .map(|f| {
                f.values()
                    .filter(|f| f.secure)
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `type_attributes.product: "current"` means the app's own product: with one product in a
/// platform 2.x manifest, its domain is known.
pub fn resolve_current_product(fields: &mut IndexMap<String, IparamField>, products: &[String]) {
    let [only] = products else { return };
    for f in fields.values_mut() {
        if f.kind == Some(IparamType::Domain) && f.product() == Some("current") {
            f.domain_suffix = product_domain(only);
        }
    }
}

pub fn fields_from_value(v: Option<&Value>) -> IndexMap<String, IparamField> {
    let mut out = IndexMap::new();
    let Some(obj) = v.and_then(Value::as_object) else {
        return out;
    };
    for (name, f) in obj {
        let s = |k: &str| {
            f.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let regex = f
            .get("regex")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.ends_with("-error"))
                    .map(|(k, p)| IparamRegex {
                        name: k.clone(),
                        pattern: p.as_str().unwrap_or_default().to_string(),
                        error_message: m
                            .get(&format!("{k}-error"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let field = IparamField {
            name: name.clone(),
            pointer: format!("/{}", escape(name)),
            display_name: s("display_name"),
            description: s("description"),
            kind: f
                .get("type")
                .and_then(Value::as_str)
                .and_then(IparamType::parse),
            required: f.get("required").and_then(Value::as_bool).unwrap_or(false),
            secure: f.get("secure").and_then(Value::as_bool).unwrap_or(false),
            default_value: f.get("default_value").cloned(),
            options: f
                .get("options")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(super::requests::value_text).collect())
                .unwrap_or_default(),
            visible: f.get("visible") != Some(&Value::Bool(false)),
            regex,
            type_attributes: f.get("type_attributes").cloned(),
            events: f.get("events").cloned(),
            domain_suffix: None,
        };
        let field = IparamField {
            domain_suffix: (field.kind == Some(IparamType::Domain))
                .then(|| field.product().and_then(product_domain))
                .flatten(),
            ..field
        };
        out.insert(name.clone(), field);
    }
    out
}
