// Shared helpers of the browser end-to-end tests: start/stop the real server (with its embedded
// emulator), launch Debian's Chromium through playwright-core (flags from browsers.mjs), talk to the
// emulator's control API, make test bytes, poll, and save screenshots. Used by tests/e2e and
// tests/npm-consumer.

import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./browsers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root (env ODU_ROOT, else two levels above tests/e2e). */
export const ROOT = process.env.ODU_ROOT ?? path.resolve(here, "../../..");
/** Screenshots and server logs go here (git-ignored). */
export const ARTIFACTS = path.join(ROOT, "tests/e2e/artifacts");


/** The server binary: env ODU_SERVER_BIN, else the debug build in target/. */
export function serverBin() {
  const bin = process.env.ODU_SERVER_BIN ?? path.join(ROOT, "target/debug/onedrive-upload-server");
  if (!existsSync(bin)) {
    throw new Error(`server binary ${bin} not found: build it (cargo build -p onedrive-upload-server) or set ODU_SERVER_BIN`);
  }
  return bin;
}

/** Fails clearly when pkg/ has not been built. */
export function requirePkg() {
  const pkg = path.join(ROOT, "pkg");
  if (!existsSync(path.join(pkg, "onedrive_upload.js"))) {
    throw new Error(`${pkg}/onedrive_upload.js not found: run \`scripts/build-pkg.sh\` in ${ROOT}`);
  }
  return pkg;
}

/**
 * Starts `onedrive-upload-server --listen 127.0.0.1:0 --dev --emulator-fault-injection` on a fresh data
 * dir (plus `args`), waits for its `listening on http://...` line and answers
 * { url, info (GET /dev/info), emulator, stop() }. Its stderr goes to artifacts/server-<label>.log.
 */
export async function startServer({ label = "e2e", args = [] } = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), "odu-e2e-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  const logPath = path.join(ARTIFACTS, `server-${label}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(serverBin(), [
    "--listen", "127.0.0.1:0", "--dev", "--emulator-fault-injection", "--data-dir", dataDir, ...args,
  ], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" } });
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`the server printed no "listening on" line; see ${logPath}`)), 60_000);
    lines.on("line", (line) => {
      log.write(`[stdout] ${line}\n`);
      const match = /^listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ""));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before listening; see ${logPath}`));
    });
  });

  const info = await getJson(`${url}/dev/info`);
  return {
    url,
    info,
    emulator: info.emulator,
    logPath,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(killer);
      }
      log.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Debian Chromium. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Forwards the page's console errors and uncaught exceptions to the test log. */
export function watchPage(page, label) {
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") console.log(`[${label} console.${message.type()}] ${message.text()}`);
  });
  page.on("pageerror", (error) => console.log(`[${label} pageerror] ${error.stack ?? error}`));
}

/** GET a URL and parse its JSON, failing on a non-2xx status. */
export async function getJson(url, init = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${url} -> ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A dev token of `user` from GET /dev/token. */
export async function devToken(serverUrl, user = "demo") {
  return (await getJson(`${serverUrl}/dev/token?user=${encodeURIComponent(user)}`)).token;
}

/** Adds one fault through the emulator's control API (see the team contract). */
export function addFault(emulator, fault) {
  return getJson(`${emulator}/_emulator/faults`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(fault),
  });
}

/** Clears every fault. */
export async function clearFaults(emulator) {
  const response = await fetch(`${emulator}/_emulator/faults`, { method: "DELETE" });
  if (!response.ok) throw new Error(`DELETE faults -> ${response.status}`);
}

/** The emulator's upload sessions created for file name `name`. */
export function sessions(emulator, name) {
  return getJson(`${emulator}/_emulator/sessions?name=${encodeURIComponent(name)}`);
}

/** The bytes the emulator stored for item `id`. */
export async function storedBytes(emulator, id) {
  const response = await fetch(`${emulator}/_emulator/items/${encodeURIComponent(id)}/content`);
  if (!response.ok) throw new Error(`stored content of ${id} -> ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/**
 * `size` deterministic pseudo-random bytes (xorshift32 seeded by `seed`): the same bytes as
 * `onedrive_upload_testkit::pattern(size, seed)` on the Rust side.
 */
export function makeBytes(size, seed) {
  const bytes = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 1) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/**
 * Calls `probe` until it returns a truthy value and answers that value. `timeoutMs` is only a
 * safety net against hanging forever (nothing is asserted about how long it took).
 */
export async function pollUntil(probe, what, { timeoutMs = 60_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Saves a full-page screenshot under tests/e2e/artifacts/ and prints its path. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}
