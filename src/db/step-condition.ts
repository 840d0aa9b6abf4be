/** Hrana batch conditions, evaluated against the outcomes of earlier steps (HRANA_2_SPEC "Batches"). */
import type { StepCondition, StepOutcome } from "./command.ts";

/**
 * `ok`/`error` hold when the referenced step ran and succeeded/failed; a step
 * that was skipped or is not earlier than the current one satisfies neither.
 */
export function conditionHolds(c: StepCondition, steps: readonly (StepOutcome | null)[], isAutocommit: boolean): boolean {
  switch (c.type) {
    case "ok":
      return steps[c.step]?.ok === true;
    case "error":
      return steps[c.step]?.ok === false;
    case "not":
      return !conditionHolds(c.cond, steps, isAutocommit);
    case "and":
      return c.conds.every((sub) => conditionHolds(sub, steps, isAutocommit));
    case "or":
      return c.conds.some((sub) => conditionHolds(sub, steps, isAutocommit));
    case "is_autocommit":
      return isAutocommit;
  }
}
