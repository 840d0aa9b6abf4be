/**
 * Hrana batch conditions in the Hrana layer. Evaluation itself is the state
 * machine's `conditionHolds` (one evaluator for batches run step by step here
 * and batches applied through the log); this adds the stream-state rewrite.
 */
import type { StepCondition } from "../../db/command.ts";

const TRUE: StepCondition = { type: "and", conds: [] };
const FALSE: StepCondition = { type: "or", conds: [] };

/**
 * Replaces `is_autocommit` with a constant. Valid for a batch without
 * transaction-control statements, where the flag cannot change mid-batch and
 * only the Hrana layer knows its value (the stream's transaction state).
 */
export function fixAutocommit(c: StepCondition, isAutocommit: boolean): StepCondition {
  switch (c.type) {
    case "is_autocommit":
      return isAutocommit ? TRUE : FALSE;
    case "not":
      return { type: "not", cond: fixAutocommit(c.cond, isAutocommit) };
    case "and":
    case "or":
      return { type: c.type, conds: c.conds.map((x) => fixAutocommit(x, isAutocommit)) };
    default:
      return c;
  }
}
