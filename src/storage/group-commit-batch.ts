/**
 * Turns the writes of every persist()/compact() queued since the last commit
 * into the ops of one transaction, preserving their combined effect:
 * consecutive entry appends merge into one packed run (a later append at an
 * existing index cuts the run there, as it would cut the log), only the last
 * hard state is kept (they all land in the same commit), and snapshot ops stay
 * in place as barriers because they delete rows.
 */
import type { WriteOp } from "./log-write-batch.ts";

export interface EncodedEntry {
  readonly index: number;
  readonly term: number;
  /** encodeEntry() output. */
  readonly body: Uint8Array;
}

export type StagedOp =
  | Extract<WriteOp, { kind: "snapshot" | "hardState" }>
  | { readonly kind: "entries"; readonly entries: readonly EncodedEntry[] };

function pack(run: readonly EncodedEntry[]): WriteOp {
  let size = 0;
  for (const e of run) size += e.body.length;
  const bytes = new Uint8Array(size);
  const terms = new Float64Array(run.length);
  const ends = new Uint32Array(run.length);
  let off = 0;
  for (let i = 0; i < run.length; i++) {
    bytes.set(run[i].body, off);
    off += run[i].body.length;
    terms[i] = run[i].term;
    ends[i] = off;
  }
  return { kind: "entries", first: run[0].index, terms, ends, bytes };
}

export function buildBatch(staged: readonly StagedOp[]): WriteOp[] {
  const ops: WriteOp[] = [];
  let run: EncodedEntry[] = [];
  let hardState: WriteOp | null = null;
  const endRun = () => {
    if (run.length > 0) ops.push(pack(run));
    run = [];
  };
  for (const op of staged) {
    switch (op.kind) {
      case "entries": {
        if (op.entries.length === 0) break;
        const first = op.entries[0].index;
        if (run.length > 0 && first > run[0].index) run.length = Math.min(run.length, first - run[0].index);
        else if (run.length > 0) run = [];
        for (const e of op.entries) run.push(e);
        break;
      }
      case "snapshot":
        endRun();
        ops.push(op);
        break;
      case "hardState":
        hardState = op;
        break;
    }
  }
  endRun();
  if (hardState) ops.push(hardState);
  return ops;
}

/** Buffers a batch owns exclusively (freshly packed), so postMessage can move instead of copy them. */
export function transferablesOf(ops: readonly WriteOp[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const op of ops) {
    if (op.kind === "entries") out.push(op.bytes.buffer as ArrayBuffer, op.terms.buffer as ArrayBuffer, op.ends.buffer as ArrayBuffer);
  }
  return out;
}
