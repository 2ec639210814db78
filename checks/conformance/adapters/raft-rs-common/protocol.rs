//! What both raft crate adapters (0.6.0-alpha and 0.7.0) share: the line protocol's
//! framing (one JSON request per line in, one JSON answer per line out), failures, the
//! readers of request fields and the election-timeout checks. Each adapter includes this
//! file with `#[path]`; nothing here depends on the crate's version.

use std::io::{self, BufRead, Write};
use std::panic;

use protobuf::Message as PbMessage;
use serde_json::{json, Map, Value};

pub const PROTOCOL_VERSION: u64 = 1;

thread_local! {
    /// Where the last panic happened (file:line), for the answer's detail.
    pub static PANIC_PLACE: std::cell::RefCell<String> = std::cell::RefCell::new(String::new());
}

/// Every node draws its randomized timeout from [election_tick, this) and the host sets
/// the wanted value after each command, so `set_election_timeout` may pick any value.
/// Only `tick` reads the timeout, before any reset it triggers, so this behaves exactly
/// as a one-value range [t, t + 1) would.
pub const ELECTION_TICK_CEILING: usize = 1 << 30;

pub type Answer = Result<Value, Failure>;

/// Why a request was not carried out: a protocol error kind and a human detail.
pub struct Failure {
    pub kind: &'static str,
    pub detail: String,
}

pub fn bad_request(detail: impl Into<String>) -> Failure {
    Failure {
        kind: "BadRequest",
        detail: detail.into(),
    }
}

pub fn ok(extra: Value) -> Answer {
    let mut answer = Map::new();
    answer.insert("ok".into(), Value::Bool(true));
    if let Value::Object(fields) = extra {
        answer.extend(fields);
    }
    Ok(Value::Object(answer))
}

// --- reading request fields -------------------------------------------------------

pub fn uint(req: &Value, key: &str) -> Result<u64, Failure> {
    req.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad_request(format!("field '{}' must be a non-negative integer", key)))
}

pub fn uint_or(req: &Value, key: &str, default: u64) -> Result<u64, Failure> {
    match req.get(key) {
        None => Ok(default),
        Some(_) => uint(req, key),
    }
}

pub fn flag(req: &Value, key: &str) -> Result<bool, Failure> {
    match req.get(key) {
        None => Ok(false),
        Some(value) => value
            .as_bool()
            .ok_or_else(|| bad_request(format!("field '{}' must be true or false", key))),
    }
}

pub fn ids(req: &Value, key: &str) -> Result<Vec<u64>, Failure> {
    match req.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_u64().filter(|id| *id > 0))
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| bad_request(format!("field '{}' must list positive ids", key))),
        Some(_) => Err(bad_request(format!("field '{}' must be a list", key))),
    }
}

pub fn bytes(req: &Value, key: &str) -> Result<Vec<u8>, Failure> {
    match req.get(key) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) => {
            base64::decode(text).map_err(|e| bad_request(format!("bad base64 in '{}': {}", key, e)))
        }
        Some(_) => Err(bad_request(format!(
            "field '{}' must be a base64 string",
            key
        ))),
    }
}

pub fn encoded<M: PbMessage>(value: &M) -> Value {
    Value::String(base64::encode(
        value.write_to_bytes().expect("encoding never fails"),
    ))
}

pub fn sorted(ids: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut list: Vec<u64> = ids.into_iter().collect();
    list.sort_unstable();
    list
}

pub fn check_pinned(current: usize) -> Result<(), Failure> {
    if current == 0 {
        return Err(Failure {
            kind: "ConfigInvalid",
            detail: "the node was created without an election_timeout".into(),
        });
    }
    Ok(())
}

pub fn check_election_timeout(timeout: usize, election_tick: usize) -> Result<(), Failure> {
    if timeout < election_tick || timeout >= ELECTION_TICK_CEILING {
        return Err(Failure {
            kind: "ConfigInvalid",
            detail: format!(
                "election timeout {} must lie in [election_tick {}, {})",
                timeout, election_tick, ELECTION_TICK_CEILING
            ),
        });
    }
    Ok(())
}

/// Answers requests from stdin on stdout until stdin ends or stdout closes. Panics are
/// answered by `handle` (which catches them) naming where the crate panicked; the hook
/// keeps stderr free of their reports.
pub fn serve(mut handle: impl FnMut(&Value) -> Answer) {
    panic::set_hook(Box::new(|info| {
        // The crate's own path (e.g. raft-0.6.0-alpha/src/raft.rs), not the registry's.
        let place = info
            .location()
            .map(|l| {
                let parts: Vec<&str> = l.file().rsplit('/').take(3).collect();
                let file: Vec<&str> = parts.into_iter().rev().collect();
                format!("{}:{}", file.join("/"), l.line())
            })
            .unwrap_or_default();
        PANIC_PLACE.with(|p| *p.borrow_mut() = place);
    }));
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(_) => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Value>(&line) {
            Ok(req) => handle(&req),
            Err(e) => Err(bad_request(format!("not JSON: {}", e))),
        };
        let value =
            answer.unwrap_or_else(|f| json!({"ok": false, "error": f.kind, "detail": f.detail}));
        if writeln!(out, "{}", value)
            .and_then(|_| out.flush())
            .is_err()
        {
            break;
        }
    }
}
