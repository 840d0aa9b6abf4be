/**
 * Moves SQLite's WAL checkpoints off the commit path. By default a COMMIT that
 * takes the WAL past wal_autocheckpoint pages runs the checkpoint itself —
 * copying pages into the database file and fsyncing it — so every few
 * hundred writes one commit (a follower's persist before its ack, a leader's
 * apply before its answer) stalled for milliseconds: the p99 of a 1-client
 * run. Here a Worker thread, with connections of its own, runs PASSIVE
 * checkpoints once as many frames wait as SQLite's own threshold: they never wait for the writers and the
 * writers never wait for them, and SQLite restarts the WAL at the next write
 * once everything is copied. The writers' own auto-checkpoint stays on as a
 * safety net with a threshold this keeps them from reaching
 * (BACKGROUND_AUTOCHECKPOINT_PAGES).
 *
 * Durability is SQLite's: the checkpoint connection runs synchronous=NORMAL,
 * so the WAL is synced before and the database file after each checkpoint,
 * before the WAL may be reused.
 */

/** wal_autocheckpoint for writer connections while a WalCheckpointer runs: a fallback, not the plan. */
export const BACKGROUND_AUTOCHECKPOINT_PAGES = 16_384;

export interface CheckpointerStats {
  readonly checkpoints: number;
  readonly lastError: string | null;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private stats_: CheckpointerStats = { checkpoints: 0, lastError: null };

  /** Checkpoints a database every `intervalMs` in which it has `minFrames` WAL frames not yet copied (SQLite's default threshold: 1000). */
  constructor(paths: readonly string[], intervalMs = 50, minFrames = 1000) {
    this.worker = new Worker(new URL("./wal-checkpointer-worker.ts", import.meta.url).href);
    this.worker.onmessage = (e: MessageEvent<CheckpointerStats>) => void (this.stats_ = e.data);
    this.worker.postMessage({ paths, intervalMs, minFrames });
    this.worker.unref();
  }

  stats(): CheckpointerStats {
    return this.stats_;
  }

  close(): void {
    this.worker.terminate();
  }
}
