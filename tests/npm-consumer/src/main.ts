// A small app that consumes onedrive-upload from npm: it uses every option of uploadFile (so that
// `tsc --noEmit` checks them all against the package's .d.ts) and uploads the files picked in #file.
// The server it talks to is ?server=http://127.0.0.1:PORT (another origin: CORS), default this origin.

import init, { uploadFile } from "onedrive-upload";

const server = new URLSearchParams(location.search).get("server") ?? location.origin;
const input = document.querySelector<HTMLInputElement>("#file")!;
const status = document.querySelector<HTMLParagraphElement>("#status")!;
const result = document.querySelector<HTMLPreElement>("#result")!;

/** What the test reads back from #result. */
interface Uploaded {
  name: string;
  id: string;
  size: number;
  quickXorHash: string;
  progressEvents: number;
  lastProgress: { bytesSent: number; bytesAcknowledged: number; totalBytes: number; bytesPerSecond: number; etaSeconds: number | null | undefined } | null;
}

async function devToken(): Promise<string> {
  const response = await fetch(`${server}/dev/token?user=npm-consumer`);
  if (!response.ok) throw new Error(`GET /dev/token -> ${response.status}`);
  const body = (await response.json()) as { token: string };
  return body.token;
}

/** First file: a session callback plus every other option. */
async function uploadWithEveryOption(file: File, token: string): Promise<Uploaded> {
  const controller = new AbortController();
  let progressEvents = 0;
  let lastProgress: Uploaded["lastProgress"] = null;
  const item = await uploadFile(file, {
    session: async (f: File) => {
      const response = await fetch(`${server}/api/cloud/file`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ filename: f.name, size: f.size }),
      });
      if (!response.ok) throw new Error(`session -> ${response.status}`);
      const session = (await response.json()) as { uploadUrl: string; expirationDateTime?: string };
      return { uploadUrl: session.uploadUrl, expirationDateTime: session.expirationDateTime };
    },
    headers: { Authorization: `Bearer ${token}` },
    chunkSize: 327680,
    retry: { clientErrorRetries: 5, baseDelayMs: 100, maxDelayMs: 2000, maxAttempts: 50 },
    onProgress: (p) => {
      progressEvents += 1;
      lastProgress = {
        bytesSent: p.bytesSent,
        bytesAcknowledged: p.bytesAcknowledged,
        totalBytes: p.totalBytes,
        bytesPerSecond: p.bytesPerSecond,
        etaSeconds: p.etaSeconds,
      };
    },
    signal: controller.signal,
    resume: true,
    verify: true,
    stallTimeoutMs: 30000,
  });
  return {
    name: item.name, id: item.id, size: item.size, quickXorHash: item.file.hashes.quickXorHash, progressEvents, lastProgress,
  };
}

/** Other files: the session endpoint as a URL, with the Authorization header. */
async function uploadWithEndpoint(file: File, token: string): Promise<Uploaded> {
  const item = await uploadFile(file, { session: `${server}/api/cloud/file`, headers: { Authorization: `Bearer ${token}` } });
  return { name: item.name, id: item.id, size: item.size, quickXorHash: item.file.hashes.quickXorHash, progressEvents: 0, lastProgress: null };
}

async function main(): Promise<void> {
  await init();
  const token = await devToken();
  input.disabled = false;
  status.textContent = "Ready";
  document.body.dataset.ready = "true";
  input.addEventListener("change", async () => {
    const files = Array.from(input.files ?? []);
    status.textContent = `Uploading ${files.length} file(s)…`;
    try {
      const uploaded: Uploaded[] = [];
      for (const [index, file] of files.entries()) {
        uploaded.push(index === 0 ? await uploadWithEveryOption(file, token) : await uploadWithEndpoint(file, token));
      }
      result.textContent = JSON.stringify(uploaded, null, 2);
      status.textContent = "Done";
    } catch (error) {
      const e = error as Error & { code?: string; status?: number };
      result.textContent = JSON.stringify({ error: { name: e.name, code: e.code, status: e.status, message: e.message } });
      status.textContent = `Failed: ${e.message}`;
    }
    document.body.dataset.done = "true";
  });
}

main().catch((error: unknown) => {
  status.textContent = `Cannot start: ${String(error)}`;
  document.body.dataset.ready = "failed";
});
