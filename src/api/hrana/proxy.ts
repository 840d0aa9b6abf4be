/**
 * Forwarding a Hrana request to another node: to the node a baton names
 * (Fly's load balancer may land any request anywhere), or to the leader when
 * a stream must move there to open a write transaction. The owner verifies
 * the token and baton again; a hop count stops forwarding loops.
 */
import { HranaHttpError } from "./errors.ts";

export const HOP_HEADER = "x-quorumlite-hrana-hop";
/** Marks a request a node forwarded to the leader to move a stream there: the leader must not move it again. */
export const MOVED_HEADER = "x-quorumlite-hrana-moved";
/** Longest legitimate path: any node → the stream's owner → the leader it moves to. */
const MAX_HOPS = 2;

const PASSED_REQUEST_HEADERS = ["authorization", "content-type"];
const PASSED_RESPONSE_HEADERS = ["content-type", "retry-after", "x-quorumlite-bookmark"];

export function hopsOf(req: Request): number {
  const n = Number(req.headers.get(HOP_HEADER) ?? "0");
  return Number.isSafeInteger(n) && n >= 0 ? n : MAX_HOPS;
}

export async function forwardHrana(
  fetcher: typeof fetch,
  baseUrl: string,
  original: Request,
  path: string,
  body: string,
  moving = false,
): Promise<Response> {
  const hops = hopsOf(original);
  if (hops >= MAX_HOPS) {
    throw new HranaHttpError(503, "STREAM_OWNER_UNAVAILABLE", "The request was forwarded too many times; the cluster's view of its members is changing", 1);
  }
  const headers = new Headers();
  original.headers.forEach((value, name) => {
    const ours = name === HOP_HEADER || name === MOVED_HEADER;
    if (PASSED_REQUEST_HEADERS.includes(name) || (name.startsWith("x-quorumlite-") && !ours)) headers.set(name, value);
  });
  headers.set("content-type", "application/json");
  headers.set(HOP_HEADER, String(hops + 1));
  if (moving) headers.set(MOVED_HEADER, "1");
  const url = new URL(path + new URL(original.url).search, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  let resp: Response;
  try {
    // If the client goes away, so does this request: the owner then closes the stream it can no longer hand back.
    resp = await fetcher(url, { method: "POST", headers, body, signal: original.signal });
  } catch (e) {
    throw new HranaHttpError(503, "STREAM_OWNER_UNAVAILABLE", `The node that owns this stream is unreachable: ${(e as Error).message}`, 1);
  }
  const out = new Headers();
  for (const h of PASSED_RESPONSE_HEADERS) {
    const v = resp.headers.get(h);
    if (v !== null) out.set(h, v);
  }
  return new Response(resp.body, { status: resp.status, headers: out });
}
