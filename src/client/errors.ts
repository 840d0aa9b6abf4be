/**
 * The one error type the client throws. `code` is SQLite's extended result
 * code name when the database refused a statement (e.g.
 * `SQLITE_CONSTRAINT_PRIMARYKEY`), the server's code for other refusals, or
 * one of the client's own `QUORUMLITE_*` codes below.
 */

/** Codes the client itself produces. */
export type ClientErrorCode =
  /** Every attempt failed (connection errors, 503s, no leader) and the retry budget is spent. */
  | "QUORUMLITE_UNAVAILABLE"
  /** The server answered with something that is not the documented JSON. */
  | "QUORUMLITE_PROTOCOL"
  /** An argument cannot be sent exactly (NaN, Infinity, an object, …). */
  | "QUORUMLITE_INVALID_ARGUMENT"
  /** The interactive transaction or stream was already committed, rolled back or lost. */
  | "QUORUMLITE_TRANSACTION_CLOSED"
  /** The server dropped the interactive stream (leader change, idle timeout, node restart). */
  | "QUORUMLITE_STREAM_LOST"
  /** The connection failed while COMMIT was in flight: it may or may not have committed. */
  | "QUORUMLITE_COMMIT_UNKNOWN";

export interface QuorumliteErrorDetails {
  readonly code: string;
  /** Which statement of a request failed (0-based), when the server says. */
  readonly statementIndex?: number | null;
  /** HTTP status of the answer that carried the error; null when no answer came. */
  readonly status?: number | null;
  /** The answer's `x-quorumlite-bookmark`: a failed non-transactional batch may have committed its first statements. */
  readonly bookmark?: string | null;
  readonly cause?: unknown;
}

export class QuorumliteError extends Error {
  override readonly name = "QuorumliteError";
  readonly code: string;
  readonly statementIndex: number | null;
  readonly status: number | null;
  readonly bookmark: string | null;

  constructor(message: string, details: QuorumliteErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.statementIndex = details.statementIndex ?? null;
    this.status = details.status ?? null;
    this.bookmark = details.bookmark ?? null;
  }
}
