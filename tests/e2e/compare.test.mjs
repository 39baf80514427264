// End to end: the Compare page runs two prompts at the local test model and
// at a (local, fake) cloud model, shows the figures and answers side by side,
// keeps the report, and exports it as Markdown with its charts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4494);
const SECRET = "sk-e2e-CompareKey-9876";
const EXPORT = path.join(app.home, "local-vs-cloud.md");
process.env.SWITCHBOARD_SAVE_DIALOG_ANSWER = EXPORT;

/** OpenAI's wire format: lists one model, streams a short answer with usage. */
function fakeOpenAI() {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.headers.authorization !== `Bearer ${SECRET}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
      } else if (req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: "gpt-4o-mini" }] }));
      } else if (req.url === "/v1/chat/completions" && JSON.parse(body).stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const piece of ["The ", "cloud ", "answer."]) {
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 500 } })}\n\n`);
        res.end("data: [DONE]\n\n");
      } else if (req.url === "/v1/chat/completions") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "OK" }, finish_reason: "stop" }], usage: { prompt_tokens: 9, completion_tokens: 1 } }));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: server.address().port })));
}

describe("Compare: the local model against a cloud model, side by side", { timeout: 600_000 }, () => {
  let fake;
  before(async () => {
    fake = await fakeOpenAI();
    await app.start();
    await app.waitForModel();
  });
  after(async () => {
    await app.stop();
    fake?.server.close();
  });

  it("configures the fake cloud provider", async () => {
    await app.openPage("providers");
    await app.type("provider-baseurl-input-openai", `http://127.0.0.1:${fake.port}/v1`);
    await app.toggle("provider-allow-http-openai");
    await app.type("provider-apikey-input-openai", SECRET);
    await app.toggle("provider-enabled-toggle-openai");
    await (await app.byTestId("save-all-button")).click();
    await (await app.byTestId("providers-saved")).waitForDisplayed({ timeout: 10_000 });
    await (await app.byTestId("provider-test-button-openai")).click();
    const models = await app.byTestId("provider-models-list-openai");
    await app.browser.waitUntil(async () => /gpt-4o-mini/.test(await models.getProperty("textContent")), { timeout: 20_000 });
  });

  it("runs two prompts at both models and shows figures and answers", async () => {
    await app.openPage("compare");
    await app.chooseOption("compare-use-case", "Intent classification");
    await app.chooseOption("compare-candidates", "local/gemma-3-270m-q4_k_m");
    await app.chooseOption("compare-candidates", "openai/gpt-4o-mini");
    await app.browser.keys("Escape");
    await app.type("compare-prompts", "Where is the report?");
    await app.browser.keys(["Shift", "Enter"]);
    await (await app.byTestId("compare-prompts")).addValue("Who wrote it?");
    await (await app.byTestId("compare-run")).click();
    const view = await app.byTestId("comparison-view");
    await view.waitForDisplayed({ timeout: 240_000, timeoutMsg: "the comparison did not finish" });
    const rows = await app.browser.$$('[data-testid="comparison-row"]');
    assert.equal(rows.length, 2);
    assert.equal(await rows[0].getAttribute("data-candidate"), "local/gemma-3-270m-q4_k_m");
    for (const r of rows) assert.equal(await r.getAttribute("data-failures"), "0");
    const answers = await app.browser.$$('[data-testid="comparison-answer"]');
    assert.equal(answers.length, 4);
    assert.match(await answers[1].getProperty("textContent"), /The cloud answer\./);
    assert.equal((await app.browser.$$('[data-testid="compare-saved-row"]')).length, 1);
    await app.screenshot("compare-page");
  });

  it("exports the report as Markdown with its charts beside it", async () => {
    await (await app.byTestId("comparison-export")).click();
    await app.browser.waitUntil(() => existsSync(EXPORT), { timeout: 15_000, timeoutMsg: "no report written" });
    const md = readFileSync(EXPORT, "utf8");
    assert.match(md, /^# Local vs cloud/);
    assert.match(md, /\| local\/gemma-3-270m-q4_k_m \| 2 \| 0 \|/);
    assert.match(md, /\| openai\/gpt-4o-mini \| 2 \| 0 \|/);
    assert.match(md, /The cloud answer\./);
    for (const chart of ["latency-p50", "latency-p95", "tokens-per-second", "cost-per-1000"]) {
      const svg = path.join(app.home, `local-vs-cloud-${chart}.svg`);
      assert.ok(existsSync(svg), `${chart} chart written`);
      assert.match(readFileSync(svg, "utf8"), /^<svg/);
    }
  });
});
