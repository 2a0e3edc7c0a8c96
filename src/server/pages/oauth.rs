//! `/oauth_configs?integration=NAME` (client ID and secret of an integration; what is
//! entered here overrides oauth_config.json locally) and `/oauth_iparams?integration=NAME`
//! (the integration's `oauth_iparams`). Both serve account- and agent-level integrations:
//! agents authorize themselves, but the client and the parameters are the app's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::progress::find_integration;
use super::render::{page, page_with_status, with};
use super::{IntegrationQuery, PageError, form_pairs, form_value, page_context, see_other};
use crate::app::Integration;
use crate::app::oauth_config::Credential;
use crate::server::Shared;
use crate::store::{Credentials, Store};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show_config)
        .service(web::resource("/oauth_configs").route(web::post().to(submit_config)))
        .service(show_iparams)
        .service(web::resource("/oauth_iparams").route(web::post().to(submit_iparams)));
}

fn find(shared: &Shared, q: &IntegrationQuery) -> Result<Integration, PageError> {
    let app = shared.app();
    find_integration(&app, q.integration.as_deref())
        .cloned()
        .map_err(PageError::NotFound)
}

/// What the page says about credentials in the file that are not real values.
fn placeholder_warning(i: &Integration) -> Option<Value> {
    let [id, secret] = i.credentials();
    let mut parts = Vec::new();
    if id == Credential::Placeholder {
        parts.push(format!("client_id \"{}\"", i.client_id.trim()));
    }
    // The secret's text is never shown, whatever it looks like.
    if secret == Credential::Placeholder {
        parts.push("client_secret".to_string());
    }
    if parts.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "warning",
        "text": format!(
            "config/oauth_config.json has {} for this integration, which {}, not what the provider issued. Enter the client ID and secret of the OAuth app you registered with the provider.",
            parts.join(" and "),
            if parts.len() == 1 { "looks like a placeholder" } else { "look like placeholders" }
        ),
    }))
}

/// The page context of an integration's OAuth client page.
async fn client_page_context(
    shared: &Shared,
    store: &Store,
    i: &Integration,
) -> Result<Value, PageError> {
    let id = format!("oauth_config:{}", i.name);
    page_context(
        &shared.app(),
        store,
        &format!("{}: OAuth client", i.display_name),
        Some(&id),
    )
    .await
}

/// The client page of an integration whose file takes the client from `oauth_iparams`:
/// they are entered once, on the parameters page.
async fn asked_on_parameters_page(
    shared: &Shared,
    store: &Store,
    i: &Integration,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let ctx = client_page_context(shared, store, i).await?;
    let params = action("/oauth_iparams", &i.name);
    let ctx = with(
        ctx,
        json!({
            "message": format!(
                "config/oauth_config.json takes the client ID and secret of {} from its oauth_iparams (<%= oauth_iparams.… %>), so they are entered on its OAuth parameters page, {params}.",
                i.display_name
            ),
            "link_url": params,
            "link_label": "Enter them on the parameters page",
        }),
    );
    let mut response = page("done", &ctx)?;
    *response.status_mut() = status;
    Ok(response)
}

/// One text or password input of these pages.
struct Input<'a> {
    name: &'a str,
    label: &'a str,
    help: &'a str,
    value: &'a str,
    secure: bool,
    /// A secret is stored: show it as set and keep it when left empty.
    secure_set: bool,
    required: bool,
    error: Option<&'a String>,
}

impl Input<'_> {
    fn view(&self) -> Value {
        json!({
            "name": self.name,
            "id": super::field_id(self.name),
            "label": self.label,
            "help": self.help,
            "kind": "text",
            "input_type": if self.secure { "password" } else { "text" },
            "value": if self.secure { "" } else { self.value },
            "secure": self.secure,
            "secure_set": self.secure_set,
            "required": self.required,
            "placeholder": if self.secure_set { "Stored (leave empty to keep)" } else { "" },
            "error": self.error,
        })
    }
}

fn action(path: &str, integration: &str) -> String {
    format!(
        "{path}?integration={}",
        super::progress::encode(integration)
    )
}

#[allow(clippy::too_many_arguments)]
async fn render_config(
    shared: &Shared,
    store: &Store,
    i: &Integration,
    client_id: &str,
    secret_set: bool,
    errors: &IndexMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let ctx = client_page_context(shared, store, i).await?;
    let from_file = !i.needs_client_page();
    let fields = vec![
        Input {
            name: "client_id",
            label: "Client ID",
            help: "The OAuth client (application) ID issued by the provider.",
            value: client_id,
            secure: false,
            secure_set: false,
            required: true,
            error: errors.get("client_id"),
        }
        .view(),
        Input {
            name: "client_secret",
            label: "Client secret",
            help: "Stored encrypted; never shown again.",
            value: "",
            secure: true,
            secure_set: secret_set,
            required: true,
            error: errors.get("client_secret"),
        }
        .view(),
    ];
    let intro = format!(
        "Register {} as the redirect URI with the provider, then enter the client it issued. {}",
        shared.config.redirect_uri(),
        if from_file {
            "Pre-filled from config/oauth_config.json; what you save here overrides the file on this machine only."
        } else {
            "config/oauth_config.json holds no usable client values, so enter them here (they stay on this machine)."
        }
    );
    let ctx = with(
        ctx,
        json!({
            "intro": intro,
            // Once a client is stored, the file's placeholders no longer matter.
            "notice": if secret_set { None } else { placeholder_warning(i) },
            "action": action("/oauth_configs", &i.name),
            "fields": fields,
            "form_error": (!errors.is_empty()).then_some("Please correct the fields marked below."),
            "submit_label": "Save and continue",
        }),
    );
    page_with_status("form_page", &ctx, status)
}

#[get("/oauth_configs")]
async fn show_config(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    q: web::Query<IntegrationQuery>,
) -> Result<HttpResponse, PageError> {
    let i = find(&shared, &q)?;
    if i.credentials_from_oauth_iparams() {
        return asked_on_parameters_page(&shared, &store, &i, StatusCode::OK).await;
    }
    let stored = store.credentials(&i.name).await?;
    let [id_source, secret_source] = i.credentials();
    let (client_id, secret_set) = match &stored {
        Some(c) => (c.client_id.clone(), true),
        None => (
            if id_source == Credential::Literal {
                i.client_id.clone()
            } else {
                String::new()
            },
            secret_source == Credential::Literal,
        ),
    };
    render_config(
        &shared,
        &store,
        &i,
        &client_id,
        secret_set,
        &IndexMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn submit_config(
    req: HttpRequest,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    q: web::Query<IntegrationQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let body = super::read_form(&req, payload).await?;
    let i = find(&shared, &q)?;
    if i.credentials_from_oauth_iparams() {
        return asked_on_parameters_page(&shared, &store, &i, StatusCode::CONFLICT).await;
    }
    let pairs = form_pairs(&body);
    let client_id = form_value(&pairs, "client_id")
        .unwrap_or_default()
        .to_string();
    let entered = form_value(&pairs, "client_secret")
        .unwrap_or_default()
        .to_string();
    let stored = store.credentials(&i.name).await?;
    let secret = if !entered.is_empty() {
        Some(entered)
    } else if let Some(c) = &stored {
        Some(c.client_secret.clone())
    } else if Credential::of(&i.client_secret) == Credential::Literal {
        Some(i.client_secret.clone())
    } else {
        None
    };
    let mut errors = IndexMap::new();
    if client_id.is_empty() {
        errors.insert("client_id".to_string(), super::check::REQUIRED.to_string());
    }
    let Some(secret) = secret else {
        errors.insert(
            "client_secret".to_string(),
            super::check::REQUIRED.to_string(),
        );
        return render_config(
            &shared,
            &store,
            &i,
            &client_id,
            false,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if !errors.is_empty() {
        return render_config(
            &shared,
            &store,
            &i,
            &client_id,
            true,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    store
        .set_credentials(
            &i.name,
            &Credentials {
                client_id,
                client_secret: secret,
            },
        )
        .await?;
    Ok(see_other("/custom_configs"))
}

async fn render_iparams(
    shared: &Shared,
    store: &Store,
    i: &Integration,
    values: &Map<String, Value>,
    stored: Option<&Map<String, Value>>,
    errors: &IndexMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let id = format!("oauth_iparams:{}", i.name);
    let ctx = page_context(
        &shared.app(),
        store,
        &format!("{}: OAuth parameters", i.display_name),
        Some(&id),
    )
    .await?;
    let fields: Vec<Value> = i
        .oauth_iparams
        .values()
        .map(|p| {
            let v = values
                .get(&p.name)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let set = p.secure && stored.is_some_and(|s| s.contains_key(&p.name));
            let label = if p.display_name.is_empty() {
                &p.name
            } else {
                &p.display_name
            };
            Input {
                name: &p.name,
                label,
                help: &p.description,
                value: v,
                secure: p.secure,
                secure_set: set,
                required: p.required,
                error: errors.get(&p.name),
            }
            .view()
        })
        .collect();
    let ctx = with(
        ctx,
        json!({
            "intro": "Values that oauth_config.json uses as <%= oauth_iparams.NAME %> (in the authorize and token URLs). Stored encrypted.",
            "action": action("/oauth_iparams", &i.name),
            "fields": fields,
            "form_error": (!errors.is_empty()).then_some("Please correct the fields marked below."),
            "submit_label": "Save and continue",
            "empty_message": i.oauth_iparams.is_empty().then_some("This integration has no oauth_iparams."),
        }),
    );
    page_with_status("form_page", &ctx, status)
}

#[get("/oauth_iparams")]
async fn show_iparams(
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    q: web::Query<IntegrationQuery>,
) -> Result<HttpResponse, PageError> {
    let i = find(&shared, &q)?;
    let stored = store.oauth_iparams(&i.name).await?;
    let shown = stored.clone().unwrap_or_default();
    render_iparams(
        &shared,
        &store,
        &i,
        &shown,
        stored.as_ref(),
        &IndexMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn submit_iparams(
    req: HttpRequest,
    shared: web::Data<Shared>,
    store: web::Data<Store>,
    q: web::Query<IntegrationQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let body = super::read_form(&req, payload).await?;
    let i = find(&shared, &q)?;
    let pairs = form_pairs(&body);
    let stored = store.oauth_iparams(&i.name).await?;
    let mut values = Map::new();
    let mut errors = IndexMap::new();
    for p in i.oauth_iparams.values() {
        let v = form_value(&pairs, &p.name).unwrap_or_default();
        let kept = stored.as_ref().and_then(|s| s.get(&p.name));
        let value = match (v.is_empty(), p.secure, kept) {
            (true, true, Some(old)) => Some(old.clone()),
            (true, _, _) => None,
            (false, _, _) => Some(Value::String(v.to_string())),
        };
        match value {
            Some(v) => {
                values.insert(p.name.clone(), v);
            }
            None if p.required => {
                errors.insert(p.name.clone(), super::check::REQUIRED.to_string());
            }
            None => {}
        }
    }
    if !errors.is_empty() {
        return render_iparams(
            &shared,
            &store,
            &i,
            &values,
            stored.as_ref(),
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    store.set_oauth_iparams(&i.name, values).await?;
    Ok(see_other("/custom_configs"))
}
