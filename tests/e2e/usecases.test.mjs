// End to end: an admin changes a use case's model and temperature in the real
// app, saves, restarts it, finds the values kept, runs "Try it" and finds the
// new values in the request's ledger row; bad configuration files are refused
// and change nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { linkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4454);
const UC = "answer_generation";
const ALT = "local/gemma-3-270m-q4_k_m-alt";

async function setNumber(testId, value) {
  const input = await app.byTestId(testId);
  await input.click();
  // Select all and replace: clearValue alone does not reach React's state.
  await app.browser.keys(["Control", "a"]);
  await app.browser.keys("Backspace");
  await input.addValue(value);
}

async function importFile(name, content) {
  const file = path.join(app.home, name);
  writeFileSync(file, content);
  // Mantine's FileButton hides its <input type=file>; show it so WebDriver may type the path.
  await app.browser.execute(() => {
    const input = document.querySelector('input[type="file"]');
    input.style.display = "block";
    input.removeAttribute("hidden");
  });
  const input = await app.browser.$('input[type="file"]');
  await input.setValue(file);
}

describe("Use cases: configure, persist, apply", { timeout: 600_000 }, () => {
  before(async () => {
    // A second model in the library, so there is a model to switch to.
    const cache = process.env.SWITCHBOARD_MODEL_CACHE;
    assert.ok(cache, "SWITCHBOARD_MODEL_CACHE must name the verified model cache");
    linkSync(path.join(cache, "gemma-3-270m-q4_k_m.gguf"), path.join(app.dataDir, "models", "gemma-3-270m-q4_k_m-alt.gguf"));
    await app.start();
    await app.waitForModel();
  });

  after(() => app.stop());

  it("changes the model and temperature of a use case and saves them", async () => {
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    await (await app.byTestId(`parameters-panel-${UC}`)).waitForDisplayed();
    await (await app.byTestId(`use-custom-params-toggle-${UC}`)).click();
    await (await app.byTestId(`param-input-temperature-${UC}`)).waitForEnabled({ timeout: 5_000 });
    await setNumber(`param-input-temperature-${UC}`, "1.35");
    await setNumber(`param-input-maxtokens-${UC}`, "32");
    await (await app.byTestId(`model-dropdown-${UC}`)).click();
    const option = await app.byTestId(`model-option-${ALT}`);
    await option.waitForDisplayed({ timeout: 5_000 });
    await option.click();
    await (await app.byTestId("unsaved-changes")).waitForDisplayed();
    await app.screenshot("use-cases");
    await (await app.byTestId("save-config-button")).click();
    await (await app.byTestId("config-saved")).waitForDisplayed({ timeout: 10_000 });
  });

  it("finds the values kept after a restart", async () => {
    await app.restart();
    await app.waitForModel();
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    assert.equal(await (await app.byTestId(`model-dropdown-${UC}`)).getValue(), ALT);
    assert.equal(await (await app.byTestId(`param-input-temperature-${UC}`)).getValue(), "1.35");
    assert.ok(await (await app.byTestId(`param-input-temperature-${UC}`)).isEnabled(), "custom parameters still on");
  });

  it("runs Try it with the saved values and the ledger row shows them", async () => {
    await (await app.byTestId(`try-it-button-${UC}`)).click();
    const stats = await app.byTestId(`try-it-stats-${UC}`);
    await stats.waitForDisplayed({ timeout: 120_000 });
    assert.match(await stats.getText(), /gemma-3-270m-q4_k_m-alt/);
    assert.match(await stats.getText(), /temperature 1\.35/);

    await app.openPage("history");
    const row = await app.browser.$('[data-testid="history-row"]');
    await row.waitForDisplayed();
    assert.match(await row.getText(), /local\/gemma-3-270m-q4_k_m-alt/);
    assert.match(await (await row.$('[data-testid="history-params"]')).getText(), /T 1\.35 .* max 32/);
  });

  it("lists the change in the audit log", async () => {
    await app.openPage("audit");
    const texts = [];
    // textContent: the wide value columns may be scrolled out of view.
    for (const row of await app.browser.$$('[data-testid="audit-row"]')) texts.push(await row.getProperty("textContent"));
    assert.ok(texts.some((t) => t.includes("custom_params.temperature") && t.includes("1.35")), texts.join("\n"));
    assert.ok(texts.some((t) => t.includes("model") && t.includes(ALT)), texts.join("\n"));
    await app.screenshot("audit-log");
  });

  it("refuses bad configuration files with a message and changes nothing", async () => {
    await app.openPage("usecases", "llm-config-page");
    const before = await (await app.byTestId(`usecase-selector-${UC}`)).getText();
    const good = JSON.stringify({ schema_version: 1, exported_at: "2026-11-30T00:00:00Z", use_cases: [] });
    const bad = [
      ["wrong-version.json", good.replace('"schema_version":1', '"schema_version":99'), /schema version 99/],
      ["truncated.json", good.slice(0, 30), /truncated/],
      [
        "out-of-range.json",
        JSON.stringify({
          schema_version: 1,
          exported_at: "x",
          use_cases: [{ id: UC, name: "Answer generation", enabled: true, model: ALT, use_custom_params: true,
            defaults: { temperature: 0.7, top_k: 40, top_p: 0.9, max_tokens: 2048, repeat_penalty: 1.1 },
            custom_params: { temperature: 7, top_k: 40, top_p: 0.9, max_tokens: 2048, repeat_penalty: 1.1 } }],
        }),
        /temperature/,
      ],
    ];
    for (const [name, content, message] of bad) {
      await importFile(name, content);
      const error = await app.byTestId("import-error");
      await error.waitForDisplayed({ timeout: 10_000 });
      assert.match(await error.getProperty("textContent"), message);
      await app.browser.keys("Escape");
      await error.waitForDisplayed({ reverse: true, timeout: 5_000 });
      await app.waitForOverlaysGone();
    }
    assert.equal(await (await app.byTestId(`usecase-selector-${UC}`)).getText(), before);
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    await app.screenshot("use-cases-after-bad-imports");
    assert.equal(await (await app.byTestId(`param-input-temperature-${UC}`)).getValue(), "1.35");
  });
});
