// End to end: a use case routed local model first, a (local, fake) cloud
// provider second. The local model's file is removed under it: the request is
// answered by the fallback, a notification says so and History shows the
// route. Then the cloud goes first, its budget is spent, and requests go
// local again.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4474);
const SECRET = "sk-e2e-RoutingKey-4321";
const UC = "answer_generation";
const CLOUD = "openai/gpt-4o-mini";
const CACHE = process.env.SWITCHBOARD_CACHE ?? path.join(os.homedir(), ".cache/switchboard");
const IMAGES = process.env.SWITCHBOARD_TEST_IMAGES ?? path.join(CACHE, "test-images");

/** OpenAI's wire format; each answer reports 120k input and 40k output tokens ($0.042 at gpt-4o-mini). */
function fakeOpenAI() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body });
      if (req.headers.authorization !== `Bearer ${SECRET}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
      } else if (req.method === "GET" && req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: "gpt-4o-mini" }] }));
      } else if (req.method === "POST" && req.url === "/v1/chat/completions") {
        const request = JSON.parse(body);
        if (!request.stream) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "OK" }, finish_reason: "stop" }], usage: { prompt_tokens: 9, completion_tokens: 1 } }));
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const piece of ["Answered ", "by ", "the ", "fallback."]) {
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
        }
        // A picture is cheap here, so that it does not spend the budget the text requests below are about.
        const usage = body.includes("image_url") ? { prompt_tokens: 100, completion_tokens: 4 } : { prompt_tokens: 120000, completion_tokens: 40000 };
        res.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
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

const completions = (fake) => fake.seen.filter((r) => r.url === "/v1/chat/completions" && JSON.parse(r.body).stream).length;

async function tryIt() {
  await (await app.byTestId(`try-it-button-${UC}`)).click();
  const stats = await app.byTestId(`try-it-stats-${UC}`);
  const error = await app.byTestId(`try-it-error-${UC}`);
  await app.browser.waitUntil(async () => (await stats.isExisting()) || (await error.isExisting()), {
    timeout: 120_000,
    timeoutMsg: "Try it never finished",
  });
  if (await error.isExisting()) throw new Error(`Try it failed: ${await error.getProperty("textContent")}`);
  return (await app.byTestId(`try-it-output-${UC}`)).getProperty("textContent");
}

/** Waits for a routing notification of `kind`, returns its text and closes every notification (they sit over the page). */
async function waitForToast(kind) {
  const toast = await app.browser.$(`.routing-toast-${kind}`);
  await toast.waitForDisplayed({ timeout: 15_000, timeoutMsg: `no ${kind} notification` });
  const text = await toast.getProperty("textContent");
  await app.browser.execute(() => {
    for (const close of document.querySelectorAll(".routing-toast button")) close.click();
  });
  await app.browser.waitUntil(async () => !(await (await app.browser.$(".routing-toast")).isExisting()), { timeout: 10_000 });
  return text;
}

/** The newest History row's route, as [outcome, class, candidate text], once it is the one answered by `answeredBy`. */
async function newestRoute(answeredBy) {
  await app.openPage("history");
  let out = [];
  await app.browser.waitUntil(
    async () => {
      const row = await app.browser.$('[data-testid="history-row"]');
      if (!(await row.isExisting())) return false;
      const steps = await row.$$('[data-testid="history-route-step"]');
      out = [];
      for (const s of steps) out.push([await s.getAttribute("data-outcome"), await s.getAttribute("data-class"), await s.getProperty("textContent")]);
      return out.length > 0 && out.at(-1)[0] === "answered" && out.at(-1)[2].includes(answeredBy);
    },
    { timeout: 15_000, timeoutMsg: `History's newest row was not answered by ${answeredBy}` },
  ).catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(out)}`);
  });
  return out;
}

describe("Routing: fall back to the cloud, then back to local when the budget is spent", { timeout: 900_000 }, () => {
  let fake;
  const modelFile = () => path.join(app.dataDir, "models", "gemma-3-270m-q4_k_m.gguf");
  before(async () => {
    fake = await fakeOpenAI();
    await app.start();
    await app.waitForModel();
  });
  after(async () => {
    await app.stop();
    fake?.server.close();
  });

  it("configures the fake cloud provider with a $0.05 budget", async () => {
    await app.openPage("providers");
    await type("provider-baseurl-input-openai", `http://127.0.0.1:${fake.port}/v1`);
    await toggle("provider-allow-http-openai");
    await type("provider-apikey-input-openai", SECRET);
    await toggle("provider-enabled-toggle-openai");
    await type("provider-budget-input-openai", "0.05");
    await (await app.byTestId("save-all-button")).click();
    await (await app.byTestId("providers-saved")).waitForDisplayed({ timeout: 10_000 });
    await (await app.byTestId("provider-test-button-openai")).click();
    const models = await app.byTestId("provider-models-list-openai");
    await app.browser.waitUntil(async () => /gpt-4o-mini/.test(await models.getProperty("textContent")), {
      timeout: 20_000,
      timeoutMsg: "the provider's models were not listed",
    });
  });

  it("adds the cloud model as the use case's fallback, with its live state", async () => {
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    await (await app.byTestId(`route-editor-${UC}`)).waitForDisplayed();
    // Few tokens: the local model answers quickly on two cores.
    await toggle(`use-custom-params-toggle-${UC}`);
    await (await app.byTestId(`param-input-maxtokens-${UC}`)).waitForEnabled({ timeout: 5_000 });
    await type(`param-input-maxtokens-${UC}`, "16");
    await app.chooseOption(`route-add-select-${UC}`, CLOUD);
    await (await app.byTestId(`route-add-button-${UC}`)).click();
    const second = await app.byTestId("route-candidate-1");
    await second.waitForDisplayed();
    assert.equal(await second.getAttribute("data-model"), CLOUD);
    await (await app.byTestId("save-config-button")).click();
    await (await app.byTestId("config-saved")).waitForDisplayed({ timeout: 10_000 });
    const state = await app.byTestId("route-state-1");
    await app.browser.waitUntil(async () => (await state.getAttribute("data-status")) === "available", { timeout: 15_000 });
    await app.screenshot("route-editor");
  });

  it("answers from the fallback when the local model's file is gone, and says so", async () => {
    renameSync(modelFile(), `${modelFile()}.away`);
    const before = completions(fake);
    const output = await tryIt();
    assert.match(output, /Answered by the fallback\./);
    assert.equal(completions(fake), before + 1);
    assert.match(await waitForToast("fell_back"), /gpt-4o-mini/);
    const route = await newestRoute(CLOUD);
    assert.equal(route.length, 2, JSON.stringify(route));
    assert.deepEqual(route[0].slice(0, 2), ["skipped", "model_missing"]);
    assert.match(route[0][2], /gemma-3-270m-q4_k_m/);
    assert.deepEqual(route[1].slice(0, 2), ["answered", ""]);
    assert.match(route[1][2], /openai\/gpt-4o-mini/);
    await app.screenshot("history-route");
  });

  it("describes a photo on the Vision page through the vision use case's cloud fallback", async () => {
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId("usecase-selector-vision_vlm")).click();
    await (await app.byTestId("route-editor-vision_vlm")).waitForDisplayed();
    await app.chooseOption("route-add-select-vision_vlm", CLOUD);
    await (await app.byTestId("route-add-button-vision_vlm")).click();
    await (await app.byTestId("save-config-button")).click();
    await (await app.byTestId("config-saved")).waitForDisplayed({ timeout: 10_000 });

    await app.openPage("vision");
    // The local model cannot see (no projector, and its file is away); the page says where requests go.
    const problem = await app.byTestId("vision-problem");
    await problem.waitForExist({ timeout: 10_000 });
    assert.match(await problem.getProperty("textContent"), /fall back to openai\/gpt-4o-mini/);
    await type("vision-path", path.join(IMAGES, "chelsea.png"));
    await (await app.byTestId("vision-path-add")).click();
    const item = await app.browser.$('[data-testid="vision-item"]');
    await app.browser.waitUntil(async () => (await item.getAttribute("data-state")) === "ready", { timeout: 15_000 });
    const before = completions(fake);
    await (await app.byTestId("vision-describe")).click();
    await app.browser.waitUntil(async () => !["ready", "queued", "running"].includes(await item.getAttribute("data-state")), {
      timeout: 60_000,
      timeoutMsg: "the description never finished",
    });
    const error = await item.$('[data-testid="vision-item-error"]');
    assert.equal(await item.getAttribute("data-state"), "done", (await error.isExisting()) ? await error.getProperty("textContent") : "");
    assert.match(await (await item.$('[data-testid="vision-item-text"]')).getProperty("textContent"), /Answered by the fallback\./);
    assert.equal(completions(fake), before + 1);
    const sent = JSON.parse(fake.seen.filter((r) => r.url === "/v1/chat/completions").at(-1).body);
    const parts = sent.messages.at(-1).content;
    assert.ok(Array.isArray(parts) && parts.some((p) => p.type === "image_url" && p.image_url.url.startsWith("data:image/jpeg;base64,")), JSON.stringify(parts).slice(0, 300));
    await waitForToast("fell_back");
    const route = await newestRoute(CLOUD);
    assert.deepEqual(route[0].slice(0, 2), ["skipped", "model_missing"]);
  });

  it("with the cloud first, spends the budget, then goes local", async () => {
    renameSync(`${modelFile()}.away`, modelFile());
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    await toggle(`prefer-cloud-${UC}`);
    await (await app.byTestId("save-config-button")).click();
    await (await app.byTestId("config-saved")).waitForDisplayed({ timeout: 10_000 });

    // $0.042 spent already; this one takes the month past $0.05.
    assert.match(await tryIt(), /Answered by the fallback\./);
    assert.match(await waitForToast("budget_spent"), /budget/);
    // The route editor lists candidates in the admin's order: the cloud fallback is second.
    const state = await app.byTestId("route-state-1");
    await app.browser.waitUntil(async () => (await state.getAttribute("data-status")) === "budget_spent", {
      timeout: 20_000,
      timeoutMsg: "the route editor does not show the spent budget",
    });

    const before = completions(fake);
    const output = await tryIt();
    assert.ok(output.trim().length > 0 && !/Answered by the fallback/.test(output), output);
    assert.equal(completions(fake), before, "nothing more was sent to the spent provider");
    assert.match(await waitForToast("fell_back"), /local\/gemma-3-270m-q4_k_m/);
    const route = await newestRoute("local/gemma-3-270m-q4_k_m");
    assert.deepEqual(route[0].slice(0, 2), ["skipped", "budget_spent"]);
    assert.deepEqual(route[1].slice(0, 2), ["answered", ""]);
    assert.match(route[1][2], /local\/gemma-3-270m-q4_k_m/);

    await app.openPage("providers");
    const events = await app.browser.$$('[data-testid="routing-event"]');
    const kinds = [];
    for (const e of events) kinds.push(await e.getAttribute("data-kind"));
    assert.ok(kinds.includes("fell_back") && kinds.includes("budget_spent"), kinds.join(","));
  });
});
