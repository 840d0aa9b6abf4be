/**
 * What the API layer (POST /sql, Hrana) asks of a running node. The node
 * decides where the work runs: writes go through the Raft log on the leader
 * (forwarded there by a follower), reads run locally at the requested level.
 */
import type { Durability } from "../raft/types.ts";
import type { BatchStep, Command, CommandOutcome, Stamp, Statement, StepOutcome } from "../db/command.ts";

/** rqlite's read levels. */
export type ReadLevel = "none" | "weak" | "linearizable" | "strong";

/** A write as the API hands it over: the leader adds the stamp. */
export type CommandInput = Command extends infer C ? (C extends { stamp: Stamp } ? Omit<C, "stamp"> : never) : never;

export interface WriteOptions {
  readonly durability?: Durability;
  /** Abort if not committed and applied within this many ms (default: node's write timeout). */
  readonly timeoutMs?: number;
}

export interface ReadOptions {
  readonly level: ReadLevel;
  /** With level "none": refuse unless this node heard from the leader within this many ms. */
  readonly freshnessMs?: number;
  /** Serve only once this node has applied at least this index (read-your-writes). */
  readonly bookmark?: number;
  readonly timeoutMs?: number;
}

export interface Applied<T> {
  readonly outcome: T;
  /** Raft index the result reflects: for writes the entry's index, for reads the applied index read at. */
  readonly bookmark: number;
}

/** An interactive transaction: runs on the leader holding the write lock; commits as one log entry. */
export interface InteractiveTx {
  readonly id: string;
  execute(stmt: Statement): Promise<StepOutcome>;
  /** True while inside BEGIN … COMMIT as far as SQLite's autocommit flag goes. */
  isAutocommit(): boolean;
  commit(options?: WriteOptions): Promise<Applied<CommandOutcome>>;
  rollback(): Promise<void>;
}

export interface SqlService {
  write(cmd: CommandInput, options?: WriteOptions): Promise<Applied<CommandOutcome>>;
  /** Read-only work; a write statement inside is refused with ServiceError("not-read-only"). */
  read(steps: readonly BatchStep[], options: ReadOptions): Promise<Applied<CommandOutcome & { kind: "batch" }>>;
  /** True when every statement is read-only (uses SQLite's own sqlite3_stmt_readonly via a prepare). */
  isReadOnly(sql: string): boolean;
  /**
   * Only on the leader (throws ServiceError("not-leader") elsewhere). Other writers queue until it ends.
   * `signal`: the client's request; if it goes away while the BEGIN waits for the write lock, the BEGIN
   * gives up rather than take the lock for nobody.
   */
  beginInteractive(options: { readonly idleTimeoutMs: number; readonly signal?: AbortSignal }): Promise<InteractiveTx>;
}

export type ServiceErrorCode =
  | "not-leader"
  | "no-leader"
  | "timeout"
  | "not-read-only"
  | "stale"
  | "shutting-down"
  | "tx-expired"
  | "bad-request";

/** Errors the API maps to HTTP statuses (503 + Retry-After for no-leader/timeout, 400 for bad-request …). */
export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly leaderHttp: string | null = null,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}
