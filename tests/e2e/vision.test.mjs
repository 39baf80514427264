// End to end: local vision in the real window, offline. The test model is
// paired with the generated vision projector on the Models page; on the Vision
// page a photo and a PDF renamed .png are added through the path entry (the
// picker and a native drop hand over paths the same way; WebDriver can drive
// neither native surface); the PDF gets its own message, the photo's
// description streams in, and the history keeps it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4484);
const MODEL_ID = "gemma-3-270m-q4_k_m";
const PROJECTOR = process.env.TEST_PROJECTOR;
const CACHE = process.env.SWITCHBOARD_CACHE ?? path.join(os.homedir(), ".cache/switchboard");
const IMAGES = process.env.SWITCHBOARD_TEST_IMAGES ?? path.join(CACHE, "test-images");

async function text(el) {
  return String(await el.getProperty("textContent"));
}

async function type(testId, value) {
  const input = await app.byTestId(testId);
  await input.click();
  await app.browser.keys(["Control", "a"]);
  await app.browser.keys("Backspace");
  await input.addValue(value);
}

describe("Vision: describe a photo with a local vision model", { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(PROJECTOR, "TEST_PROJECTOR must name the generated projector (scripts/test sets it)");
    copyFileSync(PROJECTOR, path.join(app.dataDir, "models", "mmproj-gemma3-270m-test.gguf"));
    await app.start();
    await app.waitForModel();
  });
  after(() => app.stop());

  it("pairs the projector with the text model on the Models page", async () => {
    // One thread for the model leaves the other core of a two-core test machine
    // to the window, which renders the streamed text meanwhile.
    await app.openPage("models");
    const card = await app.byTestId(`model-card-${MODEL_ID}`);
    await card.waitForDisplayed({ timeout: 15_000 });
    assert.ok(await (await app.byTestId("model-card-mmproj-gemma3-270m-test")).isExisting(), "the projector is listed");
    await (await card.$('[data-testid="model-projector"]')).click();
    const option = await app.browser.$('//div[@role="option"][contains(., "mmproj-gemma3-270m-test")]');
    await option.waitForDisplayed({ timeout: 5_000 });
    await option.click();
    const threads = await card.$('[data-testid="model-threads"]');
    await threads.click();
    await threads.addValue("1");
    await (await card.$('[data-testid="model-save"]')).click();
    const vision = await card.$('[data-testid="model-capability-vision"]');
    await vision.waitForExist({ timeout: 10_000 });
  });

  it("refuses a non-image on its own item and streams a description of the photo", async () => {
    await app.openPage("vision");
    assert.equal(await text(await app.byTestId("vision-model")), `local/${MODEL_ID}`);
    assert.ok(!(await (await app.byTestId("vision-problem")).isExisting()), "the model can take images");
    const pdf = path.join(app.home, "contract.png");
    writeFileSync(pdf, "%PDF-1.7\n% a scanned contract, renamed\n");
    await type("vision-path", path.join(IMAGES, "chelsea.png"));
    await (await app.byTestId("vision-path-add")).click();
    await type("vision-path", pdf);
    await (await app.byTestId("vision-path-add")).click();

    const items = await app.browser.$$('[data-testid="vision-item"]');
    assert.equal(items.length, 2);
    await app.browser.waitUntil(async () => (await items[0].getAttribute("data-state")) === "ready", { timeout: 15_000 });
    assert.ok(await (await items[0].$('[data-testid="vision-thumb"]')).isExisting(), "a thumbnail of the photo");
    assert.equal(await items[1].getAttribute("data-state"), "invalid");
    assert.match(await text(await items[1].$('[data-testid="vision-item-error"]')), /not an image \(it looks like a PDF document\)/);

    await (await app.byTestId("vision-describe")).click();
    // Streamed: text shows while the item is still being described.
    const out = await items[0].$('[data-testid="vision-item-text"]');
    await app.browser.waitUntil(
      async () => (await items[0].getAttribute("data-state")) === "running" && (await out.isExisting()) && (await text(out)).replace("…", "").length > 0,
      { timeout: 120_000, interval: 50, timeoutMsg: "no text streamed while describing" },
    );
    await app.browser.waitUntil(async () => !["queued", "running"].includes(await items[0].getAttribute("data-state")), {
      timeout: 180_000,
      timeoutMsg: "the description never finished",
    });
    const error = await items[0].$('[data-testid="vision-item-error"]');
    assert.equal(await items[0].getAttribute("data-state"), "done", (await error.isExisting()) ? await text(error) : "");
    assert.match(await text(await items[0].$('[data-testid="vision-item-stats"]')), /16 image tokens/);
    assert.equal(await items[1].getAttribute("data-state"), "invalid", "the PDF was not sent");
    const row = await app.byTestId("vision-history-row");
    await row.waitForExist({ timeout: 10_000 });
    assert.match(await text(row), /chelsea\.png/);
    await app.screenshot("vision");
  });
});
