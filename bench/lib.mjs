// Helpers of bench/bench.mjs: argument parsing, medians, the generated file, and memory/CPU
// sampling of Chromium's processes from /proc.

import { createCipheriv } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, statSync } from "node:fs";
import { once } from "node:events";

export function parseArgs(a) {
  const o = {};
  for (let i = 0; i < a.length; i++) {
    if (!a[i].startsWith("--")) throw new Error(`bad argument ${a[i]}`);
    const k = a[i].slice(2);
    if (i + 1 < a.length && !a[i + 1].startsWith("--")) o[k] = a[++i];
    else o[k] = true;
  }
  if (!o.server) throw new Error("--server URL is required");
  return o;
}

export const median = (xs) => {
  const s = [...xs].filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const fmt = (x, d = 1) => (x == null ? "-" : x.toFixed(d));
export const mib = (b) => (b == null ? null : b / 1048576);

/** Deterministic incompressible bytes (AES-128-CTR keystream), written once and reused. */
export async function ensureFile(path, size) {
  if (existsSync(path) && statSync(path).size === size) return;
  const c = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const out = createWriteStream(path);
  const zero = Buffer.alloc(4 * 1048576);
  for (let done = 0; done < size; done += zero.length) {
    if (!out.write(c.update(zero.subarray(0, Math.min(zero.length, size - done))))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

export async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url} -> ${r.status}`);
  return r.json();
}

// ------------------------------------------------------------------ /proc sampling
export function readStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => {
      const m = s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, "m"));
      return m ? Number(m[1]) * 1024 : null;
    };
    return { rss: kb("VmRSS"), hwm: kb("VmHWM"), anon: kb("RssAnon"), shmem: kb("RssShmem") };
  } catch {
    return null;
  }
}
export function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 Hz)
  } catch {
    return null;
  }
}
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples /proc/<pid>/status of the given processes every 10 ms. peakBytes = max(sampled VmRSS, VmHWM
 * after a reset through clear_refs); anonPeakBytes = sampled RssAnon (private heap memory, without the
 * mapped chromium binary and fonts that make up most of a renderer's RSS). Max over the group's processes.
 */
export function startProcSampler(groups) {
  const st = {};
  for (const [g, pids] of Object.entries(groups)) {
    st[g] = { pids, rssMax: 0, anonMax: 0, shmemMax: 0, reset: pids.map(resetPeak).every(Boolean), cpu0: pids.map(cpuSeconds) };
  }
  const tick = () => {
    for (const g of Object.values(st)) {
      for (const p of g.pids) {
        const m = readStatus(p);
        if (!m) continue;
        g.rssMax = Math.max(g.rssMax, m.rss || 0);
        g.anonMax = Math.max(g.anonMax, m.anon || 0);
        g.shmemMax = Math.max(g.shmemMax, m.shmem || 0);
      }
    }
  };
  tick();
  const timer = setInterval(tick, 10);
  return () => {
    clearInterval(timer);
    tick();
    const out = {};
    for (const [name, g] of Object.entries(st)) {
      const hwm = g.reset ? Math.max(...g.pids.map((p) => readStatus(p)?.hwm || 0)) : null;
      const cpu = g.pids.map(cpuSeconds).reduce((a, c, i) => a + ((c ?? 0) - (g.cpu0[i] ?? 0)), 0);
      out[name] = {
        peakBytes: Math.max(g.rssMax, hwm || 0), sampledMaxBytes: g.rssMax, hwmBytes: hwm,
        anonPeakBytes: g.anonMax, shmemPeakBytes: g.shmemMax, cpuSeconds: cpu,
      };
    }
    return out;
  };
}

export async function processGroups(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const info = await cdp.send("SystemInfo.getProcessInfo");
  await cdp.detach();
  const groups = { renderer: [], browser: [], network: [], gpu: [], other: [] };
  for (const p of info.processInfo) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${p.id}/cmdline`, "utf8");
    } catch {}
    if (p.type === "renderer") groups.renderer.push(p.id);
    else if (p.type === "browser") groups.browser.push(p.id);
    else if (cmd.includes("network.mojom.NetworkService")) groups.network.push(p.id);
    else if (p.type === "GPU") groups.gpu.push(p.id);
    else groups.other.push(p.id);
  }
  return groups;
}
