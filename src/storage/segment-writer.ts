/**
 * Writes one group-commit batch into a segment file: one positional write of
 * the framed records, then one fdatasync — so a single sync covers every
 * persist() in the batch. The same code runs on the event-loop thread
 * (InlineLogWriter) and in the writer Worker; both write the same files, one
 * batch at a time (RaftLogStore guarantees it), so nothing here caches a file
 * position: the store says which segment and at which offset every batch goes.
 */
import { closeSync, fdatasyncSync, fstatSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { fsyncPath } from "./durable-files.ts";
import { sealRecords, segmentPath } from "./segment-format.ts";

export interface SegmentWriterOptions {
  /** false: no fdatasync (tests and simulations only: survives a process crash, not an OS crash). */
  readonly fsync: boolean;
  /**
   * Zeros written ahead of the end of the data, so that most fdatasyncs only
   * flush data and not the file size (0 = off). See README.md, "Durability".
   */
  readonly preallocateBytes: number;
}

/** One batch as the writer receives it (structured-clone friendly; `records` is transferred). */
export interface SegmentWrite {
  readonly seq: number;
  /** Where the batch starts: the end of the segment's valid records. */
  readonly offset: number;
  /** A new segment: create the file and, once its first records are synced, the directory entry. */
  readonly create: boolean;
  /** Framed records, CRCs not yet filled in (group-commit-batch.ts frameBatch). */
  readonly records: Uint8Array;
  /** Segments to delete once this batch (holding the compaction record that covers them) is durable. */
  readonly unlink: readonly number[];
}

export interface WriteReport {
  /** Wall time of the batch, write and fdatasync included. */
  readonly txMs: number;
  readonly entries: number;
  readonly bytes: number;
  /** fdatasyncs of the segment file (1 with fsync on, 0 with it off). */
  readonly syncs: number;
  /** fsyncs of the directory (after creating or deleting a segment). */
  readonly dirSyncs: number;
}

export interface LogDurability {
  readonly fsync: boolean;
  readonly syncCall: "fdatasync" | "none";
  readonly preallocateBytes: number;
}

export class SegmentFileWriter {
  private fd: number | null = null;
  private fdSeq = -1;
  /** Size of the open file as last seen (it only grows while writers run). */
  private knownSize = 0;

  constructor(
    private readonly dir: string,
    private readonly options: SegmentWriterOptions,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  durability(): LogDurability {
    const { fsync, preallocateBytes } = this.options;
    return { fsync, syncCall: fsync ? "fdatasync" : "none", preallocateBytes: fsync ? preallocateBytes : 0 };
  }

  apply(w: SegmentWrite): WriteReport {
    const t0 = performance.now();
    const entries = sealRecords(w.records);
    const fd = this.fdFor(w.seq, w.create);
    const end = w.offset + w.records.length;
    // Only worth it for the fdatasync: without one the zeros would be pure extra writing.
    if (this.options.fsync && this.options.preallocateBytes > 0 && end > this.knownSize) {
      this.knownSize = fstatSync(fd).size;
      if (end > this.knownSize) this.extend(fd, end + this.options.preallocateBytes);
    }
    let done = 0;
    while (done < w.records.length) done += writeSync(fd, w.records, done, w.records.length - done, w.offset + done);
    let syncs = 0;
    let dirSyncs = 0;
    if (this.options.fsync) {
      fdatasyncSync(fd);
      syncs++;
      if (w.create) {
        fsyncPath(this.dir);
        dirSyncs++;
      }
    }
    if (w.unlink.length > 0) {
      for (const seq of w.unlink) unlinkSync(segmentPath(this.dir, seq));
      if (this.options.fsync) {
        fsyncPath(this.dir);
        dirSyncs++;
      }
    }
    return { txMs: performance.now() - t0, entries, bytes: w.records.length, syncs, dirSyncs };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.fdSeq = -1;
  }

  private fdFor(seq: number, create: boolean): number {
    if (this.fd !== null && this.fdSeq === seq && !create) return this.fd;
    this.close();
    // A new segment may exist as a leftover of a crash before anything in it became durable: start it afresh.
    this.fd = openSync(segmentPath(this.dir, seq), create ? "w+" : "r+");
    this.fdSeq = seq;
    this.knownSize = create ? 0 : fstatSync(this.fd).size;
    return this.fd;
  }

  private extend(fd: number, to: number): void {
    const zeros = new Uint8Array(Math.min(to - this.knownSize, 1 << 20));
    let at = this.knownSize;
    while (at < to) at += writeSync(fd, zeros, 0, Math.min(zeros.length, to - at), at);
    this.knownSize = to;
  }
}
