/** `quorumlite shell URL`: a small interactive SQL prompt against any node. */
import { createInterface } from "node:readline";

export async function shellCommand(argv: readonly string[]): Promise<number> {
  const url = argv[0];
  if (!url || url === "--help" || url === "-h") {
    console.log("quorumlite shell URL — type SQL ending with ';'. .level LEVEL sets the read level, .status shows the node, .quit leaves.");
    return url ? 0 : 2;
  }
  let level = "linearizable";
  let bookmark: string | null = null;
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "quorumlite> " });
  let buffer = "";
  rl.prompt();
  for await (const line of rl) {
    const t = line.trim();
    if (buffer === "" && t.startsWith(".")) {
      const [cmd, arg] = t.split(/\s+/);
      if (cmd === ".quit" || cmd === ".exit") break;
      if (cmd === ".level" && arg) level = arg;
      if (cmd === ".status") console.log(JSON.stringify(await (await fetch(new URL("/status", url))).json(), null, 2));
      rl.prompt();
      continue;
    }
    buffer += (buffer ? "\n" : "") + line;
    if (!t.endsWith(";")) continue;
    const sql = buffer;
    buffer = "";
    try {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (bookmark) headers["x-quorumlite-bookmark"] = bookmark;
      const res = await fetch(new URL(`/sql?level=${level}`, url), { method: "POST", headers, body: JSON.stringify({ sql }) });
      bookmark = res.headers.get("x-quorumlite-bookmark") ?? bookmark;
      const body = (await res.json()) as { success: boolean; result?: { rows: Record<string, unknown>[] | null; rows_affected: number; last_insert_id: number }; error?: { message: string; code: string } };
      if (!body.success) console.log(`error (${body.error?.code}): ${body.error?.message}`);
      else if (body.result?.rows) console.table(body.result.rows);
      else console.log(`ok: ${body.result?.rows_affected} row(s) affected, last insert id ${body.result?.last_insert_id}`);
    } catch (e) {
      console.log(`error: ${(e as Error).message}`);
    }
    rl.prompt();
  }
  rl.close();
  return 0;
}
