//! HTTPS with the generated development CA, upload and download URLs on a second host name
//! (127.0.0.2) as OneDrive hands them out, `--public-url`, and the one-request token for tests.

mod common;

use common::*;
use onedrive_emulator::{spawn_with, EmulatorConfig, RunningEmulator, TlsSource, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use serde_json::{json, Value};

async fn start_tls(dir: &std::path::Path, public_url: Option<&str>) -> RunningEmulator {
    let config = EmulatorConfig {
        data_dir: dir.to_path_buf(),
        tls: Some(TlsSource::Generated),
        public_url: public_url.map(str::to_owned),
        ..Default::default()
    };
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let content = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    spawn_with(config, api, Some(content)).await.unwrap()
}

fn trusting(ca: &std::path::Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn client_credentials(http: &reqwest::Client, base: &str, secret: &str, scope: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", DEV_CLIENT_ID),
        ("client_secret", secret),
        ("scope", scope),
    ];
    token_request(http, base, &form).await
}

#[tokio::test]
async fn https_with_generated_ca_and_content_on_its_own_host() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start_tls(dir.path(), None).await;
    assert!(emu.base_url.starts_with("https://127.0.0.1:"), "{}", emu.base_url);
    assert!(emu.content_url.starts_with("https://127.0.0.2:"), "{}", emu.content_url);
    let ca = emu.ca_cert.clone().unwrap();
    let http = trusting(&ca);

    let (status, body) =
        client_credentials(&http, &emu.base_url, DEV_CLIENT_SECRET, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap().to_owned();

    let graph = |p: &str| format!("{}/v1.0/me/drive/{p}", emu.base_url);
    let r = http
        .post(graph("root:/docs/tls.bin:/createUploadSession"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let url = r.json::<Value>().await.unwrap()["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/upload/", emu.content_url)), "{url}");
    let data = pattern(100_000, 7);
    let r = put(&http, &url, &data, 0, data.len() as u64).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["request-id"].len(), 36, "request-id on the content host too");
    let item: Value = r.json().await.unwrap();
    let download = item["@microsoft.graph.downloadUrl"].as_str().unwrap();
    assert!(download.starts_with(&format!("{}/download/", emu.content_url)), "{download}");
    assert_eq!(http.get(download).send().await.unwrap().bytes().await.unwrap().as_ref(), &data[..]);

    // The content host serves no Graph API; plain http is refused by the TLS listener.
    let r = http.get(format!("{}/v1.0/me/drive/root", emu.content_url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let plain = emu.base_url.replace("https://", "http://");
    assert!(common::http().get(format!("{plain}/v1.0/me/drive/root")).send().await.is_err());
    emu.shutdown().await;

    // The CA is kept: a restart on the same data directory is trusted by the same client.
    let ca_before = std::fs::read(&ca).unwrap();
    let emu = start_tls(dir.path(), Some("https://files.example.test:9/")).await;
    assert_eq!(std::fs::read(emu.ca_cert.as_ref().unwrap()).unwrap(), ca_before);
    assert_eq!(emu.content_url, "https://files.example.test:9");
    let r = http
        .post(format!("{}/v1.0/me/drive/root:/docs/p.bin:/createUploadSession", emu.base_url))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the token and the CA survive the restart");
    let url = r.json::<Value>().await.unwrap()["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://files.example.test:9/upload/"), "{url}");
    emu.shutdown().await;
}

#[tokio::test]
async fn client_credentials_needs_a_secret_and_a_default_scope() {
    let emu = start_with(|c| {
        c.clients.push(onedrive_emulator::ClientRegistration::parse("spa::http://localhost:3000/").unwrap())
    })
    .await;
    let http = http();
    let (status, body) = client_credentials(&http, &emu.base, "wrong", "https://graph.microsoft.com/.default").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) = client_credentials(&http, &emu.base, DEV_CLIENT_SECRET, "Files.ReadWrite.All").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")));
    assert_eq!(body["error_codes"][0], 1002012);
    let public =
        [("grant_type", "client_credentials"), ("client_id", "spa"), ("scope", "https://graph.microsoft.com/.default")];
    let (status, body) = token_request(&http, &emu.base, &public).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) =
        client_credentials(&http, &emu.base, DEV_CLIENT_SECRET, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 200, "{body}");
    let r = http.get(emu.graph("root")).bearer_auth(body["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    emu.shutdown().await;
}
