/**
 * quorumlite's per-request knobs on Hrana requests, as headers (what a
 * custom `fetch` can add to @libsql/client's requests) or query parameters:
 * read level, freshness, bookmark, write durability. See docs/http-api.md.
 */
import type { Durability } from "../../raft/types.ts";
import type { ReadLevel, ReadOptions, WriteOptions } from "../../node/sql-service.ts";
import { protocolError } from "./errors.ts";

const LEVELS: readonly ReadLevel[] = ["none", "weak", "linearizable", "strong"];
const DURABILITIES: readonly Durability[] = ["majority", "remote-region", "all"];

function pick(req: Request, url: URL, header: string, query: string): string | null {
  return req.headers.get(header) ?? url.searchParams.get(query);
}

/** "500ms", "2s" or a bare number of milliseconds. */
function parseDurationMs(v: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(v);
  if (m === null) throw protocolError(`${name}: expected a duration such as 500ms or 2s`);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

export function requestOptions(req: Request, defaultLevel: ReadLevel): { read: ReadOptions; write: WriteOptions } {
  const url = new URL(req.url);
  const level = pick(req, url, "x-quorumlite-level", "level") ?? defaultLevel;
  if (!(LEVELS as readonly string[]).includes(level)) throw protocolError(`level: expected one of ${LEVELS.join(", ")}`);
  const freshness = pick(req, url, "x-quorumlite-freshness", "freshness");
  const bookmarkRaw = pick(req, url, "x-quorumlite-bookmark", "bookmark");
  let bookmark: number | undefined;
  if (bookmarkRaw !== null) {
    bookmark = Number(bookmarkRaw);
    if (!/^\d+$/.test(bookmarkRaw.trim()) || !Number.isSafeInteger(bookmark)) throw protocolError("bookmark: expected a log index");
  }
  const sync = pick(req, url, "x-quorumlite-sync", "sync");
  if (sync !== null && !(DURABILITIES as readonly string[]).includes(sync)) {
    throw protocolError(`sync: expected one of ${DURABILITIES.join(", ")}`);
  }
  const read: ReadOptions = {
    level: level as ReadLevel,
    ...(freshness !== null ? { freshnessMs: parseDurationMs(freshness, "freshness") } : {}),
    ...(bookmark !== undefined ? { bookmark } : {}),
  };
  const write: WriteOptions = sync !== null ? { durability: sync as Durability } : {};
  return { read, write };
}
