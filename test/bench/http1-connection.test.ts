import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Http1Connection, parseResponse } from "../../bench/http1-connection.ts";

describe("parseResponse", () => {
  test("waits for the whole Content-Length body, then leaves the next response's bytes", () => {
    const full = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 503");
    expect(parseResponse(full.subarray(0, 40))).toBeNull();
    const r = parseResponse(full)!;
    expect(r.response).toEqual({ status: 200, body: "hello" });
    expect(full.subarray(r.consumed).toString()).toBe("HTTP/1.1 503");
  });

  test("decodes chunked bodies and notices Connection: close", () => {
    const raw = Buffer.from("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n");
    const r = parseResponse(raw)!;
    expect(r.response).toEqual({ status: 400, body: '{"a":1}' });
    expect(r.close).toBe(true);
    expect(r.consumed).toBe(raw.length);
    expect(parseResponse(raw.subarray(0, raw.length - 2))).toBeNull();
  });
});

describe("Http1Connection against Bun.serve", () => {
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const body = await req.text();
        if (new URL(req.url).pathname === "/close") return new Response("bye", { headers: { connection: "close" } });
        return Response.json({ method: req.method, body, type: req.headers.get("content-type") }, { status: body === "" ? 404 : 200 });
      },
    });
  });
  afterAll(() => server.stop(true));

  test("keeps one connection across requests and reconnects after the server closes it", async () => {
    const c = new Http1Connection("127.0.0.1", server.port!);
    const first = await c.request("POST", "/sql", '{"x":"é"}', { "content-type": "application/json" });
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ method: "POST", body: '{"x":"é"}', type: "application/json" });
    expect((await c.request("GET", "/missing", null)).status).toBe(404);
    expect((await c.request("GET", "/close", null)).body).toBe("bye");
    expect((await c.request("POST", "/again", "z")).status).toBe(200);
    c.close();
  });
});
