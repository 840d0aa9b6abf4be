/** Hrana batch conditions, for batches the Hrana layer runs step by step itself. */
import type { StepCondition, StepOutcome } from "../../db/command.ts";

export function evalCondition(c: StepCondition, outcomes: readonly (StepOutcome | null)[], isAutocommit: boolean): boolean {
  switch (c.type) {
    case "ok":
      return outcomes[c.step]?.ok === true;
    case "error":
      return outcomes[c.step]?.ok === false;
    case "not":
      return !evalCondition(c.cond, outcomes, isAutocommit);
    case "and":
      return c.conds.every((x) => evalCondition(x, outcomes, isAutocommit));
    case "or":
      return c.conds.some((x) => evalCondition(x, outcomes, isAutocommit));
    case "is_autocommit":
      return isAutocommit;
  }
}

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
