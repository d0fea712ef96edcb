// Upload throughput with no DevTools client attached (bench/run.sh --only nocdp).
//
// playwright drives Chromium over CDP with the Network domain enabled on every page; under it an
// upload that sends bytes (not a Blob) as the request body costs ~0.7 CPU-s per 10 MiB in both the
// renderer and the browser process (10x slower), which users never see. Here Chromium is started
// as a user would run it: no DevTools; the page (`index.html?auto=...`) runs the uploaders itself on
// a file it writes to the origin-private file system and logs `BENCH` lines, read from Chromium's
// log on stderr.
//
//   node bench/nocdp.mjs --server URL [--size-mib 256] [--runs 5] [--chunk-mib 10] [--only wasm,xhr,...]

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, median, fmt } from "./lib.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../tests/e2e/lib/browsers.mjs";

const args = parseArgs(process.argv.slice(2));
if (!args.server) throw new Error("--server URL is required");
const kinds = (args.only || "wasm,wasm-noverify,xhr,graph-sdk,naive").split(",");
const sizeMib = Number(args["size-mib"] || 256);
const runs = Number(args.runs || 5);
const chunkMib = Number(args["chunk-mib"] || 10);

const profile = mkdtempSync(join(tmpdir(), "odu-nocdp-"));
const url = `${args.server}/?auto=${kinds.join(",")}&mib=${sizeMib}&runs=${runs}&chunk-mib=${chunkMib}`;
const chromium = spawn(CHROMIUM, [
  ...CHROMIUM_ARGS, `--user-data-dir=${profile}`, "--enable-logging=stderr", "--v=0", url,
], { stdio: ["ignore", "ignore", "pipe"], detached: true }); // own process group: stopped whole

const mbps = Object.fromEntries(kinds.map((k) => [k, []]));
const perRun = []; // perRun[i][kind] = MB/s
let failure = null;
let finished = false;
const done = new Promise((settle) => {
  const resolve = () => { finished = true; settle(); };
  let buffered = "";
  const timer = setTimeout(() => { failure = "no `BENCH done` within the time limit"; resolve(); }, 60_000 + runs * kinds.length * sizeMib * 200);
  chromium.stderr.on("data", (d) => {
    buffered += d.toString();
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const m = line.match(/"BENCH ([^"]*)"/);
      if (!m) continue;
      const msg = m[1];
      console.error(msg);
      const r = msg.match(/^run (\d+) (\S+) ([\d.]+) MB\/s$/);
      if (r) {
        const [, i, kind, v] = r;
        mbps[kind].push(Number(v));
        (perRun[Number(i)] ||= {})[kind] = Number(v);
      }
      if (msg.startsWith("error")) failure = msg;
      if (msg === "done" || msg.startsWith("error")) { clearTimeout(timer); resolve(); }
    }
  });
  chromium.on("exit", (code) => {
    if (finished) return;
    failure ||= `chromium exited (${code}) before the page was done`;
    clearTimeout(timer);
    resolve();
  });
});
await done;
const exited = new Promise((r) => (chromium.exitCode !== null || chromium.signalCode !== null ? r() : chromium.once("exit", r)));
try { process.kill(-chromium.pid, "SIGTERM"); } catch { /* already gone */ }
await exited;
// Chromium's child processes may still be closing files in the profile for a moment.
rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
if (failure) { console.error(`nocdp: ${failure}`); process.exit(1); }

console.log(`\n${sizeMib} MiB file (OPFS), chunk ${chunkMib} MiB, ${runs} interleaved runs, no DevTools client (medians)`);
console.log("| uploader | MB/s | all runs |\n| --- | ---: | --- |");
for (const k of kinds) console.log(`| ${k} | ${fmt(median(mbps[k]))} | ${mbps[k].map((v) => fmt(v)).join(" ")} |`);
const base = kinds.filter((k) => !k.startsWith("wasm"));
const ours = kinds.filter((k) => k.startsWith("wasm"));
if (ours.length && base.length) {
  console.log("\n| ratio | median | per run |\n| --- | ---: | --- |");
  for (const a of ours) for (const b of base) {
    const per = perRun.map((r) => r[a] / r[b]);
    console.log(`| ${a}/${b} | ${fmt(median(per), 3)} | ${per.map((v) => fmt(v, 3)).join(" ")} |`);
  }
}
