// Shrinks a `wasm-pack build --target web` output in place (the last step of scripts/build-pkg.sh).
//
//   node scripts/shrink-pkg.mjs PKG_DIR
//
// 1. binaryen's `--minify-imports-and-exports-and-modules`: wasm-bindgen names every import
//    `__wbg_<name>_<16 hex digits>` in module "./onedrive_upload_bg.js" and exports closure shims
//    by their mangled names; the wasm carries each name once and the JS glue again. The pass
//    renames them to one or two letters and prints the mapping, which is applied to the glue here.
// 2. esbuild minifies the glue (same exports; `import.meta.url` for the .wasm is kept).
//
// Measured in BENCHMARKS.md (sitting 7): about 1.5 KB less gzipped wasm and 2.6 KB less gzipped JS.
// Every rename is checked: each wasm import must be defined by the glue and each export the glue
// uses must exist, or the script fails and the build with it.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/shrink-pkg.mjs PKG_DIR");
  process.exit(2);
}
const wasmPath = path.join(dir, "onedrive_upload_bg.wasm");
const jsPath = path.join(dir, "onedrive_upload.js");
const dtsPath = path.join(dir, "onedrive_upload_bg.wasm.d.ts");
const wasmOpt = path.join(root, "tools/node_modules/binaryen/bin/wasm-opt");
const { transformSync } = await import(path.join(root, "tools/node_modules/esbuild/lib/main.js"));

const fail = (message) => {
  console.error(`shrink-pkg: ${message}`);
  process.exit(1);
};
let js = fs.readFileSync(jsPath, "utf8");
const MODULE = "./onedrive_upload_bg.js";
if (!js.includes(`"${MODULE}": import0`)) fail(`${jsPath} is not wasm-bindgen's web glue (already shrunk?)`);

// 1. Names. The `--enable-*` flags of the release wasm-opt run, read from Cargo.toml (their one
// home), so the pass only renames (the module's own features section declares the rest).
const releaseOpt = fs.readFileSync(path.join(root, "Cargo.toml"), "utf8").match(/^wasm-opt = \[(.*)\]$/m);
if (!releaseOpt) fail("no `wasm-opt = [...]` line in Cargo.toml");
const features = [...releaseOpt[1].matchAll(/"(--enable-[\w-]+)"/g)].map((m) => m[1]);
const printed = execFileSync(wasmOpt, [wasmPath, ...features, "--minify-imports-and-exports-and-modules", "-o", wasmPath], {
  encoding: "utf8",
});
const map = JSON.parse(printed.slice(printed.indexOf("{")));
const wasm = new WebAssembly.Module(fs.readFileSync(wasmPath));
const modules = [...new Set(WebAssembly.Module.imports(wasm).map((i) => i.module))];
if (modules.length !== 1) fail(`expected one import module, found ${JSON.stringify(modules)}`);

const replaceOnce = (pattern, to, what) => {
  let n = 0;
  js = js.replace(pattern, (...m) => {
    n += 1;
    return typeof to === "function" ? to(...m) : to;
  });
  if (n !== 1) fail(`${what}: ${n} matches in the glue, expected 1`);
};
for (const [module, name, to] of map.imports) {
  if (module !== MODULE) fail(`unexpected import module ${module}`);
  replaceOnce(new RegExp(`^(\\s+)${name}: function\\(`, "m"), (_, indent) => `${indent}${to}: function(`, name);
}
replaceOnce(`"${MODULE}": import0`, `${JSON.stringify(modules[0])}: import0`, "the import module");
let dts = fs.existsSync(dtsPath) ? fs.readFileSync(dtsPath, "utf8") : null;
for (const [name, to] of map.exports) {
  js = js.replace(new RegExp(`\\bwasm\\.${name}\\b`, "g"), `wasm.${to}`);
  if (dts !== null) dts = dts.replace(new RegExp(`^export const ${name}:`, "m"), `export const ${to}:`);
}

// Every import defined, every export the glue uses present.
const defined = new Set([...js.matchAll(/^\s+([\w$]+): function\(/gm)].map((m) => m[1]));
for (const i of WebAssembly.Module.imports(wasm)) {
  if (!defined.has(i.name)) fail(`import ${i.name} has no definition in the glue`);
}
const exported = new Set(WebAssembly.Module.exports(wasm).map((e) => e.name));
for (const [, name] of js.matchAll(/\bwasm\.([\w$]+)/g)) {
  if (!exported.has(name)) fail(`the glue uses wasm.${name}, which the module does not export`);
}

// 2. Minify; the directive for Deno/JSR type lookup is kept as the first line.
const header = js.match(/^\/\* @ts-self-types="[^"]*" \*\/\n/)?.[0] ?? "";
const { code } = transformSync(js, { minify: true, format: "esm", legalComments: "none" });
fs.writeFileSync(jsPath, header + code);
if (dts !== null) fs.writeFileSync(dtsPath, dts);
