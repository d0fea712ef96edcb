// An app using the uppy-onedrive plugin with @uppy/core 6: `tsc --noEmit` checks every option of the
// plugin's hand-written declarations, the driveItem typed as the upload-success body, and the
// progress it keeps on Uppy's file state. (Type-checked only; the Vite bundle does not include it.)

import Uppy from "@uppy/core";
import type { Body, Meta, UppyFile } from "@uppy/core";
import OneDrive, { ERROR_MESSAGES, toUppyError } from "uppy-onedrive";
import type { OneDriveFileProgress, OneDriveOptions, OneDriveUploadError } from "uppy-onedrive";
import type { DriveItem } from "onedrive-upload";

declare const token: string;

// Annotated with Uppy's generic Body: `uppy.use` checks options against the plugin's constructor.
const options: OneDriveOptions<Meta, Body> = {
  session: async (file: File, uppyFile: UppyFile<Meta, Body>) => {
    const response = await fetch("/api/cloud/file", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ filename: uppyFile.meta.name ?? file.name, size: file.size }),
    });
    return (await response.json()) as { uploadUrl: string; expirationDateTime?: string };
  },
  headers: (file) => ({ Authorization: `Bearer ${token}`, "X-File": file.id }),
  chunkSize: 327680,
  retry: { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 10000, clientErrorRetries: 3 },
  resume: true,
  verify: true,
  stallTimeoutMs: 20000,
  limit: 3,
};

export const uppy = new Uppy<Meta, DriveItem>({ autoProceed: true }).use(OneDrive, options);
// A plain session endpoint, as in the demo page.
export const other = new Uppy().use(OneDrive, { session: "/api/cloud/file", headers: { Authorization: `Bearer ${token}` } });

uppy.on("upload-success", (file, response) => {
  const item: DriveItem | undefined = response.body;
  const hash: string | undefined = item?.file.hashes.quickXorHash;
  const progress: OneDriveFileProgress | undefined = file?.onedrive;
  console.log(item?.id, hash, progress?.bytesAcknowledged, response.uploadURL);
});

uppy.on("upload-error", (file, error) => {
  const ours = error as OneDriveUploadError;
  console.log(file?.name, ours.code, ours.status, ours.message);
});

const plugin: OneDrive<Meta, DriveItem> | undefined = uppy.getPlugin<OneDrive<Meta, DriveItem>>("OneDrive");
export const limit: number | undefined = plugin?.requests.limit;
export const readable: string = ERROR_MESSAGES["retries-exhausted"];
export const converted: OneDriveUploadError = toUppyError(new Error("x"));
