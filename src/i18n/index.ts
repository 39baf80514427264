// i18next set-up: English, German and Chinese, bundled (no network needed).
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import de from "./locales/de.json";
import en from "./locales/en.json";
import zh from "./locales/zh.json";

export const LANGUAGES = [
  { value: "en", label: "English" },
  { value: "de", label: "Deutsch" },
  { value: "zh", label: "中文" },
] as const;

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, de: { translation: de }, zh: { translation: zh } },
  lng: "en",
  fallbackLng: "en",
  interpolation: { escapeValue: false },
});

export default i18n;
