// A small W3C WebDriver client over fetch, for browsers playwright-core cannot drive (Debian's
// Firefox ESR through geckodriver). Only what the shared scenarios need: sessions, navigation,
// elements, clicks, keys, files, script, windows and screenshots.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** The element reference key of the W3C protocol. */
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** A WebDriver error answer as a JS Error with the protocol's `error` code. */
class WebDriverError extends Error {
  constructor(command, value) {
    super(`${command}: ${value?.error ?? "error"}: ${value?.message ?? JSON.stringify(value)}`);
    this.name = "WebDriverError";
    this.code = value?.error;
  }
}

/**
 * Starts `driverPath` (geckodriver) on a free loopback port, waits for its "Listening on" line and
 * answers { url, stop() }.
 */
export async function startDriver(driverPath, args = []) {
  const child = spawn(driverPath, ["--host", "127.0.0.1", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${driverPath} printed no "Listening on" line`)), 30_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        const match = /Listening on (\S+:\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(`http://${match[1]}`);
        } else if (process.env.ODU_WEBDRIVER_LOG) {
          console.log(`[driver] ${line}`);
        }
      });
    }
    child.once("error", (error) => { clearTimeout(timer); reject(error); });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`${driverPath} exited (${code}) before listening`)); });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** One WebDriver session. */
export class Session {
  constructor(driverUrl, id) {
    this.base = `${driverUrl}/session/${id}`;
  }

  /** Opens a session with `capabilities` (the alwaysMatch set). */
  static async create(driverUrl, capabilities) {
    const value = await command("POST", `${driverUrl}/session`, { capabilities: { alwaysMatch: capabilities } });
    return new Session(driverUrl, value.sessionId);
  }

  send(method, path, body) {
    return command(method, `${this.base}${path}`, body);
  }

  goto(url) { return this.send("POST", "/url", { url }); }

  /** The first element matching the CSS `selector` (an element reference), or null. */
  async find(selector) {
    try {
      return await this.send("POST", "/element", { using: "css selector", value: selector });
    } catch (error) {
      if (error.code === "no such element") return null;
      throw error;
    }
  }

  async mustFind(selector) {
    const element = await this.find(selector);
    if (!element) throw new Error(`no element matches ${selector}`);
    return element;
  }

  click(element) { return this.send("POST", `/element/${element[ELEMENT]}/click`, {}); }
  clear(element) { return this.send("POST", `/element/${element[ELEMENT]}/clear`, {}); }
  /** Types `text` into `element` (for a file input: newline-separated paths). */
  sendKeys(element, text) { return this.send("POST", `/element/${element[ELEMENT]}/value`, { text }); }
  /** Runs `script` (a function body; `arguments` holds `args`); a returned promise is awaited. */
  execute(script, args = []) { return this.send("POST", "/execute/sync", { script, args }); }
  async screenshot() { return Buffer.from(await this.send("GET", "/screenshot"), "base64"); }
  window() { return this.send("GET", "/window"); }
  windows() { return this.send("GET", "/window/handles"); }
  newTab() { return this.send("POST", "/window/new", { type: "tab" }); }
  switchTo(handle) { return this.send("POST", "/window", { handle }); }
  closeWindow() { return this.send("DELETE", "/window"); }
  setWindowRect(rect) { return this.send("POST", "/window/rect", rect); }
  quit() { return command("DELETE", this.base); }
}

async function command(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const value = text ? JSON.parse(text).value : null;
  if (!response.ok) throw new WebDriverError(`${method} ${new URL(url).pathname}`, value);
  return value;
}
