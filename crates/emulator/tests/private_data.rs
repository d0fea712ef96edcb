//! The emulator binary keeps its data private whatever the umask: directories 0700, files 0600
//! (the SQLite database holds the key that signs download URLs; blobs are users' files).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_onedrive-emulator");

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn data_is_0700_and_0600_under_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new("sh")
        .args(["-c", "umask 000 && exec \"$0\" \"$@\"", BIN, "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").expect("ready line").to_owned();
    let http = common::http();
    let (token, _) = common::login(&http, &base).await;
    let graph = |path: &str| format!("{base}/v1.0/me/drive/{path}");
    // A committed upload, a session with its first bytes, and a simple upload.
    for (name, total) in [("done.bin", 10u64), ("partial.bin", 20)] {
        let session: serde_json::Value = http
            .post(graph(&format!("special/approot:/{name}:/createUploadSession")))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = session["uploadUrl"].as_str().unwrap();
        assert!(common::put(&http, url, &[1u8; 10], 0, total).await.status().is_success());
    }
    let simple = http.put(graph("special/approot:/small.txt:/content")).bearer_auth(&token).body("hello").send().await;
    assert!(simple.unwrap().status().is_success());
    for d in [data.clone(), data.join("blobs"), data.join("sessions")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let mut files = Vec::new();
    for d in [data.clone(), data.join("blobs"), data.join("sessions")] {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("emulator.sqlite3")));
    assert!(files.len() >= 5, "database, its WAL, two blobs, a part file: {files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    let _ = child.kill();
    let _ = child.wait();
}
