/**
 * Turns the writes of every persist()/compact() queued since the last batch
 * into the records of one write, preserving their combined effect:
 * consecutive entry appends merge into one run (a later append at an existing
 * index cuts the run there, as it would cut the log), only the last hard state
 * is kept (they all become durable with the same fdatasync), and snapshot ops
 * stay in place as barriers because replay applies them in order.
 */
import type { Entry } from "../raft/types.ts";
import { encodedEntrySize, writeEntry } from "./entry-codec.ts";
import {
  RECORD_HEADER_BYTES,
  RecordType,
  headerPayload,
  snapshotPayload,
  writeRecordHeader,
} from "./segment-format.ts";

/** An entry checked for the log: `size` is encodedEntrySize(entry), its bytes are written straight into the batch. */
export interface EncodedEntry {
  readonly index: number;
  readonly term: number;
  readonly entry: Entry;
  readonly size: number;
}

export function encodedEntry(e: Entry): EncodedEntry {
  return { index: e.index, term: e.term, entry: e, size: encodedEntrySize(e) };
}

export type BatchOp =
  /**
   * New compaction point / installed snapshot. `keepSuffix`: the entry at
   * meta.index matched meta.term, so entries after it stay (Raft paper §7:
   * otherwise the whole log is discarded).
   */
  | { readonly kind: "snapshot"; readonly index: number; readonly json: string; readonly keepSuffix: boolean }
  /** Entries first, first+1, … replacing whatever the log held from the first on. */
  | { readonly kind: "entries"; readonly entries: readonly EncodedEntry[] }
  | { readonly kind: "hardState"; readonly json: string };

/** The state records a new segment starts with (see segment-format.ts). */
export interface SegmentStart {
  readonly seq: number;
  readonly hardStateJson: string;
  readonly snapshotJson: string | null;
}

export function buildBatch(staged: readonly BatchOp[]): BatchOp[] {
  const ops: BatchOp[] = [];
  let run: EncodedEntry[] = [];
  let hardState: BatchOp | null = null;
  const endRun = () => {
    if (run.length > 0) ops.push({ kind: "entries", entries: run });
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
  // Last: a batch torn by a crash then loses its hard state before its entries, never a commit index without them.
  if (hardState) ops.push(hardState);
  return ops;
}

const utf8 = new TextEncoder();

/**
 * One buffer holding every record of the batch (preceded by a new segment's
 * header and state records when `start` is given), CRCs still zero: the
 * writer seals them (segment-format.ts sealRecords). Entries are encoded in
 * place (no array of their own first).
 */
export function frameBatch(start: SegmentStart | null, ops: readonly BatchOp[]): Uint8Array {
  const payloads: { type: RecordType; bytes: Uint8Array }[] = [];
  if (start) {
    payloads.push({ type: RecordType.header, bytes: headerPayload(start.seq) });
    payloads.push({ type: RecordType.hardState, bytes: utf8.encode(start.hardStateJson) });
    if (start.snapshotJson !== null) payloads.push({ type: RecordType.snapshot, bytes: snapshotPayload(start.snapshotJson, true) });
  }
  let size = 0;
  for (const p of payloads) size += RECORD_HEADER_BYTES + p.bytes.length;
  for (const op of ops) {
    if (op.kind === "entries") for (const e of op.entries) size += RECORD_HEADER_BYTES + e.size;
    else {
      const bytes = op.kind === "hardState" ? utf8.encode(op.json) : snapshotPayload(op.json, op.keepSuffix);
      payloads.push({ type: op.kind === "hardState" ? RecordType.hardState : RecordType.snapshot, bytes });
      size += RECORD_HEADER_BYTES + bytes.length;
    }
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  let p = 0;
  const put = (type: RecordType, bytes: Uint8Array) => {
    at = writeRecordHeader(view, at, type, bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  };
  const prefix = start ? (start.snapshotJson !== null ? 3 : 2) : 0;
  for (; p < prefix; p++) put(payloads[p].type, payloads[p].bytes);
  for (const op of ops) {
    if (op.kind === "entries") {
      for (const e of op.entries) {
        at = writeRecordHeader(view, at, RecordType.entry, e.size);
        at = writeEntry(out, at, e.entry);
      }
    }
    else put(payloads[p].type, payloads[p++].bytes);
  }
  return out;
}
