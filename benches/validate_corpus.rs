//! Validation speed over the whole corpus (`../shared/corpus/apps`, 308 real apps), in
//! process: load + validate every app, best of several rounds, against a baseline that only
//! reads the same files and parses them with serde_json. Run with
//! `cargo bench --bench validate_corpus` (or `scripts/bench-validate`, which also times the
//! binary once per app).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/apps");
    let mut apps: Vec<PathBuf> = match std::fs::read_dir(&corpus) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            eprintln!("cannot read the corpus at {}: {e}", corpus.display());
            std::process::exit(2);
        }
    };
    apps.sort();
    let opts = fdk_emu::validate::Options {
        config_only: true,
        ..Default::default()
    };
    let rounds = 10;

    let baseline = best_of(rounds, || {
        let mut n = 0usize;
        for app in &apps {
            for f in fdk_emu_files() {
                if let Ok(text) = std::fs::read_to_string(app.join(f)) {
                    n += serde_json::from_str::<serde_json::Value>(&text).is_ok() as usize;
                }
            }
        }
        n
    });
    let mut diagnostics = 0;
    let full = best_of(rounds, || {
        diagnostics = 0;
        for app in &apps {
            if let Ok(loaded) = fdk_emu::app::load(app) {
                diagnostics += fdk_emu::validate::validate(&loaded, &opts)
                    .diagnostics
                    .len();
            }
        }
        diagnostics
    });
    println!("apps: {}", apps.len());
    println!(
        "baseline (read + serde_json parse of the 4 files): {:>8.2} ms",
        ms(baseline)
    );
    println!(
        "load + validate --config-only (all rules):        {:>8.2} ms  ({:.3} ms/app, {diagnostics} diagnostics)",
        ms(full),
        ms(full) / apps.len() as f64
    );
}

fn fdk_emu_files() -> [&'static str; 4] {
    [
        fdk_emu::app::MANIFEST,
        fdk_emu::app::REQUESTS,
        fdk_emu::app::OAUTH_CONFIG,
        fdk_emu::app::IPARAMS_JSON,
    ]
}

fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    best
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
