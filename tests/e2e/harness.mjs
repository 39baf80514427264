// Drives the real Switchboard binary through tauri-driver + WebKitWebDriver.
// Each App gets a fresh home (XDG folders and data folder); the default
// model comes from the shared, verified cache.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { remote } from "webdriverio";

export const APP_BIN = process.env.APP_BIN;
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? path.resolve("test-artifacts");

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

export class App {
  constructor(port) {
    this.port = port;
    this.home = mkdtempSync(path.join(os.tmpdir(), "switchboard-e2e-"));
    this.dataDir = path.join(this.home, "app-data");
    mkdirSync(path.join(this.dataDir, "models"), { recursive: true });
  }

  async start() {
    assert.ok(APP_BIN, "APP_BIN must point at the built app (scripts/test sets it)");
    mkdirSync(ARTIFACTS, { recursive: true });
    const env = {
      ...process.env,
      XDG_DATA_HOME: path.join(this.home, "data"),
      XDG_CONFIG_HOME: path.join(this.home, "config"),
      XDG_CACHE_HOME: path.join(this.home, "cache"),
      SWITCHBOARD_DATA_DIR: this.dataDir,
      // Seen on these machines: with WEBKIT_DISABLE_COMPOSITING_MODE or
      // WEBKIT_DISABLE_DMABUF_RENDERER set, WebKitWebDriver's screenshot hangs
      // once the page stops repainting; without them it answers, and the rare
      // blank frame is retried in screenshot(). E2E_WEBKIT_SAFE_RENDER=1 sets both.
      ...(process.env.E2E_WEBKIT_SAFE_RENDER === "1"
        ? { WEBKIT_DISABLE_COMPOSITING_MODE: "1", WEBKIT_DISABLE_DMABUF_RENDERER: "1" }
        : {}),
    };
    this.env = env;
    // Its own process group: stop() ends tauri-driver, WebKitWebDriver and the app they
    // started together. An app left behind would hold this process's output open, and
    // the test runner would wait for it forever.
    this.driver = spawn("tauri-driver", ["--port", String(this.port), "--native-port", String(this.port + 1)], {
      env,
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    await waitForPort(this.port, 20_000);
    await this.open();
  }

  /** Starts a window (a new app process) on the same data folder. */
  async open() {
    // tauri-driver answers on its port before the WebKitWebDriver behind it
    // does: a session asked for too early is refused. Ask again, briefly.
    let lastError;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        this.browser = await remote({
          hostname: "127.0.0.1",
          port: this.port,
          logLevel: "warn",
          connectionRetryTimeout: 60_000,
          connectionRetryCount: 1,
          capabilities: {
            "tauri:options": { application: APP_BIN },
            "wdio:enforceWebDriverClassic": true,
          },
        });
        return;
      } catch (e) {
        lastError = e;
        if (!/UND_ERR_SOCKET|ECONNREFUSED|Connection refused/.test(String(e?.message ?? e))) throw e;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    throw lastError;
  }

  /** Quits the app and starts it again: what was saved must still be there. */
  async restart() {
    await this.browser.deleteSession();
    await new Promise((r) => setTimeout(r, 500));
    await this.open();
  }

  async stop() {
    await this.browser?.deleteSession().catch(() => {});
    this.killGroup("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    this.killGroup("SIGKILL");
    for (let i = 0; i < 5; i++) {
      try {
        rmSync(this.home, { recursive: true, force: true });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Signals tauri-driver's whole process group (the driver, WebKitWebDriver, the app, its engine worker). */
  killGroup(signal) {
    if (!this.driver?.pid) return;
    try {
      process.kill(-this.driver.pid, signal);
    } catch {
      // Already gone.
    }
  }

  byTestId(id) {
    return this.browser.$(`[data-testid="${id}"]`);
  }

  async waitForModel() {
    const status = await this.byTestId("model-status");
    await status.waitForExist({ timeout: 30_000 });
    await this.browser.waitUntil(async () => (await status.getAttribute("data-state")) === "ready", {
      timeout: 180_000,
      timeoutMsg: "default model never became ready",
    });
    return status;
  }

  // Mantine renders select options as div[role=option]; match one by its label.
  async chooseOption(selectTestId, label) {
    await (await this.byTestId(selectTestId)).click();
    const option = await this.browser.$(`//div[@role="option"][contains(., "${label}")]`);
    await option.waitForDisplayed({ timeout: 5_000 });
    await option.click();
  }

  /** Replaces the text of an input. */
  async type(testId, text) {
    const input = await this.byTestId(testId);
    await input.click();
    await this.browser.keys(["Control", "a"]);
    await this.browser.keys("Backspace");
    await input.addValue(text);
  }

  /** Flips a Mantine switch (drawn over its checkbox, which WebDriver cannot click). */
  async toggle(testId) {
    await this.browser.execute((el) => el.click(), await this.byTestId(testId));
  }

  /** A closed modal or drawer fades its overlay out after its content is gone; until then the overlay takes the clicks. */
  async waitForOverlaysGone() {
    await this.browser.waitUntil(
      async () => (await this.browser.$$(".mantine-Modal-overlay, .mantine-Drawer-overlay")).length === 0,
      { timeout: 10_000, timeoutMsg: "a closed modal's or drawer's overlay stayed over the page" },
    );
  }

  async openPage(id, pageTestId = `${id}-page`) {
    await (await this.byTestId(`nav-${id}`)).click();
    await (await this.byTestId(pageTestId)).waitForDisplayed({ timeout: 10_000 });
  }

  // A blank (single-colour) 1200x800 PNG compresses to a few kilobytes; the
  // app's pages never do. Retry such frames after two more animation frames.
  async screenshot(name) {
    let png;
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.browser.execute(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      png = Buffer.from(await this.browser.takeScreenshot(), "base64");
      if (png.length > 12_000) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(png.length > 12_000, `screenshot ${name} stayed blank`);
    writeFileSync(path.join(ARTIFACTS, `${name}.png`), png);
  }
}
