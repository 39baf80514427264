// Date ranges as local calendar days (YYYY-MM-DD), the way the back end reads them.

export type RangeId = "this_month" | "last_month" | "last_7" | "last_30" | "custom";

export function isoDay(d: Date): string {
  const m = String(d.getMonth() + 1).padStart(2, "0");
  const day = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${m}-${day}`;
}

/** The first and last day of a named range, as of `today`. */
export function rangeDays(id: Exclude<RangeId, "custom">, today: Date = new Date()): { from: string; to: string } {
  const y = today.getFullYear();
  const m = today.getMonth();
  switch (id) {
    case "this_month":
      return { from: isoDay(new Date(y, m, 1)), to: isoDay(new Date(y, m + 1, 0)) };
    case "last_month":
      return { from: isoDay(new Date(y, m - 1, 1)), to: isoDay(new Date(y, m, 0)) };
    case "last_7":
      return { from: isoDay(new Date(y, m, today.getDate() - 6)), to: isoDay(today) };
    case "last_30":
      return { from: isoDay(new Date(y, m, today.getDate() - 29)), to: isoDay(today) };
  }
}

/** Every day from `from` to `to`, inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const [fy = 0, fm = 1, fd = 1] = from.split("-").map(Number);
  const [ty = 0, tm = 1, td = 1] = to.split("-").map(Number);
  const end = new Date(ty, tm - 1, td);
  const out: string[] = [];
  for (let d = new Date(fy, fm - 1, fd); d <= end && out.length < 1000; d.setDate(d.getDate() + 1)) out.push(isoDay(d));
  return out;
}
