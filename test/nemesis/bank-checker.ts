/**
 * Jepsen's bank check: money moves between accounts only inside transactions,
 * so every read of all balances (one SELECT, one snapshot) must add up to the
 * same total, and no transfer may overdraw an account — a transfer reads the
 * balance and only moves what is there, so a negative balance means two
 * transactions interleaved. A half-applied transfer, a lost or repeated one,
 * or a read of a torn state breaks the total.
 */
import { ViolationList, type Finding } from "./violation-list.ts";

export interface BankRead {
  readonly balances: readonly number[];
  readonly at: number;
  /** Which node (or client) answered, for the report. */
  readonly via: string;
}

export type BankViolation = Finding<"wrong-total" | "negative-balance" | "wrong-accounts" | "replicas-diverge">;

export interface BankHistory {
  readonly accounts: number;
  readonly total: number;
  readonly reads: readonly BankRead[];
  /** Each replica's balances at the end, once every node has applied the same index. */
  readonly finalBalances: ReadonlyMap<string, readonly number[]>;
}

export function checkBank(h: BankHistory): BankViolation[] {
  const found = new ViolationList<BankViolation["kind"]>();
  const report = found.add;
  const checkState = (balances: readonly number[], what: string) => {
    if (balances.length !== h.accounts) {
      report("wrong-accounts", `${what} has ${balances.length} accounts, not ${h.accounts}`);
      return;
    }
    const sum = balances.reduce((a, b) => a + b, 0);
    if (sum !== h.total) report("wrong-total", `${what} adds up to ${sum}, not ${h.total}: [${balances.join(", ")}]`);
    if (balances.some((b) => b < 0)) report("negative-balance", `${what} has an overdrawn account: [${balances.join(", ")}]`);
  };
  for (const r of h.reads) checkState(r.balances, `a read at ${r.via} (${r.at.toFixed(0)} ms)`);
  const finals = [...h.finalBalances];
  for (const [node, balances] of finals) checkState(balances, `${node} at the end`);
  if (finals.length > 1) {
    const [firstNode, first] = finals[0]!;
    for (const [node, balances] of finals.slice(1)) {
      if (balances.join(",") !== first.join(",")) report("replicas-diverge", `${node} ends with [${balances.join(", ")}], ${firstNode} with [${first.join(", ")}]`);
    }
  }
  return found.list();
}
