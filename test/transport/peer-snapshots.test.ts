import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotMsg } from "../../src/raft/types.ts";
import { PeerRequestError } from "../../src/transport/peer-transport.ts";
import { encodeSnapshotPreamble } from "../../src/transport/snapshot-framing.ts";
import { membership } from "./sample-messages.ts";
import { heartbeat, peerStats, startNode, stopAll, waitFor } from "./transport-harness.ts";

const MiB = 1024 * 1024;
let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ql-transport-snap-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

function snapMsg(from = "a", to = "b"): SnapshotMsg {
  return { type: "snapshot", from, to, term: 12, meta: { index: 123_456, term: 11, membership } };
}

async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const fh = await open(path, "w");
  const hash = createHash("sha256");
  const chunk = new Uint8Array(MiB);
  for (let off = 0; off < bytes; off += chunk.length) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    for (let i = 65536; i < chunk.length; i += 65536) chunk.copyWithin(i, 0, 65536);
    chunk[0] = off / MiB; // no two chunks alike
    const part = chunk.subarray(0, Math.min(chunk.length, bytes - off));
    await fh.write(part);
    hash.update(part);
  }
  await fh.close();
  return hash.digest("hex");
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

/** Peak RSS growth while `run` executes, sampled every 10 ms. */
async function peakRssGrowth(run: () => Promise<void>): Promise<number> {
  Bun.gc(true);
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage().rss) - base;
}

describe("snapshot streaming", () => {
  test("a 64 MiB file arrives byte for byte on the receiver's disk, with its message", async () => {
    const src = join(dir, "src-64.db");
    const digest = await writeRandomFile(src, 64 * MiB + 12345);
    const dst = join(dir, "dst-64.db");
    const got: SnapshotMsg[] = [];
    const b = await startNode("b", {
      onSnapshot: async (from, msg, data) => {
        got.push(msg);
        const out = createWriteStream(dst);
        for await (const chunk of data) if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
        await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
        expect(from).toBe("a");
      },
    });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    await a.transport.sendSnapshot(snapMsg(), src);
    expect(got).toEqual([snapMsg()]);
    expect(await hashFile(dst)).toBe(digest);
    expect(peerStats(a.transport, "b")).toMatchObject({ snapshotsSent: 1, snapshotBytesSent: 64 * MiB + 12345 });
    expect(b.transport.stats().received.a?.snapshots).toBe(1);
  }, 60_000);

  // 256 MiB by default to keep the suite fast; QL_SNAPSHOT_TEST_MIB=1024 (or more) for the GB-sized run.
  const sparseMiB = Number(process.env.QL_SNAPSHOT_TEST_MIB ?? 256);
  test(`a ${sparseMiB} MiB (sparse) file streams through with bounded memory`, async () => {
    const src = join(dir, "sparse.db");
    const size = sparseMiB * MiB;
    const markers = [0, Math.floor(size / 3) + 7, size - 1];
    const fh = await open(src, "w");
    await fh.truncate(size);
    for (const [i, off] of markers.entries()) await fh.write(new Uint8Array([i + 1]), 0, 1, off);
    await fh.close();

    let received = 0;
    const seen: number[] = [];
    const b = await startNode("b", {
      onSnapshot: async (_from, _msg, data) => {
        for await (const chunk of data) {
          for (const off of markers) if (off >= received && off < received + chunk.length) seen.push(chunk[off - received]!);
          received += chunk.length;
        }
      },
    });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    const growth = await peakRssGrowth(() => a.transport.sendSnapshot(snapMsg(), src));
    expect(received).toBe(size);
    expect(seen).toEqual([1, 2, 3]);
    // Both ends live in this process; buffering the file anywhere would show up as ≥ its size.
    expect(growth).toBeLessThan(96 * MiB);
  }, 120_000);

  test("a slow receiver throttles the sender (flow control) and heartbeats keep flowing meanwhile", async () => {
    const src = join(dir, "src-slow.db");
    await writeRandomFile(src, 32 * MiB);
    let consumed = 0;
    let heartbeatsDuringUpload = 0;
    const b = await startNode("b", {
      onSnapshot: async (_from, _msg, data) => {
        let sinceNap = 0;
        for await (const chunk of data) {
          consumed += chunk.length;
          sinceNap += chunk.length;
          if (sinceNap >= 256 * 1024) {
            sinceNap = 0;
            await Bun.sleep(5);
          }
        }
        heartbeatsDuringUpload = b.received.length;
      },
    });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    let uploaded = false;
    let maxAhead = 0;
    const upload = a.transport.sendSnapshot(snapMsg(), src).then(() => {
      uploaded = true;
    });
    let n = 0;
    while (!uploaded) {
      a.transport.send([heartbeat("a", "b", n++)]);
      maxAhead = Math.max(maxAhead, peerStats(a.transport, "b").snapshotBytesSent - consumed);
      await Bun.sleep(5);
    }
    await upload;
    expect(consumed).toBe(32 * MiB);
    expect(heartbeatsDuringUpload).toBeGreaterThan(0);
    // The sender never runs far ahead of what the receiver has taken: HTTP/2 windows plus a chunk or two.
    expect(maxAhead).toBeLessThan(8 * MiB);
  }, 60_000);

  test("a stream cut short is reported to the receiver as an error, never as a complete file", async () => {
    let outcome = "";
    const b = await startNode("b", {
      onSnapshot: async (_from, _msg, data) => {
        try {
          for await (const _ of data) {
            // drain
          }
          outcome = "complete";
        } catch (e) {
          outcome = `error: ${(e as Error).message}`;
          throw e;
        }
      },
    });
    const preamble = encodeSnapshotPreamble(snapMsg("x", "b"), 1000);
    const status = await new Promise<number>((resolve, reject) => {
      const session = connect(`http://${b.addr}`);
      session.on("error", reject);
      const stream = session.request({ ":method": "POST", ":path": "/raft/snapshot", "x-quorumlite-secret": "test-secret", "x-quorumlite-from": "x" });
      stream.on("response", (h) => {
        resolve(Number(h[":status"]));
        session.close();
      });
      stream.on("error", reject);
      stream.write(preamble);
      stream.end(new Uint8Array(10));
    });
    expect(status).toBe(400);
    expect(outcome).toContain("truncated: 10 of 1000 bytes");
  });

  test("an upload aborted by the sender fails on both sides", async () => {
    const src = join(dir, "src-abort.db");
    await writeRandomFile(src, 32 * MiB);
    let outcome = "";
    let started = false;
    const b = await startNode("b", {
      onSnapshot: async (_from, _msg, data) => {
        started = true;
        try {
          for await (const _ of data) await Bun.sleep(5);
          outcome = "complete";
        } catch (e) {
          outcome = "error";
          throw e;
        }
      },
    });
    const a = await startNode("a");
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    const upload = a.transport.sendSnapshot(snapMsg(), src).then(
      () => null,
      (e: unknown) => e,
    );
    await waitFor("the upload to start", () => started);
    await a.transport.stop();
    expect(await upload).toMatchObject({ kind: "closed" });
    await waitFor("the receiver to notice", () => outcome !== "");
    expect(outcome).toBe("error");
  });

  test("refusals and bad arguments reject with a typed error", async () => {
    const src = join(dir, "small.db");
    await Bun.write(src, "tiny snapshot");
    const b = await startNode("b", {
      onSnapshot: async (_from, msg, data) => {
        if (msg.meta.index === 1) throw new Error("disk full");
        if (msg.meta.index === 2) return; // without reading the data
        for await (const _ of data) {
          // drain
        }
      },
    });
    const a = await startNode("a");
    const intruder = await startNode("c", { clusterSecret: "guess" });
    a.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    intruder.transport.setPeers([{ id: "b", raftAddr: b.addr }]);
    const withIndex = (index: number): SnapshotMsg => ({ ...snapMsg(), meta: { ...snapMsg().meta, index } });

    const failed = await a.transport.sendSnapshot(withIndex(1), src).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PeerRequestError);
    expect(failed).toMatchObject({ kind: "status", status: 500 });
    expect((failed as Error).message).toContain("disk full");
    await expect(a.transport.sendSnapshot(withIndex(2), src)).rejects.toMatchObject({ kind: "status", status: 500 });
    await expect(intruder.transport.sendSnapshot(snapMsg("c", "b"), src)).rejects.toMatchObject({ kind: "status", status: 401 });
    await expect(a.transport.sendSnapshot(snapMsg(), join(dir, "missing.db"))).rejects.toMatchObject({ kind: "invalid" });
    await expect(a.transport.sendSnapshot(snapMsg("a", "zz"), src)).rejects.toMatchObject({ kind: "unknown-peer" });
    await expect(a.transport.sendSnapshot(snapMsg("q", "b"), src)).rejects.toMatchObject({ kind: "invalid" });
    await a.transport.sendSnapshot(withIndex(3), src);
  });
});
