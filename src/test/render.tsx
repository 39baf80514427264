// Renders a component inside the app's providers, with i18n in English.
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { Providers, makeQueryClient } from "../app/Providers";
import "../i18n";

export function renderWithProviders(ui: ReactElement) {
  return render(<Providers client={makeQueryClient()} env="test">{ui}</Providers>);
}
