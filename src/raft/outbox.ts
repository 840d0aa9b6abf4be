/**
 * Output collected between two Readys: messages that may leave at once,
 * messages that promise durable state (they leave only after the Ready's disk
 * writes), and reads that became safe or failed.
 */
import type { Message, NodeId, ReadState, Term } from "./types.ts";

/** A message as the core writes it: sender and (by default) term are filled in. */
export type Outgoing<M extends Message> = Omit<M, "from" | "term"> & { readonly term?: Term };

export class Outbox {
  messages: Message[] = [];
  afterPersist: Message[] = [];
  readStates: ReadState[] = [];

  constructor(
    private readonly from: NodeId,
    private readonly currentTerm: () => Term,
  ) {}

  send<M extends Message>(m: Outgoing<M>): void {
    this.messages.push(this.envelope(m));
  }

  sendAfterPersist<M extends Message>(m: Outgoing<M>): void {
    this.afterPersist.push(this.envelope(m));
  }

  isEmpty(): boolean {
    return this.messages.length === 0 && this.afterPersist.length === 0 && this.readStates.length === 0;
  }

  drain(): { messages: Message[]; afterPersist: Message[]; readStates: ReadState[] } {
    const out = { messages: this.messages, afterPersist: this.afterPersist, readStates: this.readStates };
    this.messages = [];
    this.afterPersist = [];
    this.readStates = [];
    return out;
  }

  private envelope<M extends Message>(m: Outgoing<M>): M {
    return { ...m, from: this.from, term: m.term ?? this.currentTerm() } as unknown as M;
  }
}
