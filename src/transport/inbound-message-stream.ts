/**
 * The server side of one POST /raft/stream: frames are read as they arrive
 * and each batch is handed on synchronously, so batches reach Raft in the
 * order the sender wrote them without any per-batch bookkeeping.
 *
 * The response (200) is sent at once, so the sender knows the stream was
 * accepted before it writes; its body is "open\n" and, if this side closes the
 * stream (bad frame, delivery failure, superseded), the reason as text.
 */
import { FrameReader } from "./stream-framing.ts";

export type InboundStreamEnd =
  | { readonly kind: "ended" } // the sender finished the stream
  | { readonly kind: "superseded" } // the same sender opened a newer stream
  | { readonly kind: "refused"; readonly message: string } // a frame could not be decoded or delivered
  | { readonly kind: "broken"; readonly message: string }; // the connection went away

const OPEN_LINE = new TextEncoder().encode("open\n");
const textEncoder = new TextEncoder();

export class InboundMessageStream {
  readonly response: Response;
  private readonly frames: FrameReader;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private control: ReadableStreamDefaultController<Uint8Array> | null = null;
  private done = false;

  /**
   * `deliver` gets each frame's batch bytes (possibly a view into a network chunk) and may throw to
   * refuse it; `onEnd` is called exactly once.
   */
  constructor(
    private readonly body: ReadableStream<Uint8Array>,
    maxFrameBytes: number,
    private readonly deliver: (batch: Uint8Array) => void,
    private readonly onEnd: (end: InboundStreamEnd) => void,
  ) {
    this.frames = new FrameReader(maxFrameBytes);
    const out = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.control = c;
      },
      cancel: () => {
        this.control = null;
        this.finish({ kind: "broken", message: "response cancelled" });
      },
    });
    // Bun.serve sends the response headers only with the first body bytes.
    this.control!.enqueue(OPEN_LINE);
    this.response = new Response(out, { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
    void this.run();
  }

  /** A newer stream from the same sender takes over: nothing more from this one is delivered. */
  supersede(): void {
    this.finish({ kind: "superseded" }, "superseded by a newer stream from the same sender");
  }

  private async run(): Promise<void> {
    // Typed as Bun's reader (the node:stream/web declaration lacks readMany).
    const reader = this.body.getReader() as unknown as ReadableStreamDefaultReader<Uint8Array>;
    this.reader = reader;
    const deliver = this.deliver;
    try {
      for (;;) {
        // Bun's readMany hands over every chunk that has arrived at once: one await per burst, not per chunk.
        const { done, value } = await reader.readMany();
        if (this.done) return;
        try {
          for (let i = 0; i < value.length; i++) this.frames.push(value[i]!, deliver);
        } catch (e) {
          this.finish({ kind: "refused", message: messageOf(e) }, messageOf(e));
          return;
        }
        if (done) break;
      }
      this.finish({ kind: "ended" });
    } catch (e) {
      this.finish({ kind: "broken", message: messageOf(e) });
    }
  }

  /** Ends both directions; `reason` goes to the sender as the last words of the response body. */
  private finish(end: InboundStreamEnd, reason?: string): void {
    if (this.done) return;
    this.done = true;
    this.reader?.cancel().catch(() => {});
    const c = this.control;
    this.control = null;
    if (c !== null) {
      try {
        if (reason !== undefined) c.enqueue(textEncoder.encode(reason));
        c.close();
      } catch {
        // The connection is already gone.
      }
    }
    this.onEnd(end);
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
