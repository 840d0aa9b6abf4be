/**
 * JSON that keeps bigint and Uint8Array exact. Used for node-to-node RPC
 * bodies (forwarded writes and reads), where a lossy encoding would make a
 * follower's client see different values than the leader computed.
 */

const BIG = "$bigint";
const BYTES = "$bytes";

export function toTaggedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return { [BIG]: v.toString() };
    if (v instanceof Uint8Array) return { [BYTES]: Buffer.from(v).toString("base64") };
    return v;
  });
}

/** Text without either tag needs no reviver, which JSON.parse would call for every value (most forwarded writes carry neither). */
function mayHoldTags(text: string): boolean {
  return text.includes(BIG) || text.includes(BYTES);
}

export function fromTaggedJson<T = unknown>(text: string): T {
  if (!mayHoldTags(text)) return JSON.parse(text) as T;
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o[BIG] === "string") return BigInt(o[BIG]);
      if (keys.length === 1 && typeof o[BYTES] === "string") return new Uint8Array(Buffer.from(o[BYTES], "base64"));
    }
    return v;
  }) as T;
}
