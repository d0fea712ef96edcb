//! The identity platform end to end: authorize -> code -> token -> Graph -> refresh rotation,
//! and the refusals in Microsoft's shape.

mod common;

use common::*;
use onedrive_emulator::{ClientRegistration, DEV_CLIENT_ID, DEV_CLIENT_SECRET};
use serde_json::Value;
use std::time::Duration;

fn aadsts(v: &Value) -> u64 {
    v["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn code_flow_refresh_rotation_and_reuse() {
    let emu = start().await;
    let http = http();
    let code = authorize(&http, &emu.base, "st-1").await;
    let (status, body) = redeem(&http, &emu.base, &code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let me = http.get(format!("{}/v1.0/me/drive/root", emu.base)).bearer_auth(&access).send().await.unwrap();
    assert_eq!(me.status(), 200);

    // A code works once.
    let (status, again) = redeem(&http, &emu.base, &code, VERIFIER).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(aadsts(&again), 54005);
    assert!(again["error_description"].as_str().unwrap().starts_with("AADSTS54005:"));

    // Refresh returns a new refresh token that works; the old one is refused.
    let form = |rt: &str| {
        vec![
            ("client_id", DEV_CLIENT_ID.to_owned()),
            ("client_secret", DEV_CLIENT_SECRET.to_owned()),
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", rt.to_owned()),
            ("scope", "offline_access Files.ReadWrite.All".to_owned()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = format!("{}/common/oauth2/v2.0/token", emu.base);
        async move {
            let r = http.post(url).form(&f).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, rotated) = send(form(&refresh)).await;
    assert_eq!(status, 200, "{rotated}");
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh);
    let access2 = rotated["access_token"].as_str().unwrap();
    assert_eq!(
        http.get(format!("{}/v1.0/me/drive/root", emu.base)).bearer_auth(access2).send().await.unwrap().status(),
        200
    );
    let (status, old) = send(form(&refresh)).await;
    assert_eq!((status, old["error"].as_str()), (400, Some("invalid_grant")));
    let (status, third) = send(form(&refresh2)).await;
    assert_eq!(status, 200, "{third}");
    emu.shutdown().await;
}

#[tokio::test]
async fn pkce_client_and_redirect_checks() {
    let emu = start().await;
    let http = http();
    let code = authorize(&http, &emu.base, "s").await;
    let (status, bad) = redeem(&http, &emu.base, &code, "wrong-verifier-wrong-verifier-wrong-verifier-00").await;
    assert_eq!((status, bad["error"].as_str(), aadsts(&bad)), (400, Some("invalid_grant"), 501481));
    // The failed attempt used the code up.
    assert_eq!(redeem(&http, &emu.base, &code, VERIFIER).await.0, 400);

    let code = authorize(&http, &emu.base, "s").await;
    let (status, body) = token_request(
        &http,
        &emu.base,
        &[
            ("client_id", DEV_CLIENT_ID),
            ("client_secret", "nope"),
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) = token_request(
        &http,
        &emu.base,
        &[("client_id", "unknown"), ("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")));
    let (status, body) = token_request(
        &http,
        &emu.base,
        &[("client_id", DEV_CLIENT_ID), ("client_secret", DEV_CLIENT_SECRET), ("grant_type", "password")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));

    // A redirect URI that is not registered is never redirected to.
    let r = http
        .get(format!("{}/common/oauth2/v2.0/authorize", emu.base))
        .query(&[
            ("client_id", DEV_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("{}/common/oauth2/v2.0/authorize", emu.base))
        .query(&[
            ("client_id", DEV_CLIENT_ID),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("scope", "x"),
            ("state", "q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(loc.contains("error=unsupported_response_type") && loc.contains("state=q"), "{loc}");
    emu.shutdown().await;
}

#[tokio::test]
async fn graph_requires_a_valid_unexpired_token() {
    let emu = start_with(|c| {
        c.access_token_ttl = Duration::from_millis(1500);
        c.clients.push(ClientRegistration::parse("site:s3:https://site.example/cb").unwrap());
    })
    .await;
    let url = emu.graph("root");
    for auth in [None, Some("Bearer "), Some("Bearer not-a-token"), Some("Basic abc")] {
        let mut req = emu.http.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert!(r.headers().contains_key("www-authenticate"));
        assert_eq!(error_code(&r.json().await.unwrap()).0, "InvalidAuthenticationToken");
    }
    assert_eq!(emu.get("root").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let expired = emu.get("root").await;
    assert_eq!(expired.status(), 401);
    assert!(expired.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("expired"));
    emu.shutdown().await;
}

#[tokio::test]
async fn revoked_tokens_are_refused() {
    use onedrive_emulator::store::tokens::TokenKind;
    let mut emu = start().await;
    let (access, refresh) = login(&emu.http, &emu.base).await;
    emu.token = access;
    assert_eq!(emu.get("root").await.status(), 200, "cached as valid first");
    emu.running.state().revoke_tokens(TokenKind::Access).await.unwrap();
    let r = emu.get("root").await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_code(&r.json().await.unwrap()).0, "InvalidAuthenticationToken");
    emu.running.state().revoke_tokens(TokenKind::Refresh).await.unwrap();
    let form = [
        ("client_id", DEV_CLIENT_ID),
        ("client_secret", DEV_CLIENT_SECRET),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let (status, body) = token_request(&emu.http, &emu.base, &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // A new sign-in is not affected.
    let (fresh, _) = login(&emu.http, &emu.base).await;
    emu.token = fresh;
    assert_eq!(emu.get("root").await.status(), 200);
    emu.shutdown().await;
}
