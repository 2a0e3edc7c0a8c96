//! The app's front end in real headless Chromium: the fixture app `frontend` calls every
//! method of the client SDK from fdk-emu's home page (the product simulator), the standard
//! 3.x markup loads 50 times without `app is not defined`, a page naming Freshworks' fixed
//! client URL runs on fdk-emu's client, and under a product page the client loads
//! Freshworks' client instead. In every test Chromium resolves every outside host name to a
//! local recorder ([`OutsideWorld`]), which shows that no request left the machine.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::browser::{Browser, OutsideWorld};
use common::{Server, copy_app};
use fantoccini::{Client, Locator};

/// Polls the text of `css` (in the current frame) until `pred` holds; returns the last text.
async fn wait_text(c: &Client, css: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
        {
            if pred(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css}: the text never matched; last seen: {last:?}");
}

async fn enter(c: &Client, css: &str) {
    let frame = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("frame {css}: {e}"));
    frame
        .enter_frame()
        .await
        .unwrap_or_else(|e| panic!("enter {css}: {e}"));
}

async fn leave(c: &Client) {
    c.enter_parent_frame().await.expect("back to the home page");
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

/// The activity panel's entries for `method` (state and text), read on the home page.
async fn activity(c: &Client, method: &str) -> Vec<(String, String)> {
    let items = c
        .find_all(Locator::Css(&format!(
            "#fdk-emu-activity li[data-method=\"{method}\"]"
        )))
        .await
        .expect("activity entries");
    let mut out = Vec::new();
    for li in items {
        let state = li
            .attr("data-state")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        out.push((state, li.text().await.unwrap_or_default()));
    }
    out
}

/// Waits until the activity panel lists `method` with `state` and `needle` in its text.
async fn wait_activity(c: &Client, method: &str, state: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let entries = activity(c, method).await;
        if let Some((_, text)) = entries
            .iter()
            .find(|(s, t)| s == state && t.contains(needle))
        {
            return text.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the activity panel has no {state} entry for {method} with {needle:?}: {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn fire(c: &Client, location: &str, event: &str, payload: &str) -> String {
    let card = format!("section.sim-location[data-location={location}]");
    c.find(Locator::Css(&format!("{card} select.sim-event-name")))
        .await
        .expect("event select")
        .select_by_value(event)
        .await
        .expect("choose the event");
    type_into(c, &format!("{card} textarea.sim-event-payload"), payload).await;
    click(c, &format!("{card} button.sim-event-fire")).await;
    wait_text(c, &format!("{card} .sim-event-result"), |t| {
        !t.is_empty() && !t.starts_with("Fired")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_runs_every_method_of_the_sdk() {
    let outside = OutsideWorld::start();
    let (_tmp, dir) = copy_app("frontend");
    let server = Server::start(&dir, &[]);
    let browser = Browser::start_with("frontend_simulator", &[outside.resolver_rules(&[])]).await;
    let c = &browser.client;
    browser.goto(&server.url("/")).await;

    // The app's own view of every call.
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    let ticket = wait_text(c, "#ticket", |t| t != "…").await;
    assert_eq!(ticket, "Cannot log in after the password reset");
    assert_eq!(wait_text(c, "#agent", |t| t != "…").await, "Alex Agent");
    let unknown = wait_text(c, "#unknown", |t| t != "…").await;
    assert!(
        unknown.starts_with("rejected: Invalid data: 'nonsense' is not a data object of Freshdesk"),
        "{unknown}"
    );
    let ctx = wait_text(c, "#context", |t| t != "…").await;
    assert!(ctx.contains(r#""location":"ticket_sidebar""#), "{ctx}");
    assert!(ctx.contains(r#""instanceId":"#), "{ctx}");
    let db = wait_text(c, "#db", |t| t != "…").await;
    // The fixture has settings and is not installed: the db route is closed, as in FDK,
    // and the rejection says where to finish the settings.
    assert!(
        db.contains("Route not allowed") && db.contains("/custom_configs first"),
        "{db}"
    );
    // The fixture declares no SMI function: the call is refused as the platform does, naming
    // where functions are declared.
    let smi = wait_text(c, "#smi", |t| t != "…").await;
    assert!(
        smi.contains("Requested function not found") && smi.contains("manifest.json"),
        "{smi}"
    );
    let legacy = wait_text(c, "#legacy", |t| t != "…").await;
    assert!(
        legacy.contains("client.request.get is no longer supported in Request API")
            && legacy.contains("config/requests.json")
            && legacy.contains("invokeTemplate"),
        "{legacy}"
    );
    assert_eq!(wait_text(c, "#activated", |t| t == "1").await, "1");
    let iparams = wait_text(c, "#iparams", |t| t != "…").await;
    assert!(iparams.starts_with('{'), "{iparams}");
    leave(c).await;

    // What the product shows: the toast, the product elements, the resized frame.
    let toast = wait_text(c, ".sim-toast[data-type=success]", |t| !t.is_empty()).await;
    assert!(toast.contains("Hello from the sidebar"), "{toast}");
    let hidden = wait_text(c, "#sim-elements li[data-element=ticketDelete]", |t| {
        !t.is_empty()
    })
    .await;
    assert!(hidden.contains("hidden"), "{hidden}");
    let status = wait_text(c, "#sim-elements li[data-element=status]", |t| {
        !t.is_empty()
    })
    .await;
    assert!(status.contains("value 4"), "{status}");
    let height = browser
        .wait_js(
            "document.querySelector('iframe[data-location=ticket_sidebar]').style.height",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(height, "450px");

    // The activity panel lists every call with its arguments and outcome.
    wait_activity(c, "data.get", "ok", "\"ticket\"").await;
    wait_activity(c, "data.get", "error", "nonsense").await;
    wait_activity(c, "events.on", "ok", "ticket.sendReply").await;
    wait_activity(c, "interface.trigger", "ok", "showNotify").await;
    wait_activity(c, "instance.context", "ok", "ticket_sidebar").await;
    wait_activity(c, "instance.resize", "ok", "450px").await;
    wait_activity(c, "iparams.get", "ok", "").await;
    wait_activity(c, "db.set", "error", "visits").await;
    wait_activity(c, "request.invoke", "error", "hello").await;
    wait_activity(c, "request.get", "error", "no longer supported").await;

    // Product events with an edited payload; the page shows what the app decided.
    let blocked = fire(
        c,
        "ticket_sidebar",
        "ticket.sendReply",
        r#"{"block": true}"#,
    )
    .await;
    assert!(
        blocked.contains("the app blocked it") && blocked.contains("blocked by the fixture"),
        "{blocked}"
    );
    let allowed = fire(c, "ticket_sidebar", "ticket.sendReply", "{}").await;
    assert!(allowed.contains("the app allowed it"), "{allowed}");
    let handled = fire(
        c,
        "ticket_sidebar",
        "ticket.statusChanged",
        r#"{"old": 2, "new": 5}"#,
    )
    .await;
    assert!(handled.contains("handled by 1 handler"), "{handled}");
    wait_activity(c, "ticket.sendReply", "error", "blocked by the fixture").await;
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    assert_eq!(wait_text(c, "#status", |t| t != "…").await, "status 2 -> 5");
    leave(c).await;

    // Mock data edited on the page is what data.get answers next.
    c.find(Locator::Css("#sim-mock-name"))
        .await
        .expect("mock name")
        .select_by_value("ticket")
        .await
        .expect("choose ticket");
    type_into(
        c,
        "#sim-mock-json",
        r#"{"id": 1042, "subject": "Edited on the home page"}"#,
    )
    .await;
    click(c, "#sim-mock-apply").await;
    wait_text(c, "#sim-mock-status", |t| t.starts_with("Applied")).await;
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    click(c, "#reload-ticket").await;
    wait_text(c, "#ticket", |t| t == "Edited on the home page").await;

    // A modal: its context carries the data passed, it sends back to the sidebar, it closes.
    click(c, "#open-modal").await;
    leave(c).await;
    let title = wait_text(c, ".sim-modal header h2", |t| !t.is_empty()).await;
    assert_eq!(title, "Fixture modal");
    enter(c, ".sim-modal iframe").await;
    let modal_ctx = wait_text(c, "#modal-context", |t| t != "…").await;
    assert!(
        modal_ctx.contains(r#""location":"modal""#)
            && modal_ctx.contains(r#""modalData":{"from":"sidebar","n":7}"#)
            && modal_ctx.contains(r#""parentId":"#),
        "{modal_ctx}"
    );
    assert_eq!(
        wait_text(c, "#modal-ticket", |t| t != "…").await,
        "Edited on the home page"
    );
    click(c, "#send").await;
    leave(c).await;
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    let received = wait_text(c, "#received", |t| t != "…").await;
    assert!(
        received.contains(r#""message":{"from":"modal","text":"hi parent"}"#)
            && received.contains("senderId"),
        "{received}"
    );
    leave(c).await;
    enter(c, ".sim-modal iframe").await;
    click(c, "#list").await;
    let instances = wait_text(c, "#modal-instances", |t| t != "…").await;
    assert!(
        instances.contains(r#""location":"full_page_app""#)
            && instances.contains(r#""location":"ticket_sidebar""#)
            && instances.contains(r#""location":"modal""#),
        "{instances}"
    );
    leave(c).await;
    enter(c, ".sim-modal iframe").await;
    click(c, "#close").await;
    leave(c).await;
    browser
        .wait_js(
            "!document.querySelector('.sim-modal')",
            Duration::from_secs(10),
        )
        .await;

    // A confirm box resolves with the label of the button pressed.
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    click(c, "#confirm").await;
    leave(c).await;
    let no = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".sim-confirm button[data-answer=cancel]"))
        .await
        .expect("the confirm box");
    assert_eq!(no.text().await.unwrap_or_default(), "No");
    no.click().await.expect("press No");
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    assert_eq!(wait_text(c, "#confirm-result", |t| t != "…").await, "No");
    leave(c).await;

    // Hiding and showing the location fires app.deactivated and app.activated.
    click(c, "button[data-toggle=ticket_sidebar]").await;
    wait_activity(c, "app.deactivated", "ok", "no handler").await;
    click(c, "button[data-toggle=ticket_sidebar]").await;
    wait_activity(c, "app.activated", "ok", "handled by 1").await;
    enter(c, "iframe[data-location=ticket_sidebar]").await;
    assert_eq!(wait_text(c, "#activated", |t| t == "2").await, "2");
    leave(c).await;

    browser.screenshot("simulator").await;
    assert_eq!(
        outside.caused_by_pages(),
        Vec::<String>::new(),
        "requests left the machine from the home page"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_markup_never_misses_app_in_fifty_loads() {
    let outside = OutsideWorld::start();
    let (_tmp, dir) = copy_app("frontend");
    let server = Server::start(&dir, &[]);
    let browser = Browser::start_with("frontend_fifty_loads", &[outside.resolver_rules(&[])]).await;
    let page = server.url("/iframe/index.html");
    let mut failures = Vec::new();
    for i in 0..50 {
        browser.goto(&page).await;
        let outcome = browser
            .wait_js(
                "document.body && document.body.getAttribute('data-ready') === '1' ? 'ready' \
                 : (window.__errors && window.__errors.length ? window.__errors.join('; ') : null)",
                Duration::from_secs(10),
            )
            .await;
        if outcome != "ready" {
            failures.push(format!("load {i}: {outcome}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 50 loads failed: {failures:?}",
        failures.len()
    );
    assert_eq!(
        outside.caused_by_pages(),
        Vec::<String>::new(),
        "requests left the machine"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_with_the_fixed_cdn_client_url_runs_on_our_client() {
    let outside = OutsideWorld::start();
    let (_tmp, dir) = copy_app("frontend");
    let server = Server::start(&dir, &[]);
    let browser = Browser::start_with("frontend_cdn_url", &[outside.resolver_rules(&[])]).await;
    browser.goto(&server.url("/iframe/cdn.html")).await;
    let outcome = browser
        .wait_js(
            "document.body.getAttribute('data-ready') === '1' ? document.getElementById('ready').textContent \
             : (window.__errors.length ? window.__errors.join('; ') : null)",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(outcome, "ready at full_page_app");
    let ours = browser
        .wait_js(
            "window.app.__fdkEmu === true && window.__fdkEmuBoot.mode",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(ours, "standalone");
    // A bundle that adds the fixed URL's <script> at run time and waits for its load event.
    browser.goto(&server.url("/iframe/dynamic.html")).await;
    let outcome = browser
        .wait_js(
            "document.body.getAttribute('data-ready') === '1' ? document.getElementById('ready').textContent \
             : (window.__errors.length ? window.__errors.join('; ') : null)",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(outcome, "ready at full_page_app");
    assert_eq!(
        outside.caused_by_pages(),
        Vec::<String>::new(),
        "requests left the machine"
    );
    browser.close().await;
}

/// A stand-in for a product page on a Freshworks host: answers every request with a page
/// that frames the app as the product does under `?dev=true`.
fn product_page(frame_src: String) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the product page");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = format!(
                "<!doctype html><title>Acme helpdesk</title><h1>Ticket 1042</h1>\
                 <iframe id=app src=\"{frame_src}\" width=300 height=300></iframe>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_product_page_the_client_loads_freshworks_client() {
    let outside = OutsideWorld::start();
    let (_tmp, dir) = copy_app("frontend");
    let server = Server::start(&dir, &[]);
    let product = product_page(server.url("/iframe/sidebar.html?location=ticket_sidebar"));
    let rules = outside.resolver_rules(&[("acme.freshdesk.com", product)]);
    let browser = Browser::start_with("frontend_product_page", &[rules]).await;
    let c = &browser.client;
    browser
        .goto("http://acme.freshdesk.com/a/tickets/1042?dev=true")
        .await;
    enter(c, "iframe#app").await;
    let mode = browser
        .wait_js(
            "window.__fdkEmuBoot && window.__fdkEmuBoot.freshworksClient \
             && window.__fdkEmuBoot.freshworksClient.state !== 'loading' \
             && [window.__fdkEmuBoot.mode, window.__fdkEmuBoot.parentOrigin, \
                 window.__fdkEmuBoot.freshworksClient.url, window.__fdkEmuBoot.freshworksClient.state].join(' ')",
            Duration::from_secs(20),
        )
        .await;
    // No internet: the request for Freshworks' client is made and fails.
    assert_eq!(
        mode,
        format!(
            "product http://acme.freshdesk.com https://static.freshdev.io/fdk/2.0/assets/fresh_client.js failed"
        )
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !outside.saw("static.freshdev.io") {
        assert!(
            Instant::now() < deadline,
            "Chromium never asked for static.freshdev.io: {:?}",
            outside.hosts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // fdk-emu's client stepped aside: no emulated app, nothing of the simulator.
    let app = browser
        .wait_js(
            "String(typeof window.app === 'undefined' ? 'no app' : (window.app.__fdkEmu ? 'fdk-emu' : 'other'))",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(app, "no app");
    leave(c).await;
    let others: Vec<String> = outside
        .caused_by_pages()
        .into_iter()
        .filter(|h| h != "static.freshdev.io")
        .collect();
    assert_eq!(others, Vec::<String>::new(), "requests left the machine");
    browser.close().await;
}

#[test]
fn the_apps_mock_data_file_is_merged_over_the_defaults() {
    let (_tmp, dir) = copy_app("frontend");
    let data = dir.join("fdk-emu").join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(
        data.join("freshdesk.json"),
        r#"{"data": {"ticket": {"subject": "From the app's file"}}}"#,
    )
    .expect("write");
    let server = Server::start(&dir, &[]);
    let get = |path: &str| reqwest::blocking::get(server.url(path)).expect("GET");
    let mock: serde_json::Value = get("/_fdk-emu/mock/freshdesk.json").json().expect("json");
    assert_eq!(
        mock["mock"]["data"]["ticket"]["subject"],
        "From the app's file"
    );
    assert_eq!(mock["mock"]["data"]["ticket"]["id"], 1042, "defaults kept");
    assert_eq!(mock["file"], "fdk-emu/data/freshdesk.json");
    assert_eq!(mock["error"], serde_json::Value::Null);

    // A broken file is named with its position; the defaults stay, the server keeps going.
    std::fs::write(data.join("freshdesk.json"), "{\"data\": [").expect("write");
    let mock: serde_json::Value = get("/_fdk-emu/mock/freshdesk.json").json().expect("json");
    let err = mock["error"].as_str().unwrap_or_default();
    assert!(err.starts_with("fdk-emu/data/freshdesk.json:1:"), "{err}");
    assert_eq!(
        mock["mock"]["data"]["ticket"]["subject"],
        "Cannot log in after the password reset"
    );
    let home = get("/").text().unwrap_or_default();
    assert!(home.contains("fdk-emu/data/freshdesk.json:1:"), "{home}");

    let r = get("/_fdk-emu/mock/zendesk.json");
    assert_eq!(r.status(), 404);
    let text = r.text().unwrap_or_default();
    assert!(text.contains("freshdesk, freshservice"), "{text}");
}
