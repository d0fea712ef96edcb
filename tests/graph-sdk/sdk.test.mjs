// Microsoft's Graph JS SDK (@microsoft/microsoft-graph-client 3.0.7) against the emulator over
// https, configured only as its documentation shows: Client.init with an authProvider callback,
// baseUrl and customHosts; the CA comes from NODE_EXTRA_CA_CERTS (see run.mjs). No URL rewriting,
// no middleware of ours: the SDK attaches the token to the API host (customHosts) and, by its own
// rule, not to the upload URLs, which the emulator hands out on another host (127.0.0.2).
import assert from "node:assert/strict";
import { before, test } from "node:test";
import {
  Client,
  FileUpload,
  GraphError,
  LargeFileUploadTask,
  OneDriveLargeFileUploadTask,
} from "@microsoft/microsoft-graph-client";

const API = process.env.ODU_EMULATOR_URL;
const CONTENT = process.env.ODU_EMULATOR_CONTENT_URL;
const MiB = 1024 * 1024;

let client;

/// The dev client's one-request token (client_credentials, see the emulator's README).
async function devToken() {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: "onedrive-upload-dev",
    client_secret: "dev-secret",
    scope: "https://graph.microsoft.com/.default",
  });
  const r = await fetch(`${API}/common/oauth2/v2.0/token`, { method: "POST", body: form });
  assert.equal(r.status, 200);
  return (await r.json()).access_token;
}

/// The emulator's fault-injection control API (not Graph: plain fetch).
async function fault(spec) {
  const r = await fetch(`${API}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  assert.equal(r.status, 201);
}

async function sessionsNamed(name) {
  return (await fetch(`${API}/_emulator/sessions?name=${encodeURIComponent(name)}`)).json();
}

function bytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function download(id) {
  // GET .../content answers 302 to the content host; the SDK's RedirectHandler follows it and
  // drops the Authorization header for the other host.
  const stream = await client.api(`/me/drive/items/${id}/content`).getStream();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}

async function graphError(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof GraphError, `not a GraphError: ${e}`);
    return e;
  }
  assert.fail("the request succeeded");
}

before(async () => {
  assert.ok(API?.startsWith("https://127.0.0.1:"), API);
  assert.ok(CONTENT?.startsWith("https://127.0.0.2:"), CONTENT);
  const token = await devToken();
  client = Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: `${API}/`,
    customHosts: new Set(["127.0.0.1"]),
  });
});

test("LargeFileUploadTask: create a session, upload 7 MiB, the bytes and size arrive", async () => {
  const data = bytes(7 * MiB, 1);
  const session = await LargeFileUploadTask.createUploadSession(
    client,
    "/me/drive/root:/sdk/large.bin:/createUploadSession",
    { item: { "@microsoft.graph.conflictBehavior": "replace" } },
  );
  assert.ok(session.url.startsWith(`${CONTENT}/upload/`), session.url);
  const file = new FileUpload(data.buffer, "large.bin", data.length);
  const task = new LargeFileUploadTask(client, file, session, { rangeSize: 2 * MiB });
  const result = await task.upload();
  assert.equal(result.responseBody.size, data.length);
  assert.equal(result.responseBody.name, "large.bin");
  assert.deepEqual(await download(result.responseBody.id), data);
  const [s] = await sessionsNamed("large.bin");
  assert.equal(s.putRequests, 4);
});

test("OneDriveLargeFileUploadTask: 7 MiB with its own session URL and rename", async () => {
  const data = bytes(7 * MiB, 2);
  const options = { path: "/sdk/one drive", fileName: "od #1.bin", rangeSize: 5 * MiB, conflictBehavior: "rename" };
  for (let i = 0; i < 2; i++) {
    const task = await OneDriveLargeFileUploadTask.createTaskWithFileObject(
      client,
      new FileUpload(data.buffer, options.fileName, data.length),
      options,
    );
    const result = await task.upload();
    assert.equal(result.responseBody.size, data.length);
    assert.equal(result.responseBody.name, i === 0 ? "od #1.bin" : "od #1 1.bin");
  }
  const item = await client.api("/me/drive/root:/sdk/one%20drive/od%20%231.bin").get();
  assert.equal(item.size, data.length);
  assert.equal(item.parentReference.path, "/drive/root:/sdk/one%20drive");
  const selected = await client.api(`/me/drive/items/${item.id}`).select(["id", "name"]).get();
  assert.deepEqual(Object.keys(selected).sort(), ["id", "name"]);
});

test("resume after an injected fault: the connection drops mid-fragment, resume() continues", async () => {
  const name = "resume.bin";
  const data = bytes(7 * MiB, 3);
  // The first PUT goes through, the second is cut after 1 MiB without an answer.
  await fault({ name, method: "PUT", delayMs: 0 });
  await fault({ name, method: "PUT", dropAfterBytes: MiB });
  const session = await LargeFileUploadTask.createUploadSession(client, `/me/drive/root:/sdk/${name}:/createUploadSession`, {});
  const task = new LargeFileUploadTask(client, new FileUpload(data.buffer, name, data.length), session, {
    rangeSize: 2621440,
  });
  await assert.rejects(task.upload());
  const status = await task.getStatus();
  assert.deepEqual(status.nextExpectedRanges, ["2621440-"]);
  const result = await task.resume();
  assert.equal(result.responseBody.size, data.length);
  assert.deepEqual(await download(result.responseBody.id), data);
});

test("cancel: 204, then the session is gone (404 uploadSessionNotFound)", async () => {
  const data = bytes(MiB, 4);
  const session = await LargeFileUploadTask.createUploadSession(client, "/me/drive/root:/sdk/cancel.bin:/createUploadSession", {});
  const task = new LargeFileUploadTask(client, new FileUpload(data.buffer, "cancel.bin", data.length), session, {
    rangeSize: 327680,
  });
  const response = await task.cancel();
  assert.equal(response.status, 204);
  assert.equal(task.getUploadSession().isCancelled, true);
  const e = await graphError(task.getStatus());
  assert.equal(e.statusCode, 404);
  assert.equal(e.code, "itemNotFound");
  assert.equal(JSON.parse(e.body).innerError.code, "uploadSessionNotFound");
});

test("deferred session committed with commit() (PUT @microsoft.graph.sourceUrl)", async () => {
  const data = bytes(700000, 5);
  const session = await LargeFileUploadTask.createUploadSession(client, "/me/drive/root:/sdk/deferred.bin:/createUploadSession", {
    deferCommit: true,
  });
  const file = new FileUpload(data.buffer, "deferred.bin", data.length);
  const task = new OneDriveLargeFileUploadTask(client, file, session, { rangeSize: 327680 });
  // Every byte sent, nothing committed: the last answer is 202 with no next range, on which the
  // SDK's loop gives up with this error; commit() then does the work.
  await assert.rejects(task.upload(), { name: "Invalid Session" });
  assert.equal((await graphError(client.api("/me/drive/root:/sdk/deferred.bin").get())).statusCode, 404);
  const committed = await task.commit("/me/drive/root:/sdk/deferred.bin");
  assert.equal(committed.name, "deferred.bin");
  assert.equal(committed.size, data.length);
});

test("get, rename, move, createLink, delete; GraphError fields on 404, 409 and 412", async () => {
  const folder = await client.api("/me/drive/root/children").post({ name: "sdk-items", folder: {} });
  const dest = await client.api("/me/drive/root/children").post({ name: "sdk-dest", folder: {} });
  const item = await client.api("/me/drive/items/" + folder.id + ":/a.txt:/content").put("hello");
  const got = await client.api(`/me/drive/items/${item.id}`).get();
  assert.equal(got.name, "a.txt");
  assert.equal(got.size, 5);

  const renamed = await client.api(`/me/drive/items/${item.id}`).update({ name: "b.txt" });
  assert.equal(renamed.name, "b.txt");
  const moved = await client.api(`/me/drive/items/${item.id}`).update({ parentReference: { id: dest.id } });
  assert.equal(moved.parentReference.id, dest.id);
  assert.equal(moved.parentReference.path, "/drive/root:/sdk-dest");

  const link = await client.api(`/me/drive/items/${item.id}/createLink`).post({ type: "view", scope: "anonymous" });
  assert.equal(link.link.type, "view");
  assert.ok(link.link.webUrl.startsWith(`${CONTENT}/share/`), link.link.webUrl);
  assert.equal(await (await fetch(link.link.webUrl)).text(), "hello");

  // 409: a folder that exists, with fail.
  const clash = await graphError(
    client.api("/me/drive/root/children").post({ name: "sdk-dest", folder: {}, "@microsoft.graph.conflictBehavior": "fail" }),
  );
  assert.equal(clash.statusCode, 409);
  assert.equal(clash.code, "nameAlreadyExists");
  assert.match(clash.requestId, /^[0-9a-f-]{36}$/);
  assert.ok(clash.date instanceof Date && !Number.isNaN(clash.date.getTime()));
  assert.equal(clash.headers.get("request-id"), clash.requestId);

  // 412: a stale eTag.
  const stale = await graphError(
    client.api(`/me/drive/items/${item.id}`).header("If-Match", got.eTag).update({ name: "c.txt" }),
  );
  assert.equal(stale.statusCode, 412);
  assert.equal(stale.code, "resourceModified");
  assert.equal(JSON.parse(stale.body).innerError.code, "entityTagDoesNotMatch");

  await client.api(`/me/drive/items/${item.id}`).header("If-Match", moved.eTag).delete();
  // 404: gone.
  const gone = await graphError(client.api(`/me/drive/items/${item.id}`).get());
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.code, "itemNotFound");
  assert.match(gone.requestId, /^[0-9a-f-]{36}$/);
});
