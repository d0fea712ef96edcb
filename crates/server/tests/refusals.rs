//! The refusal matrix: hostile requests, one table per category (authentication, ownership, names,
//! folders, sizes, bodies, ids, CORS, OAuth callback, dev routes), against the real binary over
//! loopback (Microsoft mode, the real emulator standing in for Graph and the identity platform).
//! Every row names what it sends and the statuses it may get; all tables run, then every failing row
//! is reported.

mod live;
mod matrix;

use jsonwebtoken::Algorithm;
use live::{jwt_with, now, token, upload, Server, ADMIN, JWT_SECRET, MAX_FILE_SIZE};
use matrix::{bearer, cors, row, run, Auth, Row};
use reqwest::Method;
use serde_json::{json, Value};
fn authentication(alice_file: &str) -> Vec<Row> {
    let get = format!("/api/cloud/file/{alice_file}");
    let hs = |claims: Value| bearer(jwt_with(JWT_SECRET, Algorithm::HS256, &claims));
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&json!({"sub": "alice", "exp": now() + 600}))
    );
    let cases: Vec<(&str, Auth)> = vec![
        ("no header", Auth::None),
        ("Basic scheme", Auth::Header("Basic YWxpY2U6cHc=".into())),
        ("empty bearer", Auth::Header("Bearer ".into())),
        ("garbage token", Auth::Header("Bearer abc.def.ghi".into())),
        (
            "forged signature",
            bearer(jwt_with(
                "another-secret-of-at-least-32-bytes!!",
                Algorithm::HS256,
                &json!({"sub": "alice", "exp": now() + 600}),
            )),
        ),
        ("expired 10 s ago (leeway 5 s)", hs(json!({"sub": "alice", "exp": now() - 10}))),
        ("expired an hour ago", hs(json!({"sub": "alice", "exp": now() - 3600}))),
        ("nbf a minute ahead", hs(json!({"sub": "alice", "exp": now() + 600, "nbf": now() + 60}))),
        ("alg none", bearer(unsigned)),
        (
            "alg HS512 with the secret",
            bearer(jwt_with(JWT_SECRET, Algorithm::HS512, &json!({"sub": "alice", "exp": now() + 600}))),
        ),
        ("no exp", hs(json!({"sub": "alice"}))),
        ("no sub", hs(json!({"exp": now() + 600}))),
        ("sub ../bob", hs(json!({"sub": "../bob", "exp": now() + 600}))),
        ("sub empty", hs(json!({"sub": "", "exp": now() + 600}))),
        ("sub with a slash", hs(json!({"sub": "a/b", "exp": now() + 600}))),
    ];
    let mut rows = Vec::new();
    for (name, auth) in cases {
        rows.push(row(format!("GET, {name}"), Method::GET, &get, auth.clone(), &[401]).code("unauthenticated"));
        rows.push(
            row(format!("create, {name}"), Method::POST, "/api/cloud/file", auth, &[401])
                .json(json!({"filename": "a.bin", "size": 1})),
        );
    }
    rows.push(row("control: a valid token", Method::GET, &get, Auth::User("alice"), &[200]));
    rows.push(row(
        "control: nbf now",
        Method::GET,
        &get,
        hs(json!({"sub": "alice", "exp": now() + 60, "nbf": now()})),
        &[200],
    ));
    rows
}

fn ownership(alice: &str, bob: &str, feature: &str) -> Vec<Row> {
    let f = |id: &str, suffix: &str| format!("/api/cloud/file/{id}{suffix}");
    let move_body = json!({"folder": "documents"});
    vec![
        row("bob reads alice's", Method::GET, f(alice, ""), Auth::User("bob"), &[403]).code("forbidden"),
        row("bob downloads alice's", Method::GET, f(alice, "/download"), Auth::User("bob"), &[403]),
        row("bob links alice's", Method::POST, f(alice, "/link"), Auth::User("bob"), &[403]),
        row("bob moves alice's", Method::POST, f(alice, "/move"), Auth::User("bob"), &[403]).json(move_body.clone()),
        row("bob deletes alice's", Method::DELETE, f(alice, ""), Auth::User("bob"), &[403]),
        row("alice reads bob's", Method::GET, f(bob, ""), Auth::User("alice"), &[403]),
        row("alice deletes bob's", Method::DELETE, f(bob, ""), Auth::User("alice"), &[403]),
        row("a user whose id prefixes alice's", Method::GET, f(alice, ""), Auth::User("alic"), &[403]),
        row(
            "alice deletes her file once in a feature folder",
            Method::DELETE,
            f(feature, ""),
            Auth::User("alice"),
            &[403],
        ),
        row("bob moves a feature file", Method::POST, f(feature, "/move"), Auth::User("bob"), &[403]).json(move_body),
        row("unknown id", Method::GET, f("0123456789ABCDEF!1", ""), Auth::User("alice"), &[404]),
        row("control: bob reads a feature file", Method::GET, f(feature, ""), Auth::User("bob"), &[200]),
        row("control: alice reads hers", Method::GET, f(alice, ""), Auth::User("alice"), &[200]),
    ]
}

fn names() -> Vec<Row> {
    let long = "n".repeat(256);
    let hostile: Vec<&str> = vec![
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        "a:b",
        "a*b",
        "a?b",
        "a|b",
        "a<b",
        "a>b",
        "a\"b",
        "CON",
        "con.txt",
        "LPT1.log",
        "aux",
        "desktop.ini",
        ".lock",
        "~$doc.docx",
        "a_vti_b",
        "trailing.",
        "trailing ",
        " leading",
        "../up",
        "ctrl\u{1}",
        "nl\nx",
        "cr\rx",
        "tab\tx",
        "nul\0x",
        "del\u{7f}",
        "esc\u{1b}[31m",
        &long,
        // Unicode format characters and separators (invisible or direction-changing).
        "evil\u{202e}txt.exe",
        "zw\u{200b}space",
        "\u{feff}bom.txt",
        "ls\u{2028}x",
        "ps\u{2029}x",
        "lrm\u{200e}x",
        "wj\u{2060}x",
        "isolate\u{2066}x",
    ];
    let mut rows: Vec<Row> = hostile
        .into_iter()
        .map(|n| {
            row(format!("{n:?}"), Method::POST, "/api/cloud/file", Auth::User("namer"), &[400])
                .json(json!({"filename": n, "size": 10}))
                .code("invalid_filename")
        })
        .collect();
    for ok in ["photo 1.jpg", "Übung – été.pdf", "日本語.txt"] {
        rows.push(
            row(format!("control {ok:?}"), Method::POST, "/api/cloud/file", Auth::User("namer"), &[200])
                .json(json!({"filename": ok, "size": 10})),
        );
    }
    rows
}

fn folders(alice: &str) -> Vec<Row> {
    let path = format!("/api/cloud/file/{alice}/move");
    let mut rows: Vec<Row> =
        ["elsewhere", "../salon-photos", "salon-photos/..", "temp", "", "/", "salon-photos/x", "documents\u{202e}"]
            .into_iter()
            .map(|f| {
                row(format!("folder {f:?}"), Method::POST, &path, Auth::User("alice"), &[400])
                    .json(json!({"folder": f}))
                    .code("folder_not_allowed")
            })
            .collect();
    rows.push(row("folder missing", Method::POST, &path, Auth::User("alice"), &[400]).json(json!({})));
    rows.push(row("folder not a string", Method::POST, &path, Auth::User("alice"), &[400]).json(json!({"folder": 1})));
    rows
}

fn sizes() -> Vec<Row> {
    let mut rows = Vec::new();
    let cases: [(&str, Value, &'static [u16]); 7] = [
        ("negative", json!(-1), &[400]),
        ("fraction", json!(1.5), &[400]),
        ("string", json!("10"), &[400]),
        ("null", json!(null), &[400]),
        ("1e20", json!(1e20), &[400, 413]),
        ("u64::MAX", json!(u64::MAX), &[413]),
        ("one over the maximum", json!(MAX_FILE_SIZE + 1), &[413]),
    ];
    for (name, size, expect) in cases {
        rows.push(
            row(name, Method::POST, "/api/cloud/file", Auth::User("sizer"), expect)
                .json(json!({"filename": "s.bin", "size": size})),
        );
    }
    rows.push(
        row("missing", Method::POST, "/api/cloud/file", Auth::User("sizer"), &[400]).json(json!({"filename": "s.bin"})),
    );
    rows.push(
        row("control: the maximum", Method::POST, "/api/cloud/file", Auth::User("sizer"), &[200])
            .json(json!({"filename": "s.bin", "size": MAX_FILE_SIZE})),
    );
    rows
}

fn bodies(alice: &str) -> Vec<Row> {
    let create = "/api/cloud/file";
    let big = json!({"filename": "a.bin", "size": 1, "pad": "x".repeat(5000)}).to_string();
    vec![
        row("no content type", Method::POST, create, Auth::User("bodies"), &[400])
            .raw(None, r#"{"filename":"a","size":1}"#)
            .code("invalid_json"),
        row("text/plain", Method::POST, create, Auth::User("bodies"), &[400])
            .raw(Some("text/plain"), r#"{"filename":"a","size":1}"#),
        row("truncated JSON", Method::POST, create, Auth::User("bodies"), &[400]).raw(Some("application/json"), "{"),
        row("an array", Method::POST, create, Auth::User("bodies"), &[400]).raw(Some("application/json"), "[]"),
        row("empty", Method::POST, create, Auth::User("bodies"), &[400]).raw(Some("application/json"), ""),
        row("lone surrogate", Method::POST, create, Auth::User("bodies"), &[400])
            .raw(Some("application/json"), r#"{"filename":"\ud800","size":1}"#),
        row("over --max-body-bytes", Method::POST, create, Auth::User("bodies"), &[413])
            .raw(Some("application/json"), big.clone()),
        row(
            "move over --max-body-bytes",
            Method::POST,
            format!("/api/cloud/file/{alice}/move"),
            Auth::User("alice"),
            &[413],
        )
        .raw(Some("application/json"), big),
        row("move, not JSON", Method::POST, format!("/api/cloud/file/{alice}/move"), Auth::User("alice"), &[400])
            .raw(Some("application/json"), "folder=documents"),
        row("wrong method", Method::PUT, create, Auth::User("bodies"), &[405]),
    ]
}

fn ids() -> Vec<Row> {
    let long201 = "A".repeat(201);
    let long257 = "A".repeat(257);
    let cases: Vec<(&str, String)> = vec![
        ("tilde", "a~b".into()),
        ("201 characters", long201),
        ("257 characters", long257),
        ("dot dot", "..".into()),
        ("encoded dot dot", "%2e%2e".into()),
        ("encoded slash", "a%2Fb".into()),
        ("space", "a%20b".into()),
        ("leading dot", ".hidden".into()),
        ("NUL", "a%00b".into()),
        ("newline", "a%0Ab".into()),
        ("ESC", "a%1Bb".into()),
        ("non-ASCII", "%C3%A9t%C3%A9".into()),
        ("query-like", "a%3Fb%3Dc".into()),
        ("colon path", "root:%2Ftemp:".into()),
    ];
    let mut rows = Vec::new();
    for (name, id) in cases {
        for (verb, method, suffix) in
            [("GET", Method::GET, ""), ("download", Method::GET, "/download"), ("DELETE", Method::DELETE, "")]
        {
            rows.push(row(
                format!("{verb} {name}"),
                method,
                format!("/api/cloud/file/{id}{suffix}"),
                Auth::User("alice"),
                &[400, 404],
            ));
        }
    }
    rows
}

fn oauth_callback() -> Vec<Row> {
    vec![
        row("anonymous login", Method::GET, "/auth/login", Auth::None, &[401]),
        row("login with a wrong connect code", Method::GET, "/auth/login?connect=0123456789abcdef", Auth::None, &[401]),
        row("login with an empty connect code", Method::GET, "/auth/login?connect=", Auth::None, &[401]),
        row("login with a user's JWT", Method::GET, "/auth/login", Auth::User("alice"), &[401]),
        row(
            "login with a wrong admin token",
            Method::GET,
            "/auth/login",
            Auth::Header("Bearer wrong-admin-token-0123456789abcdef".into()),
            &[401],
        ),
        row(
            "control: admin login while connected",
            Method::GET,
            "/auth/login",
            Auth::Header(format!("Bearer {ADMIN}")),
            &[409],
        ),
        row("anonymous disconnect", Method::POST, "/auth/disconnect", Auth::None, &[401]),
        row("disconnect with a user's JWT", Method::POST, "/auth/disconnect", Auth::User("alice"), &[401]),
        row(
            "disconnect with a wrong admin token",
            Method::POST,
            "/auth/disconnect",
            Auth::Header("Bearer nope".into()),
            &[401],
        ),
        row("disconnect by GET", Method::GET, "/auth/disconnect", Auth::Header(format!("Bearer {ADMIN}")), &[405]),
        row(
            "callback with an identity error",
            Method::GET,
            "/getAToken?error=access_denied&error_description=no",
            Auth::None,
            &[400],
        ),
        row("callback without parameters", Method::GET, "/getAToken", Auth::None, &[400]),
        row(
            "callback, state never issued, with matching cookie",
            Method::GET,
            "/getAToken?code=x&state=y",
            Auth::None,
            &[400],
        )
        .header("cookie", "odu_oauth_state=y"),
        row("callback without cookie", Method::GET, "/getAToken?code=x&state=y", Auth::None, &[400]),
        row("callback with a code only", Method::GET, "/getAToken?code=x", Auth::None, &[400]),
        row("callback with a hostile error", Method::GET, "/getAToken?error=x%0AFAKE%1B[31m", Auth::None, &[400]),
    ]
}

fn dev_routes() -> Vec<Row> {
    vec![
        row("dev token without --dev", Method::GET, "/dev/token?user=alice", Auth::None, &[404]),
        row("dev info without --dev", Method::GET, "/dev/info", Auth::None, &[404]),
        row("emulator control API is not the server's", Method::GET, "/_emulator/sessions", Auth::None, &[404]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = live::emulator(dir.path()).await;
    let mut args = live::microsoft_args(&emulator.base_url, &dir.path().join("data"));
    args.extend(["--admin-token".to_owned(), ADMIN.to_owned()]);
    let server = Server::start(&args, false);
    // Before the operator connects: nothing is served, and strangers cannot connect.
    let before = run(
        &server,
        "not connected",
        vec![
            row("anonymous login", Method::GET, "/auth/login", Auth::None, &[401]),
            row("create", Method::POST, "/api/cloud/file", Auth::User("alice"), &[503])
                .json(json!({"filename": "a.bin", "size": 1}))
                .code("account_disconnected"),
        ],
    )
    .await;
    assert!(before.is_empty(), "{before}");
    server.connect().await;

    let alice = upload(&server, "alice", "mine.bin", b"alice's bytes").await["id"].as_str().unwrap().to_owned();
    let bob = upload(&server, "bob", "mine.bin", b"bob's bytes").await["id"].as_str().unwrap().to_owned();
    let feature = upload(&server, "alice", "shared.bin", b"shared").await["id"].as_str().unwrap().to_owned();
    let moved = server
        .http
        .post(format!("{}/api/cloud/file/{feature}/move", server.base))
        .bearer_auth(token("alice"))
        .json(&json!({"folder": "salon-photos"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);

    let mut report = String::new();
    report += &run(&server, "authentication", authentication(&alice)).await;
    report += &run(&server, "ownership", ownership(&alice, &bob, &feature)).await;
    report += &run(&server, "names", names()).await;
    report += &run(&server, "folders", folders(&alice)).await;
    report += &run(&server, "sizes", sizes()).await;
    report += &run(&server, "bodies", bodies(&alice)).await;
    report += &run(&server, "ids", ids()).await;
    report += &cors(&server).await;
    report += &run(&server, "OAuth callback", oauth_callback()).await;
    report += &run(&server, "dev routes", dev_routes()).await;
    assert!(report.is_empty(), "{report}");
    let log = server.log();
    assert!(!log.contains(ADMIN), "the admin token reached the log");
    assert!(!log.lines().any(|l| l.starts_with("FAKE")), "a forged log line:\n{log}");
    assert!(!log.contains('\u{1b}'), "a raw ESC reached the log");
    drop(server);
    emulator.shutdown().await;
}
