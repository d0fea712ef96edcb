//! Downloads: `/content` redirects to a short-lived pre-authenticated URL honouring Range,
//! sharing links (201 then 200), CORS on pre-authenticated URLs.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn content_redirect_and_ranges() {
    let emu = start().await;
    let data = pattern(700_000, 9);
    let url = emu.session("special/approot:/temp/u/d.bin:", json!({})).await;
    let item = upload_all(&emu.http, &url, &data, 327_680).await;
    let id = item["id"].as_str().unwrap();
    let r = emu.get(&format!("items/{id}/content")).await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/download/", emu.base)));
    let plain = http();
    let full = plain.get(&location).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    assert_eq!(full.bytes().await.unwrap().as_ref(), data.as_slice());
    let part = plain.get(&location).header("range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/700000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &data[1000..2000]);
    let tail = plain.get(&location).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &data[699_990..]);
    let open = plain.get(&location).header("range", "bytes=699999-").send().await.unwrap();
    assert_eq!(open.bytes().await.unwrap().as_ref(), &data[699_999..]);
    let beyond = plain.get(&location).header("range", "bytes=700000-").send().await.unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(beyond.headers()["content-range"], "bytes */700000");
    // Tampered tokens are refused; the driveItem's downloadUrl works too.
    let tampered = location.replace(id, "01AAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(plain.get(&tampered).send().await.unwrap().status(), 401);
    let dl = item["@microsoft.graph.downloadUrl"].as_str().unwrap();
    assert_eq!(plain.get(dl).send().await.unwrap().bytes().await.unwrap().len(), 700_000);
    let folder: Value = emu.get("special/approot").await.json().await.unwrap();
    assert_eq!(emu.get(&format!("items/{}/content", folder["id"].as_str().unwrap())).await.status(), 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn share_links_201_then_200() {
    let emu = start().await;
    let url = emu.session("root:/share.txt:", json!({})).await;
    let item = upload_all(&emu.http, &url, b"shared bytes", 1 << 20).await;
    let id = item["id"].as_str().unwrap();
    let body = json!({"type": "view", "scope": "anonymous"});
    let first = emu.post_json(&format!("items/{id}/createLink"), body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["roles"], json!(["read"]));
    assert_eq!(first["link"]["type"], "view");
    let again = emu.post_json(&format!("items/{id}/createLink"), body).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["link"]["webUrl"], first["link"]["webUrl"]);
    let web = first["link"]["webUrl"].as_str().unwrap();
    let r = http().get(format!("{web}?download=1")).send().await.unwrap();
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(r.text().await.unwrap(), "shared bytes");
    assert_eq!(emu.post_json(&format!("items/{id}/createLink"), json!({"type": "bogus"})).await.status(), 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn upload_urls_answer_cors_preflights_for_any_origin() {
    let emu = start().await;
    let url = emu.session("root:/cors.bin:", json!({})).await;
    let r = http()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://page.example:3000")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-range")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-allow-methods"].to_str().unwrap().contains("PUT"));
    assert!(r.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase().contains("content-range"));
    let put = http()
        .put(&url)
        .header("origin", "http://page.example:3000")
        .header("content-range", "bytes 0-2/4")
        .body(b"abc".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 202);
    assert_eq!(put.headers()["access-control-allow-origin"], "*");
    assert!(put.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase().contains("retry-after"));
    emu.shutdown().await;
}

#[tokio::test]
async fn wrong_methods_are_graph_shaped_405() {
    let emu = start().await;
    let r = http().put(format!("{}/download/x.1.y", emu.base)).body("x").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalidRequest");
    let r = emu.http.put(emu.graph("root/children")).bearer_auth(&emu.token).body("x").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.json::<Value>().await.unwrap()["error"]["code"].is_string());
    emu.shutdown().await;
}

/// Download and share URLs behave as SharePoint's download hosts are documented to: a simple GET
/// from any origin gets `Access-Control-Allow-Origin: *`, but a CORS preflight is not answered
/// with permission (so a page must not send `Authorization` or other custom headers there).
#[tokio::test]
async fn download_and_share_urls_allow_simple_gets_but_no_preflight() {
    let emu = start().await;
    let url = emu.session("root:/simple.bin:", json!({})).await;
    let item = upload_all(&emu.http, &url, b"0123456789", 1 << 20).await;
    let id = item["id"].as_str().unwrap();
    let download = emu.get(&format!("items/{id}/content")).await.headers()["location"].to_str().unwrap().to_owned();
    let link: Value = emu
        .post_json(&format!("items/{id}/createLink"), json!({"type": "view", "scope": "anonymous"}))
        .await
        .json()
        .await
        .unwrap();
    let share = format!("{}?download=1", link["link"]["webUrl"].as_str().unwrap());
    for target in [&download, &share] {
        let preflight = http()
            .request(reqwest::Method::OPTIONS, target)
            .header("origin", "http://page.example:3000")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert!(!preflight.status().is_success(), "{target}: preflight answered {}", preflight.status());
        for name in ["access-control-allow-origin", "access-control-allow-headers", "access-control-allow-methods"] {
            assert!(preflight.headers().get(name).is_none(), "{target}: preflight has {name}");
        }
        let simple = http()
            .get(target.as_str())
            .header("origin", "http://page.example:3000")
            .header("range", "bytes=2-5")
            .send()
            .await
            .unwrap();
        assert_eq!(simple.status(), 206, "{target}");
        assert_eq!(simple.headers()["access-control-allow-origin"], "*");
        let exposed = simple.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase();
        assert!(exposed.contains("content-range") && exposed.contains("content-length"), "{exposed}");
        assert_eq!(simple.bytes().await.unwrap().as_ref(), b"2345");
    }
    emu.shutdown().await;
}
