// The Uppy demo page: Uppy's Dashboard with the uppy-onedrive plugin (bundled into vendor/uppy.js by
// packages/uppy-onedrive/build-www.mjs), and the server's file actions (move, download, share) on
// each finished file. Settings come from the query string: ?chunkSize=327680&limit=2&maxAttempts=3
// &baseDelayMs=200 (the tests use them; the defaults are the plugin's).

import { Dashboard, OneDrive, Uppy } from "./vendor/uppy.js";

const $ = (selector, root = document) => root.querySelector(selector);

const ui = {
  env: $("#env"),
  settings: $("#settings"),
  finished: $("#finished"),
  none: $("#none"),
  announce: $("#announce"),
  folders: $("#folders"),
  template: $("#item-template"),
};

/** The user's bearer token for the server's /api routes. */
let token = null;

function say(message) {
  ui.announce.textContent = message;
}

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

// ---------------------------------------------------------------- server calls

/** The server's error (`{"error":{"code","message"}}`) as an Error with a `code`. */
async function serverError(response) {
  let code = `http-${response.status}`;
  let message = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body?.error) ({ code = code, message = message } = body.error);
  } catch { /* not JSON: keep the status */ }
  return Object.assign(new Error(message), { code, status: response.status });
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await serverError(response);
  return response.status === 204 ? null : response.json();
}

/** Options of the plugin read once from the query string. */
function settingsFromUrl() {
  const query = new URLSearchParams(location.search);
  const number = (name) => (query.has(name) ? Number(query.get(name)) : undefined);
  const options = {};
  if (query.has("chunkSize")) options.chunkSize = number("chunkSize");
  if (query.has("limit")) options.limit = number("limit");
  const retry = {};
  for (const name of ["maxAttempts", "baseDelayMs", "maxDelayMs", "clientErrorRetries"]) {
    if (query.has(name)) retry[name] = number(name);
  }
  if (Object.keys(retry).length > 0) options.retry = retry;
  return options;
}

// ---------------------------------------------------------------- finished files

/** Adds the finished file's row: what OneDrive stored, and move / download / share. */
function showFinished(file, item) {
  const row = ui.template.content.firstElementChild.cloneNode(true);
  const name = file.meta.name;
  row.dataset.name = name;
  row.dataset.itemId = item.id;
  row.setAttribute("aria-label", name);
  $(".item-name", row).textContent = item.name;
  $(".item-size", row).textContent = `${formatBytes(item.size)} (${item.size.toLocaleString("en")} bytes)`;
  $(".item-hash", row).textContent = `${item.file?.hashes?.quickXorHash ?? "none reported"} (verified)`;
  $(".folder", row).setAttribute("aria-label", `Feature folder for ${name}`);
  for (const [cls, verb, action] of [["move", "Move", move], ["download", "Download", download], ["share", "Share link of", share]]) {
    const button = $(`.${cls}`, row);
    button.setAttribute("aria-label", `${verb} ${name}`);
    button.addEventListener("click", () => action(row, name, item));
  }
  ui.none.hidden = true;
  ui.finished.append(row);
}

function showError(row, what, error) {
  const line = $(".error", row);
  const details = [error?.code && `code ${error.code}`, error?.status && `HTTP ${error.status}`].filter(Boolean).join(", ");
  line.textContent = `${what}: ${error?.message ?? error}${details ? ` (${details})` : ""}`;
  line.hidden = false;
  say(line.textContent);
}

async function move(row, name, item) {
  const folder = $(".folder", row).value.trim();
  if (!folder) return showError(row, "Move failed", new Error("type a feature folder first"));
  try {
    await api("POST", `/api/cloud/file/${encodeURIComponent(item.id)}/move`, { folder });
    $(".error", row).hidden = true;
    $(".item-folder", row).textContent = folder;
    row.dataset.folder = folder;
    say(`${name} moved to ${folder}`);
  } catch (error) {
    showError(row, "Move failed", error);
  }
}

/**
 * The download route answers `{"url","expirationDateTime"}` when asked for JSON; the page navigates
 * a tab to that URL (nothing relies on how a browser treats headers across a redirect). The tab is
 * opened during the click so that popup blockers allow it.
 */
async function download(row, name, item) {
  const tab = window.open("", "_blank");
  try {
    const response = await fetch(`/api/cloud/file/${encodeURIComponent(item.id)}/download`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    });
    if (!response.ok) throw await serverError(response);
    const { url } = await response.json();
    showLink(row, "download-link", url, `Download ${item.name}`, " (valid for a short time)");
    if (tab && !tab.closed) {
      tab.opener = null;
      tab.location.href = url;
    }
    say(`download link of ${name} ready`);
  } catch (error) {
    tab?.close();
    showError(row, "Download failed", error);
  }
}

async function share(row, name, item) {
  try {
    const { webUrl } = await api("POST", `/api/cloud/file/${encodeURIComponent(item.id)}/link`);
    showLink(row, "share-link", webUrl, webUrl, "");
    say(`share link of ${name} ready`);
  } catch (error) {
    showError(row, "Share link failed", error);
  }
}

function showLink(row, cls, href, text, note) {
  const links = $(".links", row);
  let line = $(`.${cls}-line`, links);
  if (!line) {
    line = document.createElement("span");
    line.className = `${cls}-line`;
    links.append(line);
  }
  const a = document.createElement("a");
  a.className = cls;
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener";
  a.textContent = text;
  line.replaceChildren(cls === "share-link" ? "Share link: " : "", a, note);
  $(".error", row).hidden = true;
}

// ---------------------------------------------------------------- start-up

async function boot() {
  try {
    const infoResponse = await fetch("/dev/info");
    const info = infoResponse.ok ? await infoResponse.json() : null;
    if (info) {
      const tokenResponse = await fetch("/dev/token?user=demo");
      if (!tokenResponse.ok) throw await serverError(tokenResponse);
      ({ token } = await tokenResponse.json());
      ui.env.textContent = info.mode === "embedded"
        ? `Running against the local OneDrive emulator (${info.emulator}) as the demo user: nothing leaves this machine.`
        : "Running against Microsoft OneDrive as the demo user (dev token).";
      if (Array.isArray(info.folders) && info.folders.length > 0) {
        ui.folders.replaceChildren(...info.folders.map((name) => new Option("", name)));
        for (const input of ui.template.content.querySelectorAll(".folder")) input.value = info.folders[0];
      }
    } else {
      token = new URLSearchParams(location.hash.slice(1)).get("token");
      if (!token) throw new Error("this server is not in --dev mode; open the page with #token=<your JWT>");
      ui.env.textContent = "Running against the configured OneDrive account.";
    }

    const settings = settingsFromUrl();
    const uppy = new Uppy({ autoProceed: true })
      .use(Dashboard, {
        inline: true,
        target: "#dashboard",
        width: "100%",
        height: 470,
        showProgressDetails: true,
        proudlyDisplayPoweredByUppy: false,
        note: "Any file, any size, straight to OneDrive. Interrupted by a reload? Add the same file again: it continues where it stopped.",
      })
      .use(OneDrive, {
        session: "/api/cloud/file",
        headers: { Authorization: `Bearer ${token}` }, // for the session endpoint only, never sent to OneDrive
        resume: true,
        verify: true,
        ...settings,
      });
    uppy.on("upload-success", (file, response) => {
      showFinished(file, response.body);
      say(`${file.meta.name} uploaded`);
    });
    uppy.on("upload-error", (file, error) => say(`${file?.meta.name}: ${error.message}`));
    window.uppy = uppy; // for the browser console (and the tests' observations)
    const shown = Object.entries(settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
    ui.settings.textContent = shown ? `Settings from the URL: ${shown}.` : "";
    document.body.dataset.ready = "true";
  } catch (error) {
    ui.env.textContent = `The page cannot start: ${error.message}${error.code ? ` (code ${error.code})` : ""}`;
    ui.env.classList.add("error");
    document.body.dataset.ready = "failed";
  }
}

boot();
