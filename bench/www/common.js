// What bench.js's uploaders and experiments.js share: the page state, session creation and a bare
// XHR PUT.

/** Set by window.B.setup (or the auto mode): the bearer token, chunk size, pkg/ and sampler state. */
export const state = { token: "", emulator: "", chunk: 0, wasm: null, pkg: null, sampler: null, samples: null };

/** Creates an upload session for `name` through the server, like uploadFile does by default. */
export async function createSession(name, size) {
  const r = await fetch("/api/cloud/file", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}` },
    body: JSON.stringify({ filename: name, size }),
  });
  if (!r.ok) throw new Error(`POST /api/cloud/file -> ${r.status} ${await r.text()}`);
  return r.json();
}

/** One PUT of `body` to `url` with a Content-Range, nothing else; resolves with the XHR. */
export function bareXhrPut(url, body, range) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", url);
    x.setRequestHeader("Content-Range", range);
    x.onload = () => resolve(x);
    x.onerror = () => reject(new Error("network error"));
    x.send(body);
  });
}

/** The driveItem from the last PUT's XHR, or an error when it did not commit the file. */
export function committed(x) {
  if (x.status !== 200 && x.status !== 201) throw new Error(`last PUT -> ${x.status}`);
  return JSON.parse(x.responseText);
}
