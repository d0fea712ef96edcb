//! The binary: `listening on http://ADDR` on stdout, refusals at start-up, graceful SIGTERM.

use onedrive_upload_testkit::ListeningChild;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_onedrive-upload-server");

#[test]
fn help_documents_flags_and_env() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--listen",
        "ODU_LISTEN",
        "--data-dir",
        "--client-id",
        "--dev",
        "--folder",
        "--emulator-fault-injection",
        "--www",
        "--pkg",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn dev_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        Command::new(BIN).args(["--dev", "--listen", "0.0.0.0:0", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn microsoft_mode_listens_reports_not_connected_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let child = ListeningChild::spawn(
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--admin-token",
                "binary-test-admin-token-0123456789ab",
                "--client-id",
                "abc",
                "--client-secret",
                "s",
                "--redirect-uri",
                "http://127.0.0.1:1/cb",
            ])
            .args(["--jwt-secret", "0123456789abcdef0123456789abcdef", "--data-dir"])
            .arg(dir.path())
            .env_remove("RUST_LOG")
            .stderr(Stdio::null()),
    );
    let base = child.url.clone();
    assert!(base.starts_with("http://127.0.0.1:"));
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["mode"], "microsoft");
    assert_eq!(health["account"], "not_connected");
    let login = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(login.get(format!("{base}/auth/login")).send().await.unwrap().status(), 401, "operator only");
    let admin = "binary-test-admin-token-0123456789ab";
    let response = login.get(format!("{base}/auth/login")).bearer_auth(admin).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?"));
    assert!(location.contains("code_challenge_method=S256"));
    let callback = login.get(format!("{base}/cb?code=x&state=y")).send().await.unwrap();
    assert_eq!(callback.status(), 400, "callback path taken from --redirect-uri");
    assert!(child.terminate(), "graceful exit on SIGTERM");
}

#[tokio::test]
async fn embedded_dev_mode_connects_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let child = ListeningChild::spawn(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--dev", "--emulator-fault-injection", "--data-dir"])
            .arg(dir.path())
            .stderr(Stdio::null()),
    );
    let base = child.url.clone();
    let info: serde_json::Value = reqwest::get(format!("{base}/dev/info")).await.unwrap().json().await.unwrap();
    assert_eq!(info["mode"], "embedded");
    assert_eq!(info["faultInjection"], true);
    let emulator = info["emulator"].as_str().unwrap().to_owned();
    assert_ne!(emulator, base, "the emulator has its own port (uploads stay cross-origin)");
    let sessions = reqwest::get(format!("{emulator}/_emulator/sessions")).await.unwrap();
    assert_eq!(sessions.status(), 200);
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["account"], "connected");
    let token: serde_json::Value =
        reqwest::get(format!("{base}/dev/token?user=alice")).await.unwrap().json().await.unwrap();
    let session = reqwest::Client::new()
        .post(format!("{base}/api/cloud/file"))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&serde_json::json!({"filename": "a.bin", "size": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 200);
    let session: serde_json::Value = session.json().await.unwrap();
    assert!(session["uploadUrl"].as_str().unwrap().starts_with(&emulator));
    assert!(child.terminate(), "graceful exit on SIGTERM");
}
