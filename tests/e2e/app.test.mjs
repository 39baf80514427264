// End to end: the real Switchboard binary in a real WebKitGTK window under
// Xvfb, driven through tauri-driver + WebKitWebDriver. Each run starts with a
// fresh data folder; the default model comes from the shared, verified cache.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { remote } from "webdriverio";

const APP_BIN = process.env.APP_BIN;
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? path.resolve("test-artifacts");
const PORT = 4444;

let driver;
let browser;
let home;

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`tauri-driver did not open port ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

// A blank (single-colour) 1200x800 PNG compresses to a few kilobytes; the
// app's pages never do. Retry such frames after two more animation frames.
async function screenshot(name) {
  let png;
  for (let attempt = 0; attempt < 5; attempt++) {
    await browser.execute(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    png = Buffer.from(await browser.takeScreenshot(), "base64");
    if (png.length > 12_000) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(png.length > 12_000, `screenshot ${name} stayed blank`);
  writeFileSync(path.join(ARTIFACTS, `${name}.png`), png);
}

async function byTestId(id) {
  return browser.$(`[data-testid="${id}"]`);
}

// Mantine renders select options as div[role=option]; match one by its label.
async function chooseOption(selectTestId, label) {
  await (await byTestId(selectTestId)).click();
  const option = await browser.$(`//div[@role="option"][contains(., "${label}")]`);
  await option.waitForDisplayed({ timeout: 5_000 });
  await option.click();
}

async function openPage(id) {
  await (await byTestId(`nav-${id}`)).click();
  await (await byTestId(`${id}-page`)).waitForDisplayed({ timeout: 10_000 });
}

describe("Switchboard desktop app", { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(APP_BIN, "APP_BIN must point at the built app (scripts/test sets it)");
    mkdirSync(ARTIFACTS, { recursive: true });
    home = mkdtempSync(path.join(os.tmpdir(), "switchboard-e2e-"));
    const env = {
      ...process.env,
      XDG_DATA_HOME: path.join(home, "data"),
      XDG_CONFIG_HOME: path.join(home, "config"),
      XDG_CACHE_HOME: path.join(home, "cache"),
      // Seen on these machines: with WEBKIT_DISABLE_COMPOSITING_MODE or
      // WEBKIT_DISABLE_DMABUF_RENDERER set, WebKitWebDriver's screenshot hangs
      // once the page stops repainting; without them it answers, and the rare
      // blank frame is retried in screenshot(). E2E_WEBKIT_SAFE_RENDER=1 sets both.
      ...(process.env.E2E_WEBKIT_SAFE_RENDER === "1"
        ? { WEBKIT_DISABLE_COMPOSITING_MODE: "1", WEBKIT_DISABLE_DMABUF_RENDERER: "1" }
        : {}),
    };
    driver = spawn("tauri-driver", ["--port", String(PORT)], { env, stdio: ["ignore", "inherit", "inherit"] });
    await waitForPort(PORT, 20_000);
    browser = await remote({
      hostname: "127.0.0.1",
      port: PORT,
      logLevel: "warn",
      connectionRetryTimeout: 60_000,
      connectionRetryCount: 1,
      capabilities: {
        "tauri:options": { application: APP_BIN },
        "wdio:enforceWebDriverClassic": true,
      },
    });
  });

  after(async () => {
    await browser?.deleteSession().catch(() => {});
    driver?.kill();
    for (let i = 0; i < 5 && home; i++) {
      try {
        rmSync(home, { recursive: true, force: true });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  it("obtains the default model on first start and shows it ready", async () => {
    const status = await byTestId("model-status");
    await status.waitForExist({ timeout: 30_000 });
    await browser.waitUntil(async () => (await status.getAttribute("data-state")) === "ready", {
      timeout: 180_000,
      timeoutMsg: "default model never became ready",
    });
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

  it("switches the language and theme in Settings", async () => {
    await openPage("settings");
    await screenshot("settings");
    await chooseOption("language-select", "Deutsch");
    await browser.waitUntil(async () => (await (await byTestId("nav-history")).getText()).includes("Verlauf"));
    await chooseOption("language-select", "English");
    await browser.waitUntil(async () => (await (await byTestId("nav-history")).getText()).includes("History"));
  });
});

process.on("exit", () => {
  try {
    writeFileSync(path.join(ARTIFACTS, "README.txt"), "Screenshots from the last end-to-end run.\n");
  } catch {
    // artifacts folder may be gone
  }
});
