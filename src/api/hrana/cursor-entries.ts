/** A batch's outcomes as Hrana 3 cursor entries (HRANA_3_SPEC.md "Cursor entries"). */
import type { StepOutcome } from "../../db/command.ts";
import { encodeCols, encodeRow, encodeRowid, encodeSqlError } from "./encode.ts";
import type { CursorEntry, WireError } from "./protocol.ts";

export function* cursorEntries(
  outcomes: readonly (StepOutcome | null)[] | WireError,
  wantRows: readonly boolean[],
): Generator<CursorEntry> {
  if (!Array.isArray(outcomes)) {
    yield { type: "error", error: outcomes as WireError };
    return;
  }
  for (let step = 0; step < outcomes.length; step++) {
    const o = outcomes[step] as StepOutcome | null;
    if (o === null) continue;
    if (!o.ok) {
      yield { type: "step_error", step, error: encodeSqlError(o.error) };
      continue;
    }
    const r = o.result;
    yield { type: "step_begin", step, cols: encodeCols(r) };
    if (wantRows[step] ?? true) for (const row of r.rows) yield { type: "row", row: encodeRow(row) };
    yield { type: "step_end", affected_row_count: r.rowsAffected, last_insert_rowid: encodeRowid(r) };
  }
}
