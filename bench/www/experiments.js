// Experiments on the read path (not in the default set; `--uploaders xhr,xhr-read2,...`): what a
// verify hash costs when it reads the file a second time next to a Blob-body PUT, vs reading each
// chunk once and sending what was read. BENCHMARKS.md, sitting 3, has what they showed.

import { state, createSession, bareXhrPut, committed } from "./common.js";

/** Reads `blob` whole through a BYOB reader into `buffer` (at least blob.size bytes); returns a view. */
async function readInto(blob, buffer) {
  const reader = blob.stream().getReader({ mode: "byob" });
  let filled = 0;
  while (filled < blob.size) {
    const { value, done } = await reader.read(new Uint8Array(buffer, filled, blob.size - filled));
    if (done) break;
    buffer = value.buffer;
    filled += value.byteLength;
  }
  return new Uint8Array(buffer, 0, filled);
}

/** The bare loop, plus a second read of each chunk (BYOB, one reused buffer) while it is sent. */
async function uploadXhrRead2(file, name) {
  const s = await createSession(name, file.size);
  const size = file.size;
  const chunk = state.chunk;
  let buffer = new ArrayBuffer(chunk);
  let x = null;
  for (let a = 0; a < size; a += chunk) {
    const b = Math.min(a + chunk, size);
    const [put, view] = await Promise.all([bareXhrPut(s.uploadUrl, file.slice(a, b), `bytes ${a}-${b - 1}/${size}`), readInto(file.slice(a, b), buffer)]);
    buffer = view.buffer;
    x = put;
  }
  return committed(x);
}

/**
 * Reads each chunk once with `read(blob, index)` and PUTs what it gave with `send(url, body, range)`
 * (which resolves with `{ status, json() }`). With `overlap`, the next chunk is read while this one
 * is sent; `send` must not need its body after it returns (XHR and fetch copy it).
 */
function readOnce(read, send, overlap) {
  return async (file, name) => {
    const s = await createSession(name, file.size);
    const size = file.size;
    const chunk = state.chunk;
    const readAt = (a, i) => read(file.slice(a, Math.min(a + chunk, size)), i);
    let next = overlap ? readAt(0, 0) : null;
    let last = null;
    for (let a = 0, i = 0; a < size; a += chunk, i++) {
      const b = Math.min(a + chunk, size);
      const body = await (overlap ? next : readAt(a, i));
      const put = send(s.uploadUrl, body, `bytes ${a}-${b - 1}/${size}`);
      if (overlap && b < size) next = readAt(b, i + 1);
      last = await put;
    }
    if (last.status !== 200 && last.status !== 201) throw new Error(`last PUT -> ${last.status}`);
    return last.json();
  };
}

const xhrSend = async (url, body, range) => {
  const x = await bareXhrPut(url, body, range);
  return { status: x.status, json: () => JSON.parse(x.responseText) };
};
const fetchSend = async (url, body, range) => {
  const r = await fetch(url, { method: "PUT", headers: { "Content-Range": range }, body });
  const text = await r.text();
  return { status: r.status, json: () => JSON.parse(text) };
};
const sliceBytes = async (blob) => new Uint8Array(await blob.arrayBuffer());

/** BYOB reads into two alternating buffers (each handed back by the read that filled it). */
function twoBuffers() {
  const buffers = [new ArrayBuffer(state.chunk), new ArrayBuffer(state.chunk)];
  return async (blob, i) => {
    const view = await readInto(blob, buffers[i % 2]);
    buffers[i % 2] = view.buffer;
    return view;
  };
}

/** Selectable with --uploaders, not run by default (`extra` adds more from bench.js). */
export function experiments(extra) {
  return {
    "xhr-read2": uploadXhrRead2,
    // bytes as the body, read once: two reused BYOB buffers, overlapped
    "xhr-readonce": (file, name) => readOnce(twoBuffers(), xhrSend, true)(file, name),
    // a fresh buffer per chunk from Blob.arrayBuffer(), overlapped / sequential / sent with fetch
    "xhr-sliceonce": readOnce(sliceBytes, xhrSend, true),
    "xhr-sliceseq": readOnce(sliceBytes, xhrSend, false),
    "fetch-sliceonce": readOnce(sliceBytes, fetchSend, true),
    // BYOB into a fresh buffer per chunk, overlapped
    "xhr-byobfresh": readOnce((blob) => readInto(blob, new ArrayBuffer(state.chunk)), xhrSend, true),
    // read once, the bytes wrapped in a renderer-made Blob as the body
    "xhr-blobonce": readOnce(async (blob) => new Blob([await blob.arrayBuffer()]), xhrSend, true),
    ...extra,
  };
}
