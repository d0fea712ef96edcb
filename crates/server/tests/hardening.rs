//! Security findings, each against the real binary (or the library over loopback) and the real
//! emulator: operator-only connect and disconnect, the embedded emulator's clients, log
//! injection, private data at rest, durable token writes, per-user session limits, throttling.

mod live;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use live::{token, upload, Server, ADMIN};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_connects_and_switches_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = live::emulator(dir.path()).await;
    let data = dir.path().join("data");
    let mut args = live::microsoft_args(&emulator.base_url, &data);
    args.extend(["--admin-token".to_owned(), ADMIN.to_owned()]);
    let server = Server::start(&args, false);
    let login = |q: &str| server.http.get(format!("{}/auth/login{q}", server.base));

    // A stranger gets a 401 and no redirect to the identity platform.
    let anonymous = login("").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().get("location").is_none() && anonymous.headers().get("set-cookie").is_none());
    // The connect URL printed at start works once.
    let code = server.connect_code(0).await;
    let first = login(&format!("?connect={code}")).send().await.unwrap();
    let again = login(&format!("?connect={code}")).send().await.unwrap();
    assert_eq!(again.status(), 401, "single use");
    // A callback for a login nobody started is refused, the operator's completes.
    let forged = server
        .http
        .get(format!("{}/getAToken?code=abc&state=def", server.base))
        .header("cookie", "odu_oauth_state=def")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(server.finish_login(first).await, 200);
    assert_eq!(server.health().await["account"], "connected");
    let item = upload(&server, "alice", "a.bin", b"first account").await;
    assert!(item["id"].is_string());

    // Switching accounts: only with the admin token; the token file goes, a new connect URL is logged.
    let disconnect = |auth: Option<&str>| {
        let r = server.http.post(format!("{}/auth/disconnect", server.base));
        match auth {
            Some(a) => r.bearer_auth(a),
            None => r,
        }
    };
    assert_eq!(disconnect(None).send().await.unwrap().status(), 401);
    assert_eq!(disconnect(Some(&token("alice"))).send().await.unwrap().status(), 401);
    assert_eq!(server.health().await["account"], "connected");
    let mark = server.log().len();
    let done = disconnect(Some(ADMIN)).send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(done.json::<Value>().await.unwrap()["account"], "not_connected");
    assert_eq!(server.health().await["account"], "not_connected");
    assert!(!data.join("tokens.json").exists(), "the token file is removed");
    let second = server.connect_code(mark).await;
    assert_ne!(second, code);
    let create = server
        .http
        .post(format!("{}/api/cloud/file", server.base))
        .bearer_auth(token("alice"))
        .json(&json!({"filename": "b.bin", "size": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 503);
    // Automation connects with the admin token instead of the connect URL.
    let admin = login("").bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(server.finish_login(admin).await, 200);
    assert_eq!(server.health().await["account"], "connected");
    assert!(data.join("tokens.json").exists());
    assert!(!server.log().contains(ADMIN));
    drop(server);
    emulator.shutdown().await;
}

#[tokio::test]
async fn without_admin_token_disconnect_is_forbidden() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = live::emulator(dir.path()).await;
    let server = Server::start(&live::microsoft_args(&emulator.base_url, &dir.path().join("data")), false);
    let response =
        server.http.post(format!("{}/auth/disconnect", server.base)).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("--admin-token"));
    drop(server);
    emulator.shutdown().await;
}

/// The embedded emulator's base URL, from the server's log.
async fn embedded_emulator_url(server: &Server) -> String {
    let line = server.wait_log("embedded OneDrive emulator connected", 0).await;
    line.split("emulator=").nth(1).unwrap().split_whitespace().next().unwrap().trim_matches('"').to_owned()
}

/// What the emulator's authorize endpoint answers the well-known dev client.
async fn dev_client_authorize(emulator: &str) -> u16 {
    let url = format!(
        "{emulator}/common/oauth2/v2.0/authorize?client_id=onedrive-upload-dev&response_type=code\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=Files.ReadWrite.All&state=s"
    );
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    http.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn embedded_mode_registers_the_dev_client_only_with_dev() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let args: Vec<String> = ["--listen", "127.0.0.1:0", "--data-dir", &data, "--jwt-secret", live::JWT_SECRET]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let server = Server::start(&args, false);
    let emulator = embedded_emulator_url(&server).await;
    assert_eq!(dev_client_authorize(&emulator).await, 400, "the dev client is unknown without --dev");
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let server = Server::start(&["--listen", "127.0.0.1:0", "--data-dir", &data, "--dev"].map(String::from), false);
    let emulator = embedded_emulator_url(&server).await;
    assert_eq!(dev_client_authorize(&emulator).await, 302, "--dev keeps the dev client");
}

#[tokio::test]
async fn client_values_cannot_forge_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = live::emulator(dir.path()).await;
    let server = Server::start(&live::microsoft_args(&emulator.base_url, &dir.path().join("data")), false);
    let hostile =
        server.http.get(format!("{}/getAToken?error=x%0AFAKE-LINE%1B[31m%E2%80%A8U2028", server.base)).send().await;
    assert_eq!(hostile.unwrap().status(), 400);
    let forged = server
        .http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "1 user=bob path=/x")
        .send()
        .await
        .unwrap();
    let id = forged.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "1 user=bob path=/x", "an unsafe request id is replaced");
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{id}");
    let kept = server.http.get(format!("{}/healthz", server.base)).header("x-request-id", "req-42.a_b").send().await;
    assert_eq!(kept.unwrap().headers()["x-request-id"], "req-42.a_b", "a safe request id is kept");
    let too_long = "a".repeat(65);
    let long = server.http.get(format!("{}/healthz", server.base)).header("x-request-id", &too_long).send().await;
    assert_ne!(long.unwrap().headers()["x-request-id"], too_long.as_str());
    server.wait_log("req-42.a_b", 0).await;
    let log = server.wait_log("login refused", 0).await;
    assert!(log.contains("FAKE-LINE"), "the value is logged, escaped: {log}");
    let all = server.log();
    assert!(!all.lines().any(|l| l.starts_with("FAKE-LINE") || l.starts_with("U2028")), "forged line:\n{all}");
    assert!(!all.contains('\u{1b}') && !all.contains('\u{2028}'), "raw ESC or separator in the log");
    assert!(!all.contains("user=bob"), "forged fields in the log:\n{all}");
    drop(server);
    emulator.shutdown().await;
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn data_at_rest_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.to_string_lossy().into_owned();
    let server = Server::start(&["--listen", "127.0.0.1:0", "--data-dir", &path, "--dev"].map(String::from), true);
    server.wait_log("embedded OneDrive emulator connected", 0).await;
    // A committed file, a session in progress (with its first bytes) and a simple upload.
    let token: Value =
        server.http.get(format!("{}/dev/token?user=alice", server.base)).send().await.unwrap().json().await.unwrap();
    let token = token["token"].as_str().unwrap();
    for (name, size) in [("done.bin", 10), ("partial.bin", 20)] {
        let s: Value = server
            .http
            .post(format!("{}/api/cloud/file", server.base))
            .bearer_auth(token)
            .json(&json!({"filename": name, "size": size}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = s["uploadUrl"].as_str().unwrap().to_owned();
        let put = reqwest::Client::new().put(&url).header("content-range", "bytes 0-9/".to_owned() + &size.to_string());
        assert!(put.body(vec![7u8; 10]).send().await.unwrap().status().is_success());
    }
    let emulator = data.join("emulator");
    for d in [&data, &emulator, &emulator.join("blobs"), &emulator.join("sessions")] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
    let mut files = vec![data.join("tokens-embedded.json"), emulator.join("emulator.sqlite3")];
    for sub in ["blobs", "sessions"] {
        for entry in std::fs::read_dir(emulator.join(sub)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    for entry in std::fs::read_dir(&emulator).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            files.push(p);
        }
    }
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
}
