import { describe, expect, it } from "vitest";
import { daysBetween, rangeDays } from "./ranges";

describe("date ranges", () => {
  it("names months and trailing days in local calendar days", () => {
    const today = new Date(2026, 0, 15); // 15 January 2026
    expect(rangeDays("this_month", today)).toEqual({ from: "2026-01-01", to: "2026-01-31" });
    expect(rangeDays("last_month", today)).toEqual({ from: "2025-12-01", to: "2025-12-31" });
    expect(rangeDays("last_7", today)).toEqual({ from: "2026-01-09", to: "2026-01-15" });
    expect(rangeDays("last_30", new Date(2024, 2, 1))).toEqual({ from: "2024-02-01", to: "2024-03-01" });
  });

  it("lists every day of a range across a month end", () => {
    expect(daysBetween("2024-02-27", "2024-03-01")).toEqual(["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]);
    expect(daysBetween("2024-03-02", "2024-03-01")).toEqual([]);
  });
});
