//! The messages between fdk-emu and its Node worker (`assets/serverless/worker.js`).
//!
//! **Transport: JSON lines over a Unix socket pair that is the worker's fd 0.** One message
//! per line, a JSON object with its kind in `t`. Why this shape:
//!
//! * *Not stdout.* The app and its npm packages write to stdout and stderr whenever they
//!   like (`console.log` in a dependency, `process.stdout.write`); a protocol there breaks on
//!   the first stray line. Those streams stay plain pipes that fdk-emu shows on the terminal.
//! * *A socket pair on fd 0 rather than a named socket or an extra fd.* std's `Command` sets
//!   up fds 0–2 itself, so handing one end of `UnixStream::pair()` over as stdin needs no
//!   `unsafe` `pre_exec`/`dup2` and no socket file on disk to name, protect and clean up.
//!   The pair is bidirectional, and when fdk-emu exits for any reason the worker reads
//!   end-of-file and exits too: no orphaned Node processes.
//! * *JSON lines.* Both sides have a fast JSON codec at hand (serde_json, V8's `JSON`),
//!   `JSON.stringify` never emits a raw newline, so a line is a frame with no length
//!   prefix, and a frame can be read in a terminal while debugging. Payloads are small (the
//!   platform caps an SMI payload at 100 KB).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// fdk-emu → worker.
#[derive(Debug, Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ToNode<'a> {
    /// Run `exports[handler](payload)`; answered by [`FromNode::Done`] with the same id.
    Call {
        id: u64,
        kind: &'a str,
        handler: &'a str,
        payload: &'a Value,
    },
    /// The call ran out of time and was answered; a late `renderData` is ignored.
    Cancel { id: u64 },
    /// The answer to a [`FromNode::Callback`].
    Reply { id: u64, ok: bool, value: Value },
    /// Answered by [`FromNode::Pong`]; a worker that does not answer is stuck in a loop.
    Ping { id: u64 },
    /// Exit once the calls in flight are answered (a newer worker takes the new calls).
    Drain,
}

/// worker → fdk-emu.
#[derive(Debug, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum FromNode {
    /// `server.js` loaded; the names of the functions it exports.
    Ready {
        exports: Vec<String>,
        /// `exports.events`, the 1.x/2.0 way of subscribing to events.
        #[serde(default)]
        events: Vec<LegacyEvent>,
        node: String,
        #[serde(default)]
        load_ms: f64,
    },
    /// `server.js` could not be loaded (syntax error, exception at the top level, missing
    /// module).
    LoadError {
        error: ScriptError,
    },
    /// A call finished.
    Done {
        id: u64,
        result: CallResult,
    },
    /// `console.*` of the app, formatted by Node's `util.format`.
    Log {
        id: Option<u64>,
        handler: Option<String>,
        level: String,
        text: String,
    },
    /// The app asks fdk-emu for something (`$request.invokeTemplate`, `$db`, …); answered
    /// by [`ToNode::Reply`].
    #[serde(rename = "cb")]
    Callback {
        id: u64,
        call: Option<u64>,
        handler: Option<String>,
        /// The kind of the call that asks (`smi`, `product_event`, …).
        #[serde(default)]
        kind: Option<String>,
        op: String,
        #[serde(default)]
        args: Value,
    },
    Pong {
        id: u64,
    },
    /// An exception no running call could be blamed for (a timer of a finished call, code
    /// at the top level of a module after loading).
    Uncaught {
        id: Option<u64>,
        handler: Option<String>,
        error: ScriptError,
    },
}

/// One entry of `exports.events = [{event, callback}]` in `server.js`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct LegacyEvent {
    pub event: String,
    pub callback: String,
}

/// How a call ended, in the worker's reading of `renderData(error, data)` (FDK's rules:
/// `event_handler/framework.js`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallResult {
    /// `renderData(null, data)`.
    Data { data: Value },
    /// `renderData(null)` or `renderData()`: success without data.
    Empty,
    /// `renderData({status, message})`: `status` defaults to 500, `message` to null.
    Error { status: Value, message: Value },
    /// `renderData(x)` where x is not an object with a message or a status.
    InvalidError,
    /// The handler threw, or its promise rejected, before answering.
    Exception { error: ScriptError },
}

/// An error raised by the app's code, located in its files where the stack allows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScriptError {
    pub name: String,
    pub message: String,
    /// The stack with paths relative to the app folder and the worker's own frames left out.
    #[serde(default)]
    pub stack: String,
    /// The first frame in the app's own files (not `node_modules`), relative to the app
    /// folder, e.g. `server/server.js`.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl ScriptError {
    /// `name: message`, the way Node prints an error's first line.
    pub fn headline(&self) -> String {
        if self.name.is_empty() || self.name == "thrown value" {
            self.message.clone()
        } else {
            format!("{}: {}", self.name, self.message)
        }
    }

    /// `server/server.js:12:5`, when known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_deref()?;
        Some(match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_the_worker_writes() {
        let m: FromNode = serde_json::from_value(json!({
            "t": "done", "id": 3, "result": {"kind": "error", "status": 404, "message": "nope"}
        }))
        .expect("done");
        match m {
            FromNode::Done { id, result } => {
                assert_eq!(id, 3);
                assert_eq!(
                    result,
                    CallResult::Error {
                        status: json!(404),
                        message: json!("nope")
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        // null data is data, not "no data": the caller gets {"response": null}.
        let m: FromNode = serde_json::from_value(json!({
            "t": "done", "id": 1, "result": {"kind": "data", "data": null}
        }))
        .expect("done");
        assert!(matches!(
            m,
            FromNode::Done {
                result: CallResult::Data { data: Value::Null },
                ..
            }
        ));
        let m: FromNode = serde_json::from_value(json!({
            "t": "cb", "id": 9, "call": 1, "handler": "greet", "op": "invokeTemplate",
            "args": {"name": "echo"}
        }))
        .expect("cb");
        assert!(matches!(m, FromNode::Callback { id: 9, .. }));
    }

    #[test]
    fn writes_one_line_per_message() {
        let payload = json!({"note": "two\nlines"});
        let line = serde_json::to_string(&ToNode::Call {
            id: 1,
            kind: "smi",
            handler: "greet",
            payload: &payload,
        })
        .expect("json");
        assert!(!line.contains('\n'));
        assert!(line.starts_with(r#"{"t":"call","id":1"#), "{line}");
    }
}
