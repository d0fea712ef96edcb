// Bundles what the Uppy demo page (www/uppy.html) needs from npm into www/vendor/, with esbuild, from
// the locked packages of this directory: @uppy/core, @uppy/dashboard and this plugin as one ES module
// (www/vendor/uppy.js), and their CSS (www/vendor/uppy.css). `onedrive-upload` stays external: the
// page's import map points it at the wasm package the server serves at /pkg/. Nothing is fetched at
// run time. Run by scripts/demo.sh and scripts/test.sh (`npm run build:www`).

import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../www/vendor");
mkdirSync(out, { recursive: true });

await build({
  stdin: {
    contents: [
      'export { default as Uppy } from "@uppy/core";',
      'export { default as Dashboard } from "@uppy/dashboard";',
      'export { default as OneDrive, toUppyError } from "./index.js";',
    ].join("\n"),
    resolveDir: here,
    sourcefile: "uppy-vendor.js",
    loader: "js",
  },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  external: ["onedrive-upload"],
  minify: true,
  legalComments: "linked",
  outfile: path.join(out, "uppy.js"),
  logLevel: "warning",
});

await build({
  stdin: {
    contents: ['@import "@uppy/core/css/style.min.css";', '@import "@uppy/dashboard/css/style.min.css";'].join("\n"),
    resolveDir: here,
    sourcefile: "uppy-vendor.css",
    loader: "css",
  },
  bundle: true,
  minify: true,
  outfile: path.join(out, "uppy.css"),
  logLevel: "warning",
});

console.log(`bundled @uppy/core, @uppy/dashboard and uppy-onedrive into ${path.relative(process.cwd(), out)}/`);
