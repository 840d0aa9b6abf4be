/**
 * quorumlite/client must run wherever `fetch` exists (Bun, Node 20+, Deno,
 * Cloudflare Workers): no runtime-specific modules or globals, checked in the
 * source and by running a browser-target bundle of it under Node.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FakeCluster } from "./fake-cluster.ts";

const CLIENT_DIR = resolve(import.meta.dir, "../../src/client");
/** The Drizzle driver may import drizzle-orm; everything else only its siblings. */
const ALLOWED_PACKAGES: Readonly<Record<string, RegExp>> = { "drizzle.ts": /^drizzle-orm(\/|$)/ };

function codeOf(file: string): string {
  return readFileSync(join(CLIENT_DIR, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:])\/\/.*$/gm, "$1");
}

describe("portability", () => {
  const files = readdirSync(CLIENT_DIR).filter((f) => f.endsWith(".ts"));

  test("client sources import only each other (and drizzle-orm in the Drizzle driver)", () => {
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const specifiers = [...codeOf(file).matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
      for (const spec of specifiers) {
        const ok = spec.startsWith("./") || (ALLOWED_PACKAGES[file]?.test(spec) ?? false);
        if (!ok) throw new Error(`${file} imports ${spec}`);
      }
    }
  });

  test("client sources use no Node- or Bun-only globals", () => {
    for (const file of files) {
      const found = /\b(Buffer|process|Bun|require|__dirname)\b\s*[.(]/.exec(codeOf(file));
      if (found) throw new Error(`${file} uses ${found[1]}`);
    }
  });

  describe("under Node", () => {
    const node = Bun.which("node");
    let cluster: FakeCluster;
    let dir: string;
    beforeAll(() => {
      cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
      dir = mkdtempSync(join(tmpdir(), "ql-client-node-"));
    });
    afterAll(async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test.skipIf(node === null)("a browser-target bundle of quorumlite/client talks to the cluster from Node", async () => {
      const built = await Bun.build({ entrypoints: [join(CLIENT_DIR, "index.ts")], target: "browser", format: "esm" });
      expect(built.success).toBe(true);
      writeFileSync(join(dir, "client.mjs"), await built.outputs[0]!.text());
      writeFileSync(
        join(dir, "main.mjs"),
        `import { createClient } from "./client.mjs";
const client = createClient({ url: process.argv[2], readLevel: "none" });
await client.execute("CREATE TABLE n (big INTEGER, b BLOB)");
await client.execute({ sql: "INSERT INTO n VALUES (?, ?)", args: [2n ** 60n + 1n, new Uint8Array([7, 8])] });
const row = (await client.execute("SELECT big, b FROM n")).rows[0];
console.log(JSON.stringify({ big: row.big.toString(), bigint: typeof row.big === "bigint", blob: Array.from(row.b), bookmark: client.bookmark }));
`,
      );
      const proc = Bun.spawn([node!, join(dir, "main.mjs"), cluster.url("n2")], { stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual({ big: String(2n ** 60n + 1n), bigint: true, blob: [7, 8], bookmark: String(cluster.commitIndex) });
      expect(cluster.node("n1").sqlRequests()).toHaveLength(2);
    });
  });
});
