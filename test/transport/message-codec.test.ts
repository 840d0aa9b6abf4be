import { describe, expect, test } from "bun:test";
import type { Entry, Message } from "../../src/raft/types.ts";
import { decodeMessages, encodeMessages } from "../../src/transport/message-codec.ts";
import { WireFormatError } from "../../src/transport/wire-format-error.ts";
import { bytesOf, entries, everyMessageType } from "./sample-messages.ts";

function expectWireError(f: () => unknown): void {
  let thrown: unknown = null;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(WireFormatError);
}

describe("message codec", () => {
  test("every message type round-trips exactly", () => {
    const msgs = everyMessageType();
    expect(decodeMessages(encodeMessages(msgs))).toEqual(msgs);
    expect(decodeMessages(encodeMessages([]))).toEqual([]);
  });

  test("messages between many nodes share one string table", () => {
    const msgs = [...everyMessageType("a", "b"), ...everyMessageType("b", "a"), ...everyMessageType("ñ-3", "a")];
    expect(decodeMessages(encodeMessages(msgs))).toEqual(msgs);
  });

  test("big entries travel as raw bytes", () => {
    const big: Entry[] = [];
    for (let i = 0; i < 50; i++) big.push({ type: "normal", term: 7, index: 101 + i, data: bytesOf(64 * 1024 + i, i + 1) });
    big.push({ type: "normal", term: 7, index: 151, data: bytesOf(8 * 1024 * 1024, 99) });
    const msg: Message = { type: "append", from: "n1", to: "n2", term: 7, prevIndex: 100, prevTerm: 6, entries: big, commit: 100 };
    const wire = encodeMessages([msg]);
    const payload = big.reduce((n, e) => n + (e.type === "normal" ? e.data.length : 0), 0);
    // Raw bytes: overhead is a handful of bytes per entry, not base64's 33%.
    expect(wire.length).toBeLessThan(payload + 64 * big.length);
    expect(decodeMessages(wire)).toEqual([msg]);
  });

  test("every truncation of a valid batch is rejected with WireFormatError", () => {
    const wire = encodeMessages(everyMessageType());
    for (let n = 0; n < wire.length; n++) expectWireError(() => decodeMessages(wire.subarray(0, n)));
  });

  test("corrupted bytes never escape as anything but WireFormatError", () => {
    const wire = encodeMessages(everyMessageType());
    let rejected = 0;
    for (let i = 0; i < wire.length; i++) {
      for (const v of [0x00, 0xff, wire[i]! ^ 0x01, 0x80]) {
        const bad = wire.slice();
        bad[i] = v;
        try {
          decodeMessages(bad);
        } catch (e) {
          expect(e).toBeInstanceOf(WireFormatError);
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(wire.length);
  });

  test("structural garbage is rejected", () => {
    const good = encodeMessages(everyMessageType());
    expectWireError(() => decodeMessages(new Uint8Array([1, 2, 3, 4])));
    expectWireError(() => decodeMessages(Uint8Array.of(0x51, 0x4d, 2, 0, 0))); // unknown version
    expectWireError(() => decodeMessages(new Uint8Array([...good, 0]))); // trailing byte
    // A message count far larger than the bytes that follow must not allocate.
    expectWireError(() => decodeMessages(Uint8Array.of(0x51, 0x4d, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f)));
    // An over-long varint.
    expectWireError(() => decodeMessages(Uint8Array.of(0x51, 0x4d, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)));
    // Invalid UTF-8 in a node id.
    expectWireError(() => decodeMessages(Uint8Array.of(0x51, 0x4d, 1, 1, 2, 0xc3, 0x28, 0)));
  });

  test("AppendEntries with a gap or a term going backwards is rejected", () => {
    const base = { type: "append", from: "n1", to: "n2", term: 5, prevIndex: 10, prevTerm: 3, commit: 0 } as const;
    const gap: Message = { ...base, entries: [{ type: "noop", term: 5, index: 11 }, { type: "noop", term: 5, index: 13 }] };
    const backwards: Message = { ...base, entries: [{ type: "noop", term: 4, index: 11 }, { type: "noop", term: 3, index: 12 }] };
    const future: Message = { ...base, entries: [{ type: "noop", term: 6, index: 11 }] };
    const beforePrev: Message = { ...base, entries: [{ type: "noop", term: 2, index: 11 }] };
    for (const m of [gap, backwards, future, beforePrev]) expectWireError(() => decodeMessages(encodeMessages([m])));
  });

  test("the encoder refuses values the decoder would refuse", () => {
    const hb = (term: number): Message => ({ type: "heartbeat", from: "n1", to: "n2", term, commit: 0, ctx: null });
    for (const t of [-1, 1.5, Number.NaN, 2 ** 53, Infinity]) expectWireError(() => encodeMessages([hb(t)]));
    expectWireError(() => encodeMessages([{ type: "timeout-now", from: "", to: "n2", term: 1 }]));
    expectWireError(() => encodeMessages([{ type: "read-index-resp", from: "a", to: "b", term: 1, ctx: "", index: -2 }]));
    expectWireError(() => encodeMessages([{ type: "bogus", from: "a", to: "b", term: 1 } as unknown as Message]));
  });
});
