//! What each subcommand does. `main.rs` only parses the command line and calls [`dispatch`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app;
use crate::cli::{Cli, Command, Format, RunArgs, StoreAction, StoreArgs, ValidateArgs};
use crate::config::{self, Config};
use crate::server::{self, Shared};
use crate::snapshot::{self, Snapshot, watch};
use crate::store::{self, ResetScope, Store, StoreError};
use crate::validate::{self, render};

pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate(args) => validate_cmd(&args),
        Command::Run(args) => run_cmd(&args),
        Command::Store(args) => store_cmd(&args),
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
    let report = validate::validate(&loaded, &opts);
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

fn run_cmd(args: &RunArgs) -> ExitCode {
    init_logging();
    let root: PathBuf = args.app.app_dir.clone();
    // Hints name the setup pages at the port asked for (a free one, `--port 0`, is known
    // only once bound, after validation: then they name the default).
    let opts = validate::Options {
        port: (args.port != 0).then_some(args.port),
        ..Default::default()
    };
    let (loaded, report) = match snapshot::load_and_validate(&root, &opts) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let color = render::use_color(std::io::stderr().is_terminal());
    if report.has_errors() {
        eprint!("{}", render::text(&report, Some(&loaded.app), color));
        eprintln!(
            "The local server could not be started due to the issue(s) above. Fix them and run again (`fdk-emu validate` checks without starting)."
        );
        return ExitCode::from(1);
    }
    if report.warnings().next().is_some() {
        eprint!("{}", render::text(&report, Some(&loaded.app), color));
    }
    let mut flags = args.flags();
    flags.app_dir = loaded.app.root.clone();
    let config = match Config::resolve(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Opened before binding: a damaged, locked or newer store stops here with its message.
    let store = match Store::open(&config.store_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let listener = match server::bind(&config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let config = match listener.local_addr() {
        Ok(addr) => config.with_addr(addr),
        Err(_) => config,
    };
    let snapshot = Arc::new(Snapshot::new(loaded.app, report).validated_with(opts));
    let shared = Arc::new(Shared::new(config, snapshot.clone()));
    let system = actix_web::rt::System::new();
    let ready = {
        let shared = shared.clone();
        move || banner(&shared.config, &shared.app())
    };
    let served = system.block_on(async move {
        // Watching before serving: the banner promises that edits are picked up.
        watch::spawn(snapshot);
        server::serve(shared, store, listener, ready).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
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

fn banner(config: &Config, app: &app::App) {
    use std::fmt::Write;
    let base = config.base_url();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "fdk-emu serving {} (platform {}) at {base}",
        app.name,
        app.manifest.platform_version.as_deref().unwrap_or("?")
    );
    let _ = writeln!(text, "  Setup pages:   {base}/custom_configs");
    let _ = writeln!(text, "  Status:        {base}/api/status");
    if app.oauth.is_some() {
        let _ = writeln!(
            text,
            "  OAuth redirect URI to register with the provider: {}",
            config.redirect_uri()
        );
    }
    let _ = writeln!(
        text,
        "Append 'dev=true' to your product URL (e.g. https://domain.freshdesk.com/a/tickets/1?dev=true) to load the app. Quit with Ctrl-C."
    );
    print_out(&text);
}

fn store_cmd(args: &StoreArgs) -> ExitCode {
    let path = config::store_path(&args.app.app_dir, args.store.as_ref());
    // `show` must not create a store that does not exist yet.
    if !path.exists() {
        match args.action {
            StoreAction::Show => print_out(&format!(
                "Nothing stored yet: {} does not exist (it is created by `fdk-emu run`).\n",
                path.display()
            )),
            StoreAction::Reset { .. } => print_out(&format!(
                "Nothing to reset: {} does not exist.\n",
                path.display()
            )),
        }
        return ExitCode::SUCCESS;
    }
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
    let result = rt.block_on(async {
        match args.action {
            StoreAction::Show => {
                let app = app::load(&args.app.app_dir).ok().map(|l| l.app);
                let summary = store.summary().await?;
                print_out(&render_summary(&summary, app.as_ref()));
                Ok(())
            }
            StoreAction::Reset { iparams, oauth, .. } => {
                let (scope, what) = if iparams {
                    (ResetScope::Iparams, "installation parameters")
                } else if oauth {
                    (
                        ResetScope::OAuth,
                        "OAuth credentials, oauth_iparams and tokens",
                    )
                } else {
                    (ResetScope::All, "everything")
                };
                store.reset(scope).await?;
                print_out(&format!("Cleared {what} from {}.\n", path.display()));
                Ok::<(), StoreError>(())
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
