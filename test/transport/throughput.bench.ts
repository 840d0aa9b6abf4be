/**
 * Loopback throughput and latency of two PeerTransports in one process.
 *   ./node_modules/.bin/bun test/transport/throughput.bench.ts [seconds-per-scenario]
 */
import type { Message } from "../../src/raft/types.ts";
import { PeerTransport } from "../../src/transport/peer-transport.ts";

const seconds = Number(process.argv[2] ?? 3);

async function pair(onB: (msgs: Message[], b: PeerTransport) => void = () => {}) {
  let bRef: PeerTransport | null = null;
  const a = new PeerTransport({ self: "a", listen: { hostname: "127.0.0.1", port: 0 }, clusterSecret: "bench", onMessages: (m) => aInbox(m) });
  const b = new PeerTransport({
    self: "b",
    listen: { hostname: "127.0.0.1", port: 0 },
    clusterSecret: "bench",
    onMessages: (m) => onB(m, bRef!),
    onRequest: async (_p, _f, body) => ({ status: 200, body }),
  });
  bRef = b;
  await a.start();
  await b.start();
  a.setPeers([{ id: "b", raftAddr: `127.0.0.1:${b.port}` }]);
  b.setPeers([{ id: "a", raftAddr: `127.0.0.1:${a.port}` }]);
  return { a, b };
}

let aInbox: (m: Message[]) => void = () => {};

function append(i: number, payload: Uint8Array): Message {
  return { type: "append", from: "a", to: "b", term: 1, prevIndex: i, prevTerm: 1, commit: i, entries: [{ type: "normal", term: 1, index: i + 1, data: payload }] };
}

/** Closed loop: every macrotask, send `perTick` messages unless the link already has plenty queued. */
async function stream(label: string, perTick: number, make: (i: number) => Message): Promise<void> {
  let received = 0;
  const { a, b } = await pair((msgs) => {
    received += msgs.length;
  });
  const link = () => a.stats().peers[0]!;
  let i = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    const s = link();
    if (s.queuedMessages + s.inflightBatches * perTick < 16 * perTick) {
      const batch: Message[] = [];
      for (let k = 0; k < perTick; k++) batch.push(make(i++));
      a.send(batch);
    }
    await new Promise((r) => setImmediate(r));
  }
  while (link().sentMessages + link().droppedMessages < i) await Bun.sleep(1);
  const elapsed = (performance.now() - t0) / 1000;
  const s = link();
  console.log(
    `${label.padEnd(44)} ${Math.round(received / elapsed).toLocaleString("en").padStart(10)} msg/s ` +
      `${Math.round(s.sentBatches / elapsed).toLocaleString("en").padStart(8)} batches/s  ` +
      `avg ${(s.sentMessages / s.sentBatches).toFixed(1)} msg/batch, peak in flight ${s.peakInflightBatches}, dropped ${s.droppedMessages}, ` +
      `${((s.sentBytes / elapsed) / 1e6).toFixed(1)} MB/s on the wire`,
  );
  await a.stop();
  await b.stop();
}

/** One message out, one answer back, one at a time: the latency a commit pays per hop. */
async function pingPong(): Promise<void> {
  const { a, b } = await pair((msgs, self) => {
    const m = msgs[0]!;
    self.send([{ type: "heartbeat-resp", from: "b", to: "a", term: m.term, ctx: null }]);
  });
  const samples: number[] = [];
  let resolveOne: () => void = () => {};
  aInbox = () => resolveOne();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await new Promise<void>((r) => {
      resolveOne = r;
      a.send([{ type: "heartbeat", from: "a", to: "b", term: 1, commit: 0, ctx: null }]);
    });
    samples.push(performance.now() - t);
  }
  aInbox = () => {};
  report("message round trip (1 outstanding)", samples);
  await a.stop();
  await b.stop();
}

async function rpc(concurrency: number): Promise<void> {
  const { a, b } = await pair();
  const samples: number[] = [];
  const body = new Uint8Array(200);
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await a.request("b", "echo", body, 5_000);
        samples.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  report(`request() x${concurrency}: ${Math.round(samples.length / elapsed).toLocaleString("en")} req/s`, samples);
  await a.stop();
  await b.stop();
}

function report(label: string, samples: number[]): void {
  samples.sort((x, y) => x - y);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(3);
  console.log(`${label.padEnd(44)} n=${samples.length} p50 ${q(0.5)} ms  p99 ${q(0.99)} ms`);
}

const hb = (i: number): Message => ({ type: "heartbeat", from: "a", to: "b", term: 1, commit: i, ctx: null });
const small = new Uint8Array(100);
const kb4 = new Uint8Array(4096);

console.log(`Bun ${Bun.version}, ${seconds}s per scenario, loopback, one process`);
await stream("heartbeats, 1 per tick (1 msg per POST)", 1, hb);
await stream("heartbeats, 100 per tick", 100, hb);
await stream("appends with a 100 B entry, 64 per tick", 64, (i) => append(i, small));
await stream("appends with a 4 KiB entry, 64 per tick", 64, (i) => append(i, kb4));
await pingPong();
await rpc(1);
await rpc(64);
