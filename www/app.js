// Demo page of onedrive-upload: a queue of uploads that go straight from this browser to OneDrive
// through the WebAssembly library served at /pkg/, plus the server's file actions (move, download, share).
// Plain ES module, no framework. Each file of the queue is a "job" with one <li> row.

const $ = (selector, root = document) => root.querySelector(selector);

const ui = {
  env: $("#env"),
  drop: $("#drop"),
  files: $("#files"),
  concurrency: $("#concurrency"),
  chunkSize: $("#chunk-size"),
  resume: $("#resume"),
  verify: $("#verify"),
  overall: $("#overall-progress"),
  overallText: $("#overall-text"),
  queue: $("#queue"),
  announce: $("#announce"),
  folders: $("#folders"),
  template: $("#row-template"),
};

/** The library module (`startUpload`), once loaded. */
let lib = null;
/** The user's bearer token for the server's /api routes. */
let token = null;
/** Every file added, in order: { id, file, row, state, handle, progress, sent, speed, item, cancelRequested }. */
const jobs = [];
let nextJobId = 1;

// ---------------------------------------------------------------- formatting

/** "1.5 MiB" style sizes (binary units, like the chunk sizes). */
function formatBytes(n) {
  if (!Number.isFinite(n)) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** "3 s", "2 min 5 s", "1 h 3 min"; empty when unknown. */
function formatEta(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s left`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s left`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min left`;
}

function formatSpeed(bytesPerSecond) {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : "";
}

function say(message) {
  ui.announce.textContent = message;
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

/** Calls one of the server's /api routes as the current user; resolves with the parsed JSON. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await serverError(response);
  return response.status === 204 ? null : response.json();
}

// ---------------------------------------------------------------- the queue

function uploadingCount() {
  return jobs.filter((job) => job.state === "uploading").length;
}

/** Starts queued files while fewer than "Files at once" are uploading (a paused file does not count). */
function pump() {
  if (!lib) return;
  const limit = Math.max(1, Math.min(8, Number.parseInt(ui.concurrency.value, 10) || 1));
  for (const job of jobs) {
    if (uploadingCount() >= limit) break;
    if (job.state === "queued") start(job);
  }
  renderOverall();
}

function addFiles(fileList) {
  for (const file of fileList) {
    const row = ui.template.content.firstElementChild.cloneNode(true);
    const job = { id: nextJobId++, file, row, state: "queued", handle: null, progress: null, sent: 0, speed: 0, item: null };
    row.dataset.name = file.name;
    $(".name", row).textContent = file.name;
    $(".name", row).id = `job-${job.id}-name`;
    row.setAttribute("aria-labelledby", `job-${job.id}-name`);
    $(".size", row).textContent = formatBytes(file.size);
    $(".bar", row).setAttribute("aria-label", `Upload progress of ${file.name}`);
    for (const [cls, verb] of [["pause", "Pause"], ["resume", "Resume"], ["cancel", "Cancel"], ["retry", "Retry"],
      ["move", "Move"], ["download", "Download"], ["share", "Share link of"]]) {
      const button = $(`.${cls}`, row);
      if (button) button.setAttribute("aria-label", `${verb} ${file.name}`);
    }
    $(".folder", row).setAttribute("aria-label", `Feature folder for ${file.name}`);
    $(".pause", row).addEventListener("click", () => pause(job));
    $(".resume", row).addEventListener("click", () => resume(job));
    $(".cancel", row).addEventListener("click", () => cancel(job));
    $(".retry", row).addEventListener("click", () => retry(job));
    $(".move", row).addEventListener("click", () => move(job));
    $(".download", row).addEventListener("click", () => download(job));
    $(".share", row).addEventListener("click", () => share(job));
    ui.queue.append(row);
    jobs.push(job);
  }
  pump();
}

/** Shows a job's state on its row: the label, which buttons apply, the progress bar. */
function setState(job, state, label) {
  job.state = state;
  const row = job.row;
  row.dataset.state = state;
  $(".state", row).textContent = label;
  const live = state === "uploading" || state === "paused";
  $(".pause", row).disabled = state !== "uploading";
  $(".pause", row).hidden = !(state === "uploading" || state === "queued");
  $(".resume", row).hidden = state !== "paused";
  $(".cancel", row).hidden = !(live || state === "queued");
  $(".retry", row).hidden = !(state === "failed" || state === "cancelled");
  if (!live) job.speed = 0;
  renderStats(job);
  renderOverall();
}

function start(job) {
  job.cancelRequested = false;
  job.sent = 0;
  job.progress = null;
  $(".error", job.row).hidden = true;
  setState(job, "uploading", "Uploading");
  try {
    job.handle = lib.startUpload(job.file, {
      session: "/api/cloud/file",
      headers: { Authorization: `Bearer ${token}` }, // for the session endpoint only, never sent to OneDrive
      chunkSize: Number(ui.chunkSize.value),
      resume: ui.resume.checked,
      verify: ui.verify.checked,
      onProgress: (p) => progress(job, p),
    });
  } catch (error) { // e.g. an invalid option
    failed(job, error);
    return;
  }
  job.handle.promise.then((item) => succeeded(job, item), (error) => failed(job, error)).finally(pump);
}

function progress(job, p) {
  job.progress = p;
  job.sent = p.bytesSent;
  job.speed = p.bytesPerSecond;
  const bar = $(".bar", job.row);
  bar.max = Math.max(1, p.totalBytes);
  bar.value = p.bytesSent;
  renderStats(job);
  renderOverall();
}

/** The row's "42% · 1.0 MiB of 2.4 MiB (0.6 MiB confirmed) · 3.1 MiB/s · 1 s left" line. */
function renderStats(job) {
  const p = job.progress;
  if (!p || job.state === "done") {
    $(".stats", job.row).textContent = "";
    return;
  }
  const percent = p.totalBytes > 0 ? Math.floor((100 * p.bytesSent) / p.totalBytes) : 100;
  const moving = job.state === "uploading";
  $(".stats", job.row).textContent = [
    `${percent}%`,
    `${formatBytes(p.bytesSent)} of ${formatBytes(p.totalBytes)} (${formatBytes(p.bytesAcknowledged)} confirmed)`,
    moving ? formatSpeed(p.bytesPerSecond) : "",
    moving ? formatEta(p.etaSeconds) : "",
  ].filter(Boolean).join(" · ");
}

function pause(job) {
  if (job.state !== "uploading") return;
  job.handle.pause();
  setState(job, "paused", "Paused");
  say(`${job.file.name} paused`);
  pump(); // its slot goes to the next queued file
  $(".resume", job.row).focus();
}

function resume(job) {
  if (job.state !== "paused") return;
  job.handle.resume();
  setState(job, "uploading", "Uploading");
  say(`${job.file.name} resumed`);
  $(".pause", job.row).focus();
}

function cancel(job) {
  if (job.state === "queued") {
    setState(job, "cancelled", "Cancelled");
  } else if (job.state === "uploading" || job.state === "paused") {
    job.cancelRequested = true;
    job.handle.cancel(); // the promise then rejects with code "aborted"
  }
}

function retry(job) {
  setState(job, "queued", "Waiting");
  pump();
}

function succeeded(job, item) {
  job.item = item;
  const row = job.row;
  row.dataset.itemId = item.id;
  const bar = $(".bar", row);
  bar.max = Math.max(1, item.size);
  bar.value = bar.max;
  job.sent = job.file.size;
  $(".item-name", row).textContent = item.name;
  $(".item-size", row).textContent = `${formatBytes(item.size)} (${item.size.toLocaleString("en")} bytes)`;
  const hash = item.file?.hashes?.quickXorHash ?? "none reported";
  $(".item-hash", row).textContent = ui.verify.checked ? `${hash} (verified)` : `${hash} (not checked)`;
  $(".done", row).hidden = false;
  setState(job, "done", "Uploaded");
  say(`${job.file.name} uploaded`);
}

function failed(job, error) {
  if (job.cancelRequested || error?.code === "aborted") {
    setState(job, "cancelled", "Cancelled");
    say(`${job.file.name} cancelled`);
    return;
  }
  showError(job, "Upload failed", error);
  setState(job, "failed", "Failed");
}

/** The row's error line: what failed, the error's message, its code and HTTP status. */
function showError(job, what, error) {
  const line = $(".error", job.row);
  const details = [error?.code && `code ${error.code}`, error?.status && `HTTP ${error.status}`].filter(Boolean).join(", ");
  line.textContent = `${what}: ${error?.message ?? error}${details ? ` (${details})` : ""}`;
  line.hidden = false;
  say(`${job.file.name}: ${line.textContent}`);
}

function renderOverall() {
  const counted = jobs.filter((job) => job.state !== "cancelled");
  const total = counted.reduce((sum, job) => sum + job.file.size, 0);
  const sent = counted.reduce((sum, job) => sum + (job.state === "done" ? job.file.size : job.sent), 0);
  const done = counted.filter((job) => job.state === "done").length;
  const failedCount = counted.filter((job) => job.state === "failed").length;
  const speed = jobs.filter((job) => job.state === "uploading").reduce((sum, job) => sum + (job.speed || 0), 0);
  ui.overall.max = Math.max(1, total);
  ui.overall.value = total > 0 ? sent : (done === counted.length && done > 0 ? 1 : 0);
  if (jobs.length === 0) return;
  ui.overallText.textContent = [
    `${done} of ${counted.length} done`,
    failedCount ? `${failedCount} failed` : "",
    `${formatBytes(sent)} of ${formatBytes(total)}`,
    formatSpeed(speed),
    speed > 0 ? formatEta((total - sent) / speed) : "",
  ].filter(Boolean).join(" · ");
}

// ---------------------------------------------------------------- file actions after an upload

async function move(job) {
  const folder = $(".folder", job.row).value.trim();
  if (!folder) return showError(job, "Move failed", new Error("type a feature folder first"));
  try {
    const item = await api("POST", `/api/cloud/file/${encodeURIComponent(job.item.id)}/move`, { folder });
    job.item = item;
    $(".error", job.row).hidden = true;
    $(".item-folder", job.row).textContent = folder;
    job.row.dataset.folder = folder;
    say(`${job.file.name} moved to ${folder}`);
  } catch (error) {
    showError(job, "Move failed", error);
  }
}

/**
 * Download: asked for JSON, the route answers `{url, expirationDateTime}` (a 302 otherwise): the
 * short-lived pre-authenticated URL on OneDrive's download host. The page navigates a tab to it,
 * the tab opened during the click (so popup blockers allow it). Nothing relies on how a browser
 * treats the Authorization header across a cross-origin redirect, and the download host sees a
 * plain navigation, no CORS request at all.
 */
async function download(job) {
  const tab = window.open("", "_blank");
  try {
    const { url } = await api("GET", `/api/cloud/file/${encodeURIComponent(job.item.id)}/download`);
    showLink(job, "download-link", url, `Download ${job.item.name}`, " (valid for a short time)");
    if (tab && !tab.closed) {
      tab.opener = null;
      tab.location.href = url;
    }
    say(`download link of ${job.file.name} ready`);
  } catch (error) {
    tab?.close();
    showError(job, "Download failed", error);
  }
}

async function share(job) {
  try {
    const { webUrl } = await api("POST", `/api/cloud/file/${encodeURIComponent(job.item.id)}/link`);
    showLink(job, "share-link", webUrl, webUrl, "");
    say(`share link of ${job.file.name} ready`);
  } catch (error) {
    showError(job, "Share link failed", error);
  }
}

/** Puts (or replaces) a link line under the row's actions. */
function showLink(job, cls, href, text, note) {
  const links = $(".links", job.row);
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
  $(".error", job.row).hidden = true;
}

// ---------------------------------------------------------------- picking and dropping files

ui.files.addEventListener("change", () => {
  addFiles(ui.files.files);
  ui.files.value = ""; // so the same file can be picked again
});
ui.concurrency.addEventListener("change", pump);

for (const type of ["dragenter", "dragover"]) {
  ui.drop.addEventListener(type, (event) => {
    event.preventDefault();
    ui.drop.classList.add("over");
  });
}
ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.drop.classList.remove("over");
  if (!ui.files.disabled) addFiles(event.dataTransfer.files);
});
// A file dropped next to the box must not make the browser navigate away from the queue.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

window.addEventListener("beforeunload", (event) => {
  if (jobs.some((job) => job.state === "uploading" || job.state === "paused")) event.preventDefault();
});

// ---------------------------------------------------------------- start-up

/** Reads /dev/info and the demo user's token, loads the library, then enables the file picker. */
async function boot() {
  ui.files.disabled = true;
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
      // Not a --dev server: the embedding site hands the page a token as #token=... .
      token = new URLSearchParams(location.hash.slice(1)).get("token");
      if (!token) throw new Error("this server is not in --dev mode; open the page with #token=<your JWT>");
      ui.env.textContent = "Running against the configured OneDrive account.";
    }
    const module = await import("/pkg/onedrive_upload.js");
    await module.default();
    lib = module;
    ui.files.disabled = false;
    document.body.dataset.ready = "true";
    pump();
  } catch (error) {
    ui.env.textContent = `The page cannot start: ${error.message}${error.code ? ` (code ${error.code})` : ""}`;
    ui.env.classList.add("error");
    document.body.dataset.ready = "failed";
  }
}

boot();
