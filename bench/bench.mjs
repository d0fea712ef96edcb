// Drives bench/www/bench.js in one headless-Chromium session (playwright-core, Debian's Chromium
// with the flags of webdriver.json) against a running onedrive-upload-server --dev (embedded emulator):
// interleaved uploads of one generated file by every uploader, N runs, memory sampled from
// /proc and in the page, then a time-to-first-byte pass with the CDP Network domain.
// Writes a JSON result file and prints a table of medians.
//
// node bench/bench.mjs --server http://127.0.0.1:PORT --server-pid PID --size-mib 256 --runs 5
//   [--chunk-mib 10] [--file PATH] [--out results.json] [--only wasm,xhr] [--ttfb-runs 3] [--qxh]

import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../tests/e2e/lib/browsers.mjs";
import { writeFileSync } from "node:fs";
import { parseArgs, median, fmt, mib, ensureFile, getJson, readStatus, cpuSeconds, resetPeak, startProcSampler, processGroups } from "./lib.mjs";

const args = parseArgs(process.argv.slice(2));
const SERVER = args.server;
const SIZE = Number(args["size-mib"] || 256) * 1024 * 1024;
const RUNS = Number(args.runs || 5);
const CHUNK = Math.round(Number(args["chunk-mib"] || 10) * 1024 * 1024);
const TTFB_RUNS = Number(args["ttfb-runs"] ?? 3);
const FILE = args.file || `/tmp/odu-bench-${SIZE / 1048576}MiB.bin`;
const OUT = args.out || null;
const SERVER_PID = args["server-pid"] ? Number(args["server-pid"]) : null;
const MB = 1e6;

// ------------------------------------------------------------------ main
async function main() {
  await ensureFile(FILE, SIZE);
  const tokenInfo = await getJson(`${SERVER}/dev/token?user=bench`);
  const devInfo = await getJson(`${SERVER}/dev/info`);
  const emulator = devInfo.emulator;
  if (!emulator) throw new Error("/dev/info has no emulator URL (embedded mode required)");

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      // Containers often give /dev/shm 64 MiB; BENCH_DEV_SHM=1 lets Chromium use it (A/B of this flag).
      ...CHROMIUM_ARGS.filter((a) => process.env.BENCH_DEV_SHM !== "1" || a !== "--disable-dev-shm-usage"),
      "--enable-precise-memory-info",
      "--js-flags=--expose-gc",
    ],
  });
  const chromiumVersion = browser.version();
  // A tab: a page in its own browser context (so its own renderer process), set up with the file.
  const openTab = async (context) => {
    const before = new Set((await processGroups(browser)).renderer);
    const page = await context.newPage();
    page.on("console", (m) => { if (m.type() === "error") console.error("[page]", m.text()); });
    page.on("pageerror", (e) => console.error("[page error]", e.message));
    await page.goto(`${SERVER}/`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
    await page.setInputFiles("#file", FILE);
    const setup = await page.evaluate((o) => window.B.setup(o), { token: tokenInfo.token, emulator, chunk: CHUNK });
    const all = (await processGroups(browser)).renderer;
    const fresh = all.filter((p) => !before.has(p));
    const cdp = await page.context().newCDPSession(page); // Runtime.getHeapUsage sampling
    return { page, cdp, setup, renderers: fresh.length ? fresh : all };
  };
  const mainTab = await openTab(await browser.newContext());
  const { page, setup } = mainTab;
  const groups = await processGroups(browser);
  let kinds = args.only ? String(args.only).split(",") : await page.evaluate(() => window.B.uploaders);
  if (setup.pkgError) {
    console.error(`pkg/ not loadable (${setup.pkgError}): running without the uploadFile uploaders`);
    kinds = kinds.filter((k) => !k.startsWith("wasm"));
  }
  const result = {
    date: new Date().toISOString(), chromiumVersion, sizeBytes: SIZE, chunkBytes: CHUNK, runs: RUNS,
    file: FILE, kinds, processes: groups, setup, uploads: [], ttfb: [], qxh: null,
  };
  console.error(`chromium ${chromiumVersion}; file ${FILE} (${SIZE / 1048576} MiB); chunk ${CHUNK} B; processes ${JSON.stringify(groups)}`);

  const sessions = async (name) => getJson(`${emulator}/_emulator/sessions?name=${encodeURIComponent(name)}`);
  let seq = 0;
  const uploadOnce = async (kind, run, extra = {}, tab = mainTab) => {
    const name = `bench-${SIZE / 1048576}-${kind}-${run}-${seq++}.bin`;
    const procGroups = { renderer: tab.renderers, browser: groups.browser, network: groups.network };
    if (SERVER_PID) procGroups.server = [SERVER_PID];
    const stop = startProcSampler(procGroups);
    const heap = { used: 0, embedder: 0, backing: 0, n: 0 };
    let sampling = true;
    const heapLoop = (async () => {
      while (sampling) {
        try {
          const h = await tab.cdp.send("Runtime.getHeapUsage");
          heap.used = Math.max(heap.used, h.usedSize || 0);
          heap.embedder = Math.max(heap.embedder, h.embedderHeapUsedSize || 0);
          heap.backing = Math.max(heap.backing, h.backingStorageSize || 0);
          heap.n++;
        } catch {}
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const r = await tab.page.evaluate(([k, n]) => window.B.run(k, n), [kind, name]);
    sampling = false;
    await heapLoop;
    r.proc = stop();
    r.cdpHeap = { usedMaxBytes: heap.used, embedderMaxBytes: heap.embedder, backingStoreMaxBytes: heap.backing, samples: heap.n };
    r.run = run;
    r.mbps = r.bytes / MB / (r.ms / 1000);
    const ss = await sessions(name);
    const s = ss.find((x) => x.state === "completed") || ss[0];
    r.session = s ? { putRequests: s.putRequests, bytesReceived: s.bytesReceived, state: s.state, count: ss.length } : null;
    if (!r.item || r.item.size !== SIZE) throw new Error(`${kind}: bad item ${JSON.stringify(r.item)}`);
    const del = await tab.page.evaluate((id) => window.B.remove(id), r.item.id);
    if (del >= 300) console.error(`warning: DELETE ${r.item.id} -> ${del}`);
    Object.assign(r, extra);
    return r;
  };

  // Warm-up (page cache, JIT, connection pool): one upload each, not recorded.
  for (const k of kinds) {
    const r = await uploadOnce(k, -1);
    console.error(`warm-up ${k.padEnd(14)} ${fmt(r.mbps)} MB/s`);
  }
  // Interleaved, and rotated by one each run (A B C D E, B C D E A, ...): every uploader takes every
  // position equally often, so slow phases of the machine (writeback, other jobs) do not favour one.
  for (let run = 0; run < RUNS; run++) {
    const order = kinds.map((_, i) => kinds[(i + run) % kinds.length]);
    for (const k of order) {
      const r = await uploadOnce(k, run);
      result.uploads.push(r);
      console.error(
        `run ${run} ${k.padEnd(14)} ${fmt(r.mbps).padStart(7)} MB/s  renderer ${fmt(mib(r.proc.renderer.peakBytes))} MiB (anon ${fmt(mib(r.proc.renderer.anonPeakBytes))})` +
          `  heap ${fmt(mib(r.heapMaxBytes))} MiB (cdp ${fmt(mib(r.cdpHeap.usedMaxBytes))}, ArrayBuffers ${fmt(mib(r.cdpHeap.backingStoreMaxBytes))})  wasm ${fmt(mib(r.wasmMaxBytes))} MiB  PUTs ${r.session?.putRequests}` +
          `  PUT ${fmt(r.putTiming.medianPutMs)} ms gap ${fmt(r.putTiming.medianGapMs, 2)} ms  cpu r/b/n/s ${fmt(r.proc.renderer.cpuSeconds, 2)}/${fmt(r.proc.browser.cpuSeconds, 2)}/${fmt(r.proc.network.cpuSeconds, 2)}/${fmt(r.proc.server?.cpuSeconds, 2)}`,
      );
    }
  }
  const hashes = new Set(result.uploads.map((u) => u.item.hash));
  result.allHashesEqual = hashes.size === 1;
  if (!result.allHashesEqual) console.error(`WARNING: uploads committed different hashes: ${[...hashes].join(" ")}`);

  // Memory pass: each uploader alone in a fresh browser context (own renderer, no garbage left by
  // the uploader before it), one upload each; peaks of that renderer, V8 heap and ArrayBuffers.
  if (!args["no-memory-pass"]) {
    result.memory = [];
    for (const k of kinds) {
      const context = await browser.newContext();
      const tab = await openTab(context);
      const r = await uploadOnce(k, "mem", {}, tab);
      result.memory.push(r);
      console.error(
        `memory ${k.padEnd(14)} renderer ${tab.renderers.join(",")}: RSS ${fmt(mib(r.proc.renderer.peakBytes))} MiB, anon ${fmt(mib(r.proc.renderer.anonPeakBytes))} MiB,` +
          ` V8 heap ${fmt(mib(r.cdpHeap.usedMaxBytes))} MiB, ArrayBuffers ${fmt(mib(r.cdpHeap.backingStoreMaxBytes))} MiB, wasm ${fmt(mib(r.wasmMaxBytes))} MiB`,
      );
      await context.close();
    }
  }

  // Read-path demo: hash the file in wasm via Blob.arrayBuffer() per piece vs a BYOB reader, fresh tab each.
  if (args["read-demo"]) {
    result.readDemo = [];
    for (const mode of ["arrayBuffer", "byob"]) {
      const context = await browser.newContext();
      const tab = await openTab(context);
      const heap = { backing: 0 };
      let on = true;
      const loop = (async () => {
        while (on) {
          try { heap.backing = Math.max(heap.backing, (await tab.cdp.send("Runtime.getHeapUsage")).backingStorageSize || 0); } catch {}
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const stop = startProcSampler({ renderer: tab.renderers, browser: groups.browser });
      // Bounded: on a 1 GiB file the BYOB read once stalled for minutes with no CPU use.
      const timeout = new Promise((res) => setTimeout(() => res(null), 120000));
      const r = (await Promise.race([tab.page.evaluate((m) => window.B.hashFile(m), mode), timeout])) || { mode, timedOut: true, bytes: SIZE, ms: NaN };
      on = false;
      await loop;
      r.proc = stop();
      r.arrayBufferPeakBytes = heap.backing;
      r.gbps = r.bytes / 1e9 / (r.ms / 1000);
      result.readDemo.push(r);
      if (r.timedOut) console.error(`read+hash ${mode}: no answer within 120 s (stalled), skipped`);
      else console.error(
        `read+hash ${mode.padEnd(11)} ${fmt(r.gbps, 2)} GB/s, ArrayBuffers peak ${fmt(mib(heap.backing))} MiB, renderer anon ${fmt(mib(r.proc.renderer.anonPeakBytes))} MiB,` +
          ` CPU renderer ${fmt(r.proc.renderer.cpuSeconds, 2)} s browser ${fmt(r.proc.browser.cpuSeconds, 2)} s,` +
          ` ${r.reads} reads (${fmt(r.bytes / r.reads / 1024, 0)} KiB each), copy+hash ${fmt(r.updateMs, 0)} of ${fmt(r.ms, 0)} ms (${r.hash})`,
      );
      await context.close();
    }
  }

  // Time to first byte on the wire, with the CDP Network domain on (separate pass: it costs time).
  if (TTFB_RUNS > 0) {
    const cdp = await page.context().newCDPSession(page);
    const reqs = new Map();
    cdp.on("Network.requestWillBeSent", (e) => {
      reqs.set(e.requestId, { url: e.request.url, method: e.request.method, ts: e.timestamp, wall: e.wallTime, headers: e.request.headers });
    });
    cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
      const r = reqs.get(e.requestId);
      if (r) r.sentHeaders = e.headers;
      else reqs.set(e.requestId, { sentHeaders: e.headers });
    });
    cdp.on("Network.responseReceived", (e) => {
      const r = reqs.get(e.requestId);
      if (r) r.timing = e.response.timing;
    });
    await cdp.send("Network.enable", { maxTotalBufferSize: 1 << 20, maxResourceBufferSize: 1 << 16 });
    for (let run = 0; run < TTFB_RUNS; run++) {
      for (const k of kinds) {
        reqs.clear();
        const t0Wall = await page.evaluate(() => performance.timeOrigin + performance.now());
        const r = await uploadOnce(k, run, {});
        const all = [...reqs.values()].filter((x) => x.url);
        const puts = all.filter((x) => x.method === "PUT" && x.url.includes("/upload/"));
        const first = puts.find((x) => x.timing) || null;
        let ttfbMs = null;
        if (first) {
          const sendStartWall = first.wall + (first.timing.requestTime - first.ts) + first.timing.sendStart / 1000;
          ttfbMs = sendStartWall * 1000 - t0Wall;
        }
        const authToUploadUrl = puts.some((x) =>
          Object.keys({ ...x.headers, ...(x.sentHeaders || {}) }).some((h) => h.toLowerCase() === "authorization"),
        );
        const rec = { kind: k, run, ttfbMs, puts: puts.length, requests: all.map((x) => x.method).join(","), authToUploadUrl, mbps: r.mbps };
        result.ttfb.push(rec);
        console.error(`ttfb ${k.padEnd(14)} ${fmt(ttfbMs, 1)} ms  (${puts.length} PUTs, Authorization to uploadUrl: ${authToUploadUrl})`);
      }
    }
    await cdp.send("Network.disable");
    await cdp.detach();
  }

  // Allocation sites during one upload (V8 sampling heap profiler, collected objects included).
  if (args["heap-profile"]) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("HeapProfiler.enable");
    const out = {};
    for (const k of String(args["heap-profile"]).split(",")) {
      await cdp.send("HeapProfiler.startSampling", {
        samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
      });
      await uploadOnce(k, "heap");
      const { profile } = await cdp.send("HeapProfiler.stopSampling");
      const sites = new Map();
      let total = 0;
      const walk = (n, stack) => {
        const f = n.callFrame;
        const here = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
        const st = [here, ...stack].slice(0, 4);
        if (n.selfSize) {
          const key = st.join(" <- ");
          sites.set(key, (sites.get(key) || 0) + n.selfSize);
          total += n.selfSize;
        }
        for (const c of n.children || []) walk(c, st);
      };
      walk(profile.head, []);
      const top = [...sites].sort((a, b) => b[1] - a[1]).slice(0, 12);
      out[k] = { totalBytes: total, top };
      console.error(`\nheap allocations during one ${k} upload: ${fmt(mib(total))} MiB sampled in total; top sites:`);
      for (const [site, b] of top) console.error(`  ${fmt(mib(b), 2).padStart(8)} MiB  ${site}`);
    }
    result.heapProfile = out;
    await cdp.send("HeapProfiler.disable");
    await cdp.detach();
  }

  if (args.qxh) {
    result.qxh = await page.evaluate(() => window.B.qxh(256, 5));
    const gbps = (ms) => result.qxh.bytes / 1e9 / (ms / 1000);
    console.error(`qxh wasm in-memory ${fmt(gbps(median(result.qxh.inWasmMs)), 2)} GB/s; from JS (copy in) ${fmt(gbps(median(result.qxh.fromJsMs)), 2)} GB/s`);
  }
  result.wasmMemoryEndBytes = await page.evaluate(() => window.B.wasmMemory());
  await browser.close();

  // ---------------------------------------------------------------- summary
  const by = (k) => result.uploads.filter((u) => u.kind === k);
  const summary = {};
  for (const k of kinds) {
    const us = by(k);
    summary[k] = {
      mbps: median(us.map((u) => u.mbps)),
      mbpsAll: us.map((u) => +u.mbps.toFixed(1)),
      rendererPeakMiB: median(us.map((u) => mib(u.proc.renderer.peakBytes))),
      rendererPeakMaxMiB: Math.max(...us.map((u) => mib(u.proc.renderer.peakBytes))),
      rendererAnonPeakMiB: median(us.map((u) => mib(u.proc.renderer.anonPeakBytes))),
      browserAnonPeakMiB: median(us.map((u) => mib(u.proc.browser.anonPeakBytes))),
      networkAnonPeakMiB: median(us.map((u) => mib(u.proc.network.anonPeakBytes))),
      browserPeakMiB: median(us.map((u) => mib(u.proc.browser.peakBytes))),
      networkPeakMiB: median(us.map((u) => mib(u.proc.network.peakBytes))),
      heapPeakMiB: median(us.map((u) => mib(u.heapMaxBytes))),
      cdpHeapPeakMiB: median(us.map((u) => mib(u.cdpHeap.usedMaxBytes))),
      arrayBufferPeakMiB: median(us.map((u) => mib(u.cdpHeap.backingStoreMaxBytes))),
      wasmMemMiB: Math.max(...us.map((u) => mib(u.wasmMaxBytes))),
      rendererCpuS: median(us.map((u) => u.proc.renderer.cpuSeconds)),
      browserCpuS: median(us.map((u) => u.proc.browser.cpuSeconds)),
      networkCpuS: median(us.map((u) => u.proc.network.cpuSeconds)),
      serverCpuS: SERVER_PID ? median(us.map((u) => u.proc.server.cpuSeconds)) : null,
      putRequests: median(us.map((u) => u.session?.putRequests)),
      ttfbMs: median(result.ttfb.filter((t) => t.kind === k).map((t) => t.ttfbMs)),
      medianPutMs: median(us.map((u) => u.putTiming?.medianPutMs)),
      medianGapMs: median(us.map((u) => u.putTiming?.medianGapMs)),
      totalGapMs: median(us.map((u) => u.putTiming?.totalGapMs)),
      beforeFirstPutMs: median(us.map((u) => u.putTiming?.beforeFirstPutMs)),
      afterLastPutMs: median(us.map((u) => u.putTiming?.afterLastPutMs)),
    };
  }
  // Ratios per run (same run = same machine conditions), then the median of the per-run ratios.
  const ratio = (a, b) => {
    const rs = [];
    for (let run = 0; run < RUNS; run++) {
      const x = result.uploads.find((u) => u.kind === a && u.run === run);
      const y = result.uploads.find((u) => u.kind === b && u.run === run);
      if (x && y) rs.push(x.mbps / y.mbps);
    }
    return { median: median(rs), all: rs.map((r) => +r.toFixed(3)) };
  };
  result.summary = summary;
  result.ratios = {};
  for (const a of ["wasm", "wasm-noverify"]) {
    for (const b of ["xhr", "graph-sdk", "naive"]) {
      if (kinds.includes(a) && kinds.includes(b)) result.ratios[`${a}/${b}`] = ratio(a, b);
    }
  }
  if (OUT) writeFileSync(OUT, JSON.stringify(result, null, 1));

  const lines = [];
  lines.push(`\n${SIZE / 1048576} MiB file, chunk ${CHUNK / 1048576} MiB, ${RUNS} interleaved runs, chromium ${chromiumVersion} (medians)`);
  lines.push("| uploader | MB/s | all runs | renderer RSS peak MiB | renderer anon peak MiB | JS heap peak MiB (V8, CDP) | ArrayBuffer backing peak MiB (CDP) | wasm memory MiB | browser anon peak MiB | renderer CPU s | browser CPU s | network-svc CPU s | server CPU s | PUTs | TTFB ms |");
  lines.push("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const k of kinds) {
    const s = summary[k];
    lines.push(
      `| ${k} | ${fmt(s.mbps)} | ${s.mbpsAll.join(" ")} | ${fmt(s.rendererPeakMiB)} | ${fmt(s.rendererAnonPeakMiB)} | ${fmt(s.cdpHeapPeakMiB)} | ${fmt(s.arrayBufferPeakMiB)} | ${fmt(s.wasmMemMiB)} |` +
        ` ${fmt(s.browserAnonPeakMiB)} | ${fmt(s.rendererCpuS, 2)} | ${fmt(s.browserCpuS, 2)} | ${fmt(s.networkCpuS, 2)} | ${fmt(s.serverCpuS, 2)} | ${s.putRequests ?? "-"} | ${fmt(s.ttfbMs)} |`,
    );
  }
  lines.push("");
  lines.push("Where the time goes (Resource Timing of the PUTs, medians over runs)");
  lines.push("| uploader | PUT duration ms (median PUT) | gap between PUTs ms (median) | all gaps ms (sum) | call to first PUT ms | last PUT to resolve ms |");
  lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const k of kinds) {
    const s = summary[k];
    lines.push(`| ${k} | ${fmt(s.medianPutMs)} | ${fmt(s.medianGapMs, 2)} | ${fmt(s.totalGapMs)} | ${fmt(s.beforeFirstPutMs)} | ${fmt(s.afterLastPutMs)} |`);
  }
  if (result.memory) {
    lines.push("");
    lines.push(`Memory, each uploader alone in a fresh renderer (one ${SIZE / 1048576} MiB upload; peaks during the upload)`);
    lines.push("| uploader | renderer RSS MiB | renderer anon MiB | V8 heap MiB | ArrayBuffers MiB | wasm memory MiB | browser anon MiB | network-svc anon MiB |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of result.memory) {
      lines.push(
        `| ${r.kind} | ${fmt(mib(r.proc.renderer.peakBytes))} | ${fmt(mib(r.proc.renderer.anonPeakBytes))} | ${fmt(mib(r.cdpHeap.usedMaxBytes))} |` +
          ` ${fmt(mib(r.cdpHeap.backingStoreMaxBytes))} | ${fmt(mib(r.wasmMaxBytes))} | ${fmt(mib(r.proc.browser.anonPeakBytes))} | ${fmt(mib(r.proc.network.anonPeakBytes))} |`,
      );
    }
  }
  lines.push("");
  lines.push("| ratio | median | per run | target |");
  lines.push("| --- | ---: | --- | --- |");
  const targets = { "wasm/xhr": ">= 0.95", "wasm/graph-sdk": ">= 1.0" };
  for (const [k, v] of Object.entries(result.ratios)) lines.push(`| ${k} | ${fmt(v.median, 3)} | ${v.all.join(" ")} | ${targets[k] || ""} |`);
  lines.push(`\nall committed QuickXorHashes equal: ${result.allHashesEqual}`);
  console.log(lines.join("\n"));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
