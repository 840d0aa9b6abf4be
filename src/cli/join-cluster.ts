/**
 * `--join URL`: ask any member to add this node. It is always added as a
 * learner first; the answer names the members, so this node can reach the
 * leader before its own log holds the configuration. A voter is then promoted
 * once caught up (thesis §4.2.1: new servers join without voting rights).
 */
import type { Member } from "../raft/types.ts";
import type { NodeOptions } from "./node-options.ts";

export async function joinCluster(opts: NodeOptions, learnPeers: (m: readonly Member[]) => void, log: (l: string) => void): Promise<void> {
  const body = JSON.stringify({ id: opts.id, region: opts.region, raftAddr: opts.raftAdvertise, httpAddr: opts.httpAdvertise, role: "learner" });
  const added = await retry(log, "join", () => post(new URL("/admin/members", opts.join!), body));
  learnPeers((added as { result: { members: Member[] } }).result.members);
  log(`joined through ${opts.join} as a learner`);
  if (opts.learner) return;
  await retry(log, "promote", () => post(new URL(`/admin/members/${encodeURIComponent(opts.id)}/promote`, opts.join!), "{}"));
  log("promoted to voter");
}

async function post(url: URL, body: string): Promise<unknown> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return res.json();
}

async function retry<T>(log: (l: string) => void, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      log(`${what} attempt ${attempt}: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * attempt)));
  }
}
