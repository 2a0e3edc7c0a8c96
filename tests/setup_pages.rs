//! The setup pages in real headless Chromium: the whole flow on the demo app, every field
//! type, server-side messages, the edit state after a restart, and an app with its own
//! config/iparams.html. Screenshots are saved under test-artifacts/.

mod common;

use std::time::Duration;

use common::browser::Browser;
use common::{Server, copy_app};
use fantoccini::Locator;

const SECRET: &str = "tok-SECRET-4711";

async fn text(b: &Browser, sel: &str) -> String {
    b.css(sel).await.text().await.expect("text")
}

/// The current value of the input `sel`.
async fn value(b: &Browser, sel: &str) -> Option<String> {
    b.css(sel).await.prop("value").await.expect("value")
}

/// Switches into the frame that holds the app's iparams.html.
async fn enter_iparams_frame(b: &Browser) {
    b.css("#iparams-frame")
        .await
        .enter_frame()
        .await
        .expect("enter frame");
}

async fn fill(b: &Browser, sel: &str, value: &str) {
    let el = b.css(sel).await;
    el.clear().await.expect("clear");
    el.send_keys(value).await.expect("type");
}

/// What `/custom_configs/fetch` answers: the stored iparams as the installation page sees
/// them.
async fn fetch_stored(server: &Server) -> serde_json::Value {
    reqwest::get(server.url("/custom_configs/fetch"))
        .await
        .expect("fetch")
        .json()
        .await
        .expect("json")
}

async fn submit(b: &Browser) {
    b.click("form button[type=submit]").await;
}

/// Submits the form without the browser-side checks (form.submit() skips submit handlers),
/// to see what the server says.
async fn submit_without_js_checks(b: &Browser) {
    b.client
        .execute("document.querySelector('form.setup').submit();", vec![])
        .await
        .expect("submit");
}

fn raw_store_bytes(app: &std::path::Path) -> Vec<u8> {
    let db = app.join(".fdk").join("localstore.sqlite");
    let mut bytes = std::fs::read(&db).expect("database file exists");
    bytes.extend(std::fs::read(app.join(".fdk").join("localstore.sqlite-wal")).unwrap_or_default());
    bytes
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_the_whole_setup_flow_of_the_demo_app() {
    let (_tmp, app) = copy_app("demo");
    let server = Server::start(&app, &[]);
    let b = Browser::start("setup_flow_demo").await;

    // 1. System settings first (platform 3.0).
    b.goto(&server.url("/custom_configs")).await;
    assert_eq!(b.path().await, "/system_settings");
    b.screenshot("01-system-settings").await;
    submit(&b).await;
    b.wait_js(
        "!document.getElementById('f-url-support-ticket-error').hidden",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        text(&b, "#f-url-support-ticket-error").await,
        "This field is required."
    );
    b.screenshot("02-system-settings-invalid").await;
    fill(&b, "#f-url-support-ticket", "https://acme.freshdesk.com").await;
    submit(&b).await;

    // 2. The demo integration has literal client values, so the next step is authorizing.
    b.wait_js(
        "location.pathname === '/custom_configs/authorize'",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(b.path().await, "/custom_configs/authorize?integration=demo");
    let page = b.client.source().await.expect("source");
    assert!(
        page.contains(&format!("http://localhost:{}/auth/callback", server.port)),
        "redirect URI shown"
    );
    let auth = b
        .css("a.button.primary")
        .await
        .attr("href")
        .await
        .expect("href")
        .unwrap_or_default();
    assert!(auth.starts_with("/auth/index?integration=demo"), "{auth}");
    b.screenshot("03-authorize").await;
    // The client step is reachable from the step navigation and pre-filled from the file.
    b.goto(&server.url("/oauth_configs?integration=demo")).await;
    assert_eq!(
        value(&b, "#f-client-id").await.as_deref(),
        Some("demo-client")
    );
    assert!(
        !b.client
            .source()
            .await
            .expect("src")
            .contains("demo-secret"),
        "client secret never in the page"
    );
    b.screenshot("04-oauth-client").await;
    b.goto(&server.url("/custom_configs/authorize?integration=demo"))
        .await;
    b.client
        .find(Locator::LinkText(
            "Continue to the installation page without authorizing",
        ))
        .await
        .expect("skip link")
        .click()
        .await
        .expect("click");

    // 3. The installation page, new.
    b.wait_js(
        "location.pathname === '/custom_configs/install'",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        value(&b, "#f-company-name").await.as_deref(),
        Some("Acme Inc.")
    );
    assert_eq!(text(&b, "form button[type=submit]").await, "Install");
    b.screenshot("05-install-new").await;

    // Browser-side checks: messages next to the fields, nothing sent.
    fill(&b, "#f-support-email", "not-an-email").await;
    submit(&b).await;
    b.wait_js(
        "!document.getElementById('f-support-email-error').hidden",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        text(&b, "#f-support-email-error").await,
        "Enter a valid email address, e.g. name@example.com."
    );
    assert_eq!(
        text(&b, "#f-api-token-error").await,
        "This field is required."
    );
    assert_eq!(b.path().await, "/custom_configs/install");
    b.screenshot("06-install-invalid-browser").await;

    // Server-side checks, the same messages.
    fill(&b, "#f-api-token", SECRET).await;
    submit_without_js_checks(&b).await;
    b.wait_js(
        "document.querySelector('.notice.error') !== null",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        text(&b, "#f-support-email-error").await,
        "Enter a valid email address, e.g. name@example.com."
    );
    assert!(
        !b.client.source().await.expect("src").contains(SECRET),
        "a typed secret is not sent back either"
    );
    b.screenshot("07-install-invalid-server").await;

    // Valid values of every kind the demo has.
    fill(&b, "#f-support-email", "ops@acme.test").await;
    fill(&b, "#f-api-token", SECRET).await;
    b.select("#f-plan", "enterprise").await;
    b.click("input[name=region][value=eu]").await;
    b.click("input[name=channels][value=chat]").await;
    b.click("#f-notify-agents").await;
    fill(&b, "#f-max-results", "25").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    assert!(text(&b, ".notice.ok").await.contains("successfully stored"));
    assert!(!b.client.source().await.expect("src").contains(SECRET));
    b.screenshot("08-installed").await;

    let status: serde_json::Value = reqwest::get(server.url("/api/status"))
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    let steps = status["setup"]["steps"].as_array().expect("steps");
    let state = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["state"].clone())
    };
    assert_eq!(state("system_settings"), Some("done".into()));
    assert_eq!(state("install"), Some("done".into()));
    assert_eq!(state("authorize:demo"), Some("todo".into()));
    assert!(!status.to_string().contains(SECRET));

    // 4. Restart: the page opens in edit state with the stored values.
    drop(server);
    let server = Server::start(&app, &[]);
    b.goto(&server.url("/custom_configs/install")).await;
    assert_eq!(text(&b, "form button[type=submit]").await, "Save");
    assert_eq!(
        value(&b, "#f-support-email").await.as_deref(),
        Some("ops@acme.test")
    );
    assert_eq!(value(&b, "#f-plan").await.as_deref(), Some("enterprise"));
    assert!(
        b.css("input[name=region][value=eu]")
            .await
            .is_selected()
            .await
            .expect("sel")
    );
    assert!(
        b.css("input[name=channels][value=chat]")
            .await
            .is_selected()
            .await
            .expect("sel")
    );
    assert!(
        !b.css("#f-notify-agents")
            .await
            .is_selected()
            .await
            .expect("sel")
    );
    assert_eq!(value(&b, "#f-api-token").await.as_deref(), Some(""));
    assert!(
        text(&b, "[data-field=api_token] .stored")
            .await
            .contains("A value is stored")
    );
    assert!(!b.client.source().await.expect("src").contains(SECRET));
    b.screenshot("09-edit-state").await;
    // Saving with the secure field left empty keeps the stored secret.
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    drop(server);
    let store = fdk_emu::store::Store::open_with_key(
        &app.join(".fdk").join("localstore.sqlite"),
        fdk_emu::store::crypto::parse_hex_key(common::TEST_KEY).expect("key"),
    )
    .expect("open store");
    let ip = store.iparams().await.expect("read").expect("installed");
    assert_eq!(ip["api_token"], SECRET);
    assert_eq!(ip["channels"], serde_json::json!(["email", "chat"]));
    assert_eq!(ip["max_results"], serde_json::json!(25));
    assert_eq!(ip["notify_agents"], serde_json::json!(false));
    drop(store);
    assert!(
        !contains(&raw_store_bytes(&app), SECRET),
        "the secret is not in the database files in plain text"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_type_renders_validates_and_stores() {
    let (_tmp, app) = copy_app("all-fields");
    let server = Server::start(&app, &[]);
    let b = Browser::start("all_field_types").await;
    b.goto(&server.url("/custom_configs/install")).await;
    // One control per type, of the right kind.
    let kinds = [
        ("subdomain", "input[type=text]"),
        ("notes", "textarea"),
        ("plan", "select"),
        ("contact_email", "input[type=email]"),
        ("phone", "input[type=tel]"),
        ("max_results", "input[type=number]"),
        ("webhook_url", "input[type=url]"),
        ("region", "input[type=radio]"),
        ("notify", "input[type=checkbox]"),
        ("channels", "input[type=checkbox]"),
        ("start_date", "input[type=date]"),
        ("fd_domain", "input[type=text]"),
        ("fd_api_key", "input[type=password]"),
    ];
    for (name, control) in kinds {
        b.css(&format!("[data-field={name}] {control}")).await;
    }
    assert!(
        b.client
            .find(Locator::Css("[data-field=internal_id]"))
            .await
            .is_err(),
        "hidden field not shown"
    );
    assert_eq!(
        text(&b, "[data-field=notes] textarea").await,
        "Hello agents"
    );
    b.screenshot("01-new").await;

    fill(&b, "#f-subdomain", "Not Valid").await;
    fill(&b, "#f-contact-email", "x@").await;
    fill(&b, "#f-phone", "12345").await;
    fill(&b, "#f-webhook-url", "example.com/hook").await;
    fill(&b, "#f-fd-domain", "not a domain").await;
    submit(&b).await;
    b.wait_js(
        "!document.getElementById('f-fd-api-key-error').hidden",
        Duration::from_secs(5),
    )
    .await;
    let expect = [
        (
            "#f-subdomain-error",
            "Use lower-case letters and digits only",
        ),
        (
            "#f-contact-email-error",
            "Enter a valid email address, e.g. name@example.com.",
        ),
        (
            "#f-phone-error",
            "Enter a 10-digit phone number, e.g. 5551234567 or 555-123-4567.",
        ),
        (
            "#f-webhook-url-error",
            "Enter a full URL starting with http:// or https://.",
        ),
        (
            "#f-fd-domain-error",
            "Enter the subdomain of the account: yourcompany for yourcompany.freshdesk.com.",
        ),
        ("#f-fd-api-key-error", "This field is required."),
    ];
    for (sel, msg) in expect {
        assert_eq!(text(&b, sel).await, msg, "browser message of {sel}");
    }
    b.screenshot("02-invalid-browser").await;
    submit_without_js_checks(&b).await;
    b.wait_js(
        "document.querySelector('.notice.error') !== null",
        Duration::from_secs(10),
    )
    .await;
    for (sel, msg) in expect {
        assert_eq!(text(&b, sel).await, msg, "server message of {sel}");
    }
    b.screenshot("03-invalid-server").await;

    fill(&b, "#f-subdomain", "acme42").await;
    fill(&b, "#f-contact-email", "ops@acme.test").await;
    fill(&b, "#f-phone", "555-123-4567").await;
    fill(&b, "#f-webhook-url", "https://hooks.acme.test/in").await;
    fill(&b, "#f-fd-domain", "acme.freshdesk.com").await;
    fill(&b, "#f-fd-api-key", "FDKEY-SECRET-99").await;
    fill(&b, "#f-max-results", "7.5").await;
    fill(&b, "#f-notes", "Line one").await;
    b.client
        .execute(
            "document.getElementById('f-start-date').value = '2026-02-28';",
            vec![],
        )
        .await
        .expect("date");
    b.select("#f-plan", "free").await;
    b.click("input[name=region][value=in]").await;
    b.click("#f-notify").await;
    b.click("input[name=channels][value=phone]").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    b.screenshot("04-installed").await;

    let fetched = fetch_stored(&server).await;
    assert_eq!(fetched["hasIParam"], true);
    let c = &fetched["customIParams"];
    assert_eq!(c["subdomain"], "acme42");
    assert_eq!(c["notes"], "Line one");
    assert_eq!(c["plan"], "free");
    assert_eq!(c["phone"], "555-123-4567");
    assert_eq!(c["max_results"], serde_json::json!(7.5));
    assert_eq!(c["region"], "in");
    assert_eq!(c["notify"], true);
    assert_eq!(c["channels"], serde_json::json!(["email", "phone"]));
    assert_eq!(c["start_date"], "2026-02-28");
    // The domain of the account as typed, stored as its subdomain (see
    // domain_fields_take_the_subdomain).
    assert_eq!(c["fd_domain"], "acme");
    assert_eq!(c["internal_id"], "hidden-default");
    assert_ne!(
        c["fd_api_key"], "FDKEY-SECRET-99",
        "fetch masks secure values"
    );
    assert!(!fetched.to_string().contains("FDKEY-SECRET-99"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iparams_html_page_stores_what_post_configs_returns() {
    let (_tmp, app) = copy_app("iparams-html");
    let httpbin = common::httpbin::Httpbin::start();
    let up = format!("api.tracker.test={}", httpbin.base);
    let server = Server::start(&app, &["--upstream", &up]);
    let b = Browser::start("iparams_html").await;
    b.goto(&server.url("/custom_configs")).await;
    b.wait_js(
        "location.pathname === '/custom_configs/install'",
        Duration::from_secs(10),
    )
    .await;
    enter_iparams_frame(&b).await;
    // The page's own asset (config/assets/iparams.js) ran, and our client script loaded.
    b.wait_js(
        "document.body && document.body.dataset.assetLoaded === 'true' && !!window.fdkEmuIparams",
        Duration::from_secs(10),
    )
    .await;
    // The page checks the key through client.request.invokeTemplate before installing:
    // without a key the template cannot be rendered (400), with one httpbin's /bearer
    // accepts it (200).
    b.click("#check-key").await;
    b.wait_js(
        "document.getElementById('key-state').textContent === 'Key refused (400)'",
        Duration::from_secs(10),
    )
    .await;
    fill(&b, "#tracker_url", "http://plain.example").await;
    fill(&b, "#api_key", "HTML-SECRET-1").await;
    b.click("#check-key").await;
    b.wait_js(
        "document.getElementById('key-state').textContent === 'Key accepted (200)'",
        Duration::from_secs(10),
    )
    .await;
    b.client.enter_parent_frame().await.expect("parent");
    b.screenshot("01-filled").await;
    b.click("#install-button").await;
    b.wait_js(
        "document.getElementById('install-status').textContent === 'Validation failed.'",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("02-validation-failed").await;
    let fetched = fetch_stored(&server).await;
    assert_eq!(
        fetched["customIParams"],
        serde_json::json!({}),
        "nothing stored when validate() fails"
    );

    enter_iparams_frame(&b).await;
    fill(&b, "#tracker_url", "https://tracker.example").await;
    b.client.enter_parent_frame().await.expect("parent");
    b.click("#install-button").await;
    b.wait_js(
        "document.getElementById('install-status').textContent.includes('successfully stored')",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("03-stored").await;
    let fetched = fetch_stored(&server).await;
    let c = &fetched["customIParams"];
    assert_eq!(c["tracker_url"], "https://tracker.example");
    assert_eq!(c["saved_by"], "postConfigs");
    assert!(c.get("__meta").is_none());
    assert!(!fetched.to_string().contains("HTML-SECRET-1"));

    // Reload: getConfigs receives the stored values (the secret masked); installing again
    // without retyping it keeps the stored secret.
    b.goto(&server.url("/custom_configs/install")).await;
    enter_iparams_frame(&b).await;
    b.wait_js(
        "document.body.dataset.loaded === 'true'",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        value(&b, "#tracker_url").await.as_deref(),
        Some("https://tracker.example")
    );
    b.client.enter_parent_frame().await.expect("parent");
    assert_eq!(text(&b, "#install-button").await, "Save");
    b.screenshot("04-edit-state").await;
    b.click("#install-button").await;
    b.wait_js(
        "document.getElementById('install-status').textContent.includes('successfully stored')",
        Duration::from_secs(10),
    )
    .await;
    drop(server);
    let store = fdk_emu::store::Store::open_with_key(
        &app.join(".fdk").join("localstore.sqlite"),
        fdk_emu::store::crypto::parse_hex_key(common::TEST_KEY).expect("key"),
    )
    .expect("open store");
    let ip = store.iparams().await.expect("read").expect("stored");
    assert_eq!(ip["api_key"], "HTML-SECRET-1");
    assert_eq!(
        store.secure_iparam_names().await.expect("names"),
        vec!["api_key".to_string()]
    );
    drop(store);
    assert!(!contains(&raw_store_bytes(&app), "HTML-SECRET-1"));
    b.close().await;
}

/// iparams.json `events`: a change runs the app's handler from config/assets/iparams.js with
/// the new value; `utils` and `client` work there; a handler's message blocks the install.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iparams_json_change_events_run_the_apps_handlers() {
    let (_tmp, app) = copy_app("iparams-events");
    let httpbin = common::httpbin::Httpbin::start();
    let up = format!("api.tracker.test={}", httpbin.base);
    let server = Server::start(&app, &["--upstream", &up]);
    let b = Browser::start("iparams_events").await;
    b.goto(&server.url("/custom_configs/install")).await;
    b.wait_js(
        "!!window.utils && !!window.client && typeof window.domainChange === 'function'",
        Duration::from_secs(10),
    )
    .await;

    // Leaving the domain field fires `change`: domainChange sets the key's hint.
    fill(&b, "#f-domain-name", "acme.tracker.test").await;
    b.click("#f-api-key").await;
    b.wait_js(
        "document.getElementById('f-api-key-help').textContent === 'The API key of acme.tracker.test, under Profile settings'",
        Duration::from_secs(10),
    )
    .await;

    // Ticking "check the key" without a key: the handler's invokeTemplate is refused, its
    // message becomes the field's error, and the form is not submitted.
    b.click("#f-validate").await;
    b.wait_js(
        "document.getElementById('f-validate-error').textContent === 'The key was refused (400)'",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("01-handler-error").await;
    submit(&b).await;
    b.wait_js(
        "document.getElementById('f-api-key-error').textContent === 'This field is required.'",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        text(&b, "#f-validate-error").await,
        "The key was refused (400)",
        "the handler's message stays until the next change"
    );
    assert_eq!(b.path().await, "/custom_configs/install");
    let fetched = fetch_stored(&server).await;
    assert_eq!(fetched["customIParams"], serde_json::json!({}));

    // With a key the tracker accepts it: the error goes and the form installs.
    fill(&b, "#f-api-key", "EVENT-KEY-1").await;
    b.click("#f-validate").await; // off
    b.click("#f-validate").await; // on again: checked with the key
    b.wait_js(
        "!document.querySelector('[data-field=validate]').dataset.eventPending && document.getElementById('f-validate-error').hidden",
        Duration::from_secs(10),
    )
    .await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    b.screenshot("02-installed").await;
    let fetched = fetch_stored(&server).await;
    let c = &fetched["customIParams"];
    assert_eq!(c["domain_name"], "acme.tracker.test");
    assert_eq!(c["validate"], true);
    assert!(!fetched.to_string().contains("EVENT-KEY-1"));
    b.close().await;
}

/// Opens `store` of `app` with the test key (the server must not be running, or be done
/// writing).
fn open_store(app: &std::path::Path) -> fdk_emu::store::Store {
    std::fs::create_dir_all(app.join(".fdk")).expect(".fdk");
    fdk_emu::store::Store::open_with_key(
        &app.join(".fdk").join("localstore.sqlite"),
        fdk_emu::store::crypto::parse_hex_key(common::TEST_KEY).expect("key"),
    )
    .expect("open store")
}

/// A change handler that replaces a field's options (`utils.set(name, {values})` or
/// `{options}`, as oauth-samples loads the Asana workspaces) makes those options installable;
/// a value that no option ever allowed is still refused by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_set_by_change_handlers_can_be_installed() {
    let (_tmp, app) = copy_app("dynamic-options");
    let server = Server::start(&app, &[]);
    let b = Browser::start("dynamic_options").await;
    b.goto(&server.url("/custom_configs/install")).await;
    b.wait_js(
        "!!window.utils && typeof window.loadChoices === 'function'",
        Duration::from_secs(10),
    )
    .await;
    fill(&b, "#f-account", "acme").await;
    // Leaving the field fires `change`.
    b.click("#f-workspace").await;
    b.wait_js(
        "Array.prototype.some.call(document.querySelectorAll('#f-workspace option'), function (o) { return o.value === 'acme-ws-2'; })",
        Duration::from_secs(10),
    )
    .await;
    b.select("#f-workspace", "acme-ws-2").await;
    b.click("input[name=projects][value=beta]").await;
    b.click("input[name=colour][value=blue]").await;
    b.screenshot("01-options-loaded").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    let c = fetch_stored(&server).await["customIParams"].clone();
    assert_eq!(c["workspace"], "acme-ws-2");
    assert_eq!(c["projects"], serde_json::json!(["beta"]));
    assert_eq!(c["colour"], "blue");

    // The edit page shows the stored choices, and saving them again works without the
    // handler having run.
    b.goto(&server.url("/custom_configs/install")).await;
    assert_eq!(
        value(&b, "#f-workspace").await.as_deref(),
        Some("acme-ws-2")
    );
    assert!(
        b.css("input[name=projects][value=beta]")
            .await
            .is_selected()
            .await
            .expect("selected")
    );
    b.screenshot("02-edit-state").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;

    // A value that none of the page's options allowed is refused.
    let r = reqwest::Client::new()
        .post(server.url("/custom_configs/install"))
        .form(&[
            ("account", "acme"),
            ("workspace", "not-an-option"),
            ("colour", "blue"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("Choose one of the listed options."), "{html}");
    b.close().await;
}

/// With `"client_id": "<%= oauth_iparams.client_id %>"` the credentials are asked once, on the
/// OAuth parameters page, and what is entered there is what the handshake uses (not an older
/// value of the client page).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_oauth_iparams_are_asked_once() {
    let (_tmp, app) = copy_app("valid-v3");
    {
        let store = open_store(&app);
        store
            .set_system_settings(serde_json::json!({
                "subscribed_modules": ["support_ticket"],
                "endpoint_urls": {"support_ticket": "https://acme.freshdesk.com"}
            }))
            .await
            .expect("settings");
        store
            .set_credentials(
                "github",
                &fdk_emu::store::Credentials {
                    client_id: "stale-page-client".into(),
                    client_secret: "stale-page-secret".into(),
                },
            )
            .await
            .expect("credentials");
    }
    let server = Server::start(&app, &[]);
    let b = Browser::start("credentials_once").await;
    b.goto(&server.url("/custom_configs")).await;
    assert_eq!(b.path().await, "/oauth_iparams?integration=github");
    let nav = b
        .client
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('nav .step a'), function (a) { return a.getAttribute('href'); });",
            vec![],
        )
        .await
        .expect("nav");
    assert!(
        !nav.to_string().contains("/oauth_configs"),
        "no separate client step: {nav}"
    );
    fill(&b, "#f-client-id", "iparam-client").await;
    fill(&b, "#f-client-secret", "IPARAM-SECRET-9").await;
    fill(&b, "#f-org", "acme").await;
    b.screenshot("01-parameters").await;
    submit(&b).await;
    b.wait_js(
        "location.pathname === '/custom_configs/authorize'",
        Duration::from_secs(10),
    )
    .await;
    // The client page says where the credentials are entered instead of asking again.
    b.goto(&server.url("/oauth_configs?integration=github"))
        .await;
    let page = b.client.source().await.expect("source");
    assert!(
        page.contains("oauth_iparams") && page.contains("/oauth_iparams?integration=github"),
        "{page}"
    );
    assert!(b.client.find(Locator::Css("#f-client-id")).await.is_err());
    b.screenshot("02-client-page").await;
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(server.url("/auth/index?integration=github"))
        .send()
        .await
        .expect("auth index");
    assert_eq!(r.status(), 302);
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(to.contains("client_id=iparam-client"), "{to}");
    b.close().await;
}

/// A `domain` field takes the account's subdomain, with the product's domain shown after the
/// input, as the platform's installation page does; templates append `.freshdesk.com`
/// themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_fields_take_the_subdomain() {
    let (_tmp, app) = copy_app("all-fields");
    let server = Server::start(&app, &[]);
    let b = Browser::start("domain_field").await;
    b.goto(&server.url("/custom_configs/install")).await;
    let input = b.css("#f-fd-domain").await;
    assert_eq!(
        input.attr("placeholder").await.expect("attr").as_deref(),
        Some("yourcompany")
    );
    assert_eq!(
        text(&b, "[data-field=fd_domain] .suffix").await,
        ".freshdesk.com"
    );
    fill(&b, "#f-subdomain", "acme42").await;
    fill(&b, "#f-contact-email", "ops@acme.test").await;
    fill(&b, "#f-fd-api-key", "FDKEY-SECRET-7").await;
    fill(&b, "#f-fd-domain", "acme.freshdesk.com.evil").await;
    submit(&b).await;
    b.wait_js(
        "!document.getElementById('f-fd-domain-error').hidden",
        Duration::from_secs(5),
    )
    .await;
    let message = text(&b, "#f-fd-domain-error").await;
    assert!(message.contains("yourcompany.freshdesk.com"), "{message}");
    submit_without_js_checks(&b).await;
    b.wait_js(
        "document.querySelector('.notice.error') !== null",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        text(&b, "#f-fd-domain-error").await,
        message,
        "same on the server"
    );
    b.screenshot("01-refused").await;
    fill(&b, "#f-fd-api-key", "FDKEY-SECRET-7").await;
    fill(&b, "#f-fd-domain", "acme").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    assert_eq!(
        fetch_stored(&server).await["customIParams"]["fd_domain"],
        "acme"
    );
    // The whole domain (or URL) typed in is understood too, and stored as the subdomain.
    fill(&b, "#f-fd-domain", "https://globex.freshdesk.com/").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    assert_eq!(
        fetch_stored(&server).await["customIParams"]["fd_domain"],
        "globex"
    );
    b.screenshot("02-stored").await;
    b.close().await;
}

/// Placeholder client credentials (`YOUR_CLIENT_ID`, `<client_id>`) do not count as entered:
/// the client step stays to do, and its page says why instead of pre-filling the placeholder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholder_credentials_are_not_a_done_client_step() {
    let (_tmp, app) = copy_app("oauth-placeholders");
    {
        let store = open_store(&app);
        store
            .set_system_settings(serde_json::json!({
                "subscribed_modules": ["support_ticket"],
                "endpoint_urls": {"support_ticket": "https://acme.freshdesk.com"}
            }))
            .await
            .expect("settings");
    }
    let server = Server::start(&app, &[]);
    let b = Browser::start("placeholder_credentials").await;
    b.goto(&server.url("/custom_configs")).await;
    assert_eq!(b.path().await, "/oauth_configs?integration=asana");
    let warning = text(&b, ".notice.warning").await;
    assert!(
        warning.contains("YOUR_CLIENT_ID") && warning.contains("placeholder"),
        "{warning}"
    );
    assert_eq!(value(&b, "#f-client-id").await.as_deref(), Some(""));
    b.screenshot("01-asana").await;
    b.goto(&server.url("/oauth_configs?integration=github"))
        .await;
    assert!(text(&b, ".notice.warning").await.contains("<client_id>"));
    let status: serde_json::Value = reqwest::get(server.url("/api/status"))
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    for id in ["oauth_config:asana", "oauth_config:github"] {
        let step = status["setup"]["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == id).cloned())
            .unwrap_or_default();
        assert_eq!(step["state"], "todo", "{id}: {step}");
    }
    b.close().await;
}

/// After installing, the page links back to the app; required fields carry the `*` mark on
/// every page, the account URL of the system settings included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_pages_lead_back_to_the_app_and_mark_required_fields() {
    let (_tmp, app) = copy_app("all-fields");
    let server = Server::start(&app, &[]);
    let b = Browser::start("back_to_the_app").await;
    b.goto(&server.url("/system_settings")).await;
    b.css("label[for=f-url-support-ticket] .req").await;
    b.screenshot("01-system-settings").await;
    fill(&b, "#f-url-support-ticket", "https://acme.freshdesk.com").await;
    submit(&b).await;
    b.wait_js(
        "location.pathname === '/custom_configs/install'",
        Duration::from_secs(10),
    )
    .await;
    fill(&b, "#f-subdomain", "acme42").await;
    fill(&b, "#f-contact-email", "ops@acme.test").await;
    fill(&b, "#f-fd-api-key", "FDKEY-SECRET-8").await;
    fill(&b, "#f-fd-domain", "acme").await;
    submit(&b).await;
    b.wait_js("location.search === '?saved=1'", Duration::from_secs(10))
        .await;
    let link = b.css("a#open-app").await;
    assert_eq!(link.attr("href").await.expect("href").as_deref(), Some("/"));
    assert!(link.text().await.expect("text").contains("Open the app"));
    b.screenshot("02-installed").await;
    link.click().await.expect("click");
    b.wait_js("location.pathname === '/'", Duration::from_secs(10))
        .await;
    b.close().await;
}

/// An iparams.html whose getConfigs/postConfigs/validate live in `config/assets/iparams.js`
/// (request-method-samples/sample-app) starts and installs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iparams_html_with_its_methods_in_config_assets_installs() {
    let (_tmp, app) = copy_app("iparams-html-assets");
    let server = Server::start(&app, &[]);
    let b = Browser::start("iparams_html_assets").await;
    b.goto(&server.url("/custom_configs/install")).await;
    enter_iparams_frame(&b).await;
    b.wait_js(
        "!!window.fdkEmuIparams && typeof window.postConfigs === 'function'",
        Duration::from_secs(10),
    )
    .await;
    fill(&b, "#subdomain", "Not A Subdomain").await;
    fill(&b, "#api_key", "ASSET-SECRET-1").await;
    b.client.enter_parent_frame().await.expect("parent");
    b.click("#install-button").await;
    b.wait_js(
        "document.getElementById('install-status').textContent === 'Validation failed.'",
        Duration::from_secs(10),
    )
    .await;
    enter_iparams_frame(&b).await;
    fill(&b, "#subdomain", "acme").await;
    b.client.enter_parent_frame().await.expect("parent");
    b.click("#install-button").await;
    b.wait_js(
        "document.getElementById('install-status').textContent.includes('successfully stored')",
        Duration::from_secs(10),
    )
    .await;
    b.screenshot("01-stored").await;
    let c = fetch_stored(&server).await["customIParams"].clone();
    assert_eq!(c["subdomain"], "acme");
    assert_eq!(c["saved_by"], "assets/iparams.js");
    b.close().await;
}

/// A validate() that calls the legacy `client.request.get` gets the migration message, not a
/// bare "Validation failed.".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_request_in_validate_says_how_to_migrate() {
    let (_tmp, app) = copy_app("iparams-html");
    let path = app.join("config/iparams.html");
    let html = std::fs::read_to_string(&path).expect("read");
    let start = html.find("function validate()").expect("validate");
    let end = start
        + html[start..]
            .find("function postConfigs")
            .expect("postConfigs");
    let legacy = r#"function validate() {
      // Written for platform 2.2: the legacy request API, its failure swallowed.
      return client.request.get('https://api.tracker.test/ping', {}).then(
        function () { return true; }, function () { return false; });
    }
    var client;
    app.initialized().then(function (c) { client = c; });
    "#;
    std::fs::write(&path, format!("{}{legacy}{}", &html[..start], &html[end..])).expect("write");
    let server = Server::start(&app, &[]);
    let b = Browser::start("legacy_request_in_validate").await;
    b.goto(&server.url("/custom_configs/install")).await;
    enter_iparams_frame(&b).await;
    b.wait_js(
        "!!window.fdkEmuIparams && !!client",
        Duration::from_secs(10),
    )
    .await;
    b.client.enter_parent_frame().await.expect("parent");
    b.click("#install-button").await;
    let said = b
        .wait_js(
            "(function (t) { return t && t !== 'Validation failed.' && t; })(document.getElementById('install-status').textContent)",
            Duration::from_secs(10),
        )
        .await;
    let said = said.as_str().unwrap_or_default();
    assert!(
        said.contains("client.request.get is no longer supported")
            && said.contains("invokeTemplate"),
        "{said}"
    );
    b.screenshot("01-migration-message").await;
    b.close().await;
}

/// An app with nothing to set up says so plainly (not as step 1), and the server has a
/// favicon the browser can show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_without_setup_and_the_favicon() {
    let (_tmp, app) = copy_app("oauth-params");
    std::fs::remove_file(app.join("config/oauth_config.json")).expect("rm");
    std::fs::remove_file(app.join("config/iparams.json")).expect("rm");
    let server = Server::start(&app, &[]);
    let b = Browser::start("home_nothing_to_set_up").await;
    b.goto(&server.url("/")).await;
    assert!(text(&b, "#setup").await.contains("Nothing to set up."));
    assert!(
        b.client.find(Locator::Css("#setup li")).await.is_err(),
        "not a numbered step"
    );
    b.client
        .execute(
            "var i = new Image(); i.onload = function () { window.__icon = i.naturalWidth; }; i.onerror = function () { window.__icon = -1; }; i.src = '/favicon.ico'; return true;",
            vec![],
        )
        .await
        .expect("load favicon");
    let width = b.wait_js("window.__icon", Duration::from_secs(10)).await;
    assert!(width.as_i64().is_some_and(|w| w > 0), "favicon: {width}");
    b.screenshot("01-home").await;
    b.close().await;
}
