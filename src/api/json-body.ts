/**
 * Reading a JSON request body with a size limit, so a huge or malformed body
 * gets a clear 4xx instead of exhausting memory or throwing inside a route.
 */
import type { Context } from "hono";

export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

/** For Hono routes: reads through the context, which caches the body for later readers. */
export async function readJsonBody(c: Context, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const tooLarge = declaredTooLarge(c.req.header("content-length"), limit);
  if (tooLarge) return tooLarge;
  let buf: ArrayBuffer;
  try {
    buf = await c.req.arrayBuffer();
  } catch (e) {
    return unreadable(e);
  }
  return jsonOf(buf, limit);
}

/** For a handler that owns the request (nothing else reads its body). */
export async function readJsonRequest(req: Request, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const tooLarge = declaredTooLarge(req.headers.get("content-length") ?? undefined, limit);
  if (tooLarge) return tooLarge;
  let buf: ArrayBuffer;
  try {
    buf = await req.arrayBuffer();
  } catch (e) {
    return unreadable(e);
  }
  return jsonOf(buf, limit);
}

function declaredTooLarge(contentLength: string | undefined, limit: number): BodyResult | null {
  const declared = Number(contentLength ?? "0");
  return declared > limit ? { ok: false, status: 413, message: `request body is ${declared} bytes; the limit is ${limit}` } : null;
}

function unreadable(e: unknown): BodyResult {
  return { ok: false, status: 400, message: `could not read request body: ${(e as Error).message}` };
}

// Without `fatal` or `stream`, decode() keeps no state between calls, so one decoder serves every request.
const utf8 = new TextDecoder();

function jsonOf(buf: ArrayBuffer, limit: number): BodyResult {
  if (buf.byteLength > limit) return { ok: false, status: 413, message: `request body is ${buf.byteLength} bytes; the limit is ${limit}` };
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch (e) {
    return unreadable(e);
  }
  if (text.trim() === "") return { ok: false, status: 400, message: "request body is empty; expected JSON" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, status: 400, message: `malformed JSON: ${(e as Error).message}` };
  }
}
