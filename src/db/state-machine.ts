/**
 * The SQL state machine: applies committed Raft entries to the application's
 * SQLite database (bun:sqlite, WAL), answers reads, hosts interactive
 * transactions' scratch work, and makes and installs snapshots.
 *
 * Apply is deterministic on every replica (see deterministic-functions.ts)
 * and exactly-once: the applied index is written in the same SQLite
 * transaction as the entries' effects, so a crash either keeps an entry and
 * its index or neither; request ids make client retries exactly-once too
 * (Raft thesis §6.3).
 */
import { Database } from "bun:sqlite";
import type { BatchStep, Command, CommandOutcome, Stamp } from "./command.ts";
import { CommandRolledBack, runCommand } from "./command-runner.ts";
import { CommandClock, installDeterministicFunctions } from "./deterministic-functions.ts";
import { createInternalSchema, readAppliedIndex, writeAppliedIndex } from "./internal-schema.ts";
import { isReadOnlySql, readBatch } from "./read-session.ts";
import { RequestLog } from "./request-log.ts";
import { ScratchTransaction, type Scratch } from "./scratch-transaction.ts";
import { fsyncPathAsync } from "../storage/durable-files.ts";
import { copyDatabaseFileOffThread, installDatabaseFile, readSnapshotIndex } from "./snapshot-file.ts";
import { SqlConnection } from "./sql-connection.ts";
import { StateMachineFault } from "./sqlite-errors.ts";
import { WriteSession } from "./write-session.ts";

export interface StateMachineOptions {
  /**
   * synchronous=FULL (default): every apply transaction is fsynced. With
   * false (NORMAL), a power loss may take back the last applied transactions
   * — index and data together — which is safe only while the Raft log still
   * holds every entry after the last durable snapshot.
   */
  readonly fsync?: boolean;
  /** How many recent request ids to remember (default 10,000). */
  readonly requestIdCapacity?: number;
  /** Prepared statements kept per connection (default 512). */
  readonly statementCacheSize?: number;
  /**
   * wal_autocheckpoint of the writer, in pages (default SQLite's 1000; 0 turns
   * it off). With a background checkpointer on this file (storage's
   * WalCheckpointer), a high value keeps the checkpoint's copy and fsync out
   * of apply, where it stalls the node's event loop for milliseconds every
   * few hundred entries; the writer's own checkpoint is then only a fallback.
   */
  readonly autoCheckpointPages?: number;
}

export interface ApplyEntry {
  readonly index: number;
  /** null: a no-op or configuration entry, which only advances the applied index. */
  readonly command: Command | null;
}

interface Connections {
  readonly writer: SqlConnection;
  readonly reader: SqlConnection;
  readonly session: WriteSession;
  readonly requests: RequestLog;
  readonly releaseFunctions: () => void;
}

function openConnections(path: string, opts: Required<StateMachineOptions>, clock: CommandClock): Connections {
  const writerDb = new Database(path, { create: true, readwrite: true, safeIntegers: true });
  const writer = new SqlConnection(writerDb, opts.statementCacheSize);
  try {
    writerDb.run("PRAGMA busy_timeout = 5000");
    writerDb.run(`PRAGMA synchronous = ${opts.fsync ? "FULL" : "NORMAL"}`);
    const mode = writer.query("PRAGMA journal_mode = WAL")[0]?.[0];
    if (typeof mode !== "string" || mode.toLowerCase() !== "wal") throw new Error(`cannot put ${path} in WAL mode (got ${String(mode)})`);
    writerDb.run("PRAGMA journal_size_limit = 67108864");
    writerDb.run(`PRAGMA wal_autocheckpoint = ${opts.autoCheckpointPages}`);
    // Settings that change what SQL does are pinned, not left to the build's defaults:
    // every replica must run every statement the same way.
    writerDb.run("PRAGMA foreign_keys = OFF");
    writerDb.run("PRAGMA recursive_triggers = OFF");
    writerDb.run("PRAGMA trusted_schema = ON");
    createInternalSchema(writer);
  } catch (e) {
    writer.close();
    throw e;
  }
  const releaseFunctions = installDeterministicFunctions(writerDb, clock);
  const readerDb = new Database(path, { readonly: true, safeIntegers: true });
  readerDb.run("PRAGMA busy_timeout = 5000");
  readerDb.run("PRAGMA foreign_keys = OFF");
  readerDb.run("PRAGMA recursive_triggers = OFF");
  readerDb.run("PRAGMA trusted_schema = ON");
  const reader = new SqlConnection(readerDb, opts.statementCacheSize);
  return {
    writer,
    reader,
    session: new WriteSession(writer, clock),
    requests: new RequestLog(writer, opts.requestIdCapacity),
    releaseFunctions,
  };
}

export class StateMachine {
  private conns: Connections | null;
  private applied: number;
  private scratch: ScratchTransaction | null = null;
  private readonly clock = new CommandClock();
  /** writeSnapshot copies in progress (each settles, never rejects). */
  private readonly copies = new Set<Promise<void>>();

  private constructor(
    readonly path: string,
    private readonly opts: Required<StateMachineOptions>,
  ) {
    this.conns = openConnections(path, opts, this.clock);
    this.applied = readAppliedIndex(this.conns.writer);
  }

  static open(path: string, opts: StateMachineOptions = {}): StateMachine {
    const autoCheckpointPages = opts.autoCheckpointPages ?? 1000;
    if (!Number.isSafeInteger(autoCheckpointPages) || autoCheckpointPages < 0) throw new RangeError(`autoCheckpointPages must be a whole number ≥ 0, got ${autoCheckpointPages}`);
    return new StateMachine(path, {
      fsync: opts.fsync ?? true,
      requestIdCapacity: opts.requestIdCapacity ?? 10_000,
      statementCacheSize: opts.statementCacheSize ?? 512,
      autoCheckpointPages,
    });
  }

  private get c(): Connections {
    if (this.conns === null) throw new Error("state machine is closed");
    return this.conns;
  }

  private assertOpen(): void {
    if (this.conns === null) throw new Error("state machine is closed");
  }

  appliedIndex(): number {
    return this.applied;
  }

  /**
   * Applies committed entries in one SQLite transaction, a savepoint per
   * multi-statement entry, and records the last index in the same
   * transaction. Entries at or below appliedIndex() are skipped (null); the
   * rest must follow it without gaps. Returns each entry's outcome (null for
   * skipped and command-less entries).
   *
   * Throws StateMachineFault when this machine cannot apply (disk full, I/O
   * error): nothing of the call is kept, and the caller may retry later.
   */
  applyEntries(entries: readonly ApplyEntry[]): (CommandOutcome | null)[] {
    const c = this.c;
    const outcomes: (CommandOutcome | null)[] = entries.map(() => null);
    const todo: number[] = [];
    let expected = this.applied + 1;
    entries.forEach((e, i) => {
      if (e.index <= this.applied) return;
      if (e.index !== expected) throw new Error(`entry index ${e.index} does not follow ${expected - 1}`);
      expected++;
      todo.push(i);
    });
    if (todo.length === 0) return outcomes;
    const scratch = this.scratch;
    scratch?.suspend();
    try {
      this.applyInTransactions(c, entries, todo, outcomes);
    } finally {
      scratch?.resume();
    }
    return outcomes;
  }

  private applyInTransactions(c: Connections, entries: readonly ApplyEntry[], todo: readonly number[], outcomes: (CommandOutcome | null)[]): void {
    let from = 0;
    while (from < todo.length) {
      let k = from;
      try {
        c.writer.run("BEGIN IMMEDIATE");
        for (; k < todo.length; k++) outcomes[todo[k]!] = this.applyOne(c, entries[todo[k]!]!);
        this.commit(c, entries[todo[todo.length - 1]!]!.index);
        return;
      } catch (e) {
        if (c.writer.db.inTransaction) c.writer.run("ROLLBACK");
        if (!(e instanceof CommandRolledBack)) throw e;
        // SQLite rolled back the whole transaction (RAISE(ROLLBACK), ON CONFLICT ROLLBACK)
        // while entry k ran. Entries before it are applied again — deterministic, so with the
        // same outcomes — and committed; entry k counts as applied with nothing kept.
        if (k > from) {
          c.writer.run("BEGIN IMMEDIATE");
          try {
            for (let j = from; j < k; j++) outcomes[todo[j]!] = this.applyOne(c, entries[todo[j]!]!);
            this.commit(c, entries[todo[k - 1]!]!.index);
          } catch (again) {
            if (c.writer.db.inTransaction) c.writer.run("ROLLBACK");
            throw again instanceof CommandRolledBack
              ? new StateMachineFault("re-applying entries after a rollback gave a different result", { code: "SQLITE_INTERNAL", message: again.message })
              : again;
          }
        }
        const entry = entries[todo[k]!]!;
        c.writer.run("BEGIN IMMEDIATE");
        try {
          if (entry.command?.requestId !== undefined) {
            c.requests.remember(entry.command.requestId, entry.index, e.outcome);
            c.session.touchedRowid();
          }
          this.commit(c, entry.index);
        } catch (again) {
          if (c.writer.db.inTransaction) c.writer.run("ROLLBACK");
          throw again;
        }
        outcomes[todo[k]!] = e.outcome;
        from = k + 1;
      }
    }
  }

  private commit(c: Connections, index: number): void {
    writeAppliedIndex(c.writer, index);
    c.writer.run("COMMIT");
    this.applied = index;
  }

  private applyOne(c: Connections, entry: ApplyEntry): CommandOutcome | null {
    const cmd = entry.command;
    if (cmd === null) return null;
    if (cmd.requestId !== undefined) {
      const earlier = c.requests.lookup(cmd.requestId);
      if (earlier !== null) return earlier;
    }
    const outcome = runCommand(c.session, c.writer, cmd);
    if (cmd.requestId !== undefined) {
      c.requests.remember(cmd.requestId, entry.index, outcome);
      c.session.touchedRowid();
    }
    return outcome;
  }

  /**
   * Runs read-only steps on the reader connection, which sees committed data
   * only (as of appliedIndex(): apply is synchronous). Throws
   * NotReadOnlyError, before running anything, if a step would write.
   */
  read(steps: readonly BatchStep[]): CommandOutcome & { kind: "batch" } {
    return readBatch(this.c.reader, steps);
  }

  /** True when every statement of `sql` is read-only by SQLite's sqlite3_stmt_readonly() (see isReadOnlySql). */
  isReadOnly(sql: string): boolean {
    return isReadOnlySql(this.c.reader, sql);
  }

  /**
   * Opens an interactive transaction's scratch space on the writer (one at a
   * time). Its statements see the stamp's 'now' and PRNG, as the command
   * proposed afterwards will. The caller always rolls it back.
   */
  beginScratch(stamp: Stamp): Scratch {
    const c = this.c;
    if (this.scratch !== null) throw new Error("an interactive transaction is already open");
    const scratch = new ScratchTransaction(c.writer, c.session, stamp, () => {
      if (this.scratch === scratch) this.scratch = null;
    });
    this.scratch = scratch;
    return scratch;
  }

  /**
   * Writes a consistent copy of the committed database to `toPath` (atomic
   * replace, fsynced) and returns the applied index it reflects. Bounded
   * memory (VACUUM INTO), on a thread of its own: the writer and the event
   * loop stay free meanwhile.
   */
  async writeSnapshot(toPath: string): Promise<{ appliedIndex: number }> {
    this.assertOpen();
    const copy = copyDatabaseFileOffThread(this.path, toPath);
    const settled = copy.then(
      () => {},
      () => {},
    );
    this.copies.add(settled);
    try {
      return await copy;
    } finally {
      this.copies.delete(settled);
    }
  }

  /** Resolves once no writeSnapshot copy is reading the database file: restoreSnapshot replaces that file. */
  async snapshotCopiesSettled(): Promise<void> {
    while (this.copies.size > 0) await Promise.all(this.copies);
  }

  /**
   * Replaces the whole database with the snapshot file at `fromPath` (which
   * is moved into place) and reopens it; appliedIndex() becomes the
   * snapshot's. An open scratch is aborted. A snapshot older than what is
   * applied is refused (StaleSnapshotError) and the database left as it is:
   * applied entries are never undone.
   */
  restoreSnapshot(fromPath: string): void {
    this.assertOpen();
    // A copy still reading the old file would get it swapped (and its -wal removed) under it.
    if (this.copies.size > 0) throw new Error("a snapshot copy is still reading the database; await snapshotCopiesSettled() first");
    const index = readSnapshotIndex(fromPath);
    if (index < this.applied) throw new StaleSnapshotError(index, this.applied);
    this.scratch?.abort("the database was replaced by a snapshot");
    this.closeConnections();
    installDatabaseFile(fromPath, this.path);
    this.conns = openConnections(this.path, this.opts, this.clock);
    this.applied = readAppliedIndex(this.conns.writer);
    if (this.applied !== index) throw new Error(`snapshot applied index changed from ${index} to ${this.applied}`);
  }

  /**
   * Makes every applied entry durable, so that the Raft log may drop entries
   * up to appliedIndex() even with `fsync: false`. With synchronous=NORMAL,
   * SQLite syncs the database file after each completed checkpoint, and
   * committed transactions not yet checkpointed sit in the WAL: fsyncing both
   * files covers everything committed, without taking any SQLite lock (an
   * open scratch or a snapshot copy cannot block it). The fsyncs run off the
   * event loop: under a batch load they took milliseconds, every couple of
   * seconds, on a node's only JS thread. What counts is what was applied
   * when this was called: later applies may or may not be covered.
   */
  async checkpoint(): Promise<void> {
    this.assertOpen();
    // No WAL (never written, or a snapshot install removed it meanwhile): nothing is waiting in one.
    const wal = fsyncPathAsync(`${this.path}-wal`).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    await Promise.all([fsyncPathAsync(this.path), wal]);
  }

  private closeConnections(): void {
    const c = this.conns;
    if (c === null) return;
    this.conns = null;
    if (c.writer.db.inTransaction) c.writer.run("ROLLBACK");
    c.reader.close();
    c.writer.close();
    c.releaseFunctions();
  }

  close(): void {
    this.scratch?.abort("the state machine was closed");
    this.scratch = null;
    this.closeConnections();
  }
}

/** A snapshot whose data is older than what the database has already applied. */
export class StaleSnapshotError extends Error {
  override readonly name = "StaleSnapshotError";
  constructor(
    readonly snapshotIndex: number,
    readonly appliedIndex: number,
  ) {
    super(`snapshot holds data up to index ${snapshotIndex}, but index ${appliedIndex} is already applied`);
  }
}
