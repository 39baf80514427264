// End to end: the local API switched on in Settings serves a real client
// (Node's fetch) with a token created in the window; a second launch on the
// same data folder leaves the first serving; a revoked token is refused.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { APP_BIN, App } from "./harness.mjs";

const app = new App(4486);
const PORT = 4390;
const URL = `http://127.0.0.1:${PORT}`;
let secret = "";

async function chat(token) {
  return fetch(`${URL}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "answer_generation", max_tokens: 8, messages: [{ role: "user", content: "Say hello." }] }),
  });
}

describe("Local API: switched on in Settings, used by another program", { timeout: 600_000 }, () => {
  before(async () => {
    await app.start();
    await app.waitForModel();
  });
  after(async () => {
    await app.stop();
  });

  it("starts the server at the port chosen", async () => {
    await app.openPage("settings");
    await app.toggle("api-enabled");
    await app.type("api-port", String(PORT));
    await (await app.byTestId("api-save")).click();
    const status = await app.byTestId("api-status");
    await app.browser.waitUntil(async () => (await status.getProperty("textContent")).includes(`127.0.0.1:${PORT}`), {
      timeout: 15_000,
      timeoutMsg: "the server never reported its address",
    });
    const refused = await fetch(`${URL}/v1/models`);
    assert.equal(refused.status, 401, "no token, no answer");
  });

  it("creates a token shown once, and a program uses it", async () => {
    await app.type("token-name", "e2e-script");
    await (await app.byTestId("token-create")).click();
    const shown = await app.byTestId("token-secret");
    await shown.waitForDisplayed({ timeout: 10_000 });
    secret = (await shown.getProperty("textContent")).trim();
    assert.match(secret, /^sb-[A-Za-z0-9_-]{43}$/);
    await app.screenshot("local-api");
    await (await app.byTestId("token-done")).click();
    await shown.waitForExist({ reverse: true, timeout: 10_000 });

    const reply = await chat(secret);
    assert.equal(reply.status, 200, await reply.clone().text());
    const body = await reply.json();
    assert.ok(body.choices[0].message.content.length > 0);
    assert.equal(body.switchboard.model, "local/gemma-3-270m-q4_k_m");
    const served = await app.byTestId("api-served");
    await app.browser.waitUntil(async () => /^[1-9]\d* requests served/.test(await served.getProperty("textContent")), {
      timeout: 15_000,
      timeoutMsg: "the requests served never showed",
    });
  });

  it("a second launch on the same data folder exits and the first keeps serving", async () => {
    const second = spawn(APP_BIN, [], { env: app.env, stdio: "ignore" });
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve("still running"), 30_000);
      second.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code === "still running") second.kill("SIGKILL");
    assert.equal(code, 0, "the second launch hands over to the first and exits");
    assert.equal((await chat(secret)).status, 200);
  });

  it("a revoked token is refused", async () => {
    await (await app.byTestId("revoke-e2e-script")).click();
    await (await app.browser.$('[data-testid="token-e2e-script"]')).waitUntil(
      async function () {
        return (await this.getProperty("textContent")).includes("Revoked");
      },
      { timeout: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal((await chat(secret)).status, 401);
  });
});
