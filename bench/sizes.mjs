// Bundle sizes for BENCHMARKS.md: pkg/*.wasm + pkg/*.js raw and gzip -9, next to tus-js-client and
// Microsoft's Graph SDK (Client + LargeFileUploadTask) bundled by esbuild --bundle --minify from
// bench/node_modules and compressed the same way. With --profiling-wasm FILE (a wasm-pack
// --profiling build, names kept) it also prints the wasm code size by crate (what each dep costs).
//
// node bench/sizes.mjs --pkg pkg [--profiling-wasm path/to/onedrive_upload_bg.wasm]

import { execFileSync } from "node:child_process";
import zlib from "node:zlib";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const PKG = args.pkg || join(HERE, "..", "pkg");
const tmp = mkdtempSync(join(tmpdir(), "odu-sizes-"));
const gz = (file) => execFileSync("gzip", ["-9", "-c", file], { maxBuffer: 1 << 28 }).length;
const kib = (b) => (b / 1024).toFixed(1);
const esbuild = join(HERE, "node_modules", ".bin", "esbuild");
const bundle = (entry, out) => {
  execFileSync(esbuild, [entry, "--bundle", "--minify", "--format=esm", "--platform=browser", `--outfile=${out}`, "--log-level=warning"], { cwd: HERE });
  return out;
};

const rows = [];
const files = readdirSync(PKG).filter((f) => f.endsWith(".wasm") || (f.endsWith(".js") && !f.endsWith(".d.ts")));
let raw = 0;
let zipped = 0;
for (const f of files) {
  const p = join(PKG, f);
  const r = statSync(p).size;
  const g = gz(p);
  raw += r;
  zipped += g;
  rows.push([`pkg/${f}`, r, g]);
}
rows.push(["**pkg/ total (wasm + js, as shipped)**", raw, zipped]);
// The glue JS as an app's bundler would ship it (minified), for a like-for-like comparison.
const jsFiles = files.filter((f) => f.endsWith(".js"));
let minTotal = 0;
let minGz = 0;
for (const f of jsFiles) {
  const out = bundle(join(PKG, f), join(tmp, `min-${f}`));
  minTotal += statSync(out).size;
  minGz += gz(out);
}
const wasmFiles = files.filter((f) => f.endsWith(".wasm"));
const wasmRaw = wasmFiles.reduce((a, f) => a + statSync(join(PKG, f)).size, 0);
const wasmGz = wasmFiles.reduce((a, f) => a + gz(join(PKG, f)), 0);
rows.push(["**pkg/ wasm + esbuild-minified js**", wasmRaw + minTotal, wasmGz + minGz]);
for (const [name, entry] of [["tus-js-client (Upload)", "entries/tus.mjs"], ["@microsoft/microsoft-graph-client (Client, LargeFileUploadTask, FileUpload)", "entries/graph-sdk.mjs"]]) {
  const out = bundle(entry, join(tmp, entry.replace(/\W/g, "_") + ".js"));
  rows.push([`${name}, esbuild --bundle --minify`, statSync(out).size, gz(out)]);
}
const ver = (p) => JSON.parse(readFileSync(join(HERE, "node_modules", p, "package.json"), "utf8")).version;
console.log(`\nBundle sizes (gzip -9; tus-js-client ${ver("tus-js-client")}, @microsoft/microsoft-graph-client ${ver("@microsoft/microsoft-graph-client")}, esbuild ${ver("esbuild")})`);
console.log("| artefact | raw bytes | raw KiB | gzip -9 bytes | gzip -9 KiB |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [n, r, g] of rows) console.log(`| ${n} | ${r} | ${kib(r)} | ${g} | ${kib(g)} |`);

// ------------------------------------------------------------------ wasm code size by crate
function leb(buf, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [result, pos];
  }
}
function wasmBreakdown(file) {
  const buf = readFileSync(file);
  let pos = 8;
  let imported = 0;
  const bodies = [];
  const names = new Map();
  const sections = {};
  while (pos < buf.length) {
    const id = buf[pos++];
    let size;
    [size, pos] = leb(buf, pos);
    const end = pos + size;
    if (id === 0) {
      let nlen;
      let p;
      [nlen, p] = leb(buf, pos);
      const name = buf.subarray(p, p + nlen).toString("utf8");
      p += nlen;
      sections[`custom:${name}`] = size;
      if (name === "name") {
        while (p < end) {
          const sub = buf[p++];
          let slen;
          [slen, p] = leb(buf, p);
          const send = p + slen;
          if (sub === 1) {
            let count;
            let q;
            [count, q] = leb(buf, p);
            for (let i = 0; i < count; i++) {
              let idx;
              let l;
              [idx, q] = leb(buf, q);
              [l, q] = leb(buf, q);
              names.set(idx, buf.subarray(q, q + l).toString("utf8"));
              q += l;
            }
          }
          p = send;
        }
      }
    } else {
      sections[id] = (sections[id] || 0) + size;
      if (id === 11) sections.dataBytes = buf.subarray(pos, end);
      if (id === 2) {
        let count;
        let p;
        [count, p] = leb(buf, pos);
        for (let i = 0; i < count; i++) {
          let l;
          [l, p] = leb(buf, p); p += l; // module
          [l, p] = leb(buf, p); p += l; // field
          const kind = buf[p++];
          if (kind === 0) { [, p] = leb(buf, p); imported++; }
          else if (kind === 1) { p++; const fl = buf[p++]; [, p] = leb(buf, p); if (fl & 1) [, p] = leb(buf, p); }
          else if (kind === 2) { const fl = buf[p++]; [, p] = leb(buf, p); if (fl & 1) [, p] = leb(buf, p); }
          else if (kind === 3) { p += 2; }
        }
      } else if (id === 10) {
        let count;
        let p;
        [count, p] = leb(buf, pos);
        for (let i = 0; i < count; i++) {
          let l;
          const start = p;
          [l, p] = leb(buf, p);
          bodies.push(p + l - start);
          p += l;
        }
      }
    }
    pos = end;
  }
  // Crate of a function from its (mangled or demangled) Rust symbol name.
  const crateOf = (n) => {
    if (!n) return "(unnamed)";
    if (n.startsWith("_ZN")) { // legacy mangling: _ZN <len><ident>... E
      const m = n.slice(3).match(/^(\d+)/);
      let id = m ? n.slice(3 + m[1].length, 3 + m[1].length + Number(m[1])) : "";
      if (id.startsWith("_$LT$")) id = id.slice(5).replace(/^(dyn\$u20\$|\$RF\$|mut\$u20\$)+/, "").split(/\.\.|\$/)[0];
      return id.length === 1 ? "(generic impls)" : id || "(other)";
    }
    if (n.startsWith("_R")) { // v0 mangling: first crate root C[s<disamb>_]<len><ident>
      const m = n.match(/C(?:s[0-9A-Za-z]*_)?(\d+)([A-Za-z_])/);
      if (m) {
        const at = m.index + m[0].length - 1;
        const c = n.slice(at, at + Number(m[1]));
        return c.startsWith("_") ? "compiler_builtins/std shims" : c;
      }
    }
    // demangled: strip crate hashes ("core[c593..]"), then "<Type as Trait>" / "<Type>" prefixes
    let s = n.replace(/\[[0-9a-f]+\]/g, "");
    const impl = s.match(/^<(?:&|mut |dyn |\s)*([^<>\s]+?)(?:<.*?>)?(?: as ([^<>\s]+))?>/);
    if (impl) {
      const prim = /^(\[.*|\(.*|[iu](8|16|32|64|128|size)|f32|f64|bool|char|str|T|E|R|F|A|K|V)$/;
      const ty = impl[1];
      const path = prim.test(ty) || !ty.includes("::") ? impl[2] || "core::" : ty;
      s = path;
    }
    s = s.replace(/^[<&\s]+/, "").replace(/^(dyn |mut |impl )+/, "");
    const m = s.match(/^([A-Za-z_][A-Za-z0-9_]*)::/);
    if (m) return m[1].length === 1 ? "(generic impls)" : m[1];
    if (/^(__wbg|__wbindgen|__externref|externref_|wasm_bindgen)/.test(s)) return "wasm_bindgen (glue)";
    if (/^(mem|str|__rust|__rdl|__rg|__rustc)/.test(s)) return "compiler_builtins/std shims";
    return "(exports and other)";
  };
  const byCrate = new Map();
  bodies.forEach((b, i) => {
    const c = crateOf(names.get(imported + i));
    const e = byCrate.get(c) || { bytes: 0, fns: 0 };
    e.bytes += b;
    e.fns++;
    byCrate.set(c, e);
  });
  const code = bodies.reduce((a, b) => a + b, 0);
  if (args["top-functions"]) {
    const top = bodies.map((b, i) => [b, names.get(imported + i) || "?"]).sort((a, b) => b[0] - a[0]).slice(0, Number(args["top-functions"]));
    console.log(`\nlargest wasm functions`);
    for (const [b, n] of top) console.log(`${String(b).padStart(7)}  ${crateOf(n).padEnd(22)} ${n.slice(0, 150)}`);
  }
  const dataGz = sections.dataBytes ? zlib.gzipSync(sections.dataBytes, { level: 9 }).length : 0;
  const printable = sections.dataBytes ? sections.dataBytes.toString("latin1").match(/[ -~]{6,}/g) || [] : [];
  console.log(`\ndata section: ${sections[11] || 0} B raw, ${dataGz} B gzip -9 alone; ${printable.reduce((a, x) => a + x.length, 0)} B of it is printable text in runs of >= 6 chars (messages, names)`);
  console.log(`\nwasm code by crate (${file}; names kept; code section ${code} B, data section ${sections[11] || 0} B)`);
  console.log("| crate | code bytes | share | functions |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [c, e] of [...byCrate].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 25)) {
    console.log(`| ${c} | ${e.bytes} | ${((100 * e.bytes) / code).toFixed(1)}% | ${e.fns} |`);
  }
  // Cross-cutting costs, whatever crate they sit in.
  const themes = [
    ["formatting (fmt::Display/Debug, float printing)", /fmt|Display|Debug|flt2dec|dragon|grisu|float_to/],
    ["JSON / serde (serde, serde_json, serde_wasm_bindgen)", /serde/],
    ["panics and unwrap messages", /panic|unwrap_failed|expect_failed|slice_error|index_out_of|str_index/],
  ];
  console.log("| theme (by function name, across crates) | code bytes | share | functions |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [label, re] of themes) {
    let b = 0;
    let f = 0;
    bodies.forEach((len, i) => { if (re.test(names.get(imported + i) || "")) { b += len; f++; } });
    console.log(`| ${label} | ${b} | ${((100 * b) / code).toFixed(1)}% | ${f} |`);
  }
}
if (args["profiling-wasm"]) wasmBreakdown(args["profiling-wasm"]);
