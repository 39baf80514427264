// Turns the generated commands' result objects into values or thrown errors
// that carry the back end's {code, message}.
import type { AppError, ErrorCode } from "../bindings";

export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

export class IpcError extends Error {
  readonly code: ErrorCode;
  /** The input field the error concerns, when the back end named one. */
  readonly field: string | null;
  constructor(error: AppError) {
    super(error.message);
    this.code = error.code;
    this.field = error.field ?? null;
    this.name = "IpcError";
  }
}

export function unwrap<T>(result: Result<T, AppError>): T {
  if (result.status === "error") throw new IpcError(result.error);
  return result.data;
}

export function errorCode(error: unknown): ErrorCode {
  return error instanceof IpcError ? error.code : "internal";
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
