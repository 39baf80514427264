// Small UI preferences (theme, language, navigation layout), kept in the
// database like every other setting (commands ui_prefs / save_ui_prefs).
import { commands, type UiPrefs } from "../bindings";

export type ThemePref = UiPrefs["theme"];
export type LanguagePref = UiPrefs["language"];

export interface Prefs {
  theme: ThemePref;
  language: LanguagePref;
  navCollapsed: boolean;
}

export const DEFAULT_PREFS: Prefs = { theme: "auto", language: "en", navCollapsed: false };

let current: Prefs | null = null;

export async function readPrefs(): Promise<Prefs> {
  try {
    const r = await commands.uiPrefs();
    if (r.status === "error") return { ...DEFAULT_PREFS };
    current = { theme: r.data.theme, language: r.data.language, navCollapsed: r.data.nav_collapsed };
    return { ...current };
  } catch {
    // Outside the app (unit tests, a plain browser) there is no back end: use defaults.
    return { ...DEFAULT_PREFS };
  }
}

export async function writePref<K extends keyof Prefs>(key: K, value: Prefs[K]): Promise<void> {
  try {
    const next: Prefs = { ...(current ?? (await readPrefs())), [key]: value };
    current = next;
    await commands.saveUiPrefs({ theme: next.theme, language: next.language, nav_collapsed: next.navCollapsed });
  } catch {
    // Preferences are a convenience; failing to save one must not break the page.
  }
}
