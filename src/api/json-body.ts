/**
 * Reading a JSON request body with a size limit, so a huge or malformed body
 * gets a clear 4xx instead of exhausting memory or throwing inside a route.
 */
import type { Context } from "hono";

export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

/** For Hono routes: reads through the context, which caches the body for later readers. */
export function readJsonBody(c: Context, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return readJson(c.req.header("content-length"), () => c.req.arrayBuffer(), limit);
}

/** For a handler that owns the request (nothing else reads its body). */
export function readJsonRequest(req: Request, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return readJson(req.headers.get("content-length") ?? undefined, () => req.arrayBuffer(), limit);
}

// Without `fatal` or `stream`, decode() keeps no state between calls, so one decoder serves every request.
const utf8 = new TextDecoder();

async function readJson(contentLength: string | undefined, read: () => Promise<ArrayBuffer>, limit: number): Promise<BodyResult> {
  const declared = Number(contentLength ?? "0");
  if (declared > limit) return { ok: false, status: 413, message: `request body is ${declared} bytes; the limit is ${limit}` };
  let text: string;
  try {
    const buf = await read();
    if (buf.byteLength > limit) return { ok: false, status: 413, message: `request body is ${buf.byteLength} bytes; the limit is ${limit}` };
    text = utf8.decode(buf);
  } catch (e) {
    return { ok: false, status: 400, message: `could not read request body: ${(e as Error).message}` };
  }
  if (text.trim() === "") return { ok: false, status: 400, message: "request body is empty; expected JSON" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, status: 400, message: `malformed JSON: ${(e as Error).message}` };
  }
}
