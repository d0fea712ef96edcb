//! The refusal matrix's machinery: a row (request + the statuses it may get), running a table of
//! rows against a live server, and the CORS table (its answers are headers, not statuses).
#![allow(dead_code)]

use reqwest::Method;
use serde_json::Value;

use crate::live::{token, Server};

/// How a row authenticates.
#[derive(Clone)]
pub enum Auth {
    None,
    User(&'static str),
    Header(String),
}

/// What a row sends as body.
#[derive(Clone)]
pub enum Body {
    None,
    Json(Value),
    Raw(Option<&'static str>, String),
}

/// One request and what it may answer.
pub struct Row {
    /// What the row tries.
    pub name: String,
    /// The method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Who it claims to be.
    pub auth: Auth,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Body,
    /// The statuses it may answer.
    pub expect: &'static [u16],
    /// The error code it must carry, if any.
    pub code: Option<&'static str>,
}

pub fn row(
    name: impl Into<String>,
    method: Method,
    path: impl Into<String>,
    auth: Auth,
    expect: &'static [u16],
) -> Row {
    Row { name: name.into(), method, path: path.into(), auth, headers: vec![], body: Body::None, expect, code: None }
}

impl Row {
    pub fn json(mut self, body: Value) -> Row {
        self.body = Body::Json(body);
        self
    }
    pub fn raw(mut self, content_type: Option<&'static str>, body: impl Into<String>) -> Row {
        self.body = Body::Raw(content_type, body.into());
        self
    }
    pub fn code(mut self, code: &'static str) -> Row {
        self.code = Some(code);
        self
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Row {
        self.headers.push((name, value.into()));
        self
    }
}

/// Runs every row of `table`; answers a report of the rows that answered otherwise (empty: all passed).
pub async fn run(server: &Server, table: &str, rows: Vec<Row>) -> String {
    let mut failures = Vec::new();
    for r in &rows {
        let mut request = server.http.request(r.method.clone(), format!("{}{}", server.base, r.path));
        match &r.auth {
            Auth::None => {}
            Auth::User(u) => request = request.bearer_auth(token(u)),
            Auth::Header(v) => request = request.header("authorization", v),
        }
        for (k, v) in &r.headers {
            request = request.header(*k, v);
        }
        request = match &r.body {
            Body::None => request,
            Body::Json(v) => request.json(v),
            Body::Raw(ct, b) => {
                let request = request.body(b.clone());
                match ct {
                    Some(ct) => request.header("content-type", *ct),
                    None => request,
                }
            }
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
        let code_ok = r.code.is_none_or(|c| body["error"]["code"] == c);
        if !r.expect.contains(&status) || !code_ok {
            failures.push(format!(
                "  {}: {} {} -> {status} {body} (want {:?} {:?})",
                r.name, r.method, r.path, r.expect, r.code
            ));
        }
    }
    if failures.is_empty() {
        return String::new();
    }
    format!("{table}: {} of {} rows failed:\n{}\n", failures.len(), rows.len(), failures.join("\n"))
}

pub fn bearer(t: String) -> Auth {
    Auth::Header(format!("Bearer {t}"))
}

/// CORS rows: (origin, whether it may be echoed).
pub async fn cors(server: &Server) -> String {
    let mut failures = Vec::new();
    for (origin, allowed) in [
        ("https://site.example", true),
        ("https://evil.example", false),
        ("https://site.example.evil.example", false),
        ("http://site.example", false),
        ("null", false),
        ("http://127.0.0.1:3000", false),
        ("http://localhost:8000", false),
    ] {
        for (method, path) in
            [(Method::OPTIONS, "/api/cloud/file"), (Method::GET, "/healthz"), (Method::OPTIONS, "/auth/disconnect")]
        {
            let response = server
                .http
                .request(method.clone(), format!("{}{path}", server.base))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization,content-type")
                .send()
                .await
                .unwrap();
            let echoed = response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
            let star = echoed.as_deref() == Some("*");
            if star || (echoed.as_deref() == Some(origin)) != allowed {
                failures.push(format!("  {method} {path} from {origin}: allow-origin {echoed:?}"));
            }
        }
    }
    if failures.is_empty() {
        return String::new();
    }
    format!("CORS:\n{}\n", failures.join("\n"))
}
