/**
 * Loopback throughput and latency of two PeerTransports, in one process and
 * in two (each with its own event loop, as in a real cluster).
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

/**
 * Closed loop without polling: `window` batches of `perBatch` messages are kept outstanding;
 * each delivery at b makes a send another batch (each batch from its own macrotask, so it
 * travels as its own frame unless the link merges due batches).
 */
async function stream(label: string, perBatch: number, make: (i: number) => Message, window = 16): Promise<void> {
  let received = 0;
  let i = 0;
  let running = true;
  let a: PeerTransport | null = null;
  const sendBatch = (): void => {
    const batch: Message[] = [];
    for (let k = 0; k < perBatch; k++) batch.push(make(i++));
    a!.send(batch);
  };
  let owed = 0;
  const t = await pair((msgs) => {
    received += msgs.length;
    if (!running) return;
    owed += msgs.length;
    while (owed >= perBatch) {
      owed -= perBatch;
      setImmediate(sendBatch);
    }
  });
  a = t.a;
  const link = () => t.a.stats().peers[0]!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let w = 0; w < window; w++) setImmediate(sendBatch);
  await Bun.sleep(seconds * 1000);
  running = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = cpu.user + cpu.system;
  await Bun.sleep(50);
  const s = link();
  console.log(
    `${label.padEnd(40)} ${Math.round(received / elapsed).toLocaleString("en").padStart(9)} msg/s ` +
      `${Math.round(s.sentBatches / elapsed).toLocaleString("en").padStart(7)} batches/s  ` +
      `${(s.sentMessages / s.sentBatches).toFixed(1)} msg/batch, streams ${s.streams}, dropped ${s.droppedMessages}, ` +
      `${((s.sentBytes / elapsed) / 1e6).toFixed(1)} MB/s; CPU (both ends) ${(cpuUs / s.sentBatches).toFixed(0)} µs/batch, ` +
      `${(cpuUs / s.sentMessages).toFixed(2)} µs/msg, ${(cpuUs / 1e6 / elapsed).toFixed(2)} cores`,
  );
  await t.a.stop();
  await t.b.stop();
}

/**
 * Two processes: a here, b in a child that answers each batch with one append-resp.
 * Every answer lets a send one more batch (window of `window` batches outstanding).
 */
async function twoProcess(label: string, perBatch: number, make: (i: number) => Message, window = 16): Promise<void> {
  let i = 0;
  let acked = 0;
  let running = true;
  let a: PeerTransport | null = null;
  // With one batch outstanding, send→ack time is the round trip a commit pays per follower.
  const sentAt: number[] = [];
  const rtts: number[] = [];
  const sendBatch = (): void => {
    if (window === 1) sentAt.push(performance.now());
    const batch: Message[] = [];
    for (let k = 0; k < perBatch; k++) batch.push(make(i++));
    a!.send(batch);
  };
  let owed = 0;
  a = new PeerTransport({
    self: "a",
    listen: { hostname: "127.0.0.1", port: 0 },
    clusterSecret: "bench",
    onMessages: (msgs) => {
      for (const m of msgs) {
        const n = m.type === "append-resp" ? m.hintIndex : 0;
        if (window === 1 && n > 0) rtts.push(performance.now() - sentAt.shift()!);
        acked += n;
        owed += n;
      }
      while (running && owed >= perBatch) {
        owed -= perBatch;
        setImmediate(sendBatch);
      }
    },
  });
  await a.start();
  const child = Bun.spawn([process.execPath, new URL("./bench-receiver.ts", import.meta.url).pathname, String(a.port)], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = child.stdout.getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("receiver exited");
      line += new TextDecoder().decode(value);
    }
    a.setPeers([{ id: "b", raftAddr: `127.0.0.1:${Number(line.trim())}` }]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let w = 0; w < window; w++) setImmediate(sendBatch);
    await Bun.sleep(seconds * 1000);
    running = false;
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const s = a.stats().peers[0]!;
    console.log(
      `${label.padEnd(40)} ${Math.round(acked / elapsed).toLocaleString("en").padStart(9)} msg/s ` +
        `${Math.round(s.sentBatches / elapsed).toLocaleString("en").padStart(7)} batches/s  ` +
        `${(s.sentMessages / s.sentBatches).toFixed(1)} msg/batch, streams ${s.streams}, dropped ${s.droppedMessages}, ` +
        `${((s.sentBytes / elapsed) / 1e6).toFixed(1)} MB/s; sender CPU ${((cpu.user + cpu.system) / s.sentBatches).toFixed(0)} µs/batch, ` +
        `${((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)} cores`,
    );
    if (window === 1) report("  send → append-resp round trip", rtts);
  } finally {
    child.kill();
    await child.exited;
    await a.stop();
  }
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
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  report(
    `request() x${concurrency}: ${Math.round(samples.length / elapsed).toLocaleString("en")} req/s, ${((cpu.user + cpu.system) / samples.length).toFixed(0)} µs CPU/req`,
    samples,
  );
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

const load = (await Bun.file("/proc/loadavg").text().catch(() => "?")).split(" ")[0];
console.log(`Bun ${Bun.version}, ${seconds}s per scenario, loopback, load average ${load}`);
console.log("-- one process (a and b share an event loop)");
await stream("heartbeats, 1 per batch", 1, hb);
await stream("heartbeats, 100 per batch", 100, hb);
await stream("appends (1 x 100 B entry), 64 per batch", 64, (i) => append(i, small));
await stream("appends (1 x 4 KiB entry), 64 per batch", 64, (i) => append(i, kb4));
console.log("-- two processes (b acks every batch with an append-resp)");
await twoProcess("heartbeats, 1 per batch", 1, hb);
await twoProcess("heartbeats, 100 per batch", 100, hb);
await twoProcess("appends (1 x 100 B entry), 64 per batch", 64, (i) => append(i, small));
await twoProcess("appends (1 x 4 KiB entry), 64 per batch", 64, (i) => append(i, kb4));
await twoProcess("appends (1 x 100 B entry), 1 outstanding", 1, (i) => append(i, small), 1);
console.log("-- latency (one process)");
await pingPong();
await rpc(1);
await rpc(64);
