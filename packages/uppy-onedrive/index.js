// uppy-onedrive: an Uppy uploader plugin that sends every file straight to OneDrive through
// onedrive-upload's WebAssembly engine (`startUpload`): Graph upload sessions, chunked PUTs with
// Microsoft's retry policy, pause/resume, cancel, resume after a page reload, QuickXorHash check.
// It follows @uppy/tus's structure: one RateLimitedQueue (`limit`) shared by every file, a paused
// file gives its slot back and queues again on resume, errors reach `upload-error`, the committed
// driveItem is the `upload-success` response body.

import { BasePlugin, EventManager } from "@uppy/core";
import { filterFilesToEmitUploadStarted, filterFilesToUpload, RateLimitedQueue } from "@uppy/core/utils";
import init, { startUpload } from "onedrive-upload";

/** What each of onedrive-upload's `UploadError` codes means, for Uppy's error line. */
export const ERROR_MESSAGES = {
  aborted: "The upload was cancelled",
  "invalid-option": "The uploader is misconfigured",
  "session-failed": "The server did not open an upload session",
  "client-error": "OneDrive refused the upload",
  "retries-exhausted": "OneDrive kept failing; retry later",
  conflict: "A file with this name already exists",
  integrity: "The uploaded file's QuickXorHash differs from the local file's",
  expired: "The upload session expired",
  protocol: "OneDrive answered something unexpected",
};

/**
 * An `UploadError` of onedrive-upload turned into the Error Uppy shows: a readable message
 * ("OneDrive refused the upload: <detail> (code client-error, HTTP 403)") that keeps `code`,
 * `status` and the original error as `cause`.
 */
export function toUppyError(error) {
  const code = error?.code;
  const detail = error?.message ?? String(error);
  const summary = ERROR_MESSAGES[code];
  const facts = [code && `code ${code}`, error?.status && `HTTP ${error.status}`].filter(Boolean).join(", ");
  const message = `${summary ? `${summary}: ${detail}` : detail}${facts ? ` (${facts})` : ""}`;
  const uppyError = new Error(message, { cause: error });
  uppyError.name = "OneDriveUploadError";
  if (code) uppyError.code = code;
  if (error?.status) uppyError.status = error.status;
  return uppyError;
}

const defaultOptions = {
  /** Files uploading at once (0: no limit), as @uppy/tus's `limit`. */
  limit: 5,
  session: "/api/cloud/file",
  resume: true,
  verify: true,
};

/** The Uppy uploader plugin (`uppy.use(OneDrive, { session, headers, limit, ... })`). */
export default class OneDrive extends BasePlugin {
  static VERSION = "0.1.0";

  /** Running upload handles by Uppy file id. */
  #handles = new Map();

  /** The wasm module's initialisation, started by the first upload. */
  #ready = null;

  constructor(uppy, opts) {
    super(uppy, { ...defaultOptions, ...opts });
    this.type = "uploader";
    this.id = this.opts.id || "OneDrive";
    /** The queue every upload of this plugin goes through (shared limit, as in @uppy/tus). */
    this.requests = this.opts.rateLimitedQueue ?? new RateLimitedQueue(this.opts.limit);
  }

  install() {
    const { capabilities } = this.uppy.getState();
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: true } });
    this.uppy.addUploader(this.#handleUpload);
  }

  uninstall() {
    const { capabilities } = this.uppy.getState();
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: false } });
    this.uppy.removeUploader(this.#handleUpload);
  }

  /** Loads the WebAssembly module once (`wasm` option: its URL, Response or Module). */
  #init() {
    this.#ready ??= init(this.opts.wasm === undefined ? undefined : { module_or_path: this.opts.wasm });
    return this.#ready;
  }

  #handleUpload = async (fileIDs) => {
    if (fileIDs.length === 0) return;
    await this.#init();
    const files = filterFilesToUpload(this.uppy.getFilesByIds(fileIDs));
    this.uppy.emit("upload-start", filterFilesToEmitUploadStarted(files));
    await Promise.allSettled(files.map((file) => this.#uploadFile(file)));
  };

  /** The library's options for one file, read from the plugin's options. */
  #uploadOptions(file, onProgress) {
    const { session, headers, chunkSize, retry, resume, verify, stallTimeoutMs } = this.opts;
    const options = { resume, verify, onProgress };
    options.session = typeof session === "function" ? (blob) => session(blob, this.uppy.getFile(file.id) ?? file) : session;
    const resolvedHeaders = typeof headers === "function" ? headers(file) : headers;
    if (resolvedHeaders !== undefined) options.headers = resolvedHeaders;
    if (chunkSize !== undefined) options.chunkSize = chunkSize;
    if (retry !== undefined) options.retry = retry;
    if (stallTimeoutMs !== undefined) options.stallTimeoutMs = stallTimeoutMs;
    return options;
  }

  /** Uppy's file as the `File` to upload, named as the Dashboard shows it (meta.name). */
  static #asFile(file) {
    const { data } = file;
    if (data == null) throw new Error(`${file.name}: the file has no data`);
    const name = file.meta?.name ?? file.name ?? data.name;
    if (data instanceof File && data.name === name) return data;
    // Same bytes, and the same lastModified so that resume-after-reload recognises the file.
    return new File([data], name, { type: data.type, lastModified: data.lastModified ?? Date.now() });
  }

  /**
   * Uploads one file through the queue. Resolves when the file is done, failed, cancelled or
   * removed; never rejects (errors go to `upload-error`, like @uppy/tus).
   */
  #uploadFile(file) {
    return new Promise((resolve) => {
      const events = new EventManager(this.uppy);
      let handle = null;
      let queued = null; // this file's place in this.requests (running or waiting)
      let settled = false;

      const finish = () => {
        settled = true;
        queued?.abort();
        queued = null;
        events.remove();
        this.#handles.delete(file.id);
        resolve();
      };
      const isPaused = () => Boolean(this.uppy.getFile(file.id)?.isPaused);

      const onProgress = (p) => {
        const current = this.uppy.getFile(file.id);
        if (!current || settled) return;
        this.uppy.setFileState(file.id, {
          onedrive: {
            bytesSent: p.bytesSent,
            bytesAcknowledged: p.bytesAcknowledged,
            bytesPerSecond: p.bytesPerSecond,
            etaSeconds: p.etaSeconds,
          },
        });
        this.uppy.emit("upload-progress", this.uppy.getFile(file.id), {
          uploadStarted: current.progress.uploadStarted ?? Date.now(),
          bytesUploaded: p.bytesSent,
          bytesTotal: p.totalBytes,
        });
      };

      const start = () => {
        let blob;
        try {
          blob = OneDrive.#asFile(this.uppy.getFile(file.id) ?? file);
          handle = startUpload(blob, this.#uploadOptions(file, onProgress));
        } catch (error) { // an invalid option is thrown synchronously
          fail(error);
          return;
        }
        this.#handles.set(file.id, handle);
        const running = handle;
        running.promise.then(
          (item) => {
            if (settled) return;
            queued?.done();
            queued = null;
            const response = { status: 200, body: item, uploadURL: item.webUrl };
            this.uppy.emit("upload-success", this.uppy.getFile(file.id), response);
            finish();
          },
          (error) => {
            if (settled) return;
            // Cancelled through Uppy (removed / cancel-all) ends in finish() before this.
            fail(error);
          },
        ).finally(() => running.free());
      };

      const fail = (error) => {
        if (settled) return;
        queued?.done();
        queued = null;
        const uppyError = toUppyError(error); // Uppy logs and shows its message
        const current = this.uppy.getFile(file.id);
        if (current) {
          const response = error?.status ? { status: error.status, body: undefined } : undefined;
          this.uppy.emit("upload-error", current, uppyError, response);
        }
        finish();
      };

      /** Runs (or continues) the upload when the queue gives this file a slot. */
      const run = () => {
        if (settled || isPaused()) return () => {};
        if (handle) handle.resume();
        else start();
        return () => {};
      };
      const enqueue = () => {
        queued?.abort();
        queued = this.requests.run(run);
      };
      const pause = () => {
        queued?.abort(); // the slot goes to the next waiting file, as in @uppy/tus
        queued = null;
        handle?.pause();
      };
      const cancel = () => {
        const running = handle;
        finish();
        running?.cancel(); // aborts the request and DELETEs the session
      };

      events.onFileRemove(file.id, cancel);
      events.onCancelAll(file.id, cancel);
      events.onPause(file.id, (paused) => (paused ? pause() : enqueue()));
      events.onPauseAll(file.id, pause);
      events.onResumeAll(file.id, enqueue);

      enqueue();
    });
  }
}
