// Configuration export and import.
import { commands, type ExportedConfig, type ImportPreview } from "../../../bindings";
import { unwrap } from "../../../lib/ipc";

export async function exportConfig(): Promise<ExportedConfig> {
  return unwrap(await commands.exportConfig());
}

export async function previewImport(text: string): Promise<ImportPreview> {
  return unwrap(await commands.previewConfigImport(text));
}

export async function applyImport(text: string): Promise<number> {
  return unwrap(await commands.applyConfigImport(text));
}
