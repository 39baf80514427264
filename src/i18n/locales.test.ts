import { describe, expect, it } from "vitest";
import de from "./locales/de.json";
import en from "./locales/en.json";
import zh from "./locales/zh.json";

function keys(obj: object, prefix = ""): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === "object" && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe("string files", () => {
  it("German and Chinese translate every English key and nothing else", () => {
    const reference = keys(en).sort();
    expect(keys(de).sort()).toEqual(reference);
    expect(keys(zh).sort()).toEqual(reference);
  });

  it("no translation is left empty", () => {
    for (const file of [en, de, zh]) {
      const flat = JSON.stringify(file);
      expect(flat).not.toMatch(/:""/);
    }
  });
});
