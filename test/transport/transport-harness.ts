import type { Message, NodeId } from "../../src/raft/types.ts";
import { PeerTransport } from "../../src/transport/peer-transport.ts";
import type { PeerTransportOptions } from "../../src/transport/peer-transport.ts";

export interface TestNode {
  readonly id: NodeId;
  readonly transport: PeerTransport;
  /** Every message delivered to onMessages, in delivery order. */
  readonly received: Message[];
  readonly addr: string;
}

type Overrides = Partial<Omit<PeerTransportOptions, "self" | "onMessages">>;

const running = new Set<PeerTransport>();

/** A real transport on 127.0.0.1 (port 0 unless given), recording what it receives. */
export async function startNode(id: NodeId, overrides: Overrides = {}): Promise<TestNode> {
  const received: Message[] = [];
  const transport = new PeerTransport({
    self: id,
    listen: { hostname: "127.0.0.1", port: 0 },
    clusterSecret: "test-secret",
    onMessages: (msgs) => {
      received.push(...msgs);
    },
    ...overrides,
  });
  await transport.start();
  running.add(transport);
  return { id, transport, received, addr: `127.0.0.1:${transport.port}` };
}

export async function stopNode(n: TestNode): Promise<void> {
  running.delete(n.transport);
  await n.transport.stop();
}

export async function stopAll(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((t) => t.stop()));
}

/** Polls until `cond` holds; fails with `what` after `timeoutMs` (a generous deadline, not a timing assertion). */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

export function heartbeat(from: NodeId, to: NodeId, n: number): Message {
  return { type: "heartbeat", from, to, term: 1, commit: n, ctx: null };
}

export function commitsOf(msgs: readonly Message[]): number[] {
  return msgs.map((m) => (m.type === "heartbeat" ? m.commit : -1));
}

export function peerStats(t: PeerTransport, id: NodeId) {
  const s = t.stats().peers.find((p) => p.id === id);
  if (s === undefined) throw new Error(`no link to ${id}`);
  return s;
}
