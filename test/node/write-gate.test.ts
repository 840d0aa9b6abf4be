import { describe, expect, test } from "bun:test";
import { WriteGate } from "../../src/node/write-gate.ts";

const soon = (ms: number) => Date.now() + ms;

describe("WriteGate", () => {
  test("plain writes pass a free gate; a holder makes them wait until release", async () => {
    const gate = new WriteGate();
    await gate.pass(soon(100));
    await gate.acquire("tx1", soon(100));
    let passed = false;
    const p = gate.pass(soon(1_000)).then(() => (passed = true));
    await Bun.sleep(20);
    expect(passed).toBe(false);
    gate.release("tx1");
    await p;
    expect(passed).toBe(true);
  });

  test("a wait ends at its deadline with a retryable timeout, and nothing is taken", async () => {
    const gate = new WriteGate();
    await gate.acquire("tx1", soon(100));
    await expect(gate.pass(soon(30))).rejects.toMatchObject({ code: "timeout", message: expect.stringContaining("held the write lock") });
    await expect(gate.acquire("tx2", soon(30))).rejects.toMatchObject({ code: "timeout" });
    gate.release("tx1");
    expect(gate.held).toBe(false);
  });

  test("a BEGIN whose client went away leaves the queue: the next waiter gets the gate, not it", async () => {
    const gate = new WriteGate();
    await gate.acquire("tx1", soon(100));
    const gone = new AbortController();
    const abandoned = gate.acquire("tx2", soon(5_000), gone.signal);
    const next = gate.acquire("tx3", soon(5_000));
    gone.abort();
    await expect(abandoned).rejects.toMatchObject({ code: "timeout", message: expect.stringContaining("client went away") });
    gate.release("tx1");
    await next;
    gate.release("tx2"); // not the holder: no effect
    expect(gate.held).toBe(true);
    gate.release("tx3");
    expect(gate.held).toBe(false);
  });

  test("an already aborted BEGIN does not take even a free gate", async () => {
    const gate = new WriteGate();
    await expect(gate.acquire("tx1", soon(100), AbortSignal.abort())).rejects.toMatchObject({ code: "timeout" });
    expect(gate.held).toBe(false);
  });
});
