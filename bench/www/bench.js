// The in-page side of the upload benchmark (driven by bench/bench.mjs through playwright-core).
// Five uploaders send the same <input type=file> File to upload sessions issued by
// POST /api/cloud/file on the server under test, which forwards them to the embedded emulator:
//   wasm           uploadFile from pkg/ with default options
//   wasm-noverify  uploadFile with { verify: false }
//   xhr            the physical limit: a bare loop of sequential XHR PUTs, no logic at all
//   graph-sdk      Microsoft's @microsoft/microsoft-graph-client LargeFileUploadTask
//   naive          the common hand-written uploader: slice + axios-style PUT + axios-retry-style retries
// Every uploader is timed from "start" (before its session is created) to the final driveItem.
// Opt-in experiments on the read path are in experiments.js; `?auto=` runs uploaders without DevTools.

import { Client, LargeFileUploadTask, FileUpload } from "./graph-sdk.js";
import { state, createSession, bareXhrPut, committed } from "./common.js";
import { experiments as makeExperiments } from "./experiments.js";

// ---------------------------------------------------------------- 1. uploadFile from pkg/
function uploadWasm(options) {
  return (file, name) => {
    // uploadFile names the session after file.name; a File wrapper gives each run its own name
    // without copying bytes (a File made from a File is a reference to the same blob data).
    const named = new File([file], name, { type: file.type, lastModified: file.lastModified });
    return state.pkg.uploadFile(named, { headers: { Authorization: `Bearer ${state.token}` }, ...options });
  };
}

// ---------------------------------------------------------------- 2. bare XHR loop
async function uploadBareXhr(file, name) {
  const s = await createSession(name, file.size);
  const size = file.size;
  const chunk = state.chunk;
  let x = null;
  for (let a = 0; a < size; a += chunk) {
    const b = Math.min(a + chunk, size);
    x = await bareXhrPut(s.uploadUrl, file.slice(a, b), `bytes ${a}-${b - 1}/${size}`);
  }
  return committed(x);
}

// ---------------------------------------------------------------- 3. Graph JS SDK
async function uploadGraphSdk(file, name, rangeSize = state.chunk) {
  const s = await createSession(name, file.size);
  // The SDK splits an https upload URL into host, "version" (first path segment) and path
  // (GraphRequest.parsePath) and only understands "https://" there. The emulator is plain http
  // on loopback, so we hand the SDK the same split through its own config (baseUrl,
  // defaultVersion) and the rest of the path as the session url: the request URL is identical.
  // The authProvider is never asked: the SDK adds Authorization only to Graph hosts.
  const u = new URL(s.uploadUrl);
  const [version, ...rest] = u.pathname.replace(/^\//, "").split("/");
  const client = Client.init({
    baseUrl: u.origin,
    defaultVersion: version,
    authProvider: (done) => done(new Error("no token for upload URLs"), null),
  });
  const session = { url: rest.join("/") + u.search, expiry: new Date(s.expirationDateTime) };
  const options = rangeSize ? { rangeSize } : {};
  const task = new LargeFileUploadTask(client, new FileUpload(file, name, file.size), session, options);
  const result = await task.upload();
  return result.responseBody;
}

/** The SDK as most callers use it: no rangeSize, so its default (5 MiB chunks). */
const uploadGraphSdkDefault = (file, name) => uploadGraphSdk(file, name, null);

// ---------------------------------------------------------------- 4. naive hand-written uploader
// What the XHR adapter of axios does for `axios.put(url, blob, { headers, onUploadProgress })`:
// default Accept header, Blob body sent as is, JSON response parsed, non-2xx rejected.
function axiosPut(url, data, config) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", url, true);
    x.setRequestHeader("Accept", "application/json, text/plain, */*");
    for (const [k, v] of Object.entries(config.headers || {})) x.setRequestHeader(k, v);
    if (config.onUploadProgress) x.upload.addEventListener("progress", config.onUploadProgress);
    x.onloadend = () => {
      if (!x.status) return;
      let body = x.responseText;
      try { body = JSON.parse(body); } catch (_) { /* axios keeps the text */ }
      const response = { data: body, status: x.status, headers: x.getAllResponseHeaders() };
      if (x.status >= 200 && x.status < 300) resolve(response);
      else reject(Object.assign(new Error(`Request failed with status code ${x.status}`), { response }));
    };
    x.onerror = () => reject(Object.assign(new Error("Network Error"), { code: "ERR_NETWORK" }));
    x.ontimeout = () => reject(Object.assign(new Error("timeout"), { code: "ECONNABORTED" }));
    x.send(data);
  });
}

// axios-retry's defaults: 3 retries on network errors and 5xx, exponential delay 2^n * 100 ms.
async function withRetries(fn, retries = 3) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const retryable = !e.response || e.response.status >= 500;
      if (attempt >= retries || !retryable) throw e;
      await new Promise((r) => setTimeout(r, 2 ** attempt * 100 + Math.random() * 20));
    }
  }
}

async function uploadNaive(file, name) {
  const s = await createSession(name, file.size);
  const chunk = state.chunk;
  let start = 0;
  let result = null;
  let percent = 0;
  while (start < file.size) {
    const end = Math.min(start + chunk, file.size);
    const slice = file.slice(start, end);
    const res = await withRetries(() =>
      axiosPut(s.uploadUrl, slice, {
        headers: { "Content-Range": `bytes ${start}-${end - 1}/${file.size}` },
        onUploadProgress: (e) => { percent = Math.round(((start + e.loaded) * 100) / file.size); },
      }),
    );
    result = res.data;
    start = end;
  }
  if (percent < 100) throw new Error(`progress stuck at ${percent}%`);
  return result;
}

const uploaders = {
  wasm: uploadWasm({}),
  "wasm-noverify": uploadWasm({ verify: false }),
  xhr: uploadBareXhr,
  "graph-sdk": uploadGraphSdk,
  naive: uploadNaive,
};
/** Selectable with --uploaders, not run by default (experiments.js, and the SDK at its default chunks). */
const experiments = makeExperiments({ "graph-sdk-default": uploadGraphSdkDefault });

// ---------------------------------------------------------------- memory sampling inside the page
function startSampler() {
  const s = { heapMax: 0, wasmMax: 0, n: 0 };
  const tick = () => {
    const heap = performance.memory ? performance.memory.usedJSHeapSize : 0;
    const wasm = state.wasm && state.wasm.memory ? state.wasm.memory.buffer.byteLength : 0;
    s.heapMax = Math.max(s.heapMax, heap);
    s.wasmMax = Math.max(s.wasmMax, wasm);
    s.n++;
  };
  tick();
  state.samples = s;
  state.sampler = setInterval(tick, 20);
}

function stopSampler() {
  clearInterval(state.sampler);
  const s = state.samples;
  return { heapMaxBytes: s.heapMax, wasmMaxBytes: s.wasmMax, samples: s.n };
}

window.B = {
  uploaders: Object.keys(uploaders),

  async setup({ token, emulator, chunk }) {
    Object.assign(state, { token, emulator, chunk });
    // Imported here (not statically) so that the other uploaders still run while pkg/ is missing.
    try {
      state.pkg = await import("/pkg/onedrive_upload.js");
      state.wasm = await state.pkg.default();
    } catch (e) {
      return { pkgError: String(e) };
    }
    return { wasmMemoryBytes: state.wasm.memory ? state.wasm.memory.buffer.byteLength : null };
  },

  file() {
    const f = document.getElementById("file").files[0];
    return { name: f.name, size: f.size };
  },

  /** Runs one upload; returns timings, the committed item and in-page memory peaks. */
  async run(kind, name) {
    const file = document.getElementById("file").files[0];
    if (globalThis.gc) globalThis.gc();
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(100000);
    startSampler();
    const t0 = performance.now();
    let item;
    let mem;
    try {
      item = await (uploaders[kind] || experiments[kind])(file, name);
    } finally {
      mem = stopSampler();
    }
    const t1 = performance.now();
    const puts = performance.getEntriesByType("resource").filter((e) => e.name.includes("/upload/"));
    // Per-PUT timing: how long each PUT took, and the idle gap from one PUT's end to the next's start.
    const med = (xs) => { const a = [...xs].sort((x, y) => x - y); return a.length ? a[a.length >> 1] : null; };
    const durations = puts.map((e) => e.duration);
    const gaps = puts.slice(1).map((e, i) => e.startTime - puts[i].responseEnd);
    const putTiming = {
      n: puts.length,
      medianPutMs: med(durations),
      medianGapMs: med(gaps),
      totalGapMs: gaps.reduce((a, b) => a + b, 0),
      totalPutMs: durations.reduce((a, b) => a + b, 0),
      beforeFirstPutMs: puts.length ? puts[0].startTime - t0 : null,
      afterLastPutMs: puts.length ? t1 - puts[puts.length - 1].responseEnd : null,
    };
    return {
      putTiming,
      kind,
      name,
      bytes: file.size,
      ms: t1 - t0,
      firstPutIssuedMs: puts.length ? puts[0].startTime - t0 : null,
      item: item && { id: item.id, name: item.name, size: item.size, hash: item.file && item.file.hashes && item.file.hashes.quickXorHash },
      ...mem,
    };
  },

  wasmMemory() {
    return state.wasm && state.wasm.memory ? state.wasm.memory.buffer.byteLength : null;
  },

  async remove(id) {
    const r = await fetch(`/api/cloud/file/${encodeURIComponent(id)}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${state.token}` },
    });
    return r.status;
  },

  /**
   * Reads the whole file in 2 MiB pieces and hashes it in wasm (bench/qxh-wasm), either the way
   * src/hasher.rs falls back to without BYOB readers (Blob.slice().arrayBuffer(): a fresh
   * ArrayBuffer per piece) or the way it reads by default (a BYOB stream reader that refills one
   * reused ArrayBuffer). Shows what the read path costs.
   */
  async hashFile(mode) {
    const q = await import("./qxh/qxh_wasm.js");
    await q.default();
    const file = document.getElementById("file").files[0];
    const PIECE = 2 * 1024 * 1024;
    const h = new q.Hasher();
    if (globalThis.gc) globalThis.gc();
    let reads = 0;
    let updateMs = 0; // copying each piece into wasm memory and hashing it
    const t0 = performance.now();
    if (mode === "arrayBuffer") {
      for (let a = 0; a < file.size; a += PIECE) {
        const buf = await file.slice(a, Math.min(a + PIECE, file.size)).arrayBuffer();
        const u0 = performance.now();
        h.update(new Uint8Array(buf));
        updateMs += performance.now() - u0;
        reads++;
      }
    } else {
      const reader = file.stream().getReader({ mode: "byob" });
      let buf = new ArrayBuffer(PIECE);
      for (;;) {
        const { value, done } = await reader.read(new Uint8Array(buf));
        if (done) break;
        const u0 = performance.now();
        h.update(value);
        updateMs += performance.now() - u0;
        reads++;
        buf = value.buffer;
      }
    }
    const ms = performance.now() - t0;
    const hash = h.finalize();
    h.free();
    return { mode, ms, bytes: file.size, hash, reads, updateMs };
  },

  /** QuickXorHash GB/s in wasm (bench/qxh-wasm): in wasm memory, and from a JS Uint8Array (one copy in). */
  async qxh(mib, iters) {
    const q = await import("./qxh/qxh_wasm.js");
    await q.default();
    const len = mib * 1024 * 1024;
    const buf = q.make_buffer(len);
    buf.hash(); // warm-up
    const inWasm = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      buf.hash();
      inWasm.push(performance.now() - t0);
    }
    const js = new Uint8Array(len);
    for (let i = 0; i < len; i += 65536) crypto.getRandomValues(js.subarray(i, Math.min(i + 65536, len)));
    const fromJs = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      q.hash_bytes(js);
      fromJs.push(performance.now() - t0);
    }
    buf.free();
    return { bytes: len, inWasmMs: inWasm, fromJsMs: fromJs };
  },
};

// ---------------------------------------------------------------- without DevTools (bench/nocdp.mjs)
// `index.html?auto=xhr,xhr-sliceonce&mib=128&runs=3`: the page runs the named uploaders by itself on a
// generated file (in the origin-private file system) and logs `BENCH ...` lines, for a browser that no DevTools client is attached
// to (playwright enables the CDP Network domain, which instruments every request body).
async function runAuto(params) {
  const kinds = params.get("auto").split(",");
  const size = Number(params.get("mib") || 128) * 1024 * 1024;
  const runs = Number(params.get("runs") || 3);
  const t = await (await fetch("/dev/token?user=bench")).json();
  Object.assign(state, { token: t.token, chunk: Number(params.get("chunk-mib") || 10) * 1024 * 1024 });
  state.pkg = await import("/pkg/onedrive_upload.js");
  state.wasm = await state.pkg.default();
  // The file: random bytes written to the origin-private file system, so that `getFile()` gives a
  // disk-backed File like one picked through <input type=file> (no picker without a DevTools client).
  const dir = await navigator.storage.getDirectory();
  const handle = await dir.getFileHandle(`bench-${size}.bin`, { create: true });
  const out = await handle.createWritable();
  const part = new Uint8Array(1 << 20);
  for (let a = 0; a < size; a += part.length) {
    for (let i = 0; i < part.length; i += 65536) crypto.getRandomValues(part.subarray(i, i + 65536));
    await out.write(part.subarray(0, Math.min(part.length, size - a)));
  }
  await out.close();
  const file = await handle.getFile();
  console.log(`BENCH file ${file.size} B (OPFS), chunk ${state.chunk} B, ${navigator.userAgent}`);
  for (let run = -1; run < runs; run++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + Math.max(run, 0)) % kinds.length];
      const t0 = performance.now();
      const item = await (uploaders[kind] || experiments[kind])(file, `nocdp-${kind}-${run}-${Date.now()}.bin`);
      const ms = performance.now() - t0;
      if (item.size !== size) throw new Error(`${kind}: committed ${item.size} B, expected ${size}`);
      await window.B.remove(item.id);
      console.log(`BENCH ${run < 0 ? "warm-up" : `run ${run}`} ${kind} ${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s`);
    }
  }
  console.log("BENCH done");
}
const autoParams = new URLSearchParams(location.search);
if (autoParams.has("auto")) runAuto(autoParams).catch((e) => console.log(`BENCH error ${e}`));

document.getElementById("log").textContent = "ready";
window.benchReady = true;
