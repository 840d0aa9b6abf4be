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
  putRecord,
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
  type Payload = { readonly type: RecordType; readonly bytes: Uint8Array };
  const startRecords: Payload[] = [];
  if (start) {
    startRecords.push({ type: RecordType.header, bytes: headerPayload(start.seq) });
    startRecords.push({ type: RecordType.hardState, bytes: utf8.encode(start.hardStateJson) });
    if (start.snapshotJson !== null) startRecords.push({ type: RecordType.snapshot, bytes: snapshotPayload(start.snapshotJson, true) });
  }
  // The state ops' payloads, by op (null for entries, which are encoded in place).
  const opPayloads = ops.map((op): Payload | null =>
    op.kind === "entries" ? null : op.kind === "hardState" ? { type: RecordType.hardState, bytes: utf8.encode(op.json) } : { type: RecordType.snapshot, bytes: snapshotPayload(op.json, op.keepSuffix) },
  );
  let size = 0;
  for (const r of startRecords) size += RECORD_HEADER_BYTES + r.bytes.length;
  ops.forEach((op, i) => {
    if (op.kind === "entries") for (const e of op.entries) size += RECORD_HEADER_BYTES + e.size;
    else size += RECORD_HEADER_BYTES + opPayloads[i]!.bytes.length;
  });
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of startRecords) at = putRecord(out, view, at, r.type, r.bytes);
  ops.forEach((op, i) => {
    if (op.kind === "entries") for (const e of op.entries) at = writeEntry(out, writeRecordHeader(view, at, RecordType.entry, e.size), e.entry);
    else at = putRecord(out, view, at, opPayloads[i]!.type, opPayloads[i]!.bytes);
  });
  return out;
}
