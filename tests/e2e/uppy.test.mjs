// End-to-end tests of the Uppy demo page (www/uppy.html): Uppy's Dashboard with the uppy-onedrive
// plugin (packages/uppy-onedrive), in real headless Chromium, against the real server + embedded
// emulator. Files are added through the Dashboard's file input or dropped on it, the Dashboard's own
// buttons pause, resume, cancel and retry, and the bytes are checked on the emulator.
// Needs www/vendor/ (`npm run build:www` in packages/uppy-onedrive) and pkg/.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ROOT, addFault, clearFaults, devToken, getJson, launchBrowser, makeBytes, pollUntil, requirePkg,
  screenshot, sessions, startServer, storedBytes, watchPage,
} from "./lib/harness.mjs";

const CHUNK = 327_680; // the smallest allowed chunk: several chunks per test file
// Small chunks, few attempts and short backoff: a 503 storm exhausts the engine's retries quickly.
const QUERY = `?chunkSize=${CHUNK}&limit=2&maxAttempts=3&baseDelayMs=100&maxDelayMs=200`;

describe("Uppy demo page (uppy-onedrive plugin)", { timeout: 300_000 }, () => {
  let server;
  let browser;
  let context;
  let page;
  let token;

  /** The Dashboard's item of file `name`. */
  const item = (name) => page.locator(".uppy-Dashboard-Item").filter({ has: page.locator(`[title="${name}"]`) });
  /** The finished-file row of `name` (with move / download / share). */
  const row = (name) => page.locator(`#finished li.row[data-name="${name}"]`);

  /** Uppy's state of file `name`: { isPaused, error, complete, bytesUploaded, itemId }. */
  function fileState(name) {
    return page.evaluate((n) => {
      const file = window.uppy.getFiles().find((f) => f.meta.name === n);
      if (!file) return null;
      return {
        isPaused: Boolean(file.isPaused),
        error: file.error ?? null,
        complete: Boolean(file.progress.uploadComplete),
        bytesUploaded: file.progress.bytesUploaded,
        onedrive: file.onedrive ?? null,
        itemId: file.response?.body?.id ?? null,
        status: file.response?.status ?? null,
      };
    }, name);
  }

  /** Waits until `name` finished (uploaded or failed) in Uppy and answers its state. */
  async function settled(name, timeout = 90_000) {
    await page.waitForFunction((n) => {
      const file = window.uppy.getFiles().find((f) => f.meta.name === n);
      return file && (file.progress.uploadComplete || file.error);
    }, name, { timeout, polling: 50 });
    return fileState(name);
  }

  async function expectUploaded(name) {
    const state = await settled(name);
    assert.equal(state.error, null, `${name} failed: ${state.error}`);
    assert.ok(state.itemId, `${name}: upload-success carried the driveItem`);
    await row(name).waitFor({ timeout: 10_000 });
    return state.itemId;
  }

  /** Adds files through the Dashboard's own file input ("browse files"). */
  async function addThroughInput(files) {
    await (await dashboardInput()).setInputFiles(
      Object.entries(files).map(([name, buffer]) => ({ name, mimeType: "application/octet-stream", buffer })),
    );
  }

  /** The Dashboard's file input; once it lists files, its "Add more" button shows the input again. */
  async function dashboardInput() {
    const input = page.locator("input.uppy-Dashboard-input").first();
    if ((await input.count()) === 0) await page.getByRole("button", { name: "Add more files" }).click();
    return input;
  }

  /** Checks the stored bytes and that the hash Uppy got and the page shows is the server's. */
  async function checkStored(name, id, bytes) {
    const stored = await storedBytes(server.emulator, id);
    assert.ok(stored.equals(bytes), `${name}: stored ${stored.length} bytes differ from the ${bytes.length} sent`);
    const serverItem = await getJson(`${server.url}/api/cloud/file/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await page.evaluate((n) => window.uppy.getFiles().find((f) => f.meta.name === n).response.body, name);
    assert.equal(body.file.hashes.quickXorHash, serverItem.file.hashes.quickXorHash, `${name}: hash`);
    assert.equal(body.size, bytes.length);
    const shown = await row(name).locator(".item-hash").textContent();
    assert.ok(shown.startsWith(serverItem.file.hashes.quickXorHash), `${name}: shown "${shown}"`);
  }

  async function openPage(query = QUERY) {
    page = await context.newPage();
    watchPage(page, "uppy");
    await page.goto(`${server.url}/uppy.html${query}`);
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    assert.equal(ready, "true", `the page did not start: ${await page.locator("#env").textContent()}`);
  }

  before(async () => {
    const pkg = requirePkg();
    assert.ok(existsSync(path.join(ROOT, "www/vendor/uppy.js")),
      "www/vendor/uppy.js is missing: run `npm run build:www` in packages/uppy-onedrive");
    server = await startServer({ label: "uppy", args: ["--www", path.join(ROOT, "www"), "--pkg", pkg] });
    console.log(`server ${server.url}, emulator ${server.emulator}, log ${server.logPath}`);
    token = await devToken(server.url);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1024, height: 1000 } });
    await openPage();
  });

  after(async () => {
    if (page && !page.isClosed()) await screenshot(page, "uppy-page-final").catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  test("serves Uppy from this server only, with the Dashboard and the plugin installed", async () => {
    assert.match(await page.locator("#env").textContent(), /local OneDrive emulator/);
    assert.equal(await page.locator(".uppy-Dashboard").count(), 1);
    const plugin = await page.evaluate(() => {
      const p = window.uppy.getPlugin("OneDrive");
      return { type: p.type, limit: p.requests.limit, resumable: window.uppy.getState().capabilities.resumableUploads };
    });
    assert.deepEqual(plugin, { type: "uploader", limit: 2, resumable: true });
    // Every resource the page loaded came from the server's origin (no CDN).
    const urls = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));
    for (const file of ["/vendor/uppy.js", "/vendor/uppy.css", "/pkg/onedrive_upload.js"]) {
      assert.ok(urls.includes(`${server.url}${file}`), `${file} loaded: ${urls.join(" ")}`);
    }
    assert.deepEqual(urls.filter((u) => new URL(u).origin !== server.url), [], `resources from elsewhere: ${urls}`);
  });

  test("uploads files added and dropped on the Dashboard; pause/resume and cancel with its buttons", async () => {
    const files = {
      "uppy-small.bin": makeBytes(200_000, 21),
      "uppy-pause.bin": makeBytes(3 * CHUNK + 1234, 22),
      "uppy-cancel.bin": makeBytes(3 * CHUNK + 99, 23),
    };
    // Slow PUTs on the files to pause and cancel: they are surely still uploading when clicked.
    await addFault(server.emulator, { name: "uppy-pause.bin", method: "PUT", count: 1, delayMs: 1500 });
    await addFault(server.emulator, { name: "uppy-cancel.bin", method: "PUT", count: 10, delayMs: 3000 });
    await addThroughInput(files);

    // Pause from the Dashboard once the session exists; the session stays open and incomplete.
    await pollUntil(async () => (await sessions(server.emulator, "uppy-pause.bin")).length > 0, "uppy-pause.bin's session");
    await item("uppy-pause.bin").getByRole("button", { name: "Pause upload" }).click();
    assert.equal((await fileState("uppy-pause.bin")).isPaused, true);
    await item("uppy-pause.bin").getByRole("button", { name: "Resume upload" }).waitFor();
    await screenshot(page, "uppy-page-in-progress");

    // Cancel from the Dashboard: the file's remove button while its first PUT is held.
    await pollUntil(async () => (await sessions(server.emulator, "uppy-cancel.bin")).length > 0, "uppy-cancel.bin's session");
    await item("uppy-cancel.bin").getByRole("button", { name: /Remove file/ }).click();
    await pollUntil(async () => (await sessions(server.emulator, "uppy-cancel.bin")).every((s) => s.state === "cancelled"),
      "uppy-cancel.bin's session to be deleted");
    assert.equal(await fileState("uppy-cancel.bin"), null, "the cancelled file left the Dashboard");

    // A drop on the Dashboard, as a drag from the desktop does.
    const dropped = "dropped on the dashboard\n".repeat(3000);
    const dataTransfer = await page.evaluateHandle((text) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], "uppy-dropped.txt", { type: "text/plain" }));
      return transfer;
    }, dropped);
    await page.dispatchEvent(".uppy-Dashboard-inner", "dragover", { dataTransfer });
    await page.dispatchEvent(".uppy-Dashboard-inner", "drop", { dataTransfer });

    const smallId = await expectUploaded("uppy-small.bin");
    const droppedId = await expectUploaded("uppy-dropped.txt");
    const [paused] = await sessions(server.emulator, "uppy-pause.bin");
    assert.equal(paused.state, "active", JSON.stringify(paused));
    assert.ok(paused.bytesAccepted < files["uppy-pause.bin"].length, JSON.stringify(paused));
    assert.equal((await fileState("uppy-pause.bin")).isPaused, true);

    await item("uppy-pause.bin").getByRole("button", { name: "Resume upload" }).click();
    const pauseId = await expectUploaded("uppy-pause.bin");
    assert.equal((await sessions(server.emulator, "uppy-pause.bin")).length, 1, "the paused upload continued its session");

    await checkStored("uppy-small.bin", smallId, files["uppy-small.bin"]);
    await checkStored("uppy-pause.bin", pauseId, files["uppy-pause.bin"]);
    await checkStored("uppy-dropped.txt", droppedId, Buffer.from(dropped));
    // Our progress reached Uppy: bytes sent and confirmed.
    const last = (await fileState("uppy-pause.bin")).onedrive;
    assert.equal(last.bytesAcknowledged, files["uppy-pause.bin"].length, JSON.stringify(last));
    assert.equal(last.bytesSent, files["uppy-pause.bin"].length, JSON.stringify(last));
    await clearFaults(server.emulator);
    await screenshot(page, "uppy-page-desktop");
  });

  test("moves a finished file into a feature folder, downloads it, gets a share link", async () => {
    const name = "uppy-small.bin";
    const expected = makeBytes(200_000, 21);
    const id = await row(name).getAttribute("data-item-id");
    await row(name).getByLabel(`Feature folder for ${name}`).fill("salon-photos");
    await row(name).getByRole("button", { name: `Move ${name}` }).click();
    await page.waitForSelector(`#finished li.row[data-name="${name}"][data-folder="salon-photos"]`, { timeout: 30_000 });
    const moved = await getJson(`${server.url}/api/cloud/file/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.match(moved.parentReference?.path ?? "", /salon-photos$/, JSON.stringify(moved.parentReference));

    const popup = page.context().waitForEvent("page", { timeout: 30_000 });
    await row(name).getByRole("button", { name: `Download ${name}` }).click();
    const link = row(name).locator("a.download-link");
    await link.waitFor({ timeout: 30_000 });
    await (await popup).close();
    const href = await link.getAttribute("href");
    assert.ok(href.startsWith(server.emulator), `download link ${href} is the emulator's`);
    assert.ok(Buffer.from(await (await fetch(href)).arrayBuffer()).equals(expected), "downloaded bytes differ");

    await row(name).getByRole("button", { name: `Share link of ${name}` }).click();
    const share = row(name).locator("a.share-link");
    await share.waitFor({ timeout: 30_000 });
    const shareUrl = await share.getAttribute("href");
    assert.match(shareUrl, /download=1/);
    assert.ok(Buffer.from(await (await fetch(shareUrl)).arrayBuffer()).equals(expected), "shared bytes differ");
  });

  test("503s: the engine retries, then Uppy shows the error and its Retry button finishes the upload", async () => {
    // One 503: retried inside the engine, Uppy never sees an error.
    const once = makeBytes(2 * CHUNK + 5, 24);
    await addFault(server.emulator, { name: "uppy-503-once.bin", method: "PUT", count: 1, status: 503, retryAfter: 0 });
    await addThroughInput({ "uppy-503-once.bin": once });
    const onceId = await expectUploaded("uppy-503-once.bin");
    assert.ok((await storedBytes(server.emulator, onceId)).equals(once));
    assert.ok((await sessions(server.emulator, "uppy-503-once.bin"))[0].putRequests > 3, "the 503'd PUT was sent again");

    // More 503s than maxAttempts=3: upload-error with a readable message, then the Dashboard's retry.
    const storm = makeBytes(2 * CHUNK + 6, 25);
    await addFault(server.emulator, { name: "uppy-503.bin", method: "PUT", count: 3, status: 503, retryAfter: 0 });
    await addThroughInput({ "uppy-503.bin": storm });
    const failed = await settled("uppy-503.bin");
    assert.match(failed.error ?? "", /OneDrive kept failing.*code retries-exhausted, HTTP 503/, failed.error);
    await screenshot(page, "uppy-page-503");
    await item("uppy-503.bin").getByRole("button", { name: "Retry upload" }).click();
    const id = await expectUploaded("uppy-503.bin");
    assert.ok((await storedBytes(server.emulator, id)).equals(storm), "uppy-503.bin: stored bytes differ");
    const all = await sessions(server.emulator, "uppy-503.bin");
    assert.equal(all.length, 1, `the retry continued the same session: ${JSON.stringify(all)}`);
  });

  test("`limit` caps the files uploading at once, as @uppy/tus's does", async () => {
    await page.close();
    await openPage(`?chunkSize=${CHUNK}&limit=1`);
    const files = Object.fromEntries([1, 2, 3].map((n) => [`uppy-limit-${n}.bin`, makeBytes(2 * CHUNK + n, 30 + n)]));
    for (const name of Object.keys(files)) {
      await addFault(server.emulator, { name, method: "PUT", count: 3, delayMs: 300 });
    }
    await addThroughInput(files);
    let most = 0;
    const watching = (async () => {
      for (;;) {
        const open = [];
        for (const name of Object.keys(files)) open.push(...(await sessions(server.emulator, name)).filter((s) => s.state === "active"));
        most = Math.max(most, open.length);
        if (await page.evaluate(() => window.uppy.getFiles().every((f) => f.progress.uploadComplete || f.error))) return;

        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    for (const [name, bytes] of Object.entries(files)) {
      assert.ok((await storedBytes(server.emulator, await expectUploaded(name))).equals(bytes), name);
    }
    await watching;
    assert.equal(most, 1, "one upload session open at a time with limit 1");
    await clearFaults(server.emulator);
  });

  test("an upload interrupted by a reload continues in the same session", async () => {
    const bytes = makeBytes(3 * CHUNK + 321, 26);
    const dir = await mkdtemp(path.join(tmpdir(), "odu-uppy-resume-"));
    const file = path.join(dir, "uppy-resume.bin"); // on disk: name, size and mtime stay the same
    await writeFile(file, bytes);
    await addFault(server.emulator, { name: "uppy-resume.bin", method: "PUT", count: 1, delayMs: 1 });
    await addFault(server.emulator, { name: "uppy-resume.bin", method: "PUT", count: 1, delayMs: 20_000 });
    await (await dashboardInput()).setInputFiles(file);
    await pollUntil(async () => (await sessions(server.emulator, "uppy-resume.bin"))[0]?.bytesAccepted >= CHUNK,
      "the first chunk of uppy-resume.bin to be accepted");
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    await (await dashboardInput()).setInputFiles(file);
    const id = await expectUploaded("uppy-resume.bin");
    const all = await sessions(server.emulator, "uppy-resume.bin");
    assert.equal(all.length, 1, `one upload session, continued: ${JSON.stringify(all)}`);
    assert.ok((await storedBytes(server.emulator, id)).equals(bytes), "uppy-resume.bin: stored bytes differ");
    await rm(dir, { recursive: true, force: true });
  });
});
