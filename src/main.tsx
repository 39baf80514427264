import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "@mantine/charts/styles.css";
import React from "react";
import ReactDOM from "react-dom/client";
import { App } from "./app/App";
import { Providers } from "./app/Providers";
import i18n from "./i18n";
import { readPrefs } from "./lib/prefs";

async function boot() {
  const prefs = await readPrefs();
  await i18n.changeLanguage(prefs.language);
  ReactDOM.createRoot(document.getElementById("root")!).render(
    <React.StrictMode>
      <Providers colorScheme={prefs.theme}>
        <App initialNavCollapsed={prefs.navCollapsed} />
      </Providers>
    </React.StrictMode>,
  );
}

void boot();
