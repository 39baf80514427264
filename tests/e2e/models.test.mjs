// End to end: the Models page in the real window. The default model is shown
// with what its GGUF header says; a model is imported by reference (a bad file
// is refused with the reason); a model is downloaded from a local server with
// progress, paused and resumed by range request; per-model load settings reach
// the engine (0 GPU layers, context 2048, shown once the model is in memory);
// a model is unloaded and loaded again from its card; deleting a referenced model leaves its file.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import { existsSync, linkSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4474);
const DEFAULT_ID = "gemma-3-270m-q4_k_m";

/** A small valid GGUF: one metadata entry (architecture llama) and one F32 tensor of `floats` values. */
function tinyGguf(floats) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { u64(Buffer.byteLength(s)); parts.push(Buffer.from(s)); };
  parts.push(Buffer.from("GGUF"));
  u32(3); u64(1); u64(1);
  str("general.architecture"); u32(8); str("llama");
  str("w"); u32(1); u64(floats); u32(0); u64(0);
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  const data = Buffer.alloc(floats * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
  return Buffer.concat([head, data]);
}

/** Serves `body` slowly (so that progress shows and Pause can act), honouring Range. */
function slowServer(body) {
  const ranges = [];
  const server = http.createServer(async (req, res) => {
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    if (m) ranges.push(start);
    const headers = { "content-length": String(body.length - start), "content-type": "application/octet-stream" };
    if (start > 0) headers["content-range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    for (let i = start; i < body.length; i += 64 * 1024) {
      if (res.destroyed) return;
      res.write(body.subarray(i, Math.min(i + 64 * 1024, body.length)));
      await new Promise((r) => setTimeout(r, 60));
    }
    res.end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, ranges, port: server.address().port })));
}

async function type(testId, text, root = app.browser) {
  const input = await root.$(`[data-testid="${testId}"]`);
  await input.click();
  await app.browser.keys(["Control", "a"]);
  await app.browser.keys("Backspace");
  if (text) await input.addValue(text);
}

async function card(id) {
  const el = await app.byTestId(`model-card-${id}`);
  await el.waitForDisplayed({ timeout: 15_000 });
  return el;
}

async function text(el) {
  return String(await el.getProperty("textContent"));
}

describe("Models page: library, import, download, load settings", { timeout: 600_000 }, () => {
  let serverInfo;
  const body = tinyGguf(1_000_000); // 4 MB
  const outside = path.join(app.home, "elsewhere");

  before(async () => {
    mkdirSync(outside, { recursive: true });
    serverInfo = await slowServer(body);
    await app.start();
    await app.waitForModel();
    await app.openPage("models");
  });
  after(async () => {
    await app.stop();
    serverInfo?.server.close();
  });

  it("describes the default model from its GGUF header", async () => {
    const c = await card(DEFAULT_ID);
    assert.equal(await text(await c.$('[data-testid="fact-architecture"]')), "gemma3");
    assert.equal(await text(await c.$('[data-testid="fact-quantization"]')), "Q4_K_M");
    assert.equal(await text(await c.$('[data-testid="fact-parameters"]')), "268M");
    assert.match(await text(await c.$('[data-testid="model-used-by"]')), /Answer generation/);
  });

  it("refuses a file that is not a model and imports one by reference", async () => {
    const fake = path.join(outside, "notes.gguf");
    writeFileSync(fake, "%PDF-1.7 not a model");
    await type("import-path", fake);
    await (await app.byTestId("import-submit")).click();
    const refusal = await app.browser.$('//*[contains(text(), "is not a GGUF file")]');
    await refusal.waitForDisplayed({ timeout: 10_000 });

    const ref = path.join(outside, "gemma-ref.gguf");
    const source = path.join(app.dataDir, "models", `${DEFAULT_ID}.gguf`);
    try { linkSync(source, ref); } catch { copyFileSync(source, ref); }
    await type("import-path", ref);
    await (await app.browser.$('//label[contains(., "Use where it is")]')).click();
    await (await app.byTestId("import-submit")).click();
    await (await app.byTestId("import-done")).waitForDisplayed({ timeout: 20_000 });
    const c = await card("gemma-ref");
    assert.ok(await (await c.$('[data-testid="model-referenced"]')).isExisting());
    assert.ok(!existsSync(path.join(app.dataDir, "models", "gemma-ref.gguf")), "nothing was copied");
  });

  it("downloads with progress, pauses, resumes by range request and verifies the checksum", async () => {
    const sha = createHash("sha256").update(body).digest("hex");
    await type("download-url", `http://127.0.0.1:${serverInfo.port}/org/repo/resolve/main/tiny-e2e.gguf`);
    await type("download-sha256", sha);
    await (await app.byTestId("download-start")).click();
    const row = await app.byTestId("download-row-tiny-e2e.gguf");
    await row.waitForDisplayed({ timeout: 10_000 });
    const bytes = await row.$('[data-testid="download-bytes"]');
    await app.browser.waitUntil(async () => /^[1-9][\d.]* (KB|MB)/.test(await text(bytes)), { timeout: 20_000, timeoutMsg: "no progress shown" });
    await app.screenshot("models-downloading");
    await (await row.$('[data-testid="download-pause"]')).click();
    const state = await row.$('[data-testid="download-state"]');
    await app.browser.waitUntil(async () => (await text(state)) === "paused", { timeout: 10_000, timeoutMsg: "never paused" });
    await (await row.$('[data-testid="download-resume"]')).click();
    await app.browser.waitUntil(async () => (await text(state)) === "done", { timeout: 60_000, timeoutMsg: "never finished" });
    assert.equal(serverInfo.ranges.length, 1, "resumed with one range request");
    assert.ok(serverInfo.ranges[0] > 0);
    const c = await card("tiny-e2e");
    assert.equal(await text(await c.$('[data-testid="fact-architecture"]')), "llama");
  });

  it("per-model load settings reach the engine", async () => {
    const c = await card(DEFAULT_ID);
    await type("model-gpu-layers", "0", c);
    await type("model-context", "2048", c);
    await (await c.$('[data-testid="model-save"]')).click();
    await app.browser.waitUntil(async () => !(await (await c.$('[data-testid="model-save"]')).isEnabled()), { timeout: 10_000 });

    // Any request loads the model; once text streams, it is in memory with these settings.
    await app.openPage("playground");
    await (await app.byTestId("prompt-input")).setValue("Say hello.");
    await (await app.byTestId("run-button")).click();
    const output = await app.byTestId("generation-output");
    await app.browser.waitUntil(async () => (await output.getText()).replace("…", "").length > 0, {
      timeout: 120_000,
      timeoutMsg: "no text streamed",
    });
    const stop = await app.byTestId("stop-button");
    if (await stop.isEnabled()) await stop.click();
    await app.browser.waitUntil(
      async () =>
        (await (await app.byTestId("generation-cancelled")).isDisplayed()) ||
        (await (await app.byTestId("generation-stats")).isDisplayed()),
      { timeout: 30_000, timeoutMsg: "the request did not end" },
    );

    await app.openPage("models");
    const resident = await (await card(DEFAULT_ID)).$('[data-testid="model-resident"]');
    await resident.waitForExist({ timeout: 15_000 });
    assert.match(await text(resident), /0\/19 layers on the GPU · context 2048/);
    await app.screenshot("models");
  });

  it("unloads a model from memory and loads it again ahead of any request", async () => {
    const c = await card(DEFAULT_ID);
    await (await c.$('[data-testid="model-unload"]')).click();
    const load = await c.$('[data-testid="model-load"]');
    await load.waitForDisplayed({ timeout: 30_000, timeoutMsg: "still in memory" });
    assert.ok(!(await (await c.$('[data-testid="model-resident"]')).isExisting()));
    await load.click();
    const resident = await c.$('[data-testid="model-resident"]');
    await resident.waitForExist({ timeout: 60_000, timeoutMsg: "never loaded" });
    assert.match(await text(resident), /0\/19 layers on the GPU · context 2048/, "loaded with its own settings");
    assert.ok(await (await c.$('[data-testid="model-unload"]')).isExisting());
  });

  it("deleting a referenced model leaves its file where it was", async () => {
    const c = await card("gemma-ref");
    await (await c.$('[data-testid="model-delete"]')).click();
    await (await app.byTestId("model-delete-confirm")).click();
    await app.browser.waitUntil(async () => !(await (await app.byTestId("model-card-gemma-ref")).isExisting()), {
      timeout: 10_000,
      timeoutMsg: "card still shown",
    });
    assert.ok(existsSync(path.join(outside, "gemma-ref.gguf")));
  });
});
