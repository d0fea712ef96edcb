// One small browser-driving interface over two engines, so that the end-to-end scenarios are
// written once and run in both browsers: Debian's Chromium through playwright-core, Debian's
// Firefox ESR through geckodriver and the W3C WebDriver client of webdriver.mjs. Elements are
// named by CSS selectors; page-side logic goes through `evaluate(fn, arg)` (a function with one
// serialisable argument, run in the page).

import { mkdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { FIREFOX, GECKODRIVER, firefoxOptions } from "./browsers.mjs";
import { ARTIFACTS, launchBrowser, watchPage } from "./harness.mjs";
import { Session, startDriver } from "./webdriver.mjs";

/** The browsers the scenarios run in: env ODU_BROWSERS (comma-separated), default both. */
export const BROWSERS = (process.env.ODU_BROWSERS ?? "chromium,firefox").split(",").map((b) => b.trim()).filter(Boolean);

/** Opens `name` ("chromium" or "firefox") with one tab; answers its driver. */
export function openBrowser(name, { width = 1024, height = 900 } = {}) {
  if (name === "chromium") return ChromiumDriver.open({ width, height });
  if (name === "firefox") return FirefoxDriver.open({ width, height });
  throw new Error(`unknown browser ${name}: chromium or firefox`);
}

/** What both drivers share: everything expressed through evaluate(). */
class Driver {
  /** Polls `fn(arg)` in the page until it answers a truthy value; answers that value. */
  async waitFor(fn, arg, { timeout = 60_000, what = "a page condition" } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await this.evaluate(fn, arg).catch((error) => {
        if (Date.now() > deadline) throw error;
        return null; // the page may be navigating
      });
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`${this.name}: gave up waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until an element matches `selector`. */
  waitForSelector(selector, options = {}) {
    return this.waitFor((s) => Boolean(document.querySelector(s)), selector, { what: selector, ...options });
  }

  /** textContent of the first match (null if none). */
  text(selector) {
    return this.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
  }

  /** An attribute of the first match (null if none). */
  attr(selector, name) {
    return this.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [selector, name]);
  }

  /** Saves a screenshot as artifacts/<name>-<browser>.png; answers its path. */
  async screenshot(name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}-${this.name}.png`);
    await writeFile(file, await this.screenshotBytes());
    console.log(`screenshot: ${file}`);
    return file;
  }
}

class ChromiumDriver extends Driver {
  static async open(viewport) {
    const driver = new ChromiumDriver();
    driver.name = "chromium";
    driver.browser = await launchBrowser();
    driver.context = await driver.browser.newContext({ viewport });
    await driver.newPage();
    return driver;
  }

  async newPage() {
    this.page = await this.context.newPage();
    watchPage(this.page, this.name);
  }

  goto(url) { return this.page.goto(url); }
  evaluate(fn, arg) { return this.page.evaluate(fn, arg); }
  click(selector) { return this.page.click(selector); }
  async fill(selector, text) { await this.page.fill(selector, text); }
  async select(selector, value) { await this.page.selectOption(selector, value); }
  async pressEnter(selector) {
    await this.page.focus(selector);
    await this.page.keyboard.press("Enter");
  }
  /** `files`: paths, or { name, buffer } in memory. */
  setInputFiles(selector, files) {
    return this.page.setInputFiles(selector, files.map((f) => (typeof f === "string" ? f
      : { name: f.name, mimeType: "application/octet-stream", buffer: f.buffer })));
  }
  setViewport(width, height) { return this.page.setViewportSize({ width, height }); }
  screenshotBytes() { return this.page.screenshot({ fullPage: true }); }
  /** Closes the tab (no beforeunload prompt) and opens a new one in the same profile. */
  async reopenTab() {
    await this.page.close();
    await this.newPage();
  }
  /** Closes every tab but the test's own; answers how many there were. */
  async closeOtherTabs() {
    const others = this.context.pages().filter((p) => p !== this.page);
    await Promise.all(others.map((p) => p.close()));
    return others.length;
  }
  close() { return this.browser.close(); }
}

class FirefoxDriver extends Driver {
  static async open({ width, height }) {
    const driver = new FirefoxDriver();
    driver.name = "firefox";
    driver.files = await mkdtemp(path.join(tmpdir(), "odu-firefox-files-"));
    driver.gecko = await startDriver(GECKODRIVER, ["--binary", FIREFOX]);
    try {
      driver.session = await Session.create(driver.gecko.url, {
        browserName: "firefox", "moz:firefoxOptions": firefoxOptions(), unhandledPromptBehavior: "accept",
      });
      await driver.setViewport(width, height);
      driver.tab = await driver.session.window();
    } catch (error) {
      await driver.gecko.stop();
      throw error;
    }
    return driver;
  }

  goto(url) { return this.session.goto(url); }
  evaluate(fn, arg) {
    return this.session.execute(`return (${fn}).call(null, arguments[0]);`, [arg === undefined ? null : arg]);
  }
  async click(selector) { await this.session.click(await this.session.mustFind(selector)); }
  async fill(selector, text) {
    const element = await this.session.mustFind(selector);
    await this.session.clear(element);
    await this.session.sendKeys(element, text);
  }
  async select(selector, value) {
    await this.click(`${selector} option[value="${value}"]`);
  }
  async pressEnter(selector) { await this.session.sendKeys(await this.session.mustFind(selector), "\uE007"); }
  /** Files in memory are written to a temporary directory first (WebDriver sends paths). */
  async setInputFiles(selector, files) {
    const paths = [];
    for (const f of files) {
      if (typeof f === "string") {
        paths.push(f);
      } else {
        const dir = await mkdtemp(path.join(this.files, "f-"));
        const file = path.join(dir, f.name);
        await writeFile(file, f.buffer);
        paths.push(file);
      }
    }
    await this.session.sendKeys(await this.session.mustFind(selector), paths.join("\n"));
  }
  /** Sizes the window so that the viewport is `width` x `height` CSS pixels. */
  async setViewport(width, height) {
    await this.session.setWindowRect({ width, height });
    const inner = await this.evaluate(() => [window.innerWidth, window.innerHeight]);
    if (inner[0] !== width || inner[1] !== height) {
      await this.session.setWindowRect({ width: 2 * width - inner[0], height: 2 * height - inner[1] });
    }
  }
  screenshotBytes() { return this.session.screenshot(); }
  async reopenTab() {
    const fresh = await this.session.newTab();
    await this.session.closeWindow();
    await this.session.switchTo(fresh.handle);
    this.tab = fresh.handle;
  }
  async closeOtherTabs() {
    const others = (await this.session.windows()).filter((h) => h !== this.tab);
    for (const handle of others) {
      await this.session.switchTo(handle);
      await this.session.closeWindow();
    }
    await this.session.switchTo(this.tab);
    return others.length;
  }
  async close() {
    await this.session?.quit().catch(() => {});
    await this.gecko.stop();
    await rm(this.files, { recursive: true, force: true });
  }
}
