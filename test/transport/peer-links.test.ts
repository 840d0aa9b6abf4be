import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:http2";
import { encodeMessages } from "../../src/transport/message-codec.ts";
import { PeerRequestError } from "../../src/transport/peer-transport.ts";
import { heartbeat, peerStats, startNode, stopAll, stopNode, waitFor, commitsOf } from "./transport-harness.ts";
import { startTcpProxy } from "./tcp-proxy.ts";
import type { TcpProxy } from "./tcp-proxy.ts";

const H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) p.close();
  await stopAll();
});

async function proxyTo(port: number | null): Promise<TcpProxy> {
  const p = await startTcpProxy(port === null ? null : { hostname: "127.0.0.1", port });
  proxies.push(p);
  return p;
}

/** A raw HTTP/2 request with node:http2 (prior knowledge, like the transport's client). */
function h2Post(origin: string, path: string, headers: Record<string, string>, body: Uint8Array): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(origin);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let text = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (c: Buffer) => {
      text += c.toString();
    });
    stream.on("end", () => {
      session.close();
      resolve({ status, body: text });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

describe("peer links", () => {
  test("links are HTTP/2: one TCP connection, opened with the h2 preface, multiplexes messages and RPCs; DNS names resolve", async () => {
    const b = await startNode("b", { onRequest: async (path) => ({ status: 200, body: new TextEncoder().encode(path) }) });
    const proxy = await proxyTo(b.transport.port);
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: `localhost:${proxy.port}` }]);

    const replies = Promise.all(Array.from({ length: 20 }, (_, i) => a.transport.request("b", `echo/${i}`, new Uint8Array(0), 5_000)));
    for (let i = 0; i < 200; i++) {
      a.transport.send([heartbeat("a", "b", i)]);
      if (i % 10 === 0) await Bun.sleep(1);
    }
    const answers = await replies;
    expect(answers.map((r) => new TextDecoder().decode(r.body))).toEqual(Array.from({ length: 20 }, (_, i) => `echo/${i}`));
    await waitFor("200 messages", () => b.received.length === 200);
    expect(proxy.connections()).toBe(1);
    expect(new TextDecoder().decode(proxy.prefixes[0]!.subarray(0, H2_PREFACE.length))).toBe(H2_PREFACE);
    expect(peerStats(a.transport, "b").sentBatches).toBeGreaterThan(1);
  });

  test("IPv6 literals work; a malformed address makes an invalid link, not an exception", async () => {
    const b = await startNode("b", { listen: { hostname: "::1", port: 0 } });
    const a = await startNode("a");
    expect(() =>
      a.transport.setPeers([
        { id: "b", raftAddr: `[::1]:${b.transport.port}` },
        { id: "c", raftAddr: "no-port-here" },
      ]),
    ).not.toThrow();
    a.transport.send([heartbeat("a", "b", 5), heartbeat("a", "c", 5)]);
    await waitFor("delivery over IPv6", () => b.received.length === 1);
    expect(peerStats(a.transport, "c")).toMatchObject({ state: "invalid", droppedMessages: 1 });
    expect(peerStats(a.transport, "c").lastError).toContain("no-port-here");
    await expect(a.transport.request("c", "x", new Uint8Array(0), 100)).rejects.toMatchObject({ kind: "invalid" });
  });

  test("the same port accepts HTTP/1.1 and raw HTTP/2 peers that carry the secret, and nothing else", async () => {
    const b = await startNode("b");
    const url = `http://${b.addr}/raft/messages`;
    const batch = encodeMessages([heartbeat("x", "b", 7)]);

    const noSecret = await fetch(url, { method: "POST", headers: { "x-quorumlite-from": "x" }, body: batch });
    expect(noSecret.status).toBe(401);
    expect(await noSecret.json()).toEqual({ error: "missing cluster secret" });
    const wrong = await fetch(url, { method: "POST", headers: { "x-quorumlite-from": "x", "x-quorumlite-secret": "test-secreT" }, body: batch });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "wrong cluster secret" });
    const wrongEverywhere = await fetch(`http://${b.addr}/anything`, { headers: { "x-quorumlite-secret": "nope" } });
    expect(wrongEverywhere.status).toBe(401);
    const h2NoSecret = await h2Post(`http://${b.addr}`, "/raft/messages", { "x-quorumlite-from": "x" }, batch);
    expect(h2NoSecret.status).toBe(401);
    expect(b.received).toEqual([]);

    const http1 = await fetch(url, { method: "POST", headers: { "x-quorumlite-from": "x", "x-quorumlite-secret": "test-secret" }, body: batch });
    expect(http1.status).toBe(204);
    const h2 = await h2Post(`http://${b.addr}`, "/raft/messages", { "x-quorumlite-from": "x", "x-quorumlite-secret": "test-secret" }, batch);
    expect(h2.status).toBe(204);
    expect(commitsOf(b.received)).toEqual([7, 7]);
    expect(b.transport.stats().unauthorized).toBe(4);
  });

  test("a transport with the wrong secret is refused on every route", async () => {
    const b = await startNode("b", { onRequest: async () => ({ status: 200, body: new Uint8Array(0) }) });
    const a = await startNode("a", { clusterSecret: "other-secret" });
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    a.transport.send([heartbeat("a", "b", 1)]);
    const reply = await a.transport.request("b", "x", new Uint8Array(0), 2_000);
    expect(reply.status).toBe(401);
    await waitFor("the refused batch", () => peerStats(a.transport, "b").droppedMessages === 1);
    expect(peerStats(a.transport, "b").lastError).toContain("401");
    expect(b.received).toEqual([]);
    const unsecured = await startNode("c", { clusterSecret: null });
    unsecured.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    expect((await unsecured.transport.request("b", "x", new Uint8Array(0), 2_000)).status).toBe(401);
  });

  test("malformed, misaddressed and oversized requests get a 4xx and are not delivered", async () => {
    const b = await startNode("b", { limits: { maxMessageBodyBytes: 1024 } });
    const post = (path: string, headers: Record<string, string>, body: Uint8Array) =>
      h2Post(`http://${b.addr}`, path, { "x-quorumlite-secret": "test-secret", "x-quorumlite-from": "x", ...headers }, body);

    const garbage = await post("/raft/messages", {}, new Uint8Array([1, 2, 3]));
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body).error).toContain("not a quorumlite message batch");
    expect((await post("/raft/messages", {}, encodeMessages([heartbeat("x", "c", 1)]))).status).toBe(400); // addressed to c
    expect((await post("/raft/messages", {}, encodeMessages([heartbeat("y", "b", 1)]))).status).toBe(400); // claims another sender
    expect((await post("/raft/messages", { "x-quorumlite-to": "c" }, encodeMessages([]))).status).toBe(421);
    expect((await post("/raft/messages", {}, new Uint8Array(4096))).status).toBe(413);
    expect((await h2Post(`http://${b.addr}`, "/raft/messages", { "x-quorumlite-secret": "test-secret" }, new Uint8Array(0))).status).toBe(400);
    expect((await post("/raft/nope", {}, new Uint8Array(0))).status).toBe(404);
    expect((await post("/raft/rpc/x", {}, new Uint8Array(0))).status).toBe(404); // no onRequest
    expect((await post("/raft/snapshot", {}, new Uint8Array(0))).status).toBe(404); // no onSnapshot
    expect(b.received).toEqual([]);
    expect(b.transport.stats().received.x?.rejected).toBe(8);
  });

  test("a batch whose body never arrives holds up later batches from that sender only for a bounded time", async () => {
    const b = await startNode("b", { limits: { messageTimeoutMs: 200 } });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    // A request from "a" that announces 1000 bytes, sends 10, and then goes silent (as if partitioned).
    const session = connect(`http://${b.addr}`);
    try {
      const stuck = session.request({
        ":method": "POST",
        ":path": "/raft/messages",
        "x-quorumlite-secret": "test-secret",
        "x-quorumlite-from": "a",
        "content-length": "1000",
      });
      stuck.on("error", () => {});
      stuck.write(new Uint8Array(10));
      await Bun.sleep(20);
      a.transport.send([heartbeat("a", "b", 1)]);
      await waitFor("the later batch", () => b.received.length === 1);
      expect(commitsOf(b.received)).toEqual([1]);
    } finally {
      session.destroy();
    }
  });

  test("a restarted peer is reconnected to and receives again", async () => {
    const b = await startNode("b");
    const port = b.transport.port;
    const a = await startNode("a", { limits: { backoffMaxMs: 200 } });
    a.transport.setPeers([{ id: "b", raftAddr: `localhost:${port}` }]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("first delivery", () => b.received.length === 1);
    await stopNode(b);

    // While b is down: sends are dropped, never thrown, and the link backs off.
    for (let i = 0; i < 20; i++) {
      a.transport.send([heartbeat("a", "b", 2)]);
      await Bun.sleep(5);
    }
    await waitFor("the link to notice", () => peerStats(a.transport, "b").state !== "connected");
    await expect(a.transport.request("b", "x", new Uint8Array(0), 1_000)).rejects.toMatchObject({ name: "PeerRequestError" });

    const b2 = await startNode("b", { listen: { hostname: "127.0.0.1", port } });
    let n = 100;
    await waitFor("delivery after restart", () => {
      a.transport.send([heartbeat("a", "b", n++)]);
      return b2.received.length > 0;
    });
    const s = peerStats(a.transport, "b");
    expect(s.sessions).toBeGreaterThanOrEqual(2);
    expect(s.droppedMessages).toBeGreaterThan(0);
    expect(s.connected).toBe(true);
  });

  test("a stalled peer blocks neither the caller nor other peers, and its queue stays bounded", async () => {
    const b = await startNode("b", { onRequest: async () => ({ status: 200, body: new Uint8Array([1]) }) });
    // c: a TCP endpoint that accepts and then never says a word. d: a real HTTP/2 server whose handler never answers.
    const c = await proxyTo(null);
    const d = Bun.serve({ http2: true, hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
    try {
      const a = await startNode("a", { limits: { messageTimeoutMs: 300, maxQueuedMessages: 50, maxInflightBatches: 4 } });
      a.transport.setPeers([
        { id: "b", raftAddr: b.addr },
        { id: "c", raftAddr: `127.0.0.1:${c.port}` },
        { id: "d", raftAddr: `127.0.0.1:${d.port}` },
      ]);
      const rounds = 60;
      for (let i = 0; i < rounds; i++) {
        const batch = ["b", "c", "d"].flatMap((to) => Array.from({ length: 10 }, (_, k) => heartbeat("a", to, i * 10 + k)));
        expect(() => a.transport.send(batch)).not.toThrow();
        await Bun.sleep(2);
      }
      await waitFor("b to get everything", () => b.received.length === rounds * 10);
      expect(commitsOf(b.received)).toEqual(Array.from({ length: rounds * 10 }, (_, i) => i));
      expect((await a.transport.request("b", "x", new Uint8Array(0), 2_000)).status).toBe(200);
      // Either its own timeout or the stalled session being torn down ends it; it must not hang.
      const toD = await a.transport.request("d", "x", new Uint8Array(0), 200).then(
        () => null,
        (e: unknown) => e,
      );
      expect(toD).toBeInstanceOf(PeerRequestError);
      expect(["timeout", "reset"]).toContain((toD as PeerRequestError).kind);

      for (const stalled of ["c", "d"]) {
        await waitFor(`${stalled}'s session to be torn down`, () => peerStats(a.transport, stalled).errors > 0);
        const s = peerStats(a.transport, stalled);
        expect(s.sentMessages).toBe(0);
        expect(s.lastError).toContain("message stream not accepted");
        expect(s.droppedMessages).toBeGreaterThan(0);
        expect(s.queuedMessages).toBeLessThanOrEqual(50);
        expect(s.inflightBatches).toBeLessThanOrEqual(4);
      }
      expect(peerStats(a.transport, "b")).toMatchObject({ droppedMessages: 0, errors: 0 });
    } finally {
      await d.stop(true);
    }
  });
});

describe("request()", () => {
  test("carries path, body, status and headers; handler failures become 500", async () => {
    const b = await startNode("b", {
      onRequest: async (path, from, body) => {
        if (path === "boom") throw new Error("kaput");
        const prefix = new TextEncoder().encode(`${from}:${path}:`);
        const out = new Uint8Array(prefix.length + body.length);
        out.set(prefix);
        out.set(body, prefix.length);
        return { status: path === "missing" ? 404 : 200, body: out, headers: { "x-answer": "42" } };
      },
    });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    const big = new Uint8Array(3 * 1024 * 1024).fill(9);
    const r = await a.transport.request("b", "forward/sql?level=strong", big, 5_000);
    expect(r.status).toBe(200);
    expect(r.headers["x-answer"]).toBe("42");
    const prefix = new TextEncoder().encode("a:forward/sql?level=strong:");
    expect(r.body.length).toBe(prefix.length + big.length);
    expect(r.body.subarray(0, prefix.length)).toEqual(prefix);
    expect(r.body.subarray(prefix.length).every((x) => x === 9)).toBe(true);
    expect((await a.transport.request("b", "missing", new Uint8Array(0), 2_000)).status).toBe(404);
    const boom = await a.transport.request("b", "boom", new Uint8Array(0), 2_000);
    expect(boom.status).toBe(500);
    expect(JSON.parse(new TextDecoder().decode(boom.body))).toEqual({ error: "kaput" });
  });

  test("more concurrent requests than the server's stream limit all succeed, and messages keep flowing", async () => {
    const b = await startNode("b", {
      onRequest: async (_path, _from, body) => {
        await Bun.sleep(30);
        return { status: 200, body };
      },
    });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    const calls = Array.from({ length: 1000 }, (_, i) => a.transport.request("b", `n/${i}`, new Uint8Array([i & 0xff]), 20_000));
    await waitFor("requests to queue up", () => peerStats(a.transport, "b").queuedRequests > 0);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("a message past the queued requests", () => b.received.length === 1);
    expect(peerStats(a.transport, "b").queuedRequests).toBeGreaterThan(0);
    const replies = await Promise.all(calls);
    expect(replies.every((r, i) => r.status === 200 && r.body[0] === (i & 0xff))).toBe(true);
    expect(peerStats(a.transport, "b")).toMatchObject({ requestErrors: 0, sessions: 1 });
  });

  test("fails with a typed error for unknown peers, bad paths, dead peers, timeouts and stop()", async () => {
    const b = await startNode("b", { onRequest: () => new Promise(() => {}) });
    const a = await startNode("a");
    const dead = await startNode("dead");
    const deadAddr = dead.addr;
    await stopNode(dead);
    a.transport.setPeers([
      { id: "b", raftAddr: b.addr },
      { id: "dead", raftAddr: deadAddr },
    ]);
    await expect(a.transport.request("nobody", "x", new Uint8Array(0), 100)).rejects.toMatchObject({ kind: "unknown-peer" });
    await expect(a.transport.request("b", "bad path", new Uint8Array(0), 100)).rejects.toMatchObject({ kind: "invalid" });
    // The first request waits on a session that fails to connect, the second meets the backoff:
    // neither went out, so both say "unreachable" (a forwarded write may then be retried).
    await expect(a.transport.request("dead", "x", new Uint8Array(0), 2_000)).rejects.toMatchObject({ kind: "unreachable", message: expect.stringContaining("never sent") });
    await expect(a.transport.request("dead", "x", new Uint8Array(0), 2_000)).rejects.toMatchObject({ kind: "unreachable" });
    await expect(a.transport.request("b", "x", new Uint8Array(0), 100)).rejects.toMatchObject({ kind: "timeout" });
    const pending = a.transport.request("b", "x", new Uint8Array(0), 10_000);
    await a.transport.stop();
    await expect(pending).rejects.toMatchObject({ kind: "closed" });
    await expect(a.transport.request("b", "x", new Uint8Array(0), 100)).rejects.toMatchObject({ kind: "closed" });
  });

  test("simulated latency applies on the way out and on the way back", async () => {
    const b = await startNode("b", { delayMs: () => 60, onRequest: async () => ({ status: 200, body: new Uint8Array(0) }) });
    const a = await startNode("a", { delayMs: () => 40 });
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    await a.transport.request("b", "warm", new Uint8Array(0), 2_000);
    const t0 = performance.now();
    await a.transport.request("b", "x", new Uint8Array(0), 2_000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(99);
  });
});
