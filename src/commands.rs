//! What each subcommand does. `main.rs` only parses the command line and calls [`dispatch`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::app::{self, LoadError, Loaded};
use crate::cli::{Cli, Command, Format, RunArgs, StoreArgs, ValidateArgs};
use crate::server::{self, Config, Shared};
use crate::validate::{self, Report, render};

/// Loads the app in `root` and validates it with every check.
pub fn load_and_validate(root: &Path) -> Result<(Loaded, Report), LoadError> {
    let loaded = app::load(root)?;
    let report = validate::validate(&loaded, &validate::Options::default());
    Ok((loaded, report))
}

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
    };
    let report = validate::validate(&loaded, &opts);
    match args.format {
        Format::Json => println!(
            "{}",
            render::json(&report, &loaded.app.root.display().to_string())
        ),
        Format::Text => print!(
            "{}",
            render::text(
                &report,
                Some(&loaded.app),
                render::use_color(std::io::stdout().is_terminal())
            )
        ),
    }
    if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Resolves the run configuration: flags first, then FDK's environment variable and the
/// app's `.fdk/configs.json`, then defaults.
fn config_from(args: &RunArgs, root: &Path) -> Result<Config, String> {
    // The project file first, so that --upstream on the command line wins.
    let mut upstreams = project_upstreams(root)?;
    for spec in &args.upstreams {
        let (host, url) = spec.split_once('=').ok_or_else(|| {
            format!(
                "--upstream {spec}: expected HOST=URL, e.g. api.example.com=http://127.0.0.1:8001"
            )
        })?;
        let url = url::Url::parse(url)
            .map_err(|e| format!("--upstream {spec}: {url} is not a URL ({e})"))?;
        upstreams.push((host.trim().to_ascii_lowercase(), url));
    }
    let request_timeout = args
        .request_timeout
        .or_else(|| std::env::var("REQUEST_TIMEOUT").ok()?.trim().parse().ok())
        .or_else(|| fdk_config_timeout(root))
        .unwrap_or(15_000);
    Ok(Config {
        app_dir: root.to_path_buf(),
        host: args.host.clone(),
        port: args.port,
        store_path: args
            .store
            .clone()
            .unwrap_or_else(|| root.join(".fdk").join("localstore.sqlite")),
        demo_provider: args.demo_provider,
        upstreams,
        request_timeout: Duration::from_millis(request_timeout),
        rate_limit: !args.no_rate_limit,
        response_limit: !args.no_response_limit,
        refresh_margin: Duration::from_secs(args.refresh_margin),
    })
}

/// The name of fdk-emu's own project configuration file, in the app folder.
pub const PROJECT_CONFIG: &str = "fdk-emu.json";

/// `upstreams` of `<app>/fdk-emu.json`: `{"upstreams": {"api.example.com": "http://127.0.0.1:8001"}}`.
/// A missing file is fine; a broken one is an error that names the file and the entry.
fn project_upstreams(root: &Path) -> Result<Vec<(String, url::Url)>, String> {
    let path = root.join(PROJECT_CONFIG);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let Some(map) = v.get("upstreams") else {
        return Ok(Vec::new());
    };
    let map = map.as_object().ok_or_else(|| {
        format!(
            "{}: \"upstreams\" must be an object such as {{\"api.example.com\": \"http://127.0.0.1:8001\"}}",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for (host, url) in map {
        let text = url
            .as_str()
            .ok_or_else(|| format!("{}: upstreams.{host} must be a URL string", path.display()))?;
        let url = url::Url::parse(text).map_err(|e| {
            format!(
                "{}: upstreams.{host}: {text} is not a URL ({e})",
                path.display()
            )
        })?;
        out.push((host.trim().to_ascii_lowercase(), url));
    }
    Ok(out)
}

/// `request.timeout` of `<app>/.fdk/configs.json` (FDK's `fdk config set --scope local`).
fn fdk_config_timeout(root: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(root.join(".fdk").join("configs.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let t = v.get("request")?.get("timeout")?;
    t.as_u64().or_else(|| t.as_str()?.parse().ok())
}

fn run_cmd(args: &RunArgs) -> ExitCode {
    let root: PathBuf = args.app.app_dir.clone();
    let (loaded, report) = match load_and_validate(&root) {
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
    let config = match config_from(args, &loaded.app.root) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
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
    let shared = Arc::new(Shared::new(config, loaded.app, report));
    let system = actix_web::rt::System::new();
    let ready = {
        let shared = shared.clone();
        move || banner(&shared.config, &shared.app())
    };
    match system.block_on(server::serve(shared, listener, ready)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn banner(config: &Config, app: &app::App) {
    let base = config.base_url();
    println!(
        "fdk-emu serving {} (platform {}) at {base}",
        app.name,
        app.manifest.platform_version.as_deref().unwrap_or("?")
    );
    println!("  Setup pages:   {base}/custom_configs");
    println!("  Status:        {base}/api/status");
    if app.oauth.is_some() {
        println!(
            "  OAuth redirect URI to register with the provider: {}",
            config.redirect_uri()
        );
    }
    println!(
        "Append 'dev=true' to your product URL (e.g. https://domain.freshdesk.com/a/tickets/1?dev=true) to load the app. Quit with Ctrl-C."
    );
}

fn store_cmd(_args: &StoreArgs) -> ExitCode {
    eprintln!("error: the store commands are not available yet");
    ExitCode::from(2)
}
