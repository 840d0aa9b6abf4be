import { describe, expect, test } from "bun:test";
import { decodeEntries, decodeEntry, encodeEntries, encodeEntry, EntryDecodeError } from "../../src/storage/entry-codec.ts";
import type { Entry } from "../../src/raft/types.ts";

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

const samples: Entry[] = [
  { type: "normal", term: 1, index: 1, data: new Uint8Array(0) },
  { type: "normal", term: 7, index: 300, data: allBytes },
  { type: "normal", term: 2 ** 53 - 1, index: 2 ** 53 - 1, data: new TextEncoder().encode("INSERT INTO t VALUES (?)") },
  { type: "noop", term: 0, index: 0 },
  { type: "noop", term: 128, index: 16384 },
  { type: "conf", term: 3, index: 9, change: { op: "add-voter", member: { id: "n4", region: "ams", raftAddr: "10.0.0.4:7001", httpAddr: "http://10.0.0.4:8001" } } },
  { type: "conf", term: 3, index: 10, change: { op: "add-learner", member: { id: "n5", region: "iad" } } },
  { type: "conf", term: 3, index: 11, change: { op: "promote", id: "n5" } },
  { type: "conf", term: 4, index: 12, change: { op: "remove", id: "n1" } },
];

describe("entry codec", () => {
  test.each(samples.map((e) => [`${e.type}@${e.index}`, e] as const))("round-trips %s", (_name, e) => {
    const bytes = encodeEntry(e);
    expect(decodeEntry(bytes)).toEqual(e);
  });

  test("is compact: a small entry costs a few bytes beyond its data", () => {
    expect(encodeEntry({ type: "noop", term: 5, index: 100 }).length).toBe(3);
    expect(encodeEntry({ type: "normal", term: 5, index: 100_000, data: new Uint8Array(100) }).length).toBe(1 + 1 + 3 + 100);
  });

  test("normal data round-trips as a view without copying", () => {
    const bytes = encodeEntry({ type: "normal", term: 1, index: 1, data: allBytes });
    const e = decodeEntry(bytes);
    if (e.type !== "normal") throw new Error("wrong type");
    expect(e.data.buffer).toBe(bytes.buffer);
  });

  test("sequences round-trip, including an empty one", () => {
    expect(decodeEntries(encodeEntries(samples))).toEqual(samples);
    expect(decodeEntries(encodeEntries([]))).toEqual([]);
  });

  test("refuses terms and indexes that are not non-negative safe integers", () => {
    expect(() => encodeEntry({ type: "noop", term: -1, index: 1 })).toThrow(RangeError);
    expect(() => encodeEntry({ type: "noop", term: 1, index: 1.5 })).toThrow(RangeError);
    expect(() => encodeEntry({ type: "noop", term: 2 ** 53, index: 1 })).toThrow(RangeError);
  });

  const conf = (json: string) => {
    const head = encodeEntry({ type: "noop", term: 1, index: 1 });
    const body = new TextEncoder().encode(json);
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out[0] = 3;
    out.set(body, head.length);
    return out;
  };

  test.each([
    ["empty input", new Uint8Array(0)],
    ["unknown tag", Uint8Array.of(9, 1, 1)],
    ["truncated varint", Uint8Array.of(1, 0x80, 0x80)],
    ["overlong varint", Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1)],
    ["noop with payload", Uint8Array.of(2, 1, 1, 0)],
    ["conf that is not JSON", conf("{nope")],
    ["conf with an unknown op", conf(JSON.stringify({ op: "explode", id: "n1" }))],
    ["conf add-voter without region", conf(JSON.stringify({ op: "add-voter", member: { id: "n1" } }))],
    ["conf that is not UTF-8", Uint8Array.of(3, 1, 1, 0xff, 0xfe)],
  ])("rejects %s", (_name, bytes) => {
    expect(() => decodeEntry(bytes)).toThrow(EntryDecodeError);
  });

  test("rejects malformed sequences", () => {
    const good = encodeEntries(samples.slice(0, 3));
    expect(() => decodeEntries(good.subarray(0, good.length - 1))).toThrow(EntryDecodeError);
    const trailing = new Uint8Array(good.length + 1);
    trailing.set(good);
    expect(() => decodeEntries(trailing)).toThrow(EntryDecodeError);
    expect(() => decodeEntries(Uint8Array.of(0xff, 0xff, 0x03, 1, 2, 3))).toThrow(EntryDecodeError);
  });
});
