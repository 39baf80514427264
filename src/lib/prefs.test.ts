import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import { DEFAULT_PREFS, readPrefs, writePref } from "./prefs";

describe("UI preferences", () => {
  it("are read from the back end and saved whole when one changes", async () => {
    const saved: unknown[] = [];
    mockIPC(async (cmd, args) => {
      if (cmd === "ui_prefs") return { theme: "dark", language: "de", nav_collapsed: false };
      if (cmd === "save_ui_prefs") {
        saved.push((args as { prefs: unknown }).prefs);
        return (args as { prefs: unknown }).prefs;
      }
      throw new Error(`unexpected ${cmd}`);
    });
    expect(await readPrefs()).toEqual({ theme: "dark", language: "de", navCollapsed: false });
    await writePref("navCollapsed", true);
    expect(saved).toEqual([{ theme: "dark", language: "de", nav_collapsed: true }]);
  });

  it("fall back to the defaults when the back end cannot answer", async () => {
    mockIPC(async () => {
      throw new Error("no back end");
    });
    expect(await readPrefs()).toEqual(DEFAULT_PREFS);
    await expect(writePref("theme", "light")).resolves.toBeUndefined();
  });
});
