// End to end: requests run in the real window show up on the Costs page
// (totals, the chart, the breakdown, the local share), in History with their
// kept text in the detail drawer, and in a CSV exported with History's filters.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { App } from "./harness.mjs";

const app = new App(4484);
const UC = "answer_generation";
const EXPORT = path.join(app.home, "requests.csv");
// The save dialog's answer (the tests cannot click in a GTK dialog).
process.env.SWITCHBOARD_SAVE_DIALOG_ANSWER = EXPORT;

async function tryIt() {
  await (await app.byTestId(`try-it-button-${UC}`)).click();
  const stats = await app.byTestId(`try-it-stats-${UC}`);
  const error = await app.byTestId(`try-it-error-${UC}`);
  await app.browser.waitUntil(async () => (await stats.isExisting()) || (await error.isExisting()), {
    timeout: 120_000,
    timeoutMsg: "Try it never finished",
  });
  if (await error.isExisting()) throw new Error(`Try it failed: ${await error.getProperty("textContent")}`);
}

describe("Costs and History: requests on the chart, in the totals, in the drawer and in an export", { timeout: 600_000 }, () => {
  before(async () => {
    await app.start();
    await app.waitForModel();
  });
  after(async () => {
    await app.stop();
  });

  it("keeps the use case's request text for a week and shows what a request will cost", async () => {
    await app.openPage("usecases", "llm-config-page");
    await (await app.byTestId(`usecase-selector-${UC}`)).click();
    await app.toggle(`use-custom-params-toggle-${UC}`);
    await (await app.byTestId(`param-input-maxtokens-${UC}`)).waitForEnabled({ timeout: 5_000 });
    await app.type(`param-input-maxtokens-${UC}`, "16");
    await app.toggle(`keep-text-toggle-${UC}`);
    await app.type(`keep-text-days-${UC}`, "7");
    assert.match(await (await app.byTestId(`keep-text-note-${UC}`)).getProperty("textContent"), /7 days/);
    await (await app.byTestId("save-config-button")).click();
    await (await app.byTestId("config-saved")).waitForDisplayed({ timeout: 10_000 });
    // The estimate before sending: the local model, free.
    const row = await app.browser.$('[data-testid="cost-estimate-row"]');
    await row.waitForExist({ timeout: 10_000 });
    assert.equal(await row.getAttribute("data-candidate"), "local/gemma-3-270m-q4_k_m");
    assert.match(await (await app.byTestId("cost-estimate-range")).getProperty("textContent"), /free/);
  });

  let prompt = "";
  it("runs two requests and sees them on the Costs page", async () => {
    prompt = await (await app.byTestId(`try-it-prompt-${UC}`)).getValue();
    assert.ok(prompt.length > 10);
    await tryIt();
    await tryIt();
    await app.openPage("costs");
    const requests = await app.byTestId("costs-total-requests-value");
    await app.browser.waitUntil(async () => (await requests.getProperty("textContent")) === "2", {
      timeout: 15_000,
      timeoutMsg: "the Costs page did not count two requests",
    });
    const chart = await app.byTestId("costs-chart");
    assert.equal(await chart.getAttribute("data-series"), "local");
    assert.ok(Number(await chart.getAttribute("data-days")) >= 28, "a bar slot for every day of the month");
    // Recharts drew the bars' area.
    assert.ok((await app.browser.$$('[data-testid="costs-chart"] .recharts-surface')).length > 0);
    const row = await app.browser.$('[data-testid="costs-breakdown-row"]');
    assert.equal(await row.getAttribute("data-provider"), "local");
    assert.equal(await row.getAttribute("data-use-case"), UC);
    assert.equal(await (await row.$('[data-testid="costs-row-requests"]')).getProperty("textContent"), "2");
    assert.match(await (await app.byTestId("costs-local-share-text")).getProperty("textContent"), /^2 local, 0 cloud/);
    await app.screenshot("costs-page");
  });

  it("opens a request in History with its prompt and answer", async () => {
    await app.openPage("history");
    const rows = await app.browser.$$('[data-testid="history-row"]');
    assert.equal(rows.length, 2);
    assert.match(await (await app.byTestId("history-range")).getProperty("textContent"), /1–2 of 2/);
    // A row is clicked through one of its cells (WebDriver cannot click a table row itself).
    await (await rows[0].$("td")).click();
    const text = await app.byTestId("request-drawer-text");
    await text.waitForDisplayed({ timeout: 10_000 });
    assert.ok((await text.getProperty("textContent")).includes(prompt), "the drawer shows the prompt sent");
    assert.ok((await (await app.byTestId("request-drawer-answer")).getProperty("textContent")).length > 0);
    await app.screenshot("history-drawer");
    await app.browser.keys("Escape");
    await (await app.byTestId("request-drawer-text")).waitForExist({ reverse: true, timeout: 10_000 });
  });

  it("exports the filtered ledger as CSV, row for row", async () => {
    const ids = [];
    for (const r of await app.browser.$$('[data-testid="history-row"]')) ids.push(await r.getAttribute("data-id"));
    await app.waitForOverlaysGone();
    await app.chooseOption("history-filter-status", "ok");
    await app.browser.waitUntil(async () => (await app.browser.$$('[data-testid="history-row"]')).length === 2, { timeout: 10_000 });
    const exportButton = await app.byTestId("history-export");
    await exportButton.waitForClickable({ timeout: 10_000 });
    await exportButton.click();
    await (await app.byTestId("history-export-csv")).click();
    await app.browser.waitUntil(() => existsSync(EXPORT), { timeout: 15_000, timeoutMsg: "no export written" });
    const lines = readFileSync(EXPORT, "utf8").trim().split("\n");
    assert.match(lines[0], /^id,created_at,caller,use_case,provider,model,local,status,/);
    assert.equal(lines.length, 3);
    // Oldest first; History lists newest first.
    assert.deepEqual(lines.slice(1).map((l) => l.split(",")[0]), [...ids].reverse());
    for (const l of lines.slice(1)) assert.match(l, /,window,answer_generation,local,gemma-3-270m-q4_k_m,true,ok,/);
  });
});
