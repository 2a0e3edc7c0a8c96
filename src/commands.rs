//! What each subcommand does. `main.rs` only parses the command line and calls [`dispatch`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app;
use crate::cli::{
    Cli, Command, ExecArgs, Format, OauthArgs, RunArgs, StoreAction, StoreArgs, ValidateArgs,
};
use crate::config::{self, Config};
use crate::inspect::{self, Inspector, LogFile};
use crate::invoke::Invoker;
use crate::kv::Kv;
use crate::oauth::TokenManager;
use crate::server::{self, Services, Shared};
use crate::serverless::events::Events;
use crate::serverless::schedule::{self, Schedules};
use crate::serverless::{self, Callbacks, Runtime};
use crate::snapshot::{self, Snapshot, watch};
use crate::state::StateFile;
use crate::store::{self, ResetScope, Store, StoreError};
use crate::validate::{self, render};

pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate(args) => validate_cmd(&args),
        Command::Run(args) => run_cmd(&args),
        Command::Exec(args) => exec_cmd(&args),
        Command::Store(args) => store_cmd(&args),
        Command::Trigger(args) => crate::trigger::trigger_cmd(&args),
        Command::Oauth(args) => oauth_cmd(&args),
    }
}

fn validate_cmd(args: &ValidateArgs) -> ExitCode {
    let loaded = match app::load(&args.app.app_dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = validate::Options {
        config_only: args.config_only,
        ..Default::default()
    };
    let mut report = validate::validate(&loaded, &opts);
    // server.js needs Node to be checked; validate/ starts no process, so its findings are
    // gathered here and join the report.
    if loaded.app.has_server_js && !args.config_only {
        let facts = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(serverless::facts(&loaded.app, args.node.as_deref())),
            Err(e) => validate::serverless::ServerFacts::NoNode(format!(
                "the async runtime could not start ({e})"
            )),
        };
        let found = validate::serverless::node_report(&loaded.app, &facts);
        report.diagnostics.extend(found.diagnostics);
        report.sort();
    }
    match args.format {
        Format::Json => print_out(&format!(
            "{}\n",
            render::json(&report, &loaded.app.root.display().to_string())
        )),
        Format::Text => print_out(&render::text(
            &report,
            Some(&loaded.app),
            render::use_color(std::io::stdout().is_terminal()),
        )),
    }
    if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Sends the server's log events (OAuth handshakes, refreshes, store warnings) to the
/// terminal. `FDK_EMU_LOG` takes a tracing filter (e.g. `debug`); the default shows fdk-emu's
/// own information lines. None of them carries a secret.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FDK_EMU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("fdk_emu=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(render::use_color(std::io::stderr().is_terminal()))
        .with_target(false)
        .without_time()
        .try_init();
}

/// What `run` and `exec` have set up once the app is valid, the store open, the state file
/// loaded and the port bound.
struct Ready {
    shared: Arc<Shared>,
    snapshot: Arc<Snapshot>,
    store: Store,
    listener: std::net::TcpListener,
    inspector: Inspector,
}

/// Validates the app, resolves the configuration, opens the store, loads `--state`, opens
/// `--log-file` and binds the port: everything that can fail before serving, each failure
/// printed with the exit status to return.
fn prepare(args: &RunArgs) -> Result<Ready, ExitCode> {
    let fail = |code: u8, e: &dyn std::fmt::Display| {
        eprintln!("error: {e}");
        ExitCode::from(code)
    };
    let root: PathBuf = args.app.app_dir.clone();
    // Hints name the setup pages at the port asked for. A free one (`--port 0`) is known
    // only once bound: the warnings are checked again then, and printed after binding; an
    // error stops before binding, its hints naming the default port.
    let mut opts = validate::Options {
        port: (args.port != 0).then_some(args.port),
        ..Default::default()
    };
    let (loaded, mut report) =
        snapshot::load_and_validate(&root, &opts).map_err(|e| fail(2, &e))?;
    let color = render::use_color(std::io::stderr().is_terminal());
    if report.has_errors() {
        eprint!("{}", render::text(&report, Some(&loaded.app), color));
        eprintln!(
            "The local server could not be started due to the issue(s) above. Fix them and run again (`fdk-emu validate` checks without starting)."
        );
        return Err(ExitCode::from(1));
    }
    let mut flags = args.flags();
    flags.app_dir = loaded.app.root.clone();
    let config = Config::resolve(&flags).map_err(|e| fail(2, &e))?;
    // Opened before binding: a damaged, locked or newer store stops here with its message.
    let store = Store::open(&config.store_path).map_err(|e| fail(1, &e))?;
    if let Some(path) = &config.state_file {
        load_state(path, &store, &loaded.app)?;
    }
    let log = match &config.inspector.log_file {
        Some(path) => Some(LogFile::open(path).map_err(|e| fail(2, &e))?),
        None => None,
    };
    let inspector = if config.inspector.records_calls() {
        let limits = inspect::Limits {
            records: config.inspector.records,
            ..Default::default()
        };
        Inspector::new(limits, log)
    } else {
        Inspector::off()
    };
    let listener = server::bind(&config).map_err(|e| fail(1, &e))?;
    let config = match listener.local_addr() {
        Ok(addr) => config.with_addr(addr),
        Err(_) => config,
    };
    if opts.port.is_none() {
        opts.port = Some(config.port);
        report = validate::validate(&loaded, &opts);
    }
    if report.warnings().next().is_some() {
        eprint!("{}", render::text(&report, Some(&loaded.app), color));
    }
    let snapshot = Arc::new(Snapshot::new(loaded.app, report).validated_with(opts));
    let shared = Arc::new(Shared::new(config, snapshot.clone()));
    Ok(Ready {
        shared,
        snapshot,
        store,
        listener,
        inspector,
    })
}

/// The server's services (token lifecycle, invoker, key-value store, Node worker, inspector),
/// built inside the actix system because the Node worker spawns on its runtime.
fn services(
    shared: &Shared,
    snapshot: Arc<Snapshot>,
    store: Store,
    inspector: Inspector,
) -> Result<Services, server::ServeError> {
    // The OAuth client (token endpoints) pools connections to the providers; templates
    // go out through the invoker's clients.
    let http =
        crate::net::token_client().map_err(|e| server::ServeError::Io(std::io::Error::other(e)))?;
    let config = &shared.config;
    let tokens = Arc::new(TokenManager::new(store.clone(), config.clone(), http));
    let invoker = Invoker::new(config).recording(inspector.is_recording());
    let kv = Arc::new(Kv::new(store.clone(), config));
    let schedules = Arc::new(Schedules::new(store.clone()));
    // The worker starts Node only if the app has a server/server.js (now or later).
    let serverless = Runtime::start(
        config.node.clone(),
        snapshot.clone(),
        Callbacks::new(
            snapshot.clone(),
            store.clone(),
            tokens.clone(),
            invoker.for_worker(),
            kv.clone(),
            schedules.clone(),
            config.base_url(),
        )
        .recording(inspector.clone()),
    );
    let events = Arc::new(
        Events::new(serverless.clone(), store.clone(), snapshot).recording(inspector.clone()),
    );
    // Due schedules fire onScheduledEvent while the server runs.
    actix_web::rt::spawn(schedule::run_timer(schedules.clone(), events.clone()));
    Ok(Services {
        store,
        tokens,
        invoker,
        kv,
        serverless,
        events,
        schedules,
        inspector,
    })
}

/// `--state FILE`: loads the installation it holds into the store, and says what it did.
fn load_state(path: &std::path::Path, store: &Store, app: &app::App) -> Result<(), ExitCode> {
    let file = StateFile::read(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(1)
        })?;
    let loaded = rt
        .block_on(file.load(path, store, app, |var| std::env::var(var).ok()))
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })?;
    let mut parts = Vec::new();
    if let Some(n) = loaded.iparams {
        let mut p = format!("{n} iparam{}", if n == 1 { "" } else { "s" });
        if !loaded.secure_from_env.is_empty() {
            let from: Vec<String> = loaded
                .secure_from_env
                .iter()
                .map(|(name, var)| format!("{name} from ${var}"))
                .collect();
            p.push_str(&format!(" ({})", from.join(", ")));
        }
        parts.push(p);
    }
    if loaded.system_settings {
        parts.push("system settings".into());
    }
    if loaded.db_keys > 0 {
        let n = loaded.db_keys;
        parts.push(format!("{n} db key{}", if n == 1 { "" } else { "s" }));
    }
    if parts.is_empty() {
        parts.push("nothing (the file is empty)".into());
    }
    eprintln!("Loaded {}: {}", path.display(), parts.join(", "));
    if !loaded.unknown_iparams.is_empty() {
        eprintln!(
            "warning: {}: config/iparams.json does not define {} (loaded anyway)",
            path.display(),
            loaded.unknown_iparams.join(", ")
        );
    }
    Ok(())
}

fn run_cmd(args: &RunArgs) -> ExitCode {
    init_logging();
    let Ready {
        shared,
        snapshot,
        store,
        listener,
        inspector,
    } = match prepare(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let system = actix_web::rt::System::new();
    let ready = {
        let shared = shared.clone();
        move || {
            use std::io::Write as _;
            let mut out = std::io::stdout();
            banner(&shared.config, &shared.app(), &mut out);
            // Not println!: a closed stdout (`fdk-emu run | head -1`) must not panic.
            let _ = writeln!(
                out,
                "Append 'dev=true' to your product URL (e.g. https://domain.freshdesk.com/a/tickets/1?dev=true) to load the app. Quit with Ctrl-C."
            );
        }
    };
    let recorder = inspector.clone();
    let served = system.block_on(async move {
        // Watching before serving: the banner promises that edits are picked up.
        watch::spawn(snapshot.clone());
        let services = services(&shared, snapshot, store, inspector)?;
        server::serve(shared, services, listener, ready).await
    });
    recorder.flush();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `fdk-emu exec`: serves in this process, runs the command once the server answers, stops
/// the server when the command ends and exits with the command's status.
///
/// In-process rather than a child `fdk-emu run`: the bound port (`--port 0`) is known without
/// parsing a banner, and there is no second process to leave behind. Ctrl-C reaches the
/// command (same terminal); the server ignores it and stops once the command has ended.
fn exec_cmd(args: &ExecArgs) -> ExitCode {
    init_logging();
    let Ready {
        shared,
        snapshot,
        store,
        listener,
        inspector,
    } = match prepare(&args.run) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let system = actix_web::rt::System::new();
    let recorder = inspector.clone();
    let code = system.block_on(async move {
        watch::spawn(snapshot.clone());
        let started = services(&shared, snapshot, store, inspector).and_then(|services| {
            server::start(shared.clone(), services, listener, server::Signals::Ignored)
        });
        let server = match started {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        let handle = server.handle();
        let serving = actix_web::rt::spawn(server);
        let base = shared.config.base_url();
        let code = match wait_until_answers(&base).await {
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
            Ok(()) => {
                banner(&shared.config, &shared.app(), &mut std::io::stderr());
                run_command(&args.command, &base).await
            }
        };
        handle.stop(true).await;
        let _ = serving.await;
        code
    });
    recorder.flush();
    code
}

/// Polls `GET /api/status` until the server answers (it serves as soon as it is started; this
/// is the promise made to the command).
async fn wait_until_answers(base: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let url = format!("{base}/api/status");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let last = match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "the server did not answer {url} within 10 s ({last}); the command was not run"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the command with `FDK_EMU_URL` set and returns its exit status: its code, 128 + the
/// signal that ended it (as shells do), 127 when it does not exist, 126 when it cannot run.
async fn run_command(command: &[String], base: &str) -> ExitCode {
    let Some((program, rest)) = command.split_first() else {
        eprintln!("error: no command given after --");
        return ExitCode::from(2);
    };
    let spawned = tokio::process::Command::new(program)
        .args(rest)
        .env("FDK_EMU_URL", base)
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let shown = crate::term::cut(program, 256);
            eprintln!("error: cannot run `{shown}`: {e}");
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return ExitCode::from(code);
        }
    };
    let status = loop {
        tokio::select! {
            s = child.wait() => break s,
            // The command got the same Ctrl-C from the terminal: wait for it to end.
            r = tokio::signal::ctrl_c() => if r.is_err() {
                break child.wait().await;
            },
        }
    };
    match status {
        Ok(s) => ExitCode::from(exit_status_code(s)),
        Err(e) => {
            eprintln!("error: lost track of the command: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes `text` to stdout. A reader that went away (`fdk-emu validate | head -c 10`) ends
/// the output quietly: `print!` panics on a closed pipe (Rust ignores SIGPIPE, so the write
/// fails with EPIPE), which exited with 101 and a panic message. Any other failure to write
/// is said on stderr.
fn print_out(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write the output: {e}");
        }
    }
}

/// A child's exit status as a one-byte exit code.
fn exit_status_code(s: std::process::ExitStatus) -> u8 {
    if let Some(code) = s.code() {
        return (code & 0xff) as u8;
    }
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&s) {
        return (128 + sig).clamp(0, 255) as u8;
    }
    1
}

fn banner(config: &Config, app: &app::App, out: &mut dyn std::io::Write) {
    let base = config.base_url();
    let _ = writeln!(
        out,
        "fdk-emu serving {} (platform {}) at {base}",
        app.name,
        app.manifest.platform_version.as_deref().unwrap_or("?")
    );
    let _ = writeln!(out, "  Setup pages:   {base}/custom_configs");
    let _ = writeln!(out, "  Inspector:     {base}/_fdk-emu/inspector");
    if app.oauth.is_some() {
        let _ = writeln!(out, "  Tokens:        {base}/_fdk-emu/oauth");
    }
    let _ = writeln!(out, "  Status:        {base}/api/status");
    if app.oauth.is_some() {
        let _ = writeln!(
            out,
            "  OAuth redirect URI to register with the provider: {}",
            config.redirect_uri()
        );
    }
    let _ = out.flush();
}

fn store_cmd(args: &StoreArgs) -> ExitCode {
    let path = config::store_path(&args.app.app_dir, args.store.as_ref());
    if let StoreAction::Reset { iparams: true, .. } = args.action
        && path.exists()
        && subscribes_to_uninstall(&args.app.app_dir)
    {
        return uninstall_cmd(args, &path);
    }
    // `show` and `reset` must not create a store that does not exist yet; `import` does.
    if !path.exists() {
        match &args.action {
            StoreAction::Show => {
                print_out(&format!(
                    "Nothing stored yet: {} does not exist (it is created by `fdk-emu run`).\n",
                    path.display()
                ));
                return ExitCode::SUCCESS;
            }
            StoreAction::Reset { .. } => {
                print_out(&format!(
                    "Nothing to reset: {} does not exist.\n",
                    path.display()
                ));
                return ExitCode::SUCCESS;
            }
            StoreAction::Export { output } => {
                eprintln!(
                    "Nothing stored yet: {} does not exist; the state file is empty.",
                    path.display()
                );
                return write_state(&StateFile::empty(), output.as_deref());
            }
            StoreAction::Import { .. } => {}
        }
    }
    // Read and check the file before the store is opened (or created): a wrong path
    // changes nothing.
    let found = match &args.action {
        StoreAction::Import { path: from } => match read_localstore(from, &args.app.app_dir) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        _ => None,
    };
    let store = match Store::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if let StoreAction::Export { output } = &args.action {
        let app = app::load(&args.app.app_dir).ok().map(|l| l.app);
        return match rt.block_on(StateFile::export(&store, app.as_ref())) {
            Ok(file) => {
                for (name, var) in &file.secure_iparams_from_env {
                    eprintln!(
                        "note: the secure iparam '{name}' is not written; --state reads it from ${var}"
                    );
                }
                write_state(&file, output.as_deref())
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    let result = rt.block_on(async {
        match &args.action {
            StoreAction::Export { .. } => Ok(()),
            StoreAction::Show => {
                let app = app::load(&args.app.app_dir).ok().map(|l| l.app);
                let summary = store.summary().await?;
                let keys = store.kv_list(store::now_ms()).await?;
                print_out(&render_summary(&summary, app.as_ref()));
                print_out(&render_keys(&keys, store::now_ms()));
                Ok(())
            }
            StoreAction::Reset {
                iparams, oauth, db, ..
            } => {
                let (scope, what) = if *iparams {
                    (ResetScope::Iparams, "installation parameters")
                } else if *oauth {
                    (
                        ResetScope::OAuth,
                        "OAuth credentials, oauth_iparams and tokens",
                    )
                } else if *db {
                    (ResetScope::Db, "the key-value store (client.db, $db)")
                } else {
                    (ResetScope::All, "everything")
                };
                store.reset(scope).await?;
                print_out(&format!("Cleared {what} from {}.\n", path.display()));
                Ok::<(), StoreError>(())
            }
            StoreAction::Import { .. } => {
                let Some((from, found)) = &found else {
                    return Ok(());
                };
                crate::import::apply(&store, found).await?;
                print_out(&render_import(from, &path, found));
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes a state file to `output` or the standard output.
fn write_state(file: &StateFile, output: Option<&std::path::Path>) -> ExitCode {
    let mut text = match serde_json::to_string_pretty(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: the state cannot be written as JSON: {e}");
            return ExitCode::from(1);
        }
    };
    text.push('\n');
    match output {
        None => {
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                eprintln!(
                    "Wrote {}; load it with `fdk-emu run --state {0}` or `fdk-emu exec --state {0} -- …`",
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(1)
            }
        },
    }
}

/// `fdk-emu oauth refresh|expire|revoke`: asks the running server's token panel to act.
fn oauth_cmd(args: &OauthArgs) -> ExitCode {
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", args.port));
    let base = base.trim_end_matches('/').to_string();
    let url = format!("{base}/_fdk-emu/oauth/{}", args.action.name());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let body = serde_json::json!({ "integration": args.action.integration() });
    let answer = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let resp = client
            .post(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        Ok::<_, reqwest::Error>((status, text))
    });
    let (status, text) = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "error: no fdk-emu answers at {base} ({e}). Start `fdk-emu run` in the app folder, or name the server with --url URL or --port PORT (inside `fdk-emu exec`, FDK_EMU_URL names it)"
            );
            return ExitCode::from(2);
        }
    };
    let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(serde_json::Value::as_str);
    match (parsed.as_ref().and_then(|v| v.get("ok")), message) {
        (Some(serde_json::Value::Bool(true)), Some(m)) => {
            println!("{m}");
            ExitCode::SUCCESS
        }
        (Some(_), Some(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        _ => {
            eprintln!(
                "error: {url} answered HTTP {status}, not a token panel answer: is the server at {base} fdk-emu?"
            );
            ExitCode::from(2)
        }
    }
}

/// Unix seconds as a date and time in UTC, `2026-01-01 00:00:00 UTC`.
fn date(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        ),
        Err(_) => format!("{t} (seconds since 1970, out of range)"),
    }
}

/// A length of time in the largest unit that keeps it readable: `45 s`, `12 min`, `5 h`,
/// `3 days`.
fn span(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `store show` output: plain text for people, secrets already masked by the store.
fn render_summary(s: &store::Summary, app: Option<&app::App>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let time = |t: Option<i64>| match t {
        Some(t) => {
            let left = t - store::now();
            if left >= 0 {
                format!("{} (in {})", date(t), span(left))
            } else {
                format!("{} ({} ago)", date(t), span(-left))
            }
        }
        None => "unknown".to_string(),
    };
    let _ = writeln!(
        out,
        "Store: {} (schema version {})",
        s.path.display(),
        s.schema_version
    );
    let _ = writeln!(out, "\nSystem settings:");
    match &s.system_settings {
        Some(v) => {
            let _ = writeln!(out, "  {v}");
        }
        None => {
            let _ = writeln!(out, "  (not set)");
        }
    }
    let _ = writeln!(out, "\nInstallation parameters:");
    match &s.iparams {
        Some(m) if m.is_empty() => {
            let _ = writeln!(out, "  (saved, no values)");
        }
        Some(m) => {
            for (k, v) in m {
                let secure = if s.secure_iparams.contains(k) {
                    "  (secure, encrypted)"
                } else {
                    ""
                };
                let _ = writeln!(out, "  {k} = {v}{secure}");
            }
        }
        None => {
            let _ = writeln!(out, "  (not installed yet)");
        }
    }
    let _ = writeln!(out, "\nOAuth:");
    if s.integrations.is_empty() {
        let _ = writeln!(out, "  (nothing stored)");
    }
    for i in &s.integrations {
        let declared = app
            .and_then(|a| a.oauth.as_ref())
            .is_some_and(|o| o.integrations.contains_key(&i.name));
        let note = if app.is_some() && !declared {
            " (not in oauth_config.json)"
        } else {
            ""
        };
        let _ = writeln!(out, "  {}{note}:", i.name);
        match &i.client_id {
            Some(id) => {
                let _ = writeln!(out, "    client_id      {id}");
                let _ = writeln!(out, "    client_secret  {}", store::MASK);
            }
            None => {
                let _ = writeln!(out, "    client         from oauth_config.json");
            }
        }
        if !i.oauth_iparams.is_empty() {
            let _ = writeln!(
                out,
                "    oauth_iparams  {} (values encrypted)",
                i.oauth_iparams.join(", ")
            );
        }
        if i.has_access_token {
            let _ = writeln!(
                out,
                "    access token   {} (obtained {}, expires {})",
                store::MASK,
                time(i.obtained_at),
                time(i.expires_at)
            );
            let _ = writeln!(
                out,
                "    refresh token  {}",
                if i.has_refresh_token {
                    store::MASK
                } else {
                    "none"
                }
            );
        } else {
            let _ = writeln!(out, "    tokens         none (not authorized)");
        }
        if let Some(r) = &i.status.needs_reauth {
            let _ = writeln!(out, "    needs re-authorization: {r}");
        }
        if let Some(m) = i.status.auth_method {
            let _ = writeln!(out, "    client auth    {}", m.as_str());
        }
        if i.status.last_refresh_at.is_some() {
            let _ = writeln!(out, "    last refresh   {}", time(i.status.last_refresh_at));
        }
    }
    out
}

/// The FDK localstore named on the command line, read and parsed; the app folder, when it
/// loads, says which product FDK 9's `modules` keys belong to and which iparams are secure.
fn read_localstore(
    from: &std::path::Path,
    app_dir: &std::path::Path,
) -> Result<(PathBuf, crate::import::Imported), crate::import::ImportError> {
    let file = crate::import::locate(from);
    let text = std::fs::read_to_string(&file).map_err(|e| crate::import::ImportError::Read {
        path: file.clone(),
        source: e,
    })?;
    let app = app::load(app_dir).ok().map(|l| l.app);
    let found = crate::import::parse(&file, &text, app.as_ref(), store::now_ms())?;
    Ok((file, found))
}

/// What `store import` did, for the terminal.
fn render_import(
    from: &std::path::Path,
    to: &std::path::Path,
    found: &crate::import::Imported,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Imported from {} into {}:",
        from.display(),
        to.display()
    );
    let mut per_scope: std::collections::BTreeMap<&str, usize> = Default::default();
    for k in &found.keys {
        *per_scope.entry(k.scope.as_str()).or_default() += 1;
    }
    let scopes: Vec<String> = per_scope.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    let _ = writeln!(
        out,
        "  {} key(s) of the key-value store{}",
        found.keys.len(),
        if scopes.is_empty() {
            String::new()
        } else {
            format!(" ({})", crate::term::safe(&scopes.join(", ")))
        }
    );
    match &found.iparams {
        Some((values, secure)) => {
            let _ = writeln!(
                out,
                "  {} installation parameter(s){}",
                values.len(),
                if secure.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {} secure (encrypted): {}",
                        secure.len(),
                        crate::term::safe(&secure.join(", "))
                    )
                }
            );
        }
        None => {
            let _ = writeln!(out, "  no installation parameters (none in the file)");
        }
    }
    if found.expired > 0 {
        let _ = writeln!(out, "  left out {} expired key(s)", found.expired);
    }
    for s in &found.skipped {
        let _ = writeln!(out, "  left out {}", crate::term::safe(s));
    }
    if found.has_oauth_tokens {
        let _ = writeln!(
            out,
            "  OAuth tokens were not copied (FDK keeps them in clear text): authorize again at /custom_configs"
        );
    }
    out
}

/// Longest value shown per key by `store show`.
const SHOWN_VALUE: usize = 100;

/// The key-value store for `store show`: values shown (they are not secrets), long ones cut.
fn render_keys(keys: &[store::KvRecord], now_ms: i64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "\nKey-value store (client.db, $db):");
    if keys.is_empty() {
        let _ = writeln!(out, "  (no keys)");
        return out;
    }
    let mut scope = "";
    for k in keys {
        if k.scope != scope {
            scope = &k.scope;
            let _ = writeln!(out, "  {}:", crate::term::safe(scope));
        }
        let expiry = match k.expires_at {
            Some(t) => format!("  (expires in {} s)", ((t - now_ms) as f64 / 1000.0).ceil()),
            None => String::new(),
        };
        let size = if k.value.chars().count() > SHOWN_VALUE {
            format!("  ({} bytes)", k.value.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "    {} = {}{size}{expiry}",
            crate::term::safe(&k.key),
            crate::term::cut(&k.value, SHOWN_VALUE)
        );
    }
    out
}

/// Whether the app may subscribe a handler to `onAppUninstall`: in the manifest, or in
/// `exports.events` of `server.js` (platform 1.x/2.0). Only Node knows the latter for sure;
/// the name in the source is enough to ask it ([`uninstall_cmd`] then finds out), and keeps
/// a broken `server.js` without that name from standing in the way of a reset.
fn subscribes_to_uninstall(app_dir: &std::path::Path) -> bool {
    const EVENT: &str = "onAppUninstall";
    app::load(app_dir).is_ok_and(|l| {
        l.app.has_server_js
            && (l
                .app
                .manifest
                .events
                .iter()
                .any(|e| e.name == EVENT && e.handler.is_some())
                || std::fs::read_to_string(app_dir.join("server").join("server.js"))
                    .is_ok_and(|js| js.contains(EVENT)))
    })
}

/// `store reset --iparams` of an app with an `onAppUninstall` handler: the handler runs
/// first, as on the platform, and a failing one keeps the installation parameters.
fn uninstall_cmd(args: &StoreArgs, path: &std::path::Path) -> ExitCode {
    let rt = match crate::trigger::multi_thread_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        let s = crate::trigger::Standalone::start(&args.app.app_dir, args.store.clone(), None, 0)?;
        let fired = s
            .events
            .fire_setup(
                "onAppUninstall",
                crate::serverless::events::Source::Uninstall,
                None,
            )
            .await;
        if let Some(e) = fired.as_ref().and_then(|f| f.error()) {
            return Err(format!(
                "onAppUninstall failed, the installation parameters are kept: {}",
                crate::serverless::terminal::escape(e)
            ));
        }
        s.store
            .reset(ResetScope::Iparams)
            .await
            .map_err(|e| e.to_string())?;
        Ok(fired.is_some())
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(ran) => {
            let what = format!("installation parameters from {}.", path.display());
            if ran {
                println!("onAppUninstall ran; cleared {what}");
            } else {
                println!("Cleared {what}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
