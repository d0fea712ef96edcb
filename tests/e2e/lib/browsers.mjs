// Where the browsers are and how they are started, for every harness (tests/e2e, tests/npm-consumer,
// bench/): read from the repository's webdriver.json, the file `wasm-pack test` hands to chromedriver
// and geckodriver, so that the flags live in one place. No npm dependency: bench/ imports it too.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.ODU_ROOT ?? path.resolve(here, "../../..");
const capabilities = JSON.parse(readFileSync(path.join(root, "webdriver.json"), "utf8"));
const chrome = capabilities["goog:chromeOptions"];
const firefox = capabilities["moz:firefoxOptions"];

/** Debian's Chromium (env ODU_CHROMIUM overrides); never a browser downloaded by playwright. */
export const CHROMIUM = process.env.ODU_CHROMIUM ?? chrome.binary;
/** Chromium's command-line flags (headless, no sandbox in containers, no background traffic). */
export const CHROMIUM_ARGS = [...chrome.args];
/** Debian's Firefox ESR (env ODU_FIREFOX overrides). */
export const FIREFOX = process.env.ODU_FIREFOX ?? firefox.binary;
/** geckodriver (env GECKODRIVER, as for wasm-pack; else ~/.cargo/bin/geckodriver from bootstrap.sh). */
export const GECKODRIVER = process.env.GECKODRIVER ?? path.join(process.env.HOME ?? "/root", ".cargo/bin/geckodriver");

/** The `moz:firefoxOptions` capability for a new WebDriver session (a fresh profile each time). */
export function firefoxOptions() {
  return { ...firefox, binary: FIREFOX, args: [...firefox.args], prefs: { ...firefox.prefs } };
}
