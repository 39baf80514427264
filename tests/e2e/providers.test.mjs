// End to end: an admin configures OpenAI in the real app against a local
// server speaking OpenAI's wire format, tests the connection, assigns one of
// its models to a use case and runs it. The key never shows again after
// saving (only its mask), and neither the SQLite file, nor the log file, nor
// the page holds it in plaintext.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4464);
const SECRET = "sk-e2e-TopSecretKeyValue9876";
const UC = "answer_generation";

/** A local stand-in for api.openai.com: models, and a streamed completion with usage. */
function fakeOpenAI() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body });
      if (req.headers.authorization !== `Bearer ${SECRET}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "Incorrect API key provided", type: "invalid_request_error" } }));
      } else if (req.method === "GET" && req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: "gpt-4o-mini" }, { id: "gpt-4o" }] }));
      } else if (req.method === "POST" && req.url === "/v1/chat/completions") {
        const request = JSON.parse(body);
        if (!request.stream) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "OK" }, finish_reason: "stop" }], usage: { prompt_tokens: 9, completion_tokens: 1 } }));
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const piece of ["Hello ", "from ", "the ", "cloud."]) {
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 120000, completion_tokens: 40000 } })}\n\n`);
        res.end("data: [DONE]\n\n");
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, seen, port: server.address().port })));
}

async function type(testId, text) {
  const input = await app.byTestId(testId);
  await input.click();
  await app.browser.keys(["Control", "a"]);
  await app.browser.keys("Backspace");
  await input.addValue(text);
}

// Mantine draws its switch over the real checkbox, which WebDriver then cannot click.
async function toggle(testId) {
  await app.browser.execute((el) => el.click(), await app.byTestId(testId));
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    const st = statSync(p);
    // Regular files only: the single-instance socket holds no data.
    return st.isDirectory() ? (name === "models" ? [] : filesUnder(p)) : st.isFile() ? [p] : [];
  });
}

describe("Providers: configure, test, use, keep the key secret", { timeout: 600_000 }, () => {
  let fake;
  before(async () => {
    fake = await fakeOpenAI();
    await app.start();
  });
  after(async () => {
    await app.stop();
    fake?.server.close();
  });

  it("refuses plain http for a cloud provider until the admin allows it", async () => {
    await app.openPage("providers");
    await type("provider-baseurl-input-openai", `http://127.0.0.1:${fake.port}/v1`);
    const card = await app.byTestId("provider-card-openai");
    await (await card.$("//*[contains(text(), 'need https')]")).waitForDisplayed({ timeout: 5_000 });
    assert.equal(await (await app.byTestId("save-all-button")).isEnabled(), false);
    await toggle("provider-allow-http-openai");
    await app.browser.waitUntil(async () => (await app.byTestId("save-all-button")).isEnabled(), { timeout: 5_000 });
  });

  it("saves the key, enabled state and budget with Save all", async () => {
    await type("provider-apikey-input-openai", SECRET);
    await toggle("provider-enabled-toggle-openai");
    await type("provider-budget-input-openai", "5");
    await (await app.byTestId("unsaved-changes")).waitForDisplayed();
    await (await app.byTestId("save-all-button")).click();
    await (await app.byTestId("providers-saved")).waitForDisplayed({ timeout: 10_000 });
    const input = await app.byTestId("provider-apikey-input-openai");
    assert.equal(await input.getValue(), "");
    assert.equal(await input.getAttribute("placeholder"), "sk-...9876");
    assert.ok(!(await app.browser.getPageSource()).includes(SECRET), "the page holds the key after saving");
  });

  it("tests the connection: models listed, one token answered", async () => {
    await (await app.byTestId("provider-test-button-openai")).click();
    const status = await app.byTestId("provider-status-openai");
    // textContent: the badge's text is transformed and may sit under a tooltip.
    await app.browser.waitUntil(async () => /Connected/.test(await status.getProperty("textContent")), {
      timeout: 20_000,
      timeoutMsg: "not connected",
    }).catch(async (e) => {
      const result = await app.byTestId("provider-test-result-openai");
      throw new Error(`${e.message}: ${await status.getProperty("textContent")} / ${(await result.isExisting()) ? await result.getText() : "no result"}`);
    });
    const models = await app.byTestId("provider-models-list-openai");
    await app.browser.waitUntil(async () => /gpt-4o-mini/.test(await models.getProperty("textContent")), { timeout: 10_000 });
    assert.match(await (await app.byTestId("provider-test-result-openai")).getProperty("textContent"), /2 models listed/);
    await app.screenshot("providers");
  });

  it("keeps everything over a restart and shows the key only on request", async () => {
    await app.restart();
    await app.openPage("providers");
    assert.equal(await (await app.byTestId("provider-apikey-input-openai")).getAttribute("placeholder"), "sk-...9876");
    assert.equal(await (await app.byTestId("provider-budget-input-openai")).getValue(), "$5");
    assert.ok(!(await app.browser.getPageSource()).includes(SECRET));
    await (await app.byTestId("provider-apikey-show-button-openai")).click();
    const revealed = await app.byTestId("provider-apikey-revealed-openai");
    await revealed.waitForDisplayed({ timeout: 5_000 });
    assert.equal(await revealed.getText(), SECRET);
    await revealed.waitForDisplayed({ reverse: true, timeout: 15_000 });
  });

  it("runs a use case on the provider's model, priced in the ledger", async () => {
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    await (await app.byTestId(`model-dropdown-${UC}`)).click();
    const option = await app.byTestId("model-option-openai/gpt-4o-mini");
    await option.waitForDisplayed({ timeout: 5_000 });
    await option.click();
    await (await app.byTestId("save-config-button")).click();
    await (await app.byTestId("config-saved")).waitForDisplayed({ timeout: 10_000 });
    await (await app.byTestId(`try-it-button-${UC}`)).click();
    const output = await app.byTestId(`try-it-output-${UC}`);
    await app.browser
      .waitUntil(async () => (await output.getProperty("textContent"))?.includes("Hello from the cloud."), { timeout: 30_000 })
      .catch(async (e) => {
        const error = await app.byTestId(`try-it-error-${UC}`);
        throw new Error(`${e.message}: ${await output.getProperty("textContent")} / ${(await error.isExisting()) ? await error.getProperty("textContent") : ""}`);
      });
    const sent = JSON.parse(fake.seen.filter((r) => r.url === "/v1/chat/completions").at(-1).body);
    assert.equal(sent.model, "gpt-4o-mini");
    assert.equal(sent.stream, true);

    await app.openPage("history");
    const row = await app.browser.$('[data-testid="history-row"]');
    await row.waitForDisplayed();
    const text = await row.getText();
    assert.match(text, /openai\/gpt-4o-mini/);
    // 120k input at $0.15/M + 40k output at $0.60/M = $0.042
    assert.match(text, /0\.0420/);
  });

  it("left the key in plaintext nowhere on disk: not in the database, not in the log", async () => {
    const files = filesUnder(app.dataDir);
    assert.ok(files.some((f) => f.endsWith("switchboard.db")), files.join("\n"));
    assert.ok(files.some((f) => f.endsWith("switchboard.log")), files.join("\n"));
    for (const file of files) {
      assert.ok(!readFileSync(file).includes(SECRET), `${file} holds the key`);
    }
    const log = readFileSync(path.join(app.dataDir, "logs", "switchboard.log"), "utf8");
    assert.match(log, /master key found/);
  });
});
