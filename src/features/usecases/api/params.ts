// Parameter ranges as the admin console offers them, and client-side checks
// that mirror the Rust validation (which stays the real guard).
import type { SamplingParams } from "../../../bindings";

export interface ParamSpec {
  key: "temperature" | "top_k" | "top_p" | "max_tokens" | "repeat_penalty" | "presence_penalty" | "frequency_penalty";
  testId: string;
  min: number;
  max: number;
  step: number;
  integer: boolean;
}

export const PARAM_SPECS: ParamSpec[] = [
  { key: "temperature", testId: "temperature", min: 0, max: 2, step: 0.05, integer: false },
  { key: "top_k", testId: "topk", min: 1, max: 100, step: 1, integer: true },
  { key: "top_p", testId: "topp", min: 0, max: 1, step: 0.01, integer: false },
  { key: "max_tokens", testId: "maxtokens", min: 256, max: 8192, step: 64, integer: true },
  { key: "repeat_penalty", testId: "repeatpenalty", min: 1, max: 2, step: 0.01, integer: false },
  { key: "presence_penalty", testId: "presencepenalty", min: -2, max: 2, step: 0.05, integer: false },
  { key: "frequency_penalty", testId: "frequencypenalty", min: -2, max: 2, step: 0.05, integer: false },
];

/** The Rust side accepts max_tokens down to 1 through the API; the slider offers 256..8192. */
const HARD_LIMITS: Partial<Record<ParamSpec["key"], [number, number]>> = { max_tokens: [1, 32768] };

export type ParamErrors = Partial<Record<keyof SamplingParams, string>>;

export function validateParams(p: SamplingParams): ParamErrors {
  const errors: ParamErrors = {};
  for (const spec of PARAM_SPECS) {
    const value = p[spec.key];
    const [min, max] = HARD_LIMITS[spec.key] ?? [spec.min, spec.max];
    if (value == null || !Number.isFinite(value)) errors[spec.key] = "required";
    else if (value < min || value > max) errors[spec.key] = `between ${min} and ${max}`;
    else if (spec.integer && !Number.isInteger(value)) errors[spec.key] = "a whole number";
  }
  if ((p.stop ?? []).some((s) => s.length === 0)) errors.stop = "no empty stop sequences";
  if ((p.stop ?? []).length > 16) errors.stop = "at most 16";
  if (p.seed != null && (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 4294967295)) errors.seed = "0 to 4294967295";
  return errors;
}

export function normalise(p: SamplingParams): SamplingParams {
  return {
    ...p,
    min_p: p.min_p ?? 0,
    presence_penalty: p.presence_penalty ?? 0,
    frequency_penalty: p.frequency_penalty ?? 0,
    stop: p.stop ?? [],
    seed: p.seed ?? null,
  };
}
