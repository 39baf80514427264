import { describe, expect, it } from "vitest";
import { formatBytes, formatMs, formatRate, formatUsd } from "./format";

describe("format", () => {
  it("scales bytes to the largest sensible unit", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(253_113_024)).toBe("253.1 MB");
    expect(formatBytes(-1)).toBe("–");
  });
  it("shows milliseconds below a second and seconds above", () => {
    expect(formatMs(12.4)).toBe("12 ms");
    expect(formatMs(1530)).toBe("1.53 s");
    expect(formatMs(null)).toBe("–");
  });
  it("keeps small costs readable", () => {
    expect(formatUsd(0)).toBe("0");
    expect(formatUsd(0.000123)).toBe("0.000123");
    expect(formatUsd(1.5)).toBe("1.5000");
    expect(formatRate(undefined)).toBe("–");
  });
});
