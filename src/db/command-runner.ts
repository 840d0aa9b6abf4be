/**
 * Applies one Command through a WriteSession: `statements` stop at the first
 * error (rolling everything back with `transaction`), `batch` steps run when
 * their conditions hold and their errors are results.
 */
import type { Command, CommandOutcome, StatementResult, StepOutcome } from "./command.ts";
import type { SqlConnection } from "./sql-connection.ts";
import { conditionHolds } from "./step-condition.ts";
import { needsEntrySavepoint, TransactionLost, type WriteSession } from "./write-session.ts";

const ENTRY_SAVEPOINT = "_quorumlite_entry";

/** Thrown when SQLite rolled back the enclosing transaction; carries what the command's outcome is then. */
export class CommandRolledBack extends Error {
  constructor(
    readonly outcome: CommandOutcome,
    readonly lost: TransactionLost,
  ) {
    super(lost.message);
    this.name = "CommandRolledBack";
  }
}

/**
 * Runs `cmd` as one unit inside the writer's open transaction. A single
 * statement is atomic on its own (SQLite's statement journal), so only
 * longer commands get a savepoint of their own.
 */
export function runCommand(session: WriteSession, conn: SqlConnection, cmd: Command): CommandOutcome {
  const statements = cmd.kind === "statements" ? cmd.statements : cmd.steps.map((s) => s.stmt);
  const framed = needsEntrySavepoint(statements);
  session.begin(cmd.stamp, statements);
  if (framed) conn.run(`SAVEPOINT ${ENTRY_SAVEPOINT}`);
  const steps: (StepOutcome | null)[] = [];
  const results: StatementResult[] = [];
  try {
    let outcome: CommandOutcome;
    if (cmd.kind === "statements") {
      outcome = { kind: "statements", ok: true, results };
      for (let i = 0; i < cmd.statements.length; i++) {
        const step = session.execute(cmd.statements[i]!);
        steps.push(step);
        if (!step.ok) {
          if (cmd.transaction && framed) {
            conn.run(`ROLLBACK TO ${ENTRY_SAVEPOINT}`);
            session.forgetTransaction();
          }
          outcome = { kind: "statements", ok: false, results: cmd.transaction ? [] : results, error: { ...step.error, statementIndex: i } };
          break;
        }
        results.push(step.result);
      }
    } else {
      for (const { stmt, condition } of cmd.steps) {
        steps.push(condition === undefined || conditionHolds(condition, steps, session.isAutocommit()) ? session.execute(stmt) : null);
      }
      outcome = { kind: "batch", steps };
    }
    session.finish();
    if (framed) conn.run(`RELEASE ${ENTRY_SAVEPOINT}`);
    return outcome;
  } catch (e) {
    if (!(e instanceof TransactionLost)) throw e;
    const failed = steps.length;
    if (cmd.kind === "statements") {
      throw new CommandRolledBack({ kind: "statements", ok: false, results: [], error: { ...e.error, statementIndex: failed } }, e);
    }
    const all: (StepOutcome | null)[] = [...steps, { ok: false, error: e.error }];
    while (all.length < cmd.steps.length) all.push(null);
    throw new CommandRolledBack({ kind: "batch", steps: all }, e);
  }
}
