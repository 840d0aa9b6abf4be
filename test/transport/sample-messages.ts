import type { Entry, Membership, Message } from "../../src/raft/types.ts";

export const membership: Membership = {
  members: [
    { id: "n1", role: "voter", region: "ams", raftAddr: "n1.vm.app.internal:7001", httpAddr: "http://n1:8001" },
    { id: "n2", role: "voter", region: "ams" },
    { id: "nœud-3", role: "learner", region: "iad", raftAddr: "[::1]:7003" },
  ],
};

export function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export const entries: Entry[] = [
  { type: "normal", term: 3, index: 11, data: bytesOf(100, 1) },
  { type: "noop", term: 4, index: 12 },
  { type: "conf", term: 4, index: 13, change: { op: "add-voter", member: { id: "n4", region: "fra", raftAddr: "n4:7004" } } },
  { type: "conf", term: 4, index: 14, change: { op: "add-learner", member: { id: "n5", region: "fra", httpAddr: "http://n5" } } },
  { type: "conf", term: 4, index: 15, change: { op: "promote", id: "n5" } },
  { type: "conf", term: 4, index: 16, change: { op: "remove", id: "n2" } },
  { type: "normal", term: 4, index: 17, data: new Uint8Array(0) },
];

/** One of every message type, with edge values (0, -1, 2^53-1, unicode, empty and null ctx). */
export function everyMessageType(from = "n1", to = "n2"): Message[] {
  return [
    { type: "append", from, to, term: 4, prevIndex: 10, prevTerm: 3, entries, commit: 9 },
    { type: "append", from, to, term: 0, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 },
    { type: "append-resp", from, to, term: 4, index: 17, reject: false, hintIndex: 0, hintTerm: 0 },
    { type: "append-resp", from, to, term: Number.MAX_SAFE_INTEGER, index: 5, reject: true, hintIndex: 4, hintTerm: 2 },
    { type: "vote", from, to, term: 5, pre: true, lastIndex: 17, lastTerm: 4, transfer: false },
    { type: "vote", from, to, term: 6, pre: false, lastIndex: 17, lastTerm: 4, transfer: true },
    { type: "vote-resp", from, to, term: 6, pre: false, granted: true },
    { type: "vote-resp", from, to, term: 6, pre: true, granted: false },
    { type: "heartbeat", from, to, term: 6, commit: 17, ctx: null },
    { type: "heartbeat", from, to, term: 6, commit: 17, ctx: "read-42-ü" },
    { type: "heartbeat-resp", from, to, term: 6, ctx: "" },
    { type: "heartbeat-resp", from, to, term: 6, ctx: null },
    { type: "snapshot", from, to, term: 6, meta: { index: 1000, term: 5, membership } },
    { type: "timeout-now", from, to, term: 6 },
    { type: "read-index", from, to, term: 6, ctx: "c1" },
    { type: "read-index-resp", from, to, term: 6, ctx: "c1", index: 17 },
    { type: "read-index-resp", from, to, term: 6, ctx: "c2", index: -1 },
  ];
}
