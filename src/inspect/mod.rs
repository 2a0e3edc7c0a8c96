//! The request inspector's core: records of calls (an `invokeTemplate`, an SMI call, a `db`
//! operation, an event), kept in memory within a bound, pushed to live subscribers, and
//! written as JSON lines with `--log-file`. No HTTP in here: the edge serves the page and the
//! stream (`server::inspector`), and whoever makes a call fills its [`Record`] (the
//! `invoke` core does it for templates) and hands it over with one [`Inspector::record`];
//! SMI calls, `db` operations and events hand over a [`Call`] with one [`Inspector::call`].
//!
//! Records never reach the store, and they hold nothing secret: whoever builds one masks it
//! with the call's [`Masker`] (the same masking as the terminal line) before it gets here.
//!
//! Cost: recording runs on the request path, so it is kept to building the record (masked
//! copies of what the call already has) and a few pointer moves under a short lock. The
//! record is turned into JSON once, by whichever reader needs it first (the log file's thread,
//! a page's stream), never by the call itself.

pub mod call;
pub mod curl;
pub mod jsonl;
pub mod mask;
pub mod record;
mod ring;
pub mod text;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use tokio::sync::broadcast;

pub use call::{Call, Started};
pub use jsonl::{LogFile, LogFileError};
pub use mask::{MASK, Masker};
pub use record::{
    Attempt, BODY_CAP, Body, Headers, Kind, Message, Record, Refresh, RefreshTrigger, Source,
    Substitution,
};
pub use ring::Limits;
use ring::Ring;

/// How many records a live subscriber may fall behind before it is told it missed some.
const LIVE_BACKLOG: usize = 256;

/// A recorded call, as the inspector shares it with its readers.
#[derive(Debug)]
pub struct Entry {
    pub record: Record,
    weight: usize,
    json: OnceLock<String>,
}

impl Entry {
    fn new(record: Record) -> Entry {
        Entry {
            weight: record.weight(),
            record,
            json: OnceLock::new(),
        }
    }

    /// The record as one line of JSON (built once, by the first reader that asks), with
    /// what the caller got as `result`.
    pub fn json(&self) -> &str {
        #[derive(Serialize)]
        struct Written<'a> {
            #[serde(flatten)]
            record: &'a Record,
            result: Option<Body>,
        }
        self.json.get_or_init(|| {
            let written = Written {
                record: &self.record,
                result: self.record.returned(),
            };
            serde_json::to_string(&written).unwrap_or_else(|e| {
                format!(
                    "{{\"id\":{},\"error\":\"the record could not be written as JSON: {e}\"}}",
                    self.record.id
                )
            })
        })
    }

    /// The few fields a list shows.
    pub fn summary(&self) -> Summary<'_> {
        let r = &self.record;
        let request = r.request.as_ref();
        Summary {
            id: r.id,
            kind: r.kind,
            name: &r.name,
            caller: r.caller.as_deref(),
            at: r.at,
            duration_ms: r.duration_ms,
            status: r.status,
            ok: r.ok,
            error_source: r.error_source,
            method: request.and_then(|m| m.method.as_deref()),
            url: request.and_then(|m| m.url.as_deref()),
            attempts: r.attempts.len(),
            refreshed: !r.refreshes.is_empty(),
        }
    }
}

/// One line of the inspector's list.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub id: u64,
    pub kind: Kind,
    pub name: &'a str,
    pub caller: Option<&'a str>,
    pub at: i64,
    pub duration_ms: f64,
    pub status: u16,
    pub ok: bool,
    pub error_source: Option<&'static str>,
    pub method: Option<&'a str>,
    pub url: Option<&'a str>,
    pub attempts: usize,
    pub refreshed: bool,
}

/// Which records a reader wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kind: Option<Kind>,
    /// The exact name (template, method, …).
    pub name: Option<String>,
    pub status: Option<StatusFilter>,
}

/// A filter on the status a call ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Ok,
    Error,
    /// `2xx`, `4xx`…: the hundreds digit.
    Class(u16),
    Exact(u16),
}

impl StatusFilter {
    /// `ok`, `error`, `2xx`…`5xx`, or a status such as `404`.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "ok" => Some(StatusFilter::Ok),
            "error" => Some(StatusFilter::Error),
            _ => {
                if let Some(d) = s.strip_suffix("xx")
                    && let Ok(n @ 1..=5) = d.parse::<u16>()
                {
                    return Some(StatusFilter::Class(n));
                }
                s.parse::<u16>().ok().map(StatusFilter::Exact)
            }
        }
    }
}

impl Filter {
    pub fn matches(&self, r: &Record) -> bool {
        if self.kind.is_some_and(|k| k != r.kind) {
            return false;
        }
        if self.name.as_ref().is_some_and(|n| *n != r.name) {
            return false;
        }
        match self.status {
            None => true,
            Some(StatusFilter::Ok) => r.ok,
            Some(StatusFilter::Error) => !r.ok,
            Some(StatusFilter::Class(c)) => r.status / 100 == c,
            Some(StatusFilter::Exact(s)) => r.status == s,
        }
    }
}

/// The recorder, shared by the whole server (cheap to clone).
#[derive(Clone)]
pub struct Inspector {
    inner: Arc<Inner>,
}

struct Inner {
    /// One std mutex for the ring, the ids and the order of what readers see: the section is
    /// a few pointer moves and never awaits.
    ring: Mutex<Ring>,
    next_id: AtomicU64,
    live: broadcast::Sender<Arc<Entry>>,
    log: Option<LogFile>,
    limits: Limits,
}

impl Inspector {
    /// Keeps up to `limits` in memory and, with `log`, writes every record to that file.
    pub fn new(limits: Limits, log: Option<LogFile>) -> Inspector {
        let (live, _) = broadcast::channel(LIVE_BACKLOG);
        Inspector {
            inner: Arc::new(Inner {
                ring: Mutex::new(Ring::new(limits)),
                next_id: AtomicU64::new(0),
                live,
                log,
                limits,
            }),
        }
    }

    /// An inspector that records nothing (`--inspector-records 0` without `--log-file`).
    pub fn off() -> Inspector {
        Inspector::new(
            Limits {
                records: 0,
                bytes: 0,
            },
            None,
        )
    }

    /// Whether calls should build records at all.
    pub fn is_recording(&self) -> bool {
        self.inner.limits.records > 0 || self.inner.log.is_some()
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The log file, when there is one.
    pub fn log_file(&self) -> Option<&std::path::Path> {
        self.inner.log.as_ref().map(LogFile::path)
    }

    /// Keeps `record`, shows it to live subscribers and writes it to the log file. Returns
    /// its id, or `None` when recording is off.
    pub fn record(&self, mut record: Record) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        let mut ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        // Under the lock, so that ids, the ring, the stream and the file agree on the order.
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        record.id = id;
        let entry = Arc::new(Entry::new(record));
        if let Some(log) = &self.inner.log {
            log.send(entry.clone());
        }
        ring.push(entry.clone());
        // No subscriber is not an error.
        let _ = self.inner.live.send(entry);
        Some(id)
    }

    /// Records a finished SMI call, `db` operation or event ([`Call`]), masked with `masker`:
    /// the one call each of those makes. Nothing is built when recording is off.
    pub fn call(&self, call: Call<'_>, masker: &Masker) -> Option<u64> {
        if !self.is_recording() {
            return None;
        }
        self.record(call.into_record(masker))
    }

    /// The kept records that match `filter`, oldest first; at most the newest `max`.
    pub fn list(&self, filter: &Filter, max: usize) -> Vec<Arc<Entry>> {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Arc<Entry>> = ring
            .iter()
            .rev()
            .filter(|e| filter.matches(&e.record))
            .take(max)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    pub fn get(&self, id: u64) -> Option<Arc<Entry>> {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.get(id).cloned()
    }

    /// The kept records newer than `id`, oldest first (a stream that reconnects, or fell
    /// behind, picks up from there).
    pub fn after(&self, id: u64) -> Vec<Arc<Entry>> {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Arc<Entry>> = ring
            .iter()
            .rev()
            .take_while(|e| e.record.id > id)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// The id of the newest record so far (0 before the first).
    pub fn last_id(&self) -> u64 {
        let _ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.next_id.load(Ordering::Relaxed)
    }

    /// Records from now on. Take [`Inspector::last_id`] before, and [`Inspector::after`] it
    /// after subscribing, to miss nothing in between.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.inner.live.subscribe()
    }

    /// Forgets the kept records (the log file keeps what it has).
    pub fn clear(&self) {
        let mut ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.clear();
    }

    /// How many records are kept and about how many bytes they hold.
    pub fn usage(&self) -> (usize, usize) {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        (ring.len(), ring.bytes())
    }

    /// Waits until the log file holds every record so far (before the server exits).
    pub fn flush(&self) {
        if let Some(log) = &self.inner.log {
            log.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: Kind, name: &str, status: u16) -> Record {
        let mut r = Record::new(kind, name, 0);
        r.status = status;
        r.ok = status < 400;
        r
    }

    #[test]
    fn keeps_the_newest_within_the_bounds() {
        let ins = Inspector::new(
            Limits {
                records: 3,
                bytes: 1 << 20,
            },
            None,
        );
        for i in 0..5 {
            ins.record(rec(Kind::InvokeTemplate, &format!("t{i}"), 200));
        }
        let names: Vec<String> = ins
            .list(&Filter::default(), 100)
            .iter()
            .map(|e| e.record.name.clone())
            .collect();
        assert_eq!(names, ["t2", "t3", "t4"]);
        assert!(ins.get(2).is_none(), "dropped");
        assert_eq!(
            ins.get(4).map(|e| e.record.name.clone()).as_deref(),
            Some("t3")
        );
        assert_eq!(ins.after(3).len(), 2);
        // The byte bound: big records push the old ones out.
        let small = Inspector::new(
            Limits {
                records: 100,
                bytes: 4096,
            },
            None,
        );
        for i in 0..10 {
            let mut r = rec(Kind::Db, "k", 200);
            r.result = Some(Body::capture(&vec![b'x'; 1500], &Masker::default()));
            r.name = format!("r{i}");
            small.record(r);
        }
        let (count, bytes) = small.usage();
        assert!(
            count < 10 && bytes <= 4096,
            "{count} records, {bytes} bytes"
        );
        assert_eq!(
            small.list(&Filter::default(), 1)[0].record.name,
            "r9",
            "the newest is kept"
        );
    }

    #[test]
    fn filters_by_kind_name_and_status() {
        let ins = Inspector::new(Limits::default(), None);
        ins.record(rec(Kind::InvokeTemplate, "a", 200));
        ins.record(rec(Kind::InvokeTemplate, "b", 404));
        ins.record(rec(Kind::Db, "set k", 200));
        ins.record(rec(Kind::InvokeTemplate, "a", 502));
        let ids =
            |f: Filter| -> Vec<u64> { ins.list(&f, 100).iter().map(|e| e.record.id).collect() };
        assert_eq!(
            ids(Filter {
                kind: Some(Kind::InvokeTemplate),
                ..Default::default()
            }),
            [1, 2, 4]
        );
        assert_eq!(
            ids(Filter {
                name: Some("a".into()),
                status: StatusFilter::parse("error"),
                ..Default::default()
            }),
            [4]
        );
        assert_eq!(
            ids(Filter {
                status: StatusFilter::parse("4xx"),
                ..Default::default()
            }),
            [2]
        );
        assert_eq!(StatusFilter::parse("200"), Some(StatusFilter::Exact(200)));
        assert_eq!(StatusFilter::parse("9xx"), None);
    }

    #[tokio::test]
    async fn live_subscribers_see_records_in_order() {
        let ins = Inspector::new(Limits::default(), None);
        let mut rx = ins.subscribe();
        ins.record(rec(Kind::Smi, "one", 200));
        ins.record(rec(Kind::Event, "two", 200));
        let a = rx.recv().await.map(|e| e.record.id).ok();
        let b = rx.recv().await.map(|e| e.record.id).ok();
        assert_eq!((a, b), (Some(1), Some(2)));
        assert!(Inspector::off().record(rec(Kind::Db, "x", 200)).is_none());
    }

    #[test]
    fn the_log_file_gets_one_line_per_record() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("calls.jsonl");
        let ins = Inspector::new(
            Limits {
                records: 0,
                bytes: 0,
            },
            Some(LogFile::open(&path).expect("open")),
        );
        assert!(ins.is_recording(), "a log file alone records");
        ins.record(rec(Kind::InvokeTemplate, "line\nbreak", 200));
        ins.record(rec(Kind::Db, "b", 500));
        ins.flush();
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["name"], "line\\nbreak");
        assert_eq!(lines[1]["kind"], "db");
        assert_eq!(lines[1]["ok"], false);
        assert!(
            ins.list(&Filter::default(), 10).is_empty(),
            "none kept in memory"
        );
    }
}
