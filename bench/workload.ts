/**
 * What one closed-loop client sends, as plain data (it crosses into the load
 * generator's process as JSON), and the requests built from it. Every peer is
 * driven the same way: one HTTP/1.1 request per operation, the body read in
 * full, success judged from the status (and for quorumlite the JSON prefix).
 */

export type Workload =
  /** Single-row INSERT through POST /sql. */
  | { readonly kind: "sql-insert"; readonly urls: readonly string[]; readonly query: string; readonly payloadBytes: number }
  /** Point SELECT by primary key over `rows` seeded rows. */
  | { readonly kind: "sql-point-read"; readonly urls: readonly string[]; readonly query: string; readonly rows: number }
  /** One request carrying `statements` INSERTs as a transaction. */
  | { readonly kind: "sql-batch"; readonly urls: readonly string[]; readonly query: string; readonly statements: number; readonly payloadBytes: number }
  /** `readPercent` % point reads, the rest single-row INSERTs. */
  | { readonly kind: "sql-mixed"; readonly urls: readonly string[]; readonly query: string; readonly readPercent: number; readonly rows: number; readonly payloadBytes: number }
  /** etcd v3 gateway put of one of `keys` keys. */
  | { readonly kind: "etcd-put"; readonly urls: readonly string[]; readonly keys: number; readonly payloadBytes: number }
  /** etcd v3 gateway range (single key); linearizable unless `serializable`. */
  | { readonly kind: "etcd-range"; readonly urls: readonly string[]; readonly keys: number; readonly serializable: boolean }
  | { readonly kind: "etcd-mixed"; readonly urls: readonly string[]; readonly keys: number; readonly readPercent: number; readonly payloadBytes: number }
  /** A trivial server that answers a small JSON body: the generator's own ceiling. */
  | { readonly kind: "echo"; readonly urls: readonly string[]; readonly payloadBytes: number };

export interface Operation {
  /** scheme://host:port, one of the workload's urls. */
  readonly origin: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  /** A JSON body, or null. */
  readonly body: string | null;
  /** Judges a 200 response's body. */
  readonly accept: (body: string) => boolean;
}

export type OperationMaker = (client: number, seq: number) => Operation;

export const BENCH_TABLE = "bench_kv";
export const SEED_TABLE = "bench_seed";

export const CREATE_BENCH_TABLE = `CREATE TABLE IF NOT EXISTS ${BENCH_TABLE} (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, seq INTEGER NOT NULL, v TEXT NOT NULL)`;
export const CREATE_SEED_TABLE = `CREATE TABLE IF NOT EXISTS ${SEED_TABLE} (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`;

/** One statement fills the seed table, so seeding costs one log entry. */
export function seedRowsSql(rows: number, payloadBytes: number): string {
  return (
    `INSERT OR REPLACE INTO ${SEED_TABLE} (id, v) ` +
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) ` +
    `SELECT x, printf('%0${payloadBytes}d', x) FROM c`
  );
}

export const etcdKey = (i: number): string => `bench/${String(i).padStart(6, "0")}`;

const sqlOk = (body: string): boolean => body.startsWith('{"success":true');
const anyOk = (): boolean => true;

const fillers = new Map<number, string>();
function payload(bytes: number, client: number, seq: number): string {
  const tag = `${client}:${seq}:`;
  let filler = fillers.get(bytes);
  if (filler === undefined) fillers.set(bytes, (filler = "x".repeat(bytes)));
  return tag + filler.slice(0, Math.max(0, bytes - tag.length));
}

/** A fast deterministic PRNG per client, so read keys spread without Math.random's shared state. */
function xorshift(client: number): () => number {
  let s = ((client + 1) * 0x9e3779b1) | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const b64 = (s: string): string => Buffer.from(s).toString("base64");

export function operationMaker(w: Workload): OperationMaker {
  const origins = w.urls.map((u) => new URL(u).origin);
  const originFor = (client: number) => origins[client % origins.length]!;
  const generators = new Map<number, () => number>();
  const pick = (client: number, range: number): number => {
    let next = generators.get(client);
    if (!next) generators.set(client, (next = xorshift(client)));
    return next() % range;
  };
  const sqlPost = (client: number, query: string, body: unknown): Operation => ({
    origin: originFor(client),
    method: "POST",
    path: `/sql${query}`,
    body: JSON.stringify(body),
    accept: sqlOk,
  });
  const insert = (client: number, seq: number, bytes: number) => ({
    sql: `INSERT INTO ${BENCH_TABLE} (client, seq, v) VALUES (?, ?, ?)`,
    args: [client, seq, payload(bytes, client, seq)],
  });
  const pointRead = (client: number, rows: number) => ({ sql: `SELECT id, v FROM ${SEED_TABLE} WHERE id = ?`, args: [1 + pick(client, rows)] });
  const etcdPost = (client: number, path: string, body: unknown): Operation => ({
    origin: originFor(client),
    method: "POST",
    path,
    body: JSON.stringify(body),
    accept: anyOk,
  });
  const etcdPut = (client: number, seq: number, keys: number, bytes: number) =>
    etcdPost(client, "/v3/kv/put", { key: b64(etcdKey(pick(client, keys))), value: b64(payload(bytes, client, seq)) });
  const etcdRange = (client: number, keys: number, serializable: boolean) =>
    etcdPost(client, "/v3/kv/range", serializable ? { key: b64(etcdKey(pick(client, keys))), serializable: true } : { key: b64(etcdKey(pick(client, keys))) });

  switch (w.kind) {
    case "sql-insert":
      return (c, seq) => sqlPost(c, w.query, insert(c, seq, w.payloadBytes));
    case "sql-point-read":
      return (c) => sqlPost(c, w.query, pointRead(c, w.rows));
    case "sql-batch":
      return (c, seq) =>
        sqlPost(c, w.query, {
          statements: Array.from({ length: w.statements }, (_, i) => insert(c, seq * w.statements + i, w.payloadBytes)),
          transaction: true,
        });
    case "sql-mixed":
      return (c, seq) => (pick(c, 100) < w.readPercent ? sqlPost(c, w.query, pointRead(c, w.rows)) : sqlPost(c, w.query, insert(c, seq, w.payloadBytes)));
    case "etcd-put":
      return (c, seq) => etcdPut(c, seq, w.keys, w.payloadBytes);
    case "etcd-range":
      return (c) => etcdRange(c, w.keys, w.serializable);
    case "etcd-mixed":
      return (c, seq) => (pick(c, 100) < w.readPercent ? etcdRange(c, w.keys, false) : etcdPut(c, seq, w.keys, w.payloadBytes));
    case "echo":
      return (c, seq) => sqlPost(c, "", insert(c, seq, w.payloadBytes));
  }
}
