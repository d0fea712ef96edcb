//! Scripted failures for tests (`/_emulator/faults`): each fault matches requests to the
//! upload URL of sessions created for a given file name, and is consumed first-in first-out.

use serde::Deserialize;
use serde_json::Value;
use std::sync::Mutex;

/// What a fault does to the request it hits.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer this status (a PUT body is read and discarded first, as for every early error).
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` header value.
        retry_after: Option<String>,
        /// Body to send (default: a Graph error matching the status).
        body: Option<Value>,
    },
    /// Read this many body bytes, then close the connection without an answer.
    DropAfterBytes(u64),
    /// Hold the request this many milliseconds, then handle it normally.
    DelayMs(u64),
    /// Expire the session, then handle the request normally (404).
    ExpireSession,
    /// The committing request stores and reports a wrong QuickXorHash.
    CorruptHash,
    /// Handle the request completely (a last fragment commits), then close the connection
    /// instead of answering: a lost answer.
    DropAnswer,
}

/// `POST /_emulator/faults` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// File name the session was created for.
    pub name: String,
    /// `PUT`, `GET`, `DELETE`, `POST` (upload URL), `ANY` (any of those), or `SESSION`
    /// (createUploadSession for a file of that name; status faults only).
    #[serde(default)]
    pub method: Option<String>,
    /// How many matching requests it hits.
    #[serde(default)]
    pub count: Option<u32>,
    /// See [`FaultAction::Status`].
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` value (string or number).
    #[serde(default)]
    pub retry_after: Option<Value>,
    /// Body for a status fault.
    #[serde(default)]
    pub body: Option<Value>,
    /// See [`FaultAction::DropAfterBytes`].
    #[serde(default)]
    pub drop_after_bytes: Option<u64>,
    /// See [`FaultAction::DelayMs`].
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// See [`FaultAction::ExpireSession`].
    #[serde(default)]
    pub expire_session: Option<bool>,
    /// See [`FaultAction::CorruptHash`].
    #[serde(default)]
    pub corrupt_hash: Option<bool>,
    /// See [`FaultAction::DropAnswer`].
    #[serde(default)]
    pub drop_answer: Option<bool>,
}

#[derive(Debug, Clone)]
struct Fault {
    name: String,
    method: String,
    remaining: u32,
    action: FaultAction,
}

/// The registry of pending faults.
#[derive(Debug, Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
}

impl FaultSpec {
    /// Checks the spec (exactly one action, sane values) and builds its action.
    pub fn action(&self) -> Result<FaultAction, String> {
        let mut actions = Vec::new();
        if let Some(status) = self.status {
            if !(100..=599).contains(&status) {
                return Err(format!("status {status} is not an HTTP status"));
            }
            let retry_after = match &self.retry_after {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => return Err("retryAfter must be a string or a number".into()),
            };
            actions.push(FaultAction::Status { status, retry_after, body: self.body.clone() });
        }
        if let Some(n) = self.drop_after_bytes {
            actions.push(FaultAction::DropAfterBytes(n));
        }
        if let Some(ms) = self.delay_ms {
            actions.push(FaultAction::DelayMs(ms));
        }
        if self.expire_session == Some(true) {
            actions.push(FaultAction::ExpireSession);
        }
        if self.corrupt_hash == Some(true) {
            actions.push(FaultAction::CorruptHash);
        }
        if self.drop_answer == Some(true) {
            actions.push(FaultAction::DropAnswer);
        }
        if actions.len() != 1 {
            return Err(
                "give exactly one of status, dropAfterBytes, delayMs, expireSession, corruptHash, dropAnswer".into()
            );
        }
        if self.status.is_none() && (self.retry_after.is_some() || self.body.is_some()) {
            return Err("retryAfter and body only go with status".into());
        }
        Ok(actions.remove(0))
    }

    fn method(&self) -> Result<String, String> {
        let m = self.method.as_deref().unwrap_or("PUT").to_ascii_uppercase();
        match m.as_str() {
            "PUT" | "GET" | "DELETE" | "POST" | "ANY" => Ok(m),
            "SESSION" if self.status.is_some() => Ok(m),
            "SESSION" => Err("SESSION faults must be status faults".into()),
            _ => Err(format!("method {m:?} is not PUT, GET, DELETE, POST, ANY or SESSION")),
        }
    }
}

impl Faults {
    /// Adds a fault; the error says what is wrong with the spec.
    pub fn add(&self, spec: &FaultSpec) -> Result<(), String> {
        let action = spec.action()?;
        let method = spec.method()?;
        let remaining = spec.count.unwrap_or(1);
        if remaining == 0 {
            return Err("count must be at least 1".into());
        }
        if spec.name.is_empty() {
            return Err("name must not be empty".into());
        }
        self.lock().push(Fault { name: spec.name.clone(), method, remaining, action });
        Ok(())
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Takes the oldest fault matching a request, decrementing its count. `commit` selects
    /// the corrupt-hash faults (checked only by the committing request) instead of the others.
    pub fn take(&self, name: &str, method: &str, commit: bool) -> Option<FaultAction> {
        let mut list = self.lock();
        let index = list.iter().position(|f| {
            f.name == name
                && (f.method == method || (f.method == "ANY" && method != "SESSION"))
                && (f.action == FaultAction::CorruptHash) == commit
        })?;
        let fault = &mut list[index];
        fault.remaining -= 1;
        let action = fault.action.clone();
        if fault.remaining == 0 {
            list.remove(index);
        }
        Some(action)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fifo_counts_methods_and_commit_selection() {
        let faults = Faults::default();
        faults.add(&spec(r#"{"name":"a","status":503,"retryAfter":1,"count":2}"#)).unwrap();
        faults.add(&spec(r#"{"name":"a","delayMs":5,"method":"any"}"#)).unwrap();
        faults.add(&spec(r#"{"name":"a","corruptHash":true}"#)).unwrap();
        faults.add(&spec(r#"{"name":"d","dropAnswer":true,"method":"POST"}"#)).unwrap();
        assert_eq!(faults.take("b", "PUT", false), None);
        assert_eq!(faults.take("d", "POST", false), Some(FaultAction::DropAnswer));
        faults.add(&spec(r#"{"name":"s","status":503,"method":"SESSION"}"#)).unwrap();
        faults.add(&spec(r#"{"name":"s","status":500,"method":"ANY"}"#)).unwrap();
        let s500 = FaultAction::Status { status: 500, retry_after: None, body: None };
        assert_eq!(
            faults.take("s", "SESSION", false).map(|a| matches!(a, FaultAction::Status { status: 503, .. })),
            Some(true)
        );
        assert_eq!(faults.take("s", "SESSION", false), None, "ANY is for the upload URL only");
        assert_eq!(faults.take("s", "PUT", false), Some(s500));
        assert_eq!(faults.take("a", "GET", false), Some(FaultAction::DelayMs(5)));
        let s503 = FaultAction::Status { status: 503, retry_after: Some("1".into()), body: None };
        assert_eq!(faults.take("a", "PUT", false), Some(s503.clone()));
        assert_eq!(faults.take("a", "PUT", false), Some(s503));
        assert_eq!(faults.take("a", "PUT", false), None);
        assert_eq!(faults.take("a", "PUT", true), Some(FaultAction::CorruptHash));
        assert_eq!(faults.take("a", "PUT", true), None);
    }

    #[test]
    fn bad_specs_are_refused() {
        let faults = Faults::default();
        for bad in [
            r#"{"name":"a"}"#,
            r#"{"name":"a","status":503,"delayMs":1}"#,
            r#"{"name":"a","dropAnswer":true,"corruptHash":true}"#,
            r#"{"name":"a","dropAnswer":true,"method":"SESSION"}"#,
            r#"{"name":"a","status":42}"#,
            r#"{"name":"a","status":503,"method":"PATCH"}"#,
            r#"{"name":"a","status":503,"count":0}"#,
            r#"{"name":"","status":503}"#,
            r#"{"name":"a","delayMs":1,"retryAfter":"1"}"#,
        ] {
            assert!(faults.add(&spec(bad)).is_err(), "{bad} accepted");
        }
        assert!(serde_json::from_str::<FaultSpec>(r#"{"name":"a","bogus":1}"#).is_err());
        faults.add(&spec(r#"{"name":"a","expireSession":true}"#)).unwrap();
        faults.clear();
        assert_eq!(faults.take("a", "PUT", false), None);
    }
}
