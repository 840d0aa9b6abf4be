import { afterEach, describe, expect, test } from "bun:test";
import type { Entry, Message } from "../../src/raft/types.ts";
import { bytesOf, everyMessageType } from "./sample-messages.ts";
import { commitsOf, heartbeat, peerStats, startNode, stopAll, waitFor } from "./transport-harness.ts";

afterEach(stopAll);

describe("raft messages over HTTP/2", () => {
  test("every message type round-trips in both directions, big entries included", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    b.transport.setPeers([{ id: "a", raftAddr: a.addr }]);

    const big: Entry[] = [];
    for (let i = 0; i < 20; i++) big.push({ type: "normal", term: 9, index: 501 + i, data: bytesOf(256 * 1024 + i, i + 7) });
    big.push({ type: "normal", term: 9, index: 521, data: bytesOf(16 * 1024 * 1024, 3) });
    const bigAppend: Message = { type: "append", from: "a", to: "b", term: 9, prevIndex: 500, prevTerm: 8, entries: big, commit: 499 };

    const toB = [...everyMessageType("a", "b"), bigAppend];
    const toA = everyMessageType("b", "a");
    a.transport.send(toB);
    b.transport.send(toA);
    await waitFor("both sides to receive", () => b.received.length === toB.length && a.received.length === toA.length, 10_000);
    expect(b.received).toEqual(toB);
    expect(a.received).toEqual(toA);
  });

  test("messages sent in one tick travel in one frame", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    const msgs = Array.from({ length: 1000 }, (_, i) => heartbeat("a", "b", i));
    for (const m of msgs) a.transport.send([m]);
    await waitFor("1000 messages", () => b.received.length === 1000);
    expect(commitsOf(b.received)).toEqual(commitsOf(msgs));
    expect(peerStats(a.transport, "b")).toMatchObject({ sentMessages: 1000, sentBatches: 1 });
    expect(b.transport.stats().received.a).toMatchObject({ messages: 1000, batches: 1 });
  });

  test("batches of very different sizes arrive in the order they were sent", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    // Batches of very different sizes finish out of order on the server unless delivery is sequenced.
    const total = 3000;
    const sent: number[] = [];
    for (let i = 0; i < total; i++) {
      const m: Message =
        i % 50 === 0
          ? { type: "append", from: "a", to: "b", term: 2, prevIndex: i, prevTerm: 2, commit: i, entries: [{ type: "normal", term: 2, index: i + 1, data: bytesOf(512 * 1024, i + 1) }] }
          : heartbeat("a", "b", i);
      a.transport.send([m]);
      sent.push(i);
      if (i % 3 === 0) await new Promise((r) => setImmediate(r)); // separate ticks → separate POSTs
    }
    await waitFor("all batches", () => b.received.length === total, 15_000);
    const order = b.received.map((m) => (m.type === "heartbeat" ? m.commit : m.type === "append" ? m.prevIndex : -1));
    expect(order).toEqual(sent);
    const s = peerStats(a.transport, "b");
    expect(s.sentBatches).toBeGreaterThan(100);
    expect(s.droppedMessages).toBe(0);
  });

  test("simulated latency delays each batch and keeps per-link order", async () => {
    let delay = 120;
    const a = await startNode("a", { delayMs: (to) => (to === "b" ? delay : 0) });
    const b = await startNode("b");
    const c = await startNode("c");
    a.transport.setPeers([
      { id: "b", raftAddr: b.addr },
      { id: "c", raftAddr: c.addr },
    ]);
    const t0 = performance.now();
    let arrivedB = 0;
    let arrivedC = 0;
    a.transport.send([heartbeat("a", "b", 0), heartbeat("a", "c", 0)]);
    // The configured delay shrinks: later batches must still not overtake the first one.
    delay = 0;
    a.transport.send([heartbeat("a", "c", 1)]);
    await Promise.resolve();
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("c", () => c.received.length === 2 && (arrivedC ||= performance.now()) > 0);
    await waitFor("b", () => b.received.length === 2 && (arrivedB ||= performance.now()) > 0);
    expect(arrivedB - t0).toBeGreaterThanOrEqual(119);
    expect(commitsOf(b.received)).toEqual([0, 1]);
    expect(arrivedC).toBeLessThan(arrivedB); // the other link is not held back
  });

  test("messages to unknown peers or to itself are dropped and counted, never thrown", async () => {
    const a = await startNode("a");
    a.transport.setPeers([{ id: "a", raftAddr: a.addr }]);
    expect(() => a.transport.send([heartbeat("a", "zz", 1), heartbeat("a", "a", 1)])).not.toThrow();
    expect(a.transport.stats().unroutable).toBe(2);
    expect(a.transport.stats().peers).toEqual([]);
  });

  test("setPeers re-targets a link whose address changed and closes removed ones", async () => {
    const a = await startNode("a");
    const b1 = await startNode("b");
    const b2 = await startNode("b");
    a.transport.setPeers([{ id: "b", raftAddr: b1.addr }]);
    a.transport.send([heartbeat("a", "b", 1)]);
    await waitFor("first address", () => b1.received.length === 1);
    a.transport.setPeers([{ id: "b", raftAddr: b2.addr }]);
    a.transport.send([heartbeat("a", "b", 2)]);
    await waitFor("second address", () => b2.received.length === 1);
    expect(commitsOf(b2.received)).toEqual([2]);
    a.transport.setPeers([]);
    a.transport.send([heartbeat("a", "b", 3)]);
    expect(a.transport.stats().unroutable).toBe(1);
  });
});
