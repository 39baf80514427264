// End to end: the real Switchboard binary in a real WebKitGTK window under
// Xvfb, driven through tauri-driver + WebKitWebDriver. The run starts with a
// fresh data folder; the default model comes from the shared, verified cache.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { App } from "./harness.mjs";

const app = new App(4444);
let browser;
const byTestId = (id) => app.byTestId(id);
const screenshot = (name) => app.screenshot(name);
const chooseOption = (select, label) => app.chooseOption(select, label);
const openPage = (id) => app.openPage(id);

describe("Switchboard desktop app", { timeout: 600_000 }, () => {
  before(async () => {
    await app.start();
    browser = app.browser;
  });

  after(() => app.stop());

  it("obtains the default model on first start and shows it ready", async () => {
    const status = await app.waitForModel();
    assert.match(await status.getProperty("textContent"), /gemma-3-270m-q4_k_m/);
    await (await byTestId("playground-page")).waitForDisplayed();
  });

  it("refuses an empty prompt with a message and runs nothing", async () => {
    await (await byTestId("run-button")).click();
    await (await browser.$('//*[text()="Type a prompt first."]')).waitForDisplayed({ timeout: 5_000 });
    assert.equal(await (await byTestId("generation-output")).getText(), "");
  });

  it("streams a long answer token by token and Stop really cancels it", async () => {
    await (await byTestId("prompt-input")).setValue("Write a very long story about a lighthouse keeper and the sea.");
    await (await byTestId("run-button")).click();
    const output = await byTestId("generation-output");
    const stop = await byTestId("stop-button");
    // Streamed: text is visible while the request is still running.
    let partial = "";
    await browser.waitUntil(
      async () => {
        partial = await output.getText();
        return partial.length > 0 && !partial.includes("…") && (await stop.isEnabled());
      },
      { timeout: 60_000, interval: 50, timeoutMsg: "no streamed text while running" },
    );
    await screenshot("playground-streaming");
    await stop.click();
    const cancelled = await byTestId("generation-cancelled");
    await cancelled.waitForDisplayed({ timeout: 20_000 });
    const finalText = await output.getText();
    assert.ok(finalText.startsWith(partial.slice(0, 10)), "text generated before Stop is kept");
    assert.ok(!(await stop.isEnabled()), "Stop is disabled once the request ended");
  });

  it("completes a request and shows tokens, timings and the model", async () => {
    await chooseOption("usecase-select", "Intent classification");
    await (await byTestId("prompt-input")).setValue("What did the board decide about the 2024 budget?");
    await (await byTestId("run-button")).click();
    const stats = await byTestId("generation-stats");
    await stats.waitForDisplayed({ timeout: 120_000 });
    assert.equal(await (await byTestId("stat-model")).getText(), "local/gemma-3-270m-q4_k_m");
    assert.ok(Number(await (await byTestId("stat-tokens-in")).getText()) > 5);
    assert.ok(Number(await (await byTestId("stat-tokens-out")).getText()) >= 1);
    assert.match(await (await byTestId("stat-ttft")).getText(), /\d+ (ms|s)/);
    assert.ok((await (await byTestId("generation-output")).getText()).length > 0);
    await screenshot("playground");
  });

  it("lists both requests in History with their outcome", async () => {
    await openPage("history");
    const rows = await browser.$$('[data-testid="history-row"]');
    assert.equal(rows.length, 2);
    assert.equal(await rows[0].getAttribute("data-status"), "ok");
    assert.equal(await rows[1].getAttribute("data-status"), "cancelled");
    assert.match(await rows[0].getText(), /Intent classification/);
    assert.match(await rows[1].getText(), /local\/gemma-3-270m-q4_k_m/);
    await screenshot("history");
  });

  it("switches the language and theme in Settings, and lists the engine's devices", async () => {
    await openPage("settings");
    // The engine worker reports the devices llama.cpp found (here: the CPU).
    const device = await browser.$('[data-testid="engine-device"]');
    await device.waitForExist({ timeout: 30_000 });
    assert.match(await device.getProperty("textContent"), /CPU/);
    await screenshot("settings");
    await chooseOption("language-select", "Deutsch");
    await browser.waitUntil(async () => (await (await byTestId("nav-history")).getText()).includes("Verlauf"));
    await chooseOption("language-select", "English");
    await browser.waitUntil(async () => (await (await byTestId("nav-history")).getText()).includes("History"));
  });
});

