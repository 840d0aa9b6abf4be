/** Bearer tokens on the Hrana routes: Ed25519 JWTs (as sqld's --auth-jwt-key-file) and static tokens; read-only tokens cannot write. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient, LibsqlError } from "@libsql/client";
import { createBearerAuth } from "../../../src/api/auth/bearer-auth.ts";
import { loadEd25519PublicKeys, verifyEdDsaJwt } from "../../../src/api/auth/jwt.ts";
import { post, startNode, type TestNode } from "./harness.ts";
import { SqliteSqlService } from "./sqlite-sql-service.ts";

const b64url = (b: Uint8Array | ArrayBuffer) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString("base64url");

async function signJwt(claims: Record<string, unknown>, key: CryptoKey, header: Record<string, unknown> = { alg: "EdDSA", typ: "JWT" }): Promise<string> {
  const h = b64url(new TextEncoder().encode(JSON.stringify(header)));
  const p = b64url(new TextEncoder().encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, key, new TextEncoder().encode(`${h}.${p}`));
  return `${h}.${p}.${b64url(sig)}`;
}

let pair: CryptoKeyPair;
let other: CryptoKeyPair;
let pem: string;
let service: SqliteSqlService;
let node: TestNode;
const now = Math.floor(Date.now() / 1000);

beforeAll(async () => {
  pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
  other = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey)).toString("base64");
  pem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
  const auth = createBearerAuth({ jwtKeys: await loadEd25519PublicKeys(pem), tokens: { "static-ro": "ro", "static-rw": "rw" } });
  service = new SqliteSqlService();
  node = startNode(service, { auth });
  await service.write({ kind: "statements", statements: [{ sql: "CREATE TABLE a (v TEXT)" }], transaction: false });
});

afterAll(() => {
  node.stop();
  service.close();
});

describe("JWT verification", () => {
  test("keys load from PEM (SPKI) and from a raw base64url key", async () => {
    const raw = b64url(await crypto.subtle.exportKey("raw", pair.publicKey));
    const [k] = await loadEd25519PublicKeys(raw);
    const token = await signJwt({ a: "rw" }, pair.privateKey);
    expect(await verifyEdDsaJwt(token, [k!], now)).toEqual({ ok: true, claims: { a: "rw" } });
  });

  test("a private key, garbage, or a short raw key are refused", async () => {
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", pair.privateKey)).toString("base64");
    await expect(loadEd25519PublicKeys(`-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----`)).rejects.toThrow("private key");
    await expect(loadEd25519PublicKeys("AAAA")).rejects.toThrow("32 bytes");
  });

  test("signature, algorithm, exp and nbf are checked", async () => {
    const keys = await loadEd25519PublicKeys(pem);
    const check = async (token: string) => {
      const r = await verifyEdDsaJwt(token, keys, now);
      return r.ok ? "ok" : r.code;
    };
    expect(await check(await signJwt({ exp: now + 60 }, pair.privateKey))).toBe("ok");
    expect(await check(await signJwt({ exp: now - 1 }, pair.privateKey))).toBe("AUTH_JWT_EXPIRED");
    expect(await check(await signJwt({ nbf: now + 60 }, pair.privateKey))).toBe("AUTH_JWT_IMMATURE");
    expect(await check(await signJwt({}, other.privateKey))).toBe("AUTH_JWT_INVALID");
    expect(await check(await signJwt({}, pair.privateKey, { alg: "none" }))).toBe("AUTH_JWT_INVALID");
    const good = await signJwt({ a: "ro" }, pair.privateKey);
    const [h, , s] = good.split(".");
    expect(await check(`${h}.${b64url(new TextEncoder().encode('{"a":"rw"}'))}.${s}`)).toBe("AUTH_JWT_INVALID");
    expect(await check("a.b")).toBe("AUTH_JWT_INVALID");
  });
});

describe("on the Hrana routes", () => {
  test("missing, malformed or bad tokens get 401 JSON with sqld's codes", async () => {
    const body = { requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] };
    const none = await post(node.url, "/v2/pipeline", body);
    expect(none.status).toBe(401);
    expect(none.contentType).toBe("application/json");
    expect(none.json.code).toBe("AUTH_HEADER_NOT_FOUND");
    expect((await post(node.url, "/v2/pipeline", body, { authorization: "Basic abc" })).json.code).toBe("AUTH_HTTP_HEADER_UNSUPPORTED_SCHEME");
    expect((await post(node.url, "/v2/pipeline", body, { authorization: "Bearer nope" })).json.code).toBe("AUTH_JWT_INVALID");
    const expired = await signJwt({ exp: now - 10 }, pair.privateKey);
    expect((await post(node.url, "/v2/pipeline", body, { authorization: `Bearer ${expired}` })).json.code).toBe("AUTH_JWT_EXPIRED");
    const c = createClient({ url: node.url, authToken: await signJwt({}, other.privateKey) });
    const err = await c.execute("SELECT 1").catch((e: unknown) => e);
    expect((err as LibsqlError).code).toBe("AUTH_JWT_INVALID");
    c.close();
  });

  for (const [kind, token] of [
    ["JWT a=rw", async () => signJwt({ a: "rw", exp: now + 600 }, pair.privateKey)],
    ["JWT without a", async () => signJwt({}, pair.privateKey)],
    ["static rw token", async () => "static-rw"],
  ] as const) {
    test(`${kind}: reads and writes`, async () => {
      const c = createClient({ url: node.url, authToken: await token() });
      try {
        await c.execute({ sql: "INSERT INTO a VALUES (?)", args: [kind] });
        const tx = await c.transaction("write");
        await tx.execute({ sql: "INSERT INTO a VALUES (?)", args: [`${kind} tx`] });
        await tx.commit();
        const rs = await c.execute({ sql: "SELECT count(*) AS n FROM a WHERE v LIKE ?", args: [`${kind}%`] });
        expect(rs.rows[0]!["n"]).toBe(2);
      } finally {
        c.close();
      }
    });
  }

  for (const [kind, token] of [
    ["JWT a=ro", async () => signJwt({ a: "ro" }, pair.privateKey)],
    ["static ro token", async () => "static-ro"],
  ] as const) {
    test(`${kind}: reads work, every way of writing is refused, nothing is written`, async () => {
      const c = createClient({ url: node.url, authToken: await token() });
      const count = () => service.query("SELECT count(*) FROM a")[0]![0];
      const before = count();
      try {
        expect((await c.execute("SELECT count(*) AS n FROM a")).rows[0]!["n"]).toBe(before as number);
        const denied = async (p: Promise<unknown>) => {
          const e = await p.then(() => null, (x: unknown) => x);
          expect(e).toBeInstanceOf(LibsqlError);
          expect((e as LibsqlError).code).toBe("SQLITE_AUTH");
        };
        await denied(c.execute("INSERT INTO a VALUES ('ro')"));
        await denied(c.batch(["INSERT INTO a VALUES ('ro')"], "write"));
        await denied(c.executeMultiple("INSERT INTO a VALUES ('ro');"));
        const tx = await c.transaction("write");
        await denied(tx.execute("DELETE FROM a"));
        await tx.rollback();
        expect(count()).toBe(before);
        expect(service.openTransactions).toBe(0);
      } finally {
        c.close();
      }
    });
  }
});
