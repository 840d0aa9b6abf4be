import { describe, expect, test } from "bun:test";
import { ArrivalOrder } from "../../src/transport/arrival-order.ts";
import { waitFor } from "./transport-harness.ts";

describe("ArrivalOrder", () => {
  test("completions run in arrival order whatever order they finish in", () => {
    const order = new ArrivalOrder(10_000);
    const ran: number[] = [];
    const slots = [order.enter(), order.enter(), order.enter(), order.enter()];
    order.finish(slots[2]!, () => ran.push(2));
    order.finish(slots[1]!, () => ran.push(1));
    expect(ran).toEqual([]);
    order.finish(slots[0]!, () => ran.push(0));
    expect(ran).toEqual([0, 1, 2]);
    order.finish(slots[3]!, () => ran.push(3));
    expect(ran).toEqual([0, 1, 2, 3]);
    expect(order.waiting).toBe(0);
  });

  test("a slot that never finishes is skipped after maxWaitMs, and runs at once if it finishes later", async () => {
    const order = new ArrivalOrder(30);
    const ran: string[] = [];
    const stuck = order.enter();
    const next = order.enter();
    order.finish(next, () => ran.push("next"));
    expect(ran).toEqual([]);
    await waitFor("the stuck slot to be skipped", () => ran.length === 1);
    expect(ran).toEqual(["next"]);
    order.finish(stuck, () => ran.push("stuck"));
    expect(ran).toEqual(["next", "stuck"]);
    expect(order.waiting).toBe(0);
  });
});
