/**
 * Decides whether a batch can run as one command (one read, or one Raft log
 * entry), or must run step by step through the stream's transaction state.
 */
import type { StepCondition } from "../../db/command.ts";
import type { TxControl } from "../../db/sql-statements.ts";

export interface PlannedStep {
  readonly control: TxControl | null;
  readonly condition?: StepCondition;
}

/**
 * True when the batch ends outside a transaction on every path, so the state
 * machine can apply it whole (translating BEGIN/COMMIT/ROLLBACK to
 * savepoints) without the stream holding a transaction afterwards. That is
 * the case with no transaction control at all, or when the last
 * transaction-control step is a ROLLBACK that runs unconditionally or
 * whenever a COMMIT did not succeed — the shape @libsql/client's `batch()`
 * and `migrate()` send: BEGIN, steps, COMMIT if ok, ROLLBACK if not ok(COMMIT).
 */
export function endsInAutocommit(steps: readonly PlannedStep[]): boolean {
  let last = -1;
  steps.forEach((s, i) => {
    if (s.control !== null) last = i;
  });
  if (last < 0) return true;
  const final = steps[last]!;
  if (final.control?.op !== "rollback") return false;
  const c = final.condition;
  if (c === undefined) return true;
  return c.type === "not" && c.cond.type === "ok" && steps[c.cond.step]?.control?.op === "commit";
}
