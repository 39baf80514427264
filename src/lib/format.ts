// Number and size formatting shared by the pages.

export function formatBytes(bytes: number | null): string {
  if (bytes == null) return "–";
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond == null || !Number.isFinite(perSecond)) return "–";
  return perSecond.toFixed(1);
}

export function formatUsd(usd: number | null): string {
  if (usd == null) return "–";
  return usd === 0 ? "0" : usd < 0.01 ? usd.toFixed(6) : usd.toFixed(4);
}
