// Starts the emulator with --tls (API on 127.0.0.1, upload and download URLs on 127.0.0.2), then
// runs the SDK tests in a Node that trusts the emulator's generated CA through
// NODE_EXTRA_CA_CERTS (read by Node at start, hence this launcher), and stops the emulator.
//
// The emulator binary: $ODU_EMULATOR_BIN, else target/debug/onedrive-emulator of this repository
// (`cargo build -p onedrive-emulator`).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.ODU_EMULATOR_BIN || join(here, "..", "..", "target", "debug", "onedrive-emulator");
const data = mkdtempSync(join(tmpdir(), "odu-graph-sdk-"));
const emulator = spawn(
  bin,
  ["--listen", "127.0.0.1:0", "--content-listen", "127.0.0.2:0", "--tls", "--fault-injection", "--data", data],
  { stdio: ["ignore", "pipe", "inherit"] },
);
emulator.on("error", (e) => {
  console.error(`cannot start ${bin}: ${e.message}`);
  process.exit(1);
});

const started = await new Promise((resolve, reject) => {
  const seen = {};
  const lines = createInterface({ input: emulator.stdout });
  const timer = setTimeout(() => reject(new Error("the emulator did not start within 20 s")), 20_000);
  lines.on("line", (line) => {
    const [, key, value] = /^(listening on|upload and download URLs on|CA certificate:) (.+)$/.exec(line) || [];
    if (key) seen[key] = value;
    if (seen["listening on"] && seen["upload and download URLs on"] && seen["CA certificate:"]) {
      clearTimeout(timer);
      resolve(seen);
    }
  });
  emulator.on("exit", (code) => reject(new Error(`the emulator exited (${code})`)));
});

const tests = spawn(process.execPath, ["--test", join(here, "sdk.test.mjs")], {
  stdio: "inherit",
  env: {
    ...process.env,
    NODE_EXTRA_CA_CERTS: started["CA certificate:"],
    ODU_EMULATOR_URL: started["listening on"],
    ODU_EMULATOR_CONTENT_URL: started["upload and download URLs on"],
  },
});
const code = await new Promise((resolve) => tests.on("exit", (c) => resolve(c ?? 1)));
emulator.kill("SIGTERM");
await new Promise((resolve) => emulator.on("exit", resolve));
rmSync(data, { recursive: true, force: true });
process.exit(code);
