import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:http2";
import type { ClientHttp2Session } from "node:http2";
import type { Message } from "../../src/raft/types.ts";
import { KEEPALIVE_FRAME, encodeMessageFrame } from "../../src/transport/stream-framing.ts";
import { bytesOf } from "./sample-messages.ts";
import { commitsOf, heartbeat, peerStats, startNode, stopAll, stopNode, waitFor } from "./transport-harness.ts";
import { startTcpProxy } from "./tcp-proxy.ts";
import type { TcpProxy } from "./tcp-proxy.ts";

const proxies: TcpProxy[] = [];
const servers: Array<ReturnType<typeof Bun.serve>> = [];
const sessions: ClientHttp2Session[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) p.close();
  for (const s of sessions.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.stop(true)));
  await stopAll();
});

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function isIncreasing(xs: readonly number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

function frame(msgs: readonly Message[]): Uint8Array {
  return encodeMessageFrame(msgs, 0);
}

/** A raw POST /raft/stream from a node:http2 session: write frames, then read the answer. */
function rawStream(origin: string, headers: Record<string, string>) {
  const session = connect(origin);
  sessions.push(session);
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": "/raft/stream", ...headers }, { endStream: false });
  let body = "";
  const answer = new Promise<{ status: number; body: string }>((resolve) => {
    let status = 0;
    stream.on("response", (h) => {
      status = Number(h[":status"]);
    });
    stream.on("data", (c: Buffer) => {
      body += c.toString();
    });
    stream.on("error", () => {});
    stream.on("close", () => resolve({ status, body }));
  });
  return { stream, answer, bodySoFar: () => body };
}

describe("message streams", () => {
  test("a thousand batches from separate ticks travel on one long-lived stream, in order", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    a.transport.send([heartbeat("a", "b", 0)]);
    await waitFor("the stream to open", () => b.received.length === 1);
    for (let i = 1; i <= 1000; i++) {
      a.transport.send([heartbeat("a", "b", i)]);
      await tick();
    }
    await waitFor("1001 messages", () => b.received.length === 1001);
    expect(commitsOf(b.received)).toEqual(Array.from({ length: 1001 }, (_, i) => i));
    expect(b.transport.stats().received.a).toMatchObject({ streams: 1, batches: 1001, messages: 1001, rejected: 0 });
    expect(peerStats(a.transport, "b")).toMatchObject({ sessions: 1, streams: 1, streamState: "open", sentBatches: 1001, droppedMessages: 0, inflightBatches: 0 });
  });

  test("a restarted peer gets a new stream and delivery resumes in order", async () => {
    const b = await startNode("b");
    const port = b.transport.port;
    const a = await startNode("a", { limits: { backoffMaxMs: 100 } });
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    let n = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        a.transport.send([heartbeat("a", "b", n++)]);
        await Bun.sleep(1);
      }
    })();
    try {
      await waitFor("traffic before the restart", () => b.received.length >= 50);
      await stopNode(b);
      const b2 = await startNode("b", { listen: { hostname: "127.0.0.1", port } });
      await waitFor("traffic after the restart", () => b2.received.length >= 50);
      sending = false;
      await sender;
      const before = commitsOf(b.received);
      const after = commitsOf(b2.received);
      expect(isIncreasing(before)).toBe(true);
      expect(isIncreasing(after)).toBe(true);
      expect(after[0]!).toBeGreaterThan(before[before.length - 1]!);
      expect(b2.transport.stats().received.a?.streams).toBe(1);
      expect(peerStats(a.transport, "b").streams).toBeGreaterThanOrEqual(2);
    } finally {
      sending = false;
      await sender;
    }
  });

  test("a frame the receiver refuses closes the stream; the sender reopens it and later messages follow in order", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("first message", () => b.received.length === 1);
    // Routed by `to`, but claims another sender: the receiver must refuse the frame.
    a.transport.send([heartbeat("x", "b", 2)]);
    await waitFor("the sender to see the stream closed", () => (peerStats(a.transport, "b").lastError ?? "").includes("does not belong on the link"));
    let n = 3;
    await waitFor("delivery on a new stream", () => {
      a.transport.send([heartbeat("a", "b", n++)]);
      return b.received.length >= 5;
    });
    const commits = commitsOf(b.received);
    expect(commits[0]).toBe(1);
    expect(commits).not.toContain(2);
    expect(isIncreasing(commits)).toBe(true);
    expect(b.transport.stats().received.a).toMatchObject({ streams: 2, rejected: 1 });
    expect(peerStats(a.transport, "b")).toMatchObject({ sessions: 1, streams: 2 });
  });

  test("malformed and oversized frames close the stream with a reason; the server keeps serving", async () => {
    const b = await startNode("b", { limits: { maxMessageBodyBytes: 1024 } });
    const origin = `http://${b.addr}`;
    const auth = { "x-quorumlite-secret": "test-secret", "x-quorumlite-from": "x" };

    const garbage = rawStream(origin, auth);
    garbage.stream.write(frame([heartbeat("x", "b", 1)]));
    garbage.stream.write(KEEPALIVE_FRAME);
    garbage.stream.write(new Uint8Array([0, 0, 0, 3, 1, 2, 3]));
    garbage.stream.write(frame([heartbeat("x", "b", 2)])); // after the bad frame: never delivered
    const g = await garbage.answer;
    expect(g.status).toBe(200);
    expect(g.body).toStartWith("open\n");
    expect(g.body).toContain("not a quorumlite message batch");

    const oversized = rawStream(origin, auth);
    oversized.stream.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0]));
    const o = await oversized.answer;
    expect(o.status).toBe(200);
    expect(o.body).toContain("exceeds 1024");

    const unauthenticated = rawStream(origin, { "x-quorumlite-from": "x" });
    unauthenticated.stream.write(frame([heartbeat("x", "b", 3)]));
    expect((await unauthenticated.answer).status).toBe(401);

    expect(commitsOf(b.received)).toEqual([1]);
    expect(b.transport.stats().received.x).toMatchObject({ streams: 2, batches: 1, rejected: 2 });

    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    a.transport.send([heartbeat("a", "b", 4)]);
    await waitFor("a well-formed stream afterwards", () => b.received.length === 2);
  });

  test("a newer stream from the same sender supersedes the older one, which delivers nothing more", async () => {
    const b = await startNode("b");
    const origin = `http://${b.addr}`;
    const auth = { "x-quorumlite-secret": "test-secret", "x-quorumlite-from": "x" };
    const first = rawStream(origin, auth);
    first.stream.write(frame([heartbeat("x", "b", 1)]));
    await waitFor("the first stream's message", () => b.received.length === 1);
    const second = rawStream(origin, auth);
    second.stream.write(frame([heartbeat("x", "b", 2)]));
    await waitFor("the second stream's message", () => b.received.length === 2);
    const old = await first.answer;
    expect(old.body).toContain("superseded");
    first.stream.write(frame([heartbeat("x", "b", 99)])); // too late: that stream is closed
    second.stream.write(frame([heartbeat("x", "b", 3)]));
    await waitFor("the second stream's next message", () => b.received.length === 3);
    expect(commitsOf(b.received)).toEqual([1, 2, 3]);
    expect(b.transport.stats().received.x).toMatchObject({ streams: 2, rejected: 0 });
  });

  test("frames split across chunks anywhere, including inside the length, are reassembled", async () => {
    const b = await startNode("b");
    const s = rawStream(`http://${b.addr}`, { "x-quorumlite-secret": "test-secret", "x-quorumlite-from": "x" });
    const msgs: Message[] = [];
    const bytes: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const m: Message =
        i % 4 === 0
          ? { type: "append", from: "x", to: "b", term: 3, prevIndex: i, prevTerm: 3, commit: i, entries: [{ type: "normal", term: 3, index: i + 1, data: bytesOf(40_000 + i, i) }] }
          : heartbeat("x", "b", i);
      msgs.push(m);
      bytes.push(frame([m]));
    }
    const all = Buffer.concat(bytes);
    // Odd piece sizes; separate writes a tick apart so the server sees them as separate chunks.
    for (let off = 0, k = 0; off < all.length; k++) {
      const len = [1, 2, 3, 5, 7, 4099, 65_537][k % 7]!;
      s.stream.write(all.subarray(off, off + len));
      off += len;
      if (k % 3 === 0) await Bun.sleep(1);
    }
    await waitFor("every message", () => b.received.length === msgs.length);
    expect(b.received).toEqual(msgs);
    s.stream.end();
    expect((await s.answer).status).toBe(200);
  });

  test("a peer without the stream route gets one POST per batch, in order", async () => {
    const b = await startNode("b");
    // An older node: same handler, no /raft/stream.
    const old = Bun.serve({
      http2: true,
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => (new URL(req.url).pathname === "/raft/stream" ? Response.json({ error: "no route" }, { status: 404 }) : b.transport.fetch(req)),
    });
    servers.push(old);
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: `127.0.0.1:${old.port}` }]);
    for (let i = 0; i < 200; i++) {
      a.transport.send([heartbeat("a", "b", i)]);
      if (i % 4 === 0) await tick();
    }
    await waitFor("200 messages", () => b.received.length === 200);
    expect(commitsOf(b.received)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const s = peerStats(a.transport, "b");
    expect(s).toMatchObject({ streamState: "posts", sessions: 1, droppedMessages: 0 });
    expect(s.sentBatches).toBeGreaterThan(1);
    expect(b.transport.stats().received.a).toMatchObject({ streams: 0, messages: 200 });
  });
});

describe("message stream liveness", () => {
  test("a peer that accepts the stream but stops reading is torn down; the queue stays bounded and other peers are unaffected", async () => {
    const b = await startNode("b");
    // Answers 200 like a real peer, then never reads a byte: flow control backs the sender up.
    const deaf = Bun.serve({
      http2: true,
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("open\n")) }), { status: 200 }),
    });
    servers.push(deaf);
    const a = await startNode("a", { limits: { messageTimeoutMs: 300, maxQueuedMessages: 40 } });
    a.transport.setPeers([
      { id: "b", raftAddr: b.addr },
      { id: "deaf", raftAddr: `127.0.0.1:${deaf.port}` },
    ]);
    const payload = bytesOf(256 * 1024, 1);
    const append = (to: string, i: number): Message => ({
      type: "append",
      from: "a",
      to,
      term: 1,
      prevIndex: i,
      prevTerm: 1,
      commit: 0,
      entries: [{ type: "normal", term: 1, index: i + 1, data: payload }],
    });
    for (let i = 0; i < 100; i++) {
      a.transport.send([append("deaf", i), heartbeat("a", "b", i)]);
      await Bun.sleep(2);
      expect(peerStats(a.transport, "deaf").queuedMessages).toBeLessThanOrEqual(40);
    }
    await waitFor("the deaf peer's session to be torn down", () => peerStats(a.transport, "deaf").errors > 0);
    const s = peerStats(a.transport, "deaf");
    expect(s.lastError).toContain("not drained");
    expect(s.droppedMessages).toBeGreaterThan(0);
    await waitFor("b to get everything", () => b.received.length === 100);
    expect(commitsOf(b.received)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(peerStats(a.transport, "b")).toMatchObject({ errors: 0, droppedMessages: 0 });
  });

  test("a quiet link notices a peer that went silent (keepalive + ping)", async () => {
    const b = await startNode("b");
    const proxy = await startTcpProxy({ hostname: "127.0.0.1", port: b.transport.port });
    proxies.push(proxy);
    const a = await startNode("a", { limits: { messageTimeoutMs: 300, streamKeepaliveMs: 50, backoffMaxMs: 50 } });
    a.transport.setPeers([{ id: "b", raftAddr: `127.0.0.1:${proxy.port}` }]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("first delivery", () => b.received.length === 1);
    proxy.stall();
    // Nothing more is sent: only the keepalives and pings can find out.
    await waitFor("the silent peer to be noticed", () => peerStats(a.transport, "b").errors > 0);
    expect(peerStats(a.transport, "b").lastError).toContain("ping");
  });

  test("a healthy link outlives many stall deadlines, busy and idle", async () => {
    const b = await startNode("b");
    const a = await startNode("a", { limits: { messageTimeoutMs: 100, streamKeepaliveMs: 20 } });
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    for (let i = 0; i < 200; i++) {
      a.transport.send([heartbeat("a", "b", i)]);
      await Bun.sleep(2);
    }
    await Bun.sleep(600); // idle: keepalives and pings only
    a.transport.send([heartbeat("a", "b", 200)]);
    await waitFor("every message", () => b.received.length === 201);
    expect(peerStats(a.transport, "b")).toMatchObject({ sessions: 1, streams: 1, errors: 0, lastError: null });
  });

  test("an idle stream carries keepalive frames that the receiver skips", async () => {
    const b = await startNode("b");
    const proxy = await startTcpProxy({ hostname: "127.0.0.1", port: b.transport.port });
    proxies.push(proxy);
    const a = await startNode("a", { limits: { streamKeepaliveMs: 20 } });
    a.transport.setPeers([{ id: "b", raftAddr: `127.0.0.1:${proxy.port}` }]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("first delivery", () => b.received.length === 1);
    const before = proxy.bytesUp();
    await waitFor("keepalives on the wire", () => proxy.bytesUp() >= before + 10 * KEEPALIVE_FRAME.length);
    a.transport.send([heartbeat("a", "b", 2)]);
    await waitFor("delivery after idling", () => b.received.length === 2);
    expect(b.transport.stats().received.a).toMatchObject({ streams: 1, batches: 2, rejected: 0 });
    expect(peerStats(a.transport, "b")).toMatchObject({ streams: 1, errors: 0 });
  });
});
