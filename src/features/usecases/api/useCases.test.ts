import { describe, expect, it } from "vitest";
import i18n from "../../../i18n";
import en from "../../../i18n/locales/en.json";
import { displayName } from "./useCases";

describe("displayName", () => {
  it("translates built-ins while they keep their seeded name, and shows renamed ones as they are", async () => {
    await i18n.changeLanguage("de");
    const t = i18n.t.bind(i18n);
    for (const [id, name] of Object.entries(en.useCases)) {
      expect(displayName({ id, name, builtin: true }, t)).toBe(i18n.t(`useCases.${id}`));
    }
    expect(displayName({ id: "answer_generation", name: "Antworten", builtin: true }, t)).toBe("Antworten");
    expect(displayName({ id: "reasoning", name: "Reasoning", builtin: false }, t)).toBe("Reasoning");
    await i18n.changeLanguage("en");
  });
});
