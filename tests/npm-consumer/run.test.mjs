// The npm consumer test: pkg/ is a valid npm package; installed with `npm install` (file:../../pkg)
// (and packages/uppy-onedrive, whose declarations src/uppy.ts type-checks against @uppy/core 6)
// it type-checks under tsc with every option, bundles with Vite 7, and the built bundle, served from
// another loopback origin, uploads files through the real server + emulator in headless Chromium.
// Run (after `npm install` here and in ../e2e): ODU_SERVER_BIN=... node --test

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  launchBrowser, makeBytes, requirePkg, screenshot, startServer, storedBytes, watchPage,
} from "../e2e/lib/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = (name) => path.join(here, "node_modules/.bin", name);

/** Runs a command in this directory; answers { code, output }. */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: here, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => { output += d; });
    child.stderr.on("data", (d) => { output += d; });
    child.on("close", (code) => resolve({ code, output }));
  });
}

const MIME = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".svg": "image/svg+xml" };

/** A tiny static server for dist/ on 127.0.0.1 (an origin other than the upload server's). */
function serveDir(dir) {
  const server = createServer((request, response) => {
    const url = new URL(request.url, "http://x");
    const file = path.join(dir, url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname));
    if (!file.startsWith(dir) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": MIME[path.extname(file)] ?? "application/octet-stream" });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("npm consumer of pkg/", { timeout: 300_000 }, () => {
  let pkg;

  before(() => {
    pkg = requirePkg();
    assert.ok(existsSync(path.join(here, "node_modules/onedrive-upload/package.json")),
      "run `npm install` in tests/npm-consumer first");
  });

  test("pkg/package.json is a valid npm package", () => {
    const manifest = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8"));
    assert.equal(manifest.name, "onedrive-upload");
    for (const field of ["version", "description", "license", "repository", "types", "files"]) {
      assert.ok(manifest[field], `package.json has "${field}"`);
    }
    assert.equal(manifest.type, "module");
    assert.ok(existsSync(path.join(pkg, manifest.types)), `types file ${manifest.types} exists`);
    const entry = manifest.module ?? manifest.main;
    assert.ok(entry && existsSync(path.join(pkg, entry)), `entry ${entry} exists`);
    for (const file of [entry, manifest.types, "onedrive_upload_bg.wasm"]) {
      assert.ok(manifest.files.includes(file), `"files" ships ${file}: ${JSON.stringify(manifest.files)}`);
    }
  });

  test("tsc --noEmit accepts an app using every option (and one using the Uppy plugin, src/uppy.ts)", async () => {
    const { code, output } = await run(bin("tsc"), ["--noEmit", "-p", "."]);
    assert.equal(code, 0, output);
  });

  test("the shipped types are real: a wrong option type is a tsc error", async () => {
    const bad = path.join(here, "negative.tmp.ts");
    writeFileSync(bad, [
      'import { uploadFile } from "onedrive-upload";',
      'export const p = uploadFile(new File([], "x"), { chunkSize: "ten megabytes" });',
      "",
    ].join("\n"));
    try {
      const { code, output } = await run(bin("tsc"), [
        "--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
        "--lib", "es2022,esnext.disposable,dom", bad,
      ]);
      assert.notEqual(code, 0, "tsc accepted chunkSize: string");
      assert.match(output, /negative\.tmp\.ts\(2,\d+\): error TS\d+: .*(chunkSize|'string' is not assignable to type 'number')/, output);
    } finally {
      rmSync(bad, { force: true });
    }
  });

  test("uppy-onedrive's types are real: a wrong plugin option is a tsc error", async () => {
    const bad = path.join(here, "src/negative-uppy.tmp.ts");
    writeFileSync(bad, [
      'import Uppy from "@uppy/core";',
      'import OneDrive from "uppy-onedrive";',
      'export const u = new Uppy().use(OneDrive, { limit: "three" });',
      "",
    ].join("\n"));
    try {
      const { code, output } = await run(bin("tsc"), ["--noEmit", "-p", "."]);
      assert.notEqual(code, 0, "tsc accepted limit: string");
      assert.match(output, /negative-uppy\.tmp\.ts\(3,\d+\): error TS\d+: .*(limit|'string' is not assignable to type 'number')/, output);
    } finally {
      rmSync(bad, { force: true });
    }
  });

  describe("the Vite bundle", () => {
    let server;
    let staticServer;
    let browser;

    before(async () => {
      const { code, output } = await run(bin("vite"), ["build"]);
      assert.equal(code, 0, output);
      server = await startServer({ label: "npm-consumer" });
      staticServer = await serveDir(path.join(here, "dist"));
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      staticServer?.close();
      await server?.stop();
    });

    test("vite build emitted the page, its script and the wasm", () => {
      const assets = readdirSync(path.join(here, "dist/assets"));
      assert.ok(existsSync(path.join(here, "dist/index.html")));
      assert.ok(assets.some((f) => f.endsWith(".js")), assets.join(", "));
      assert.ok(assets.some((f) => f.endsWith(".wasm")), assets.join(", "));
    });

    test("the bundle uploads files from another origin; the bytes reach the emulator", async () => {
      const page = await browser.newPage();
      watchPage(page, "npm-consumer");
      const origin = `http://127.0.0.1:${staticServer.address().port}`;
      await page.goto(`${origin}/?server=${encodeURIComponent(server.url)}`);
      await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
      assert.equal(await page.evaluate(() => document.body.dataset.ready), "true", await page.locator("#status").textContent());

      const files = { "npm-every-option.bin": makeBytes(3 * 327680 + 5, 11), "npm-endpoint.bin": makeBytes(100_000, 12) };
      await page.getByLabel("Files to upload").setInputFiles(
        Object.entries(files).map(([name, buffer]) => ({ name, mimeType: "application/octet-stream", buffer })),
      );
      await page.waitForFunction(() => document.body.dataset.done, null, { timeout: 120_000 });
      const result = JSON.parse(await page.locator("#result").textContent());
      await screenshot(page, "npm-consumer");
      assert.ok(Array.isArray(result), JSON.stringify(result));
      assert.deepEqual(result.map((r) => r.name), Object.keys(files));
      for (const uploaded of result) {
        const stored = await storedBytes(server.emulator, uploaded.id);
        assert.ok(stored.equals(files[uploaded.name]), `${uploaded.name}: stored bytes differ`);
        assert.equal(uploaded.size, files[uploaded.name].length);
        assert.ok(uploaded.quickXorHash, "the item has a QuickXorHash");
      }
      const [first] = result;
      assert.ok(first.progressEvents > 0, "onProgress was called");
      assert.equal(first.lastProgress.totalBytes, files[first.name].length);
      assert.equal(first.lastProgress.bytesAcknowledged, files[first.name].length);
      await page.close();
    });
  });
});
