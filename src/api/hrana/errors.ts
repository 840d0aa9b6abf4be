/**
 * The two kinds of Hrana failure. A request-level error is a result inside a
 * successful pipeline (`{"type":"error","error":{…}}`): the stream lives on.
 * An HTTP-level error answers the whole HTTP request with a 4xx/5xx JSON body
 * `{"message","code"}` (content-type exactly `application/json`, which is
 * what @libsql/client requires before it reads the body).
 */
import { ServiceError, type ServiceErrorCode } from "../../node/sql-service.ts";
import type { WireError } from "./protocol.ts";

export class HranaHttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 500 | 503,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = "HranaHttpError";
  }
}

/** The body is not a valid Hrana request; the message names the offending field. */
export const protocolError = (message: string): HranaHttpError => new HranaHttpError(400, "HRANA_PROTO_ERROR", message);

export const requestError = (code: string, message: string): WireError => ({ message, code });

/** ServiceError codes that mean "try again shortly", answered with 503 and Retry-After. */
const UNAVAILABLE: ReadonlySet<ServiceErrorCode> = new Set(["not-leader", "no-leader", "timeout", "stale", "shutting-down"]);

export const serviceCode = (code: ServiceErrorCode): string => code.toUpperCase().replace(/-/g, "_");

/** Maps a failure of the SqlService: either a request-level error, or an HTTP error that ends the stream. */
export function fromServiceError(err: ServiceError): WireError | HranaHttpError {
  if (UNAVAILABLE.has(err.code)) return new HranaHttpError(503, serviceCode(err.code), err.message, 1);
  switch (err.code) {
    case "tx-expired":
      return requestError("TRANSACTION_TIMEOUT", "Transaction timed out");
    case "not-read-only":
      return requestError("SQLITE_READONLY", "SQLite error: attempt to write a readonly database");
    default:
      return requestError(serviceCode(err.code), err.message);
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof ServiceError;
}

export function errorResponse(err: HranaHttpError): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (err.retryAfterSeconds !== null) headers["retry-after"] = String(err.retryAfterSeconds);
  return new Response(JSON.stringify({ message: err.message, code: err.code }), { status: err.status, headers });
}
