/** One HTTP attempt: auth header, per-attempt timeout, nothing else (retries live in the callers). */

/** The part of `fetch` the client uses; any runtime's global `fetch` fits. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpConfig {
  readonly fetch: FetchFunction;
  readonly authToken: string | undefined;
  /** Per attempt, including reading the body. */
  readonly timeoutMs: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  readonly json: unknown;
  readonly text: string;
}

/**
 * Resolves with the answer, whatever its status; rejects only when no complete
 * answer arrived (connection refused or reset, timeout) — the cases where a
 * write may or may not have been applied.
 */
export async function httpRequest(config: HttpConfig, url: string, init: { method: "GET" | "POST"; headers?: Record<string, string>; body?: string }): Promise<HttpAnswer> {
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (config.authToken !== undefined) headers.authorization = `Bearer ${config.authToken}`;
  const response = await config.fetch(url, {
    method: init.method,
    headers,
    body: init.body,
    signal: AbortSignal.timeout(config.timeoutMs),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: parseJson(text), text };
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
