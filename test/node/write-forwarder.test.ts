/**
 * WriteForwarder: a write that finds a free slot leaves at once; writes that
 * queue while the slots are busy share one write-batch RPC and still get
 * their own answers; a leader without the batch RPC gets them one by one.
 */
import { describe, expect, test } from "bun:test";
import { decodeRpc, errorReply, replyOk, type RpcReply } from "../../src/node/peer-rpc.ts";
import { ServiceError, type CommandInput } from "../../src/node/sql-service.ts";
import { toTaggedJson } from "../../src/node/tagged-json.ts";
import { WriteForwarder, writesOfBatch, type LeaderCall } from "../../src/node/write-forwarder.ts";

const insert = (n: number): CommandInput => ({ kind: "statements", statements: [{ sql: "INSERT INTO t VALUES (?)", args: [BigInt(n)] }], transaction: false });
const applied = (n: number) => ({ outcome: { kind: "statements", ok: true, results: [] }, bookmark: n });
const encodeReply = (r: RpcReply) => (r.ok ? replyOk(r.value) : new TextEncoder().encode(JSON.stringify(r)));

interface Call {
  readonly path: string;
  readonly decoded: unknown;
  readonly timeoutMs: number;
}

/**
 * A leader that answers the write of value n with bookmark n and refuses
 * n = 13. While held, calls wait for release(): writes queue behind them.
 */
function fakeLeader(opts: { batch?: boolean; fail?: string } = {}) {
  const calls: Call[] = [];
  let held: Promise<void> | null = null;
  let release = () => {};
  const answer = (w: { cmd: CommandInput }): RpcReply => {
    const n = Number((w.cmd as unknown as { statements: { args: bigint[] }[] }).statements[0]!.args[0]);
    return n === 13 ? errorReply(new ServiceError("bad-request", "thirteen")) : { ok: true, value: applied(n) };
  };
  const call: LeaderCall = async (path, body, timeoutMs) => {
    const decoded = decodeRpc(body);
    calls.push({ path, decoded, timeoutMs });
    if (held) await held;
    if (opts.fail) throw new ServiceError("no-leader", opts.fail);
    if (path === "write-batch") {
      if (opts.batch === false) return { status: 404, body: encodeReply(errorReply(new ServiceError("bad-request", "unknown rpc write-batch"))) };
      return { status: 200, body: replyOk(writesOfBatch(decoded).map(answer)) };
    }
    return { status: 200, body: encodeReply(answer(decoded as { cmd: CommandInput })) };
  };
  return {
    call,
    calls,
    hold: () => {
      held = new Promise((r) => (release = r));
    },
    release: () => {
      held = null;
      release();
    },
  };
}

const settle = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: Error) => ({ ok: false as const, e }));

describe("WriteForwarder", () => {
  test("writes that queue behind a busy slot travel in one batch; each gets its own answer or error, exact values intact", async () => {
    const leader = fakeLeader();
    const f = new WriteForwarder(leader.call, { maxInFlight: 1 });
    leader.hold();
    const results = [0, 1, 2, 13, 4].map((n) => settle(f.write(insert(n), { durability: "majority" }, 1000 + n)));
    leader.release();
    const settled = await Promise.all(results);
    expect(leader.calls.map((c) => c.path)).toEqual(["write", "write-batch"]);
    expect(leader.calls[1]!.timeoutMs).toBe(1013);
    expect(writesOfBatch(leader.calls[1]!.decoded).map((w) => w.cmd)).toEqual([1, 2, 13, 4].map(insert));
    expect(settled.map((r) => (r.ok ? r.v.bookmark : r.e.message))).toEqual([0, 1, 2, "thirteen", 4]);
    const failed = settled[3]!;
    expect(!failed.ok && failed.e instanceof ServiceError && failed.e.code).toBe("bad-request");
  });

  test("writes of different durability never share a batch: a sync=all write does not hold majority writes up", async () => {
    const leader = fakeLeader();
    const f = new WriteForwarder(leader.call, { maxInFlight: 1 });
    leader.hold();
    const all = [
      f.write(insert(0), {}, 100),
      f.write(insert(1), { durability: "majority" }, 100),
      f.write(insert(2), { durability: "all" }, 100),
      f.write(insert(3), {}, 100),
      f.write(insert(4), { durability: "all" }, 100),
    ];
    leader.release();
    expect((await Promise.all(all)).map((a) => a.bookmark)).toEqual([0, 1, 2, 3, 4]);
    const batches = leader.calls.slice(1).map((c) => writesOfBatch(c.decoded).map((w) => [w.options.durability ?? "majority", w.cmd]));
    expect(batches).toEqual([
      [["majority", insert(1)], ["majority", insert(3)]],
      [["all", insert(2)], ["all", insert(4)]],
    ]);
  });

  test("a write that finds a free slot goes at once, as the plain write RPC with the body it always had", async () => {
    const leader = fakeLeader();
    const f = new WriteForwarder(leader.call);
    const a = f.write(insert(7), {}, 500);
    expect(leader.calls).toEqual([{ path: "write", decoded: { cmd: insert(7), options: {} }, timeoutMs: 500 }]);
    expect((await a).bookmark).toBe(7);
    // Two slots by default: a second concurrent write does not wait either.
    await Promise.all([f.write(insert(8), {}, 500), f.write(insert(9), {}, 500)]);
    expect(leader.calls.map((c) => c.path)).toEqual(["write", "write", "write"]);
  });

  test("a leader without the batch RPC (404) gets the writes one by one, and later ones too for a while", async () => {
    const leader = fakeLeader({ batch: false });
    let now = 0;
    const f = new WriteForwarder(leader.call, { maxInFlight: 1, singleModeMs: 1000, now: () => now });
    const burst = async (ns: number[]) => {
      leader.hold();
      const all = Promise.all(ns.map((n) => f.write(insert(n), {}, 100)));
      leader.release();
      return (await all).map((a) => a.bookmark);
    };
    expect(await burst([1, 2, 3])).toEqual([1, 2, 3]);
    expect(leader.calls.map((c) => c.path)).toEqual(["write", "write-batch", "write", "write"]);
    expect(await burst([4, 5, 6])).toEqual([4, 5, 6]);
    expect(leader.calls.slice(4).map((c) => c.path)).toEqual(["write", "write", "write"]);
    now = 1001;
    expect(await burst([7, 8, 9])).toEqual([7, 8, 9]);
    expect(leader.calls.slice(7).map((c) => c.path)).toEqual(["write", "write-batch", "write", "write"]);
  });

  test("an unreachable leader fails every write, batched or not, with the transport's error", async () => {
    const leader = fakeLeader({ fail: "leader n1 unreachable: reset" });
    const f = new WriteForwarder(leader.call, { maxInFlight: 1 });
    leader.hold();
    const results = [1, 2, 3].map((n) => settle(f.write(insert(n), {}, 100)));
    leader.release();
    const settled = await Promise.all(results);
    expect(leader.calls.map((c) => c.path)).toEqual(["write", "write-batch"]);
    expect(settled.map((r) => (r.ok ? "ok" : `${(r.e as ServiceError).code}: ${r.e.message}`))).toEqual(Array(3).fill("no-leader: leader n1 unreachable: reset"));
  });

  test("a batch stops growing at maxBatchBytes; the rest goes in the next RPC", async () => {
    const leader = fakeLeader();
    const one = toTaggedJson({ cmd: insert(1), options: {} }).length;
    const f = new WriteForwarder(leader.call, { maxInFlight: 1, maxBatchBytes: one * 2 + 10 });
    leader.hold();
    const answers = Promise.all([0, 1, 2, 3, 4, 5].map((n) => f.write(insert(n), {}, 100)));
    leader.release();
    expect((await answers).map((a) => a.bookmark)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(leader.calls.map((c) => (c.path === "write" ? 1 : writesOfBatch(c.decoded).length))).toEqual([1, 2, 2, 1]);
  });
});
