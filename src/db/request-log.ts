/**
 * Client request ids and the outcome each produced, so that a request a
 * client retries (after a timeout or a leader change) returns the first
 * outcome instead of running twice (Raft thesis §6.3). Bounded to the last
 * `capacity` ids; lives in the application database, so it changes in the
 * same transaction as the data and is identical on every replica.
 */
import type { CommandOutcome } from "./command.ts";
import { REQUESTS_TABLE } from "./internal-schema.ts";
import { decodeOutcome, encodeOutcome } from "./outcome-codec.ts";
import type { SqlConnection } from "./sql-connection.ts";

export class RequestLog {
  constructor(
    private readonly conn: SqlConnection,
    private readonly capacity: number,
  ) {
    if (!(capacity >= 1)) throw new RangeError("request id capacity must be at least 1");
  }

  lookup(id: string): CommandOutcome | null {
    const rows = this.conn.query(`SELECT outcome FROM ${REQUESTS_TABLE} WHERE id = ?`, id);
    const blob = rows[0]?.[0];
    return blob instanceof Uint8Array ? decodeOutcome(blob) : null;
  }

  remember(id: string, entryIndex: number, outcome: CommandOutcome): void {
    this.conn.run(`INSERT INTO ${REQUESTS_TABLE} (id, entry_index, outcome) VALUES (?, ?, ?)`, id, entryIndex, encodeOutcome(outcome));
    // seq only grows (the newest row is never deleted), so the oldest ids are the lowest seqs.
    this.conn.run(`DELETE FROM ${REQUESTS_TABLE} WHERE seq <= (SELECT max(seq) FROM ${REQUESTS_TABLE}) - ?`, this.capacity);
  }
}
