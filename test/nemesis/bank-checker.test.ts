import { describe, expect, test } from "bun:test";
import { checkBank, type BankHistory } from "./bank-checker.ts";

const history = (over: Partial<BankHistory>): BankHistory => ({
  accounts: 3,
  total: 300,
  reads: [
    { balances: [100, 100, 100], at: 1, via: "n1" },
    { balances: [70, 130, 100], at: 2, via: "n2" },
  ],
  finalBalances: new Map([
    ["n1", [0, 200, 100]],
    ["n2", [0, 200, 100]],
  ]),
  ...over,
});
const kinds = (h: BankHistory) => checkBank(h).map((v) => v.kind);

describe("checkBank", () => {
  test("balances that keep the total, with an emptied account, pass", () => {
    expect(checkBank(history({}))).toEqual([]);
  });

  test("catches a read of a half-applied transfer", () => {
    expect(checkBank(history({ reads: [{ balances: [70, 100, 100], at: 5, via: "n3" }] }))).toEqual([
      { kind: "wrong-total", detail: "a read at n3 (5 ms) adds up to 270, not 300: [70, 100, 100]" },
    ]);
  });

  test("catches an overdrawn account even when the total holds", () => {
    expect(kinds(history({ reads: [{ balances: [-10, 210, 100], at: 5, via: "n1" }] }))).toEqual(["negative-balance"]);
  });

  test("catches a transfer lost or applied twice at the end, and replicas that differ", () => {
    expect(kinds(history({ finalBalances: new Map([["n1", [0, 230, 100]], ["n2", [0, 200, 100]]]) }))).toEqual(["wrong-total", "replicas-diverge"]);
  });

  test("catches a missing account", () => {
    expect(kinds(history({ reads: [{ balances: [150, 150], at: 5, via: "n1" }] }))).toEqual(["wrong-accounts"]);
  });
});
