//! `--log-file PATH`: every record as one line of JSON, for scripts and CI.
//!
//! A thread of its own writes the file, so a call never waits for the disk: the request path
//! only hands the record (an `Arc`) over a channel. The thread writes what has arrived and
//! flushes, at most 25 ms after a call ends, so a `tail -f` sees each call as it happens.
//! [`LogFile::flush`] waits until everything handed over is in the file (the server calls it
//! before it exits).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::time::Duration;

use super::Entry;
use std::sync::Arc;

enum Msg {
    Record(Arc<Entry>),
    Flush(SyncSender<()>),
}

/// The writer's end of the log file.
pub struct LogFile {
    tx: Sender<Msg>,
    path: PathBuf,
}

/// Why the log file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "--log-file {}: cannot open it for writing ({source}); check that its folder exists and is writable",
    path.display()
)]
pub struct LogFileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl LogFile {
    /// Opens `path` for appending (created with owner-only permissions), so that two runs
    /// into the same file lose nothing, and starts the writer thread.
    pub fn open(path: &Path) -> Result<LogFile, LogFileError> {
        let err = |source| LogFileError {
            path: path.to_path_buf(),
            source,
        };
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(err)?;
        let (tx, rx) = mpsc::channel();
        let shown = path.to_path_buf();
        std::thread::Builder::new()
            .name("fdk-emu-log-file".into())
            .spawn(move || write_loop(file, rx, &shown))
            .map_err(err)?;
        Ok(LogFile {
            tx,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn send(&self, e: Arc<Entry>) {
        // The thread ends only when this sender is dropped, or after a write error it has
        // already reported.
        let _ = self.tx.send(Msg::Record(e));
    }

    /// Waits (up to 5 s) until every record handed over so far is written and flushed.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(Duration::from_secs(5));
        }
    }
}

/// How often the writer looks for records while calls keep coming.
const TICK: Duration = Duration::from_millis(25);
/// After this many ticks without a record the writer waits on the channel again.
const QUIET_TICKS: u32 = 40;

/// The writer thread. While calls come in, it wakes on a timer and takes what has arrived:
/// a thread blocked on the channel is woken by each send, a system call on the request path
/// (in `benches/inspect.rs` that made the file cost five times what recording costs). Once
/// quiet for a second it blocks on the channel again, so an idle server does not tick.
fn write_loop(file: File, rx: Receiver<Msg>, path: &Path) {
    let mut w = Writer {
        out: BufWriter::with_capacity(64 * 1024, file),
        failed: false,
        acks: Vec::new(),
        path,
    };
    while let Ok(first) = rx.recv() {
        w.take(first);
        let mut quiet = 0;
        loop {
            w.flush();
            std::thread::sleep(TICK);
            let mut got = false;
            loop {
                match rx.try_recv() {
                    Ok(msg) => {
                        w.take(msg);
                        got = true;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        w.flush();
                        return;
                    }
                }
            }
            quiet = if got { 0 } else { quiet + 1 };
            if quiet >= QUIET_TICKS {
                w.flush();
                break;
            }
        }
    }
    w.flush();
}

struct Writer<'a> {
    out: BufWriter<File>,
    failed: bool,
    /// Callers of [`LogFile::flush`] waiting for the next flush.
    acks: Vec<SyncSender<()>>,
    path: &'a Path,
}

impl Writer<'_> {
    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Record(e) if !self.failed => {
                let line = e.json();
                let written = self
                    .out
                    .write_all(line.as_bytes())
                    .and_then(|()| self.out.write_all(b"\n"));
                if let Err(err) = written {
                    self.failed = report(self.path, &err);
                }
            }
            Msg::Record(_) => {}
            Msg::Flush(ack) => self.acks.push(ack),
        }
    }

    fn flush(&mut self) {
        if !self.failed
            && let Err(err) = self.out.flush()
        {
            self.failed = report(self.path, &err);
        }
        for ack in self.acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

/// Says once that the file cannot be written; the server keeps running without it.
fn report(path: &Path, err: &std::io::Error) -> bool {
    tracing::error!(
        "--log-file {}: writing failed ({err}); no more calls are written to it (the inspector page still shows them)",
        path.display()
    );
    true
}
