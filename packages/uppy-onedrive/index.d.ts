// Type declarations of uppy-onedrive (hand-written next to index.js; checked by tsc in
// tests/npm-consumer against @uppy/core 6 and onedrive-upload's generated declarations).

import type { BasePlugin, Body, DefinePluginOpts, Meta, PluginOpts, Uppy, UppyFile } from "@uppy/core";
import type { RateLimitedQueue } from "@uppy/core/utils";
import type { DriveItem, InitInput, RetryOptions, UploadErrorCode, UploadSessionInfo } from "onedrive-upload";

/** Options of the {@link OneDrive} plugin; all optional. */
export interface OneDriveOptions<M extends Meta, B extends Body> extends PluginOpts {
  /**
   * The session endpoint your server exposes (POSTed `{"filename","size"}` with `headers`), or a
   * function returning an upload session (or, for a zero-byte file, the driveItem). Default
   * `"/api/cloud/file"`.
   */
  session?:
    | string
    | ((file: File, uppyFile: UppyFile<M, B>) => Promise<UploadSessionInfo | DriveItem> | UploadSessionInfo | DriveItem);
  /** Headers for the session endpoint only (never sent to OneDrive), or a function of the file. */
  headers?: Record<string, string> | ((file: UppyFile<M, B>) => Record<string, string>);
  /** Bytes per request: a multiple of 327680, at most 62914560 (library default 10485760). */
  chunkSize?: number;
  /** onedrive-upload's retry settings (its engine retries 5xx, 429 and network errors itself). */
  retry?: RetryOptions;
  /** Remember sessions in localStorage and continue them after a page reload (default true). */
  resume?: boolean;
  /** Compare each file's QuickXorHash with OneDrive's (default true). */
  verify?: boolean;
  /** A request without progress for this long is aborted and retried (library default 30000). */
  stallTimeoutMs?: number;
  /**
   * Files uploading at once, as @uppy/tus's `limit` (0 means no limit). A paused file frees its slot.
   * Default 5, not tus's 20: browsers open about 6 connections per host, and requests queued behind
   * them would run into the stall timeout.
   */
  limit?: number;
  /** A queue shared with other uploaders, instead of one made from `limit`. */
  rateLimitedQueue?: RateLimitedQueue;
  /** Where the WebAssembly module is loaded from (default: next to onedrive-upload's JS). */
  wasm?: InitInput;
}

/** What onedrive-upload reported last about a file, kept on Uppy's file state as `onedrive`. */
export interface OneDriveFileProgress {
  /** Bytes sent so far (Uppy's `bytesUploaded`). */
  bytesSent: number;
  /** Bytes OneDrive has confirmed; never decreases. */
  bytesAcknowledged: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

/** The Error given to `upload-error`: a readable message plus onedrive-upload's code and status. */
export interface OneDriveUploadError extends Error {
  name: "OneDriveUploadError";
  code?: UploadErrorCode;
  status?: number;
  /** onedrive-upload's own `UploadError`. */
  cause: unknown;
}

/** The readable prefix of each error code. */
export declare const ERROR_MESSAGES: Readonly<Record<UploadErrorCode, string>>;

/** onedrive-upload's `UploadError` as the Error shown by Uppy. */
export declare function toUppyError(error: unknown): OneDriveUploadError;

declare module "@uppy/core" {
  export interface PluginTypeRegistry<M extends Meta, B extends Body> {
    OneDrive: OneDrive<M, B>;
  }
}

declare module "@uppy/core/utils" {
  export interface LocalUppyFile<M extends Meta, B extends Body> {
    /** The last progress reported by onedrive-upload. */
    onedrive?: OneDriveFileProgress;
  }
  export interface RemoteUppyFile<M extends Meta, B extends Body> {
    /** Never set: remote (Companion) files are not uploaded by this plugin. */
    onedrive?: OneDriveFileProgress;
  }
}

/**
 * Uploads every file straight to OneDrive through onedrive-upload's `startUpload`.
 * `upload-success`'s response is `{ status: 200, body: driveItem, uploadURL: driveItem.webUrl }`.
 */
export default class OneDrive<M extends Meta = Meta, B extends Body = DriveItem> extends BasePlugin<
  DefinePluginOpts<OneDriveOptions<M, B>, "limit" | "session" | "resume" | "verify">,
  M,
  B
> {
  static VERSION: string;
  /** The queue every upload of this plugin goes through. */
  requests: RateLimitedQueue;
  constructor(uppy: Uppy<M, B>, opts?: OneDriveOptions<M, B>);
}
