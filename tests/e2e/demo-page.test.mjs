// End-to-end tests of the demo page (www/) the way a person uses it: real server + embedded emulator,
// real headless Chromium, files attached through the file input, buttons clicked, bytes checked on
// the emulator. Run: ODU_SERVER_BIN=target/debug/onedrive-upload-server node --test (in tests/e2e).

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ROOT, addFault, clearFaults, devToken, getJson, launchBrowser, makeBytes, pollUntil, requirePkg,
  screenshot, sessions, startServer, storedBytes, watchPage,
} from "./lib/harness.mjs";

const KIB = 1024;
const CHUNK = 327_680; // the smallest allowed chunk: several chunks per test file

describe("demo page", { timeout: 300_000 }, () => {
  let server;
  let browser;
  let context; // one browser profile for every tab of the suite (shared storage)
  let page;
  let token;

  /** The queue row of file `name`. */
  const row = (name) => page.locator(`li.row[data-name="${name}"]`);

  /** Waits until the row of `name` reaches one of `states` and answers the state reached. */
  async function settle(name, states, timeout = 90_000) {
    await page.waitForFunction(
      ([n, s]) => s.includes(document.querySelector(`li.row[data-name="${n}"]`)?.dataset.state),
      [name, states], { timeout, polling: 50 },
    );
    return row(name).getAttribute("data-state");
  }

  /** Waits for a successful upload; on failure the assertion shows the row's error line. */
  async function expectDone(name) {
    const state = await settle(name, ["done", "failed", "cancelled"]);
    const error = await row(name).locator(".error").textContent();
    assert.equal(state, "done", `${name} ended ${state}: ${error}`);
    return row(name).getAttribute("data-item-id");
  }

  /** Attaches in-memory files through the page's file input, as a person picking them would. */
  async function attach(files) {
    await page.getByLabel("Add files to the queue").setInputFiles(
      Object.entries(files).map(([name, buffer]) => ({ name, mimeType: "application/octet-stream", buffer })),
    );
  }

  /** Records, in the page, the most rows ever in state "uploading" at the same time. */
  async function trackConcurrency() {
    await page.evaluate(() => {
      window.maxUploading = 0;
      const count = () => {
        const n = document.querySelectorAll('li.row[data-state="uploading"]').length;
        window.maxUploading = Math.max(window.maxUploading, n);
      };
      new MutationObserver(count).observe(document.querySelector("#queue"), {
        subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"],
      });
      count();
    });
  }

  before(async () => {
    const pkg = requirePkg();
    server = await startServer({ label: "demo-page", args: ["--www", path.join(ROOT, "www"), "--pkg", pkg] });
    console.log(`server ${server.url}, emulator ${server.emulator}, log ${server.logPath}`);
    assert.ok(server.emulator, "/dev/info names the embedded emulator");
    token = await devToken(server.url);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
    page = await context.newPage();
    watchPage(page, "demo");
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
    const ready = await page.evaluate(() => document.body.dataset.ready);
    assert.equal(ready, "true", `the page did not start: ${await page.locator("#env").textContent()}`);
  });

  after(async () => {
    if (page) await screenshot(page, "demo-page-final").catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  test("says it runs against the local emulator, with labelled controls", async () => {
    const env = await page.locator("#env").textContent();
    assert.match(env, /local OneDrive emulator/);
    assert.ok(env.includes(server.emulator), env);
    // Controls found by their accessible names: the labels work.
    for (const label of ["Add files to the queue", "Files at once", "Chunk size"]) {
      assert.equal(await page.getByLabel(label).count(), 1, label);
    }
    assert.equal(await page.getByRole("progressbar", { name: "All files" }).count(), 1);
    assert.equal(await page.locator("[aria-live]").count() >= 1, true);
  });

  test("uploads a queue with pause/resume (keyboard) and cancel; bytes reach the emulator", async () => {
    const files = {
      "small.bin": makeBytes(200 * KIB, 1),
      "pause.bin": makeBytes(3 * CHUNK + 1234, 2),
      "cancel.bin": makeBytes(3 * CHUNK + 99, 3),
      "move.bin": makeBytes(2 * CHUNK + 7, 4),
    };
    // Slow PUTs on the files to pause and cancel: they are surely still uploading when clicked.
    await addFault(server.emulator, { name: "pause.bin", method: "PUT", count: 1, delayMs: 1500 });
    await addFault(server.emulator, { name: "cancel.bin", method: "PUT", count: 10, delayMs: 3000 });

    assert.ok(await page.getByLabel("Files at once").isVisible(), "the upload settings are shown");
    await page.getByLabel("Files at once").fill("4");
    await page.getByLabel("Chunk size").selectOption(String(CHUNK));
    await trackConcurrency();
    await attach(files);

    // Pause pause.bin once its upload session exists.
    await pollUntil(async () => (await sessions(server.emulator, "pause.bin")).length > 0, "pause.bin's session");
    await page.getByRole("button", { name: "Pause pause.bin" }).click();
    assert.equal(await row("pause.bin").getAttribute("data-state"), "paused");
    await screenshot(page, "demo-page-in-progress");

    // Cancel cancel.bin while its first PUT is held by the emulator.
    await pollUntil(async () => (await sessions(server.emulator, "cancel.bin")).length > 0, "cancel.bin's session");
    await page.getByRole("button", { name: "Cancel cancel.bin" }).click();
    assert.equal(await settle("cancel.bin", ["cancelled", "failed", "done"]), "cancelled");
    // Cancelling deletes the upload session.
    await pollUntil(async () => (await sessions(server.emulator, "cancel.bin")).every((s) => s.state === "cancelled"),
      "cancel.bin's session to be cancelled");

    // The others finish while pause.bin stays paused: its session is still open and incomplete.
    const smallId = await expectDone("small.bin");
    const moveId = await expectDone("move.bin");
    const [paused] = await sessions(server.emulator, "pause.bin");
    assert.equal(paused.state, "active", JSON.stringify(paused));
    assert.ok(paused.bytesAccepted < files["pause.bin"].length, JSON.stringify(paused));
    assert.equal(await row("pause.bin").getAttribute("data-state"), "paused");

    // Resume with the keyboard: the page moved focus to the Resume button when pausing.
    await row("pause.bin").getByRole("button", { name: "Resume pause.bin" }).focus();
    await page.keyboard.press("Enter");
    const pauseId = await expectDone("pause.bin");

    for (const [name, id] of [["small.bin", smallId], ["move.bin", moveId], ["pause.bin", pauseId]]) {
      assert.ok(id, `${name} has an item id`);
      const stored = await storedBytes(server.emulator, id);
      assert.ok(stored.equals(files[name]), `${name}: stored ${stored.length} bytes differ from the ${files[name].length} sent`);
      // The hash shown is the one the server reports for the item.
      const item = await getJson(`${server.url}/api/cloud/file/${id}`, { headers: { Authorization: `Bearer ${token}` } });
      const shown = await row(name).locator(".item-hash").textContent();
      assert.ok(shown.startsWith(item.file.hashes.quickXorHash), `${name}: shown "${shown}"`);
      assert.match(shown, /verified/);
      assert.match(await row(name).locator(".item-size").textContent(), new RegExp(files[name].length.toLocaleString("en")));
      const bar = row(name).getByRole("progressbar", { name: `Upload progress of ${name}` });
      assert.equal(await bar.getAttribute("value"), await bar.getAttribute("max"));
    }
    assert.ok((await page.evaluate(() => window.maxUploading)) <= 4);
    // Overall: every file that was not cancelled is done.
    const overall = page.locator("#overall-progress");
    assert.equal(await overall.evaluate((p) => p.value === p.max), true);
    assert.match(await page.locator("#overall-text").textContent(), /^3 of 3 done/);
    await clearFaults(server.emulator);
    await screenshot(page, "demo-page-desktop");
  });

  test("moves a file into a feature folder, follows its download link, gets a share link", async () => {
    const id = await row("move.bin").getAttribute("data-item-id");
    const expected = makeBytes(2 * CHUNK + 7, 4);

    await row("move.bin").getByLabel("Feature folder for move.bin").fill("salon-photos");
    await row("move.bin").getByRole("button", { name: "Move move.bin" }).click();
    await page.waitForSelector('li.row[data-name="move.bin"][data-folder="salon-photos"]', { timeout: 30_000 });
    const item = await getJson(`${server.url}/api/cloud/file/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.match(item.parentReference?.path ?? "", /salon-photos$/, JSON.stringify(item.parentReference));

    // Download: the page resolves the 302 and opens the pre-authenticated URL in a new tab.
    const popup = page.context().waitForEvent("page", { timeout: 30_000 });
    await row("move.bin").getByRole("button", { name: "Download move.bin" }).click();
    const link = row("move.bin").locator("a.download-link");
    await link.waitFor({ timeout: 30_000 });
    await (await popup).close();
    assert.equal(await row("move.bin").locator(".error").isHidden(), true, await row("move.bin").locator(".error").textContent());
    const href = await link.getAttribute("href");
    assert.ok(href.startsWith(server.emulator), `download link ${href} is the emulator's`);
    const downloaded = Buffer.from(await (await fetch(href)).arrayBuffer());
    assert.ok(downloaded.equals(expected), `downloaded ${downloaded.length} bytes differ`);

    await row("move.bin").getByRole("button", { name: "Share link of move.bin" }).click();
    const share = row("move.bin").locator("a.share-link");
    await share.waitFor({ timeout: 30_000 });
    const shareUrl = await share.getAttribute("href");
    assert.match(shareUrl, /^https?:\/\/.+download=1/);
    const shared = Buffer.from(await (await fetch(shareUrl)).arrayBuffer());
    assert.ok(shared.equals(expected), `the share link gave ${shared.length} bytes that differ`);
  });

  test("a failing upload shows a clear error line with the error's code", async () => {
    await addFault(server.emulator, {
      name: "conflict.txt", method: "PUT", count: 1, status: 409,
      body: { error: { code: "nameAlreadyExists", message: "An item with the same name already exists." } },
    });
    await attach({ "conflict.txt": makeBytes(1000, 5) });
    assert.equal(await settle("conflict.txt", ["done", "failed", "cancelled"]), "failed");
    const line = await row("conflict.txt").locator(".error").textContent();
    assert.match(line, /code conflict/);
    assert.match(line, /HTTP 409/);
    assert.equal(await row("conflict.txt").getByRole("alert").count(), 1);
  });

  test("an upload interrupted by closing the tab continues in a new tab from where it stopped", async () => {
    // A real file on disk, so that it keeps its name, size and modification time (the library's fingerprint).
    const bytes = makeBytes(3 * CHUNK + 321, 6);
    const dir = await mkdtemp(path.join(tmpdir(), "odu-resume-"));
    const file = path.join(dir, "resume.bin");
    await writeFile(file, bytes);
    // The first PUT passes, the second is held: the tab closes while it hangs.
    await addFault(server.emulator, { name: "resume.bin", method: "PUT", count: 1, delayMs: 1 });
    await addFault(server.emulator, { name: "resume.bin", method: "PUT", count: 1, delayMs: 20_000 });
    await page.getByLabel("Chunk size").selectOption(String(CHUNK));
    await page.getByLabel("Add files to the queue").setInputFiles(file);
    await pollUntil(async () => (await sessions(server.emulator, "resume.bin"))[0]?.bytesAccepted >= CHUNK,
      "the first chunk of resume.bin to be accepted");
    await page.close(); // no beforeunload prompt: like closing the tab

    page = await context.newPage(); // same profile: same storage
    watchPage(page, "demo-2");
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 60_000 });
    await page.getByLabel("Chunk size").selectOption(String(CHUNK));
    await page.getByLabel("Add files to the queue").setInputFiles(file);
    const id = await expectDone("resume.bin");
    const all = await sessions(server.emulator, "resume.bin");
    assert.equal(all.length, 1, `one upload session, continued: ${JSON.stringify(all)}`);
    assert.ok((await storedBytes(server.emulator, id)).equals(bytes), "resume.bin: stored bytes differ");
    await rm(dir, { recursive: true, force: true });
  });

  test("queues files one at a time when asked, with drag and drop; readable at phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByLabel("Files at once").fill("1");
    await trackConcurrency();
    // Drop three files (one empty) on the drop box, as a drag from the desktop does.
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["first dropped file\n".repeat(2000)], "dropped-1.txt", { type: "text/plain" }));
      transfer.items.add(new File(["second dropped file\n".repeat(3000)], "dropped-2.txt", { type: "text/plain" }));
      transfer.items.add(new File([], "dropped-empty.txt", { type: "text/plain" }));
      return transfer;
    });
    await page.dispatchEvent("#drop", "drop", { dataTransfer });
    const id1 = await expectDone("dropped-1.txt");
    await expectDone("dropped-2.txt");
    const emptyId = await expectDone("dropped-empty.txt");
    assert.equal((await storedBytes(server.emulator, emptyId)).length, 0);
    assert.equal(await page.evaluate(() => window.maxUploading), 1);
    assert.equal((await storedBytes(server.emulator, id1)).toString(), "first dropped file\n".repeat(2000));
    // Nothing is wider than the phone's screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
    await screenshot(page, "demo-page-phone");
  });
});
