/** One Hrana stream: the state a libSQL connection would hold between requests. */
import { randomBytes } from "node:crypto";
import type { InteractiveTx } from "../../node/sql-service.ts";

/** Where the stream stands with respect to SQLite's autocommit flag. */
export type StreamTx =
  | { readonly kind: "none" }
  /** BEGIN … READONLY (or any BEGIN with a read-only token): statements are reads at the stream's level. */
  | { readonly kind: "read"; readonly savepoints: string[]; readonly startedBySavepoint: boolean }
  /**
   * A write transaction on the leader; `savepoints` mirrors SQLite's savepoint
   * stack inside it (as savepointKey()s: SQLite still finds the savepoint by one).
   */
  | {
      readonly kind: "write";
      readonly tx: InteractiveTx;
      readonly savepoints: string[];
      /** Started by SAVEPOINT outside a transaction: releasing that outermost savepoint commits. */
      readonly startedBySavepoint: boolean;
    };

export class HranaStream {
  readonly id: string = randomBytes(16).toString("hex");
  /** The sequence number the next baton must carry; starts random so batons of different streams never coincide. */
  seq: bigint = randomBytes(8).readBigUInt64BE(0);
  readonly sqls = new Map<number, string>();
  tx: StreamTx = { kind: "none" };
  /** Held by a request in progress: a second request with the same baton is a replay. */
  acquired = true;
  /** A `close` request ran: later requests in the same pipeline fail, and no baton is returned. */
  closed = false;
  idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** Highest Raft index this stream has seen: its later reads wait for it (read-your-writes). */
  bookmark = 0;

  get isAutocommit(): boolean {
    return this.tx.kind === "none";
  }
}
