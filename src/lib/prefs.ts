// Small UI preferences (theme, language, navigation layout) kept in
// tauri-plugin-store's prefs.json; everything else lives in SQLite.
import { load, type Store } from "@tauri-apps/plugin-store";

export type ThemePref = "light" | "dark" | "auto";
export type LanguagePref = "en" | "de" | "zh";

export interface Prefs {
  theme: ThemePref;
  language: LanguagePref;
  navCollapsed: boolean;
}

export const DEFAULT_PREFS: Prefs = { theme: "auto", language: "en", navCollapsed: false };

let storePromise: Promise<Store> | null = null;

function store(): Promise<Store> {
  storePromise ??= load("prefs.json", { autoSave: true, defaults: { ...DEFAULT_PREFS } });
  return storePromise;
}

export async function readPrefs(): Promise<Prefs> {
  try {
    const s = await store();
    const theme = await s.get<ThemePref>("theme");
    const language = await s.get<LanguagePref>("language");
    const navCollapsed = await s.get<boolean>("navCollapsed");
    return {
      theme: theme === "light" || theme === "dark" || theme === "auto" ? theme : DEFAULT_PREFS.theme,
      language: language === "de" || language === "zh" || language === "en" ? language : DEFAULT_PREFS.language,
      navCollapsed: typeof navCollapsed === "boolean" ? navCollapsed : DEFAULT_PREFS.navCollapsed,
    };
  } catch {
    // Outside the app (unit tests, a plain browser) there is no store: use defaults.
    return { ...DEFAULT_PREFS };
  }
}

export async function writePref<K extends keyof Prefs>(key: K, value: Prefs[K]): Promise<void> {
  try {
    const s = await store();
    await s.set(key, value);
  } catch {
    // Preferences are a convenience; failing to save one must not break the page.
  }
}
