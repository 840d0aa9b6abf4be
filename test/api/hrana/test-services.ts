/** The SqlService implementations the Hrana tests run against. */
import type { SqlValue } from "../../../src/db/command.ts";
import type { SqlService } from "../../../src/node/sql-service.ts";
import { SqliteSqlService, type CallRecord } from "./sqlite-sql-service.ts";
import { StateMachineSqlService } from "./state-machine-sql-service.ts";

export interface TestService extends SqlService {
  readonly calls: CallRecord[];
  readonly lastIndex: number;
  readonly openTransactions: number;
  query(sql: string): SqlValue[][];
  abortTransactions(): void;
  close(): void;
}

export const SERVICES: readonly (readonly [string, () => TestService])[] = [
  ["bun:sqlite service", () => new SqliteSqlService()],
  ["src/db state machine", () => new StateMachineSqlService()],
];
