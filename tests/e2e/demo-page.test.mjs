// End-to-end tests of the demo page (www/) the way a person uses it: real server + embedded emulator,
// real headless browsers, files attached through the file input, buttons clicked, bytes checked on
// the emulator. ONE list of scenarios, run in every browser of lib/driver.mjs (Chromium through
// playwright-core, Firefox through geckodriver). Run: ODU_SERVER_BIN=target/debug/onedrive-upload-server
// node --test (in tests/e2e); ODU_BROWSERS=firefox to run one browser.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BROWSERS, openBrowser } from "./lib/driver.mjs";
import {
  ROOT, addFault, clearFaults, devToken, getJson, makeBytes, pollUntil, requirePkg, sessions, startServer, storedBytes,
} from "./lib/harness.mjs";

const KIB = 1024;
const CHUNK = 327_680; // the smallest allowed chunk: several chunks per test file

/** The selector of the queue row of file `name`. */
const row = (name) => `li.row[data-name="${name}"]`;
/** The selector of a row's button, by its accessible name (e.g. "Pause pause.bin"). */
const button = (label) => `button[aria-label="${label}"]`;

/** Waits until the row of `name` reaches one of `states` and answers the state reached. */
function settle(b, name, states, timeout = 90_000) {
  return b.waitFor(([n, s]) => {
    const state = document.querySelector(`li.row[data-name="${n}"]`)?.dataset.state;
    return s.includes(state) ? state : null;
  }, [name, states], { timeout, what: `${name} in ${states.join("/")}` });
}

/** Waits for a successful upload; on failure the assertion shows the row's error line. */
async function expectDone(b, name) {
  const state = await settle(b, name, ["done", "failed", "cancelled"]);
  assert.equal(state, "done", `${b.name}: ${name} ended ${state}: ${await b.text(`${row(name)} .error`)}`);
  return b.attr(row(name), "data-item-id");
}

/** Attaches in-memory files through the page's file input, as a person picking them would. */
function attach(b, files) {
  return b.setInputFiles("#files", Object.entries(files).map(([name, buffer]) => ({ name, buffer })));
}

/** Records, in the page, the most rows ever in state "uploading" at the same time. */
function trackConcurrency(b) {
  return b.evaluate(() => {
    window.maxUploading = 0;
    const count = () => {
      const n = document.querySelectorAll('li.row[data-state="uploading"]').length;
      window.maxUploading = Math.max(window.maxUploading, n);
    };
    new MutationObserver(count).observe(document.querySelector("#queue"), {
      subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"],
    });
    count();
    return true;
  });
}

/** Loads the page and waits until it says it is ready. */
async function load(ctx) {
  await ctx.b.goto(`${ctx.server.url}/`);
  const ready = await ctx.b.waitFor(() => document.body.dataset.ready, null, { what: "the page to start" });
  assert.equal(ready, "true", `the page did not start: ${await ctx.b.text("#env")}`);
}

/** The scenarios, each `[title, async (ctx) => ...]` with ctx = { server, b (the driver), token }. */
const scenarios = [
  ["says it runs against the local emulator, with labelled controls", async ({ b, server }) => {
    const env = await b.text("#env");
    assert.match(env, /local OneDrive emulator/);
    assert.ok(env.includes(server.emulator), env);
    // Controls carry their accessible names through real <label>s.
    const labels = await b.evaluate(() => Object.fromEntries(["files", "concurrency", "chunk-size", "overall-progress"]
      .map((id) => [id, [...document.getElementById(id).labels].map((l) => l.textContent.trim())])));
    assert.ok(labels.files[0].startsWith("Add files to the queue"), JSON.stringify(labels));
    assert.ok(labels.concurrency[0].startsWith("Files at once"), JSON.stringify(labels));
    assert.ok(labels["chunk-size"][0].startsWith("Chunk size"), JSON.stringify(labels));
    assert.equal(labels["overall-progress"][0], "All files");
    assert.ok(await b.evaluate(() => document.querySelectorAll("[aria-live]").length >= 1));
  }],

  ["uploads a queue with pause/resume (keyboard) and cancel; bytes reach the emulator", async ({ b, server, token }) => {
    const files = {
      "small.bin": makeBytes(200 * KIB, 1),
      "pause.bin": makeBytes(3 * CHUNK + 1234, 2),
      "cancel.bin": makeBytes(3 * CHUNK + 99, 3),
      "move.bin": makeBytes(2 * CHUNK + 7, 4),
    };
    // Slow PUTs on the files to pause and cancel: they are surely still uploading when clicked.
    await addFault(server.emulator, { name: "pause.bin", method: "PUT", count: 1, delayMs: 1500 });
    await addFault(server.emulator, { name: "cancel.bin", method: "PUT", count: 10, delayMs: 3000 });

    assert.ok(await b.evaluate(() => document.getElementById("concurrency").getClientRects().length > 0),
      "the upload settings are shown");
    await b.fill("#concurrency", "4");
    await b.select("#chunk-size", String(CHUNK));
    await trackConcurrency(b);
    await attach(b, files);

    // Pause pause.bin once its upload session exists.
    await pollUntil(async () => (await sessions(server.emulator, "pause.bin")).length > 0, "pause.bin's session");
    await b.click(button("Pause pause.bin"));
    assert.equal(await b.attr(row("pause.bin"), "data-state"), "paused");
    await b.screenshot("demo-page-in-progress");

    // Cancel cancel.bin while its first PUT is held by the emulator.
    await pollUntil(async () => (await sessions(server.emulator, "cancel.bin")).length > 0, "cancel.bin's session");
    await b.click(button("Cancel cancel.bin"));
    assert.equal(await settle(b, "cancel.bin", ["cancelled", "failed", "done"]), "cancelled");
    // Cancelling deletes the upload session.
    await pollUntil(async () => (await sessions(server.emulator, "cancel.bin")).every((s) => s.state === "cancelled"),
      "cancel.bin's session to be cancelled");

    // The others finish while pause.bin stays paused: its session is still open and incomplete.
    const smallId = await expectDone(b, "small.bin");
    const moveId = await expectDone(b, "move.bin");
    const [paused] = await sessions(server.emulator, "pause.bin");
    assert.equal(paused.state, "active", JSON.stringify(paused));
    assert.ok(paused.bytesAccepted < files["pause.bin"].length, JSON.stringify(paused));
    assert.equal(await b.attr(row("pause.bin"), "data-state"), "paused");

    // Resume with the keyboard.
    await b.pressEnter(`${row("pause.bin")} ${button("Resume pause.bin")}`);
    const pauseId = await expectDone(b, "pause.bin");

    for (const [name, id] of [["small.bin", smallId], ["move.bin", moveId], ["pause.bin", pauseId]]) {
      assert.ok(id, `${name} has an item id`);
      const stored = await storedBytes(server.emulator, id);
      assert.ok(stored.equals(files[name]), `${name}: stored ${stored.length} bytes differ from the ${files[name].length} sent`);
      // The hash shown is the one the server reports for the item.
      const item = await getJson(`${server.url}/api/cloud/file/${id}`, { headers: { Authorization: `Bearer ${token}` } });
      const shown = await b.text(`${row(name)} .item-hash`);
      assert.ok(shown.startsWith(item.file.hashes.quickXorHash), `${name}: shown "${shown}"`);
      assert.match(shown, /verified/);
      assert.match(await b.text(`${row(name)} .item-size`), new RegExp(files[name].length.toLocaleString("en")));
      const bar = await b.evaluate((s) => {
        const p = document.querySelector(`${s} progress.bar`);
        return { label: p.getAttribute("aria-label"), full: p.value === p.max };
      }, row(name));
      assert.deepEqual(bar, { label: `Upload progress of ${name}`, full: true });
    }
    assert.ok((await b.evaluate(() => window.maxUploading)) <= 4);
    // Overall: every file that was not cancelled is done.
    assert.equal(await b.evaluate(() => {
      const p = document.querySelector("#overall-progress");
      return p.value === p.max;
    }), true);
    assert.match(await b.text("#overall-text"), /^3 of 3 done/);
    await clearFaults(server.emulator);
    await b.screenshot("demo-page-desktop");
  }],

  ["moves a file into a feature folder, downloads it, gets a share link", async ({ b, server, token }) => {
    const id = await b.attr(row("move.bin"), "data-item-id");
    const expected = makeBytes(2 * CHUNK + 7, 4);

    await b.fill(`${row("move.bin")} input.folder`, "salon-photos");
    await b.click(button("Move move.bin"));
    await b.waitForSelector('li.row[data-name="move.bin"][data-folder="salon-photos"]', { timeout: 30_000 });
    const item = await getJson(`${server.url}/api/cloud/file/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.match(item.parentReference?.path ?? "", /salon-photos$/, JSON.stringify(item.parentReference));

    // Download: the page asks the server for the URL as JSON and navigates a new tab to it.
    await b.click(button("Download move.bin"));
    const error = `${row("move.bin")} .error`;
    await b.waitFor(([link, e]) => document.querySelector(link) || !document.querySelector(e).hidden,
      [`${row("move.bin")} a.download-link`, error], { timeout: 30_000, what: "the download link" });
    assert.equal(await b.evaluate((e) => document.querySelector(e).hidden, error), true, await b.text(error));
    assert.ok(await b.closeOtherTabs() >= 1, "the download opened a tab");
    const href = await b.attr(`${row("move.bin")} a.download-link`, "href");
    assert.ok(href.startsWith(server.emulator), `download link ${href} is the emulator's`);
    const downloaded = Buffer.from(await (await fetch(href)).arrayBuffer());
    assert.ok(downloaded.equals(expected), `downloaded ${downloaded.length} bytes differ`);

    await b.click(button("Share link of move.bin"));
    await b.waitForSelector(`${row("move.bin")} a.share-link`, { timeout: 30_000 });
    const shareUrl = await b.attr(`${row("move.bin")} a.share-link`, "href");
    assert.match(shareUrl, /^https?:\/\/.+download=1/);
    const shared = Buffer.from(await (await fetch(shareUrl)).arrayBuffer());
    assert.ok(shared.equals(expected), `the share link gave ${shared.length} bytes that differ`);
  }],

  ["a failing upload shows a clear error line with the error's code", async ({ b, server }) => {
    await addFault(server.emulator, {
      name: "conflict.txt", method: "PUT", count: 1, status: 409,
      body: { error: { code: "nameAlreadyExists", message: "An item with the same name already exists." } },
    });
    await attach(b, { "conflict.txt": makeBytes(1000, 5) });
    assert.equal(await settle(b, "conflict.txt", ["done", "failed", "cancelled"]), "failed");
    const line = await b.text(`${row("conflict.txt")} .error`);
    assert.match(line, /code conflict/);
    assert.match(line, /HTTP 409/);
    assert.equal(await b.evaluate((s) => document.querySelectorAll(`${s} [role="alert"]`).length, row("conflict.txt")), 1);
  }],

  ["an upload interrupted by closing the tab continues in a new tab from where it stopped", async (ctx) => {
    const { b, server } = ctx;
    // A real file on disk, so that it keeps its name, size and modification time (the library's fingerprint).
    const bytes = makeBytes(3 * CHUNK + 321, 6);
    const dir = await mkdtemp(path.join(tmpdir(), "odu-resume-"));
    const file = path.join(dir, "resume.bin");
    await writeFile(file, bytes);
    // The first PUT passes, the second is held: the tab closes while it hangs.
    await addFault(server.emulator, { name: "resume.bin", method: "PUT", count: 1, delayMs: 1 });
    await addFault(server.emulator, { name: "resume.bin", method: "PUT", count: 1, delayMs: 20_000 });
    await b.select("#chunk-size", String(CHUNK));
    await b.setInputFiles("#files", [file]);
    await pollUntil(async () => (await sessions(server.emulator, "resume.bin"))[0]?.bytesAccepted >= CHUNK,
      "the first chunk of resume.bin to be accepted");
    await b.reopenTab(); // like closing the tab (no beforeunload prompt); same profile, same storage

    await load(ctx);
    await b.select("#chunk-size", String(CHUNK));
    await b.setInputFiles("#files", [file]);
    const id = await expectDone(b, "resume.bin");
    const all = await sessions(server.emulator, "resume.bin");
    assert.equal(all.length, 1, `one upload session, continued: ${JSON.stringify(all)}`);
    assert.ok((await storedBytes(server.emulator, id)).equals(bytes), "resume.bin: stored bytes differ");
    await rm(dir, { recursive: true, force: true });
  }],

  ["queues files one at a time when asked, with drag and drop; readable at phone width", async ({ b, server }) => {
    await b.setViewport(390, 844);
    await b.fill("#concurrency", "1");
    await trackConcurrency(b);
    // Drop three files (one empty) on the drop box, as a drag from the desktop does.
    await b.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["first dropped file\n".repeat(2000)], "dropped-1.txt", { type: "text/plain" }));
      transfer.items.add(new File(["second dropped file\n".repeat(3000)], "dropped-2.txt", { type: "text/plain" }));
      transfer.items.add(new File([], "dropped-empty.txt", { type: "text/plain" }));
      const drop = new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
      document.querySelector("#drop").dispatchEvent(drop);
      return true;
    });
    const id1 = await expectDone(b, "dropped-1.txt");
    await expectDone(b, "dropped-2.txt");
    const emptyId = await expectDone(b, "dropped-empty.txt");
    assert.equal((await storedBytes(server.emulator, emptyId)).length, 0);
    assert.equal(await b.evaluate(() => window.maxUploading), 1);
    assert.equal((await storedBytes(server.emulator, id1)).toString(), "first dropped file\n".repeat(2000));
    // Nothing is wider than the phone's screen.
    const overflow = await b.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
    await b.screenshot("demo-page-phone");
  }],
];

for (const browser of BROWSERS) {
  describe(`demo page in ${browser}`, { timeout: 300_000 }, () => {
    const ctx = {};

    before(async () => {
      const pkg = requirePkg();
      ctx.server = await startServer({ label: `demo-page-${browser}`, args: ["--www", path.join(ROOT, "www"), "--pkg", pkg] });
      console.log(`${browser}: server ${ctx.server.url}, emulator ${ctx.server.emulator}, log ${ctx.server.logPath}`);
      assert.ok(ctx.server.emulator, "/dev/info names the embedded emulator");
      ctx.token = await devToken(ctx.server.url);
      ctx.b = await openBrowser(browser);
      await load(ctx);
    });

    after(async () => {
      if (ctx.b) await ctx.b.screenshot("demo-page-final").catch(() => {});
      await ctx.b?.close();
      await ctx.server?.stop();
    });

    for (const [title, run] of scenarios) test(title, () => run(ctx));
  });
}
