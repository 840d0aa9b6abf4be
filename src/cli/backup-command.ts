/**
 * `quorumlite backup URL FILE` downloads a consistent copy of the database.
 * `quorumlite restore URL FILE` replays a SQLite file's schema and rows
 * through the Raft log (in transactions of bounded size), so every replica
 * gets it the same way a normal write would.
 */
import { Database } from "bun:sqlite";

export async function backupCommand(argv: readonly string[]): Promise<number> {
  const [url, file] = argv;
  if (!url || !file) {
    console.error("usage: quorumlite backup URL FILE");
    return 2;
  }
  const res = await fetch(new URL("/admin/backup", url));
  if (!res.ok) {
    console.error(`backup failed: ${res.status} ${await res.text()}`);
    return 1;
  }
  await Bun.write(file, res);
  console.log(`backup of ${url} at applied index ${res.headers.get("x-quorumlite-applied-index")} written to ${file}`);
  return 0;
}

const BATCH_ROWS = 500;

export async function restoreCommand(argv: readonly string[]): Promise<number> {
  const [url, file] = argv;
  if (!url || !file) {
    console.error("usage: quorumlite restore URL FILE");
    return 2;
  }
  const src = new Database(file, { readonly: true, safeIntegers: true });
  const post = async (statements: { sql: string; args?: unknown[] }[]) => {
    const res = await fetch(new URL("/sql", url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ statements, transaction: true }, (_k, v) => (typeof v === "bigint" ? { type: "integer", value: v.toString() } : v instanceof Uint8Array ? { base64: Buffer.from(v).toString("base64") } : v)),
    });
    if (!res.ok) throw new Error(`restore failed: ${res.status} ${await res.text()}`);
  };
  const objects = src
    .query("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_quorumlite_%' ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END")
    .all() as { type: string; name: string; sql: string }[];
  const tables = objects.filter((o) => o.type === "table");
  await post(tables.map((t) => ({ sql: t.sql })));
  let rows = 0;
  for (const t of tables) {
    const cols = (src.query(`PRAGMA table_info("${t.name.replace(/"/g, '""')}")`).all() as { name: string }[]).map((c) => c.name);
    const insert = `INSERT INTO "${t.name.replace(/"/g, '""')}" (${cols.map((c) => `"${c.replace(/"/g, '""')}"`).join(",")}) VALUES (${cols.map(() => "?").join(",")})`;
    let batch: { sql: string; args: unknown[] }[] = [];
    for (const row of src.query(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`).values()) {
      batch.push({ sql: insert, args: row as unknown[] });
      if (batch.length >= BATCH_ROWS) {
        await post(batch);
        rows += batch.length;
        batch = [];
      }
    }
    if (batch.length) {
      await post(batch);
      rows += batch.length;
    }
  }
  const rest = objects.filter((o) => o.type !== "table");
  if (rest.length) await post(rest.map((o) => ({ sql: o.sql })));
  console.log(`restored ${tables.length} table(s), ${rows} row(s), ${rest.length} index/view/trigger(s) into ${url}`);
  return 0;
}
