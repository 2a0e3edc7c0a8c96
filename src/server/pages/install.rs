//! The installation page: generated from `config/iparams.json` (every field type), or the
//! app's own `config/iparams.html` in a frame (see [`super::iparams_api`]).
//!
//! The generated form posts back here; the server checks every value again and answers
//! with the form and the messages next to the fields (422), or stores and shows the page in
//! edit state.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::check::{self, FieldErrors};
use super::render::{page, page_with_status, with};
use super::{PageError, form_pairs, page_context, see_other};
use crate::app::{IparamField, IparamType, IparamsPage};
use crate::server::Shared;
use crate::serverless::events::{Events, Source};
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(web::resource("/custom_configs/install").route(web::post().to(submit)));
}

pub const STORED_MESSAGE: &str = "App installation parameters have been successfully stored. You can now proceed to test the app.";

#[derive(serde::Deserialize)]
struct ShowQuery {
    saved: Option<String>,
}

/// The string shown in an input for a stored or default value.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The options a choice field shows: the page's own when a change handler replaced the
/// file's (`page_options`, sent back with a refused form), and a chosen value that is in
/// neither (stored after a handler offered it), so that it is shown and can be saved again.
fn choices_of(field: &IparamField, page_options: &[String], selected: &[String]) -> Vec<String> {
    let mut list: Vec<String> = if page_options.is_empty() {
        field.options.clone()
    } else {
        page_options.to_vec()
    };
    if field.kind.is_some_and(IparamType::has_options) {
        for s in selected {
            if !s.is_empty() && !list.contains(s) {
                list.push(s.clone());
            }
        }
    }
    list
}

/// What a `domain` field shows when the product's domain is not known: the whole domain.
fn domain_placeholder(field: &IparamField) -> String {
    match field.product() {
        Some("freshsales" | "freshworks_crm" | "freshsales_suite") => {
            "yourcompany.myfreshworks.com".into()
        }
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()) && p != "current" => {
            format!("yourcompany.{p}.com")
        }
        _ => "yourcompany.example.com".into(),
    }
}

/// Everything the `field` partial needs for one field. `page_options` are the options the
/// page had for it when it was submitted (see [`check::PAGE_OPTIONS`]).
pub fn field_view(
    field: &IparamField,
    value: Option<&Value>,
    secure_set: bool,
    error: Option<&str>,
    page_options: &[String],
) -> Value {
    let kind = field.kind.unwrap_or(IparamType::Text);
    let id = super::field_id(&field.name);
    let selected: Vec<String> = match value {
        Some(Value::Array(a)) => a.iter().map(display).collect(),
        Some(v) => vec![display(v)],
        None => vec![],
    };
    let choices: Vec<Value> = choices_of(field, page_options, &selected)
        .iter()
        .map(|o| json!({"value": o, "checked": selected.contains(o)}))
        .collect();
    let input_type = if field.secure {
        "password"
    } else {
        match kind {
            IparamType::Email => "email",
            IparamType::PhoneNumber => "tel",
            IparamType::Url => "url",
            IparamType::Number => "number",
            IparamType::Date => "date",
            IparamType::Radio => "radio",
            IparamType::Multiselect => "checkbox",
            _ => "text",
        }
    };
    let placeholder = match kind {
        _ if field.secure && secure_set => "Stored (leave empty to keep)".to_string(),
        // The platform's page takes the subdomain and shows the product's domain after it.
        IparamType::Domain if field.domain_suffix.is_some() => "yourcompany".to_string(),
        IparamType::Domain => domain_placeholder(field),
        IparamType::Url => "https://".to_string(),
        IparamType::PhoneNumber => "555-123-4567".to_string(),
        IparamType::Email => "name@example.com".to_string(),
        _ => String::new(),
    };
    let suffix = field.domain_suffix.filter(|_| kind == IparamType::Domain);
    let (patterns, pattern_message) = if field.regex.is_empty() {
        (None, None)
    } else {
        let (p, m) = check::regex_for(field);
        (Some(Value::from(p).to_string()), m)
    };
    let help = if field.description.is_empty() {
        None
    } else {
        Some(field.description.clone())
    };
    json!({
        "name": field.name,
        "id": id,
        "label": if field.display_name.is_empty() { &field.name } else { &field.display_name },
        "help": help,
        "kind": kind.name(),
        "required": field.required,
        "secure": field.secure,
        "secure_set": field.secure && secure_set,
        "input_type": input_type,
        "value": if field.secure { String::new() } else { value.map(display).unwrap_or_default() },
        "checked": matches!(value, Some(Value::Bool(true))),
        "choices": choices,
        "group": matches!(kind, IparamType::Radio | IparamType::Multiselect),
        "is_checkbox": kind == IparamType::Checkbox,
        "is_textarea": kind == IparamType::Paragraph,
        "is_select": kind == IparamType::Dropdown,
        "placeholder": placeholder,
        "step": (kind == IparamType::Number).then_some("any"),
        "patterns": patterns,
        "pattern_message": pattern_message,
        "error": error,
        "events": change_handlers(field).map(|names| Value::from(names).to_string()),
        "suffix": suffix,
        "suffix_message": suffix.map(check::subdomain_message),
    })
}

/// The functions a field's `events` name for `change` (FDK supports no other event), for
/// `assets/pages/iparams-events.js`.
fn change_handlers(field: &IparamField) -> Option<Vec<String>> {
    let names: Vec<String> = field
        .events
        .as_ref()?
        .as_array()?
        .iter()
        .filter_map(|e| e.get("change")?.as_str().map(str::to_string))
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The generated form. `values` are what to show (submitted, stored or default).
#[allow(clippy::too_many_arguments)]
async fn render_form(
    shared: &Shared,
    store: &Store,
    fields: &IndexMap<String, IparamField>,
    shown: &Map<String, Value>,
    stored: Option<&Map<String, Value>>,
    errors: &FieldErrors,
    notice: Option<Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let editing = stored.is_some();
    let app = shared.app();
    let ctx = page_context(&app, store, "Installation page", Some("install")).await?;
    let views: Vec<Value> = fields
        .values()
        .filter(|f| f.visible && f.kind.is_some())
        .map(|f| {
            let secure_set = stored.is_some_and(|s| s.contains_key(&f.name));
            let value = shown.get(&f.name).or_else(|| {
                if stored.is_none() {
                    f.default_value.as_ref()
                } else {
                    None
                }
            });
            let page_options: Vec<String> = shown
                .get("__meta")
                .and_then(|m| m.get("options"))
                .and_then(|o| o.get(&f.name))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            field_view(
                f,
                value,
                secure_set,
                errors.get(&f.name).map(String::as_str),
                &page_options,
            )
        })
        .collect();
    let form_error = (!errors.is_empty()).then(|| {
        // Every error names a field of the form: the input comes from check::from_form.
        let n = errors.len();
        format!(
            "{n} field{} need{} attention; see the messages below.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        )
    });
    let intro = if editing {
        "The app is installed with the values below. Change them and save; secure values stay stored unless you type new ones."
    } else {
        "Enter the installation parameters of the app, as an admin does when installing it from the marketplace."
    };
    let ctx = with(
        ctx,
        json!({
            "intro": intro,
            "notice": notice.clone(),
            "action": "/custom_configs/install",
            "fields": views,
            "form_error": form_error,
            "submit_label": if editing { "Save" } else { "Install" },
            "empty_message": fields.is_empty().then_some("config/iparams.json defines no fields."),
            "field_events": fields.values().any(|f| f.visible && change_handlers(f).is_some()),
            "iparams_js": app.root.join("config/assets/iparams.js").is_file(),
            // Installed: the way on is the app itself.
            "open_app": notice.as_ref().is_some_and(|n| n["kind"] == "ok"),
            "page_options": true,
        }),
    );
    page_with_status("form_page", &ctx, status)
}

#[get("/custom_configs/install")]
async fn show(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let app = shared.app();
    let notice = q
        .saved
        .is_some()
        .then(|| json!({"kind": "ok", "text": STORED_MESSAGE}));
    match &app.iparams {
        IparamsPage::Json { fields } => {
            let stored = store.iparams().await?;
            let shown = stored.clone().unwrap_or_default();
            render_form(
                &shared,
                &store,
                fields,
                &shown,
                stored.as_ref(),
                &FieldErrors::new(),
                notice,
                StatusCode::OK,
            )
            .await
        }
        IparamsPage::Html => {
            let editing = store.iparams().await?.is_some();
            let ctx = page_context(&app, &store, "Installation page", Some("install")).await?;
            let ctx = with(
                ctx,
                json!({
                    "intro": "The app's own installation page (config/iparams.html). Install runs its validate() and stores what its postConfigs() returns.",
                    "notice": notice,
                    "submit_label": if editing { "Save" } else { "Install" },
                    "installed": editing,
                }),
            );
            page("iparams_html", &ctx)
        }
        IparamsPage::None => {
            let ctx = page_context(&app, &store, "Installation page", Some("install")).await?;
            let agents: Vec<&str> = app
                .oauth
                .iter()
                .flat_map(|o| o.integrations.values())
                .filter(|i| i.is_agent())
                .map(|i| i.display_name.as_str())
                .collect();
            let mut message = "This app does not have an installation page (no config/iparams.json or config/iparams.html). Nothing to install.".to_string();
            if !agents.is_empty() {
                message.push_str(&format!(
                    " Its agent-level OAuth ({}) is authorized by each agent: use Authorize on the home page.",
                    agents.join(", ")
                ));
            }
            let ctx = with(
                ctx,
                json!({"message": message, "link_url": "/", "link_label": "Open the app"}),
            );
            page("done", &ctx)
        }
    }
}

async fn submit(
    req: HttpRequest,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    events: Option<web::Data<Events>>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let body = super::read_form(&req, payload).await?;
    let app = shared.app();
    let IparamsPage::Json { fields } = &app.iparams else {
        return Err(PageError::BadRequest(
            "this app has no config/iparams.json, so there is no generated form to submit".into(),
        ));
    };
    let pairs = form_pairs(&body);
    let input = check::from_form(fields, &pairs);
    let stored = store.iparams().await?;
    match check::check_values(fields, &input, stored.as_ref()) {
        Ok(checked) => {
            // onAppInstall (or afterAppUpdate when installed) runs with the new values
            // before they are kept; its renderData error refuses them, shown on the page.
            if let Some(refusal) = setup_event(
                events.as_ref().map(|e| e.get_ref()),
                stored.is_some(),
                &checked.values,
            )
            .await
            {
                return render_form(
                    &shared,
                    &store,
                    fields,
                    &input,
                    stored.as_ref(),
                    &FieldErrors::default(),
                    Some(json!({"kind": "error", "text": refusal})),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            store.set_iparams(checked.values, &checked.secure).await?;
            Ok(see_other("/custom_configs/install?saved=1"))
        }
        Err(errors) => {
            render_form(
                &shared,
                &store,
                fields,
                &input,
                stored.as_ref(),
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Fires `onAppInstall` (`installed` false) or `afterAppUpdate` with `values` as `iparams`;
/// the message to show when the handler refused them.
pub async fn setup_event(
    events: Option<&Events>,
    installed: bool,
    values: &Map<String, Value>,
) -> Option<String> {
    let events = events?;
    let event = if installed {
        "afterAppUpdate"
    } else {
        "onAppInstall"
    };
    let plain: Map<String, Value> = values
        .iter()
        .filter(|(k, _)| k.as_str() != "__meta")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let fired = events
        .fire_setup(event, Source::Install, Some(plain))
        .await?;
    fired
        .error()
        .map(|e| format!("{event} refused the installation: {e}"))
}
