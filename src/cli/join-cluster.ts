/** `--join URL`: ask any member to add this node (the leader adds it as a learner, then promotes it). */
import type { NodeOptions } from "./node-options.ts";

export async function joinCluster(opts: NodeOptions, log: (l: string) => void): Promise<void> {
  const body = JSON.stringify({ id: opts.id, region: opts.region, raftAddr: opts.raftAdvertise, httpAddr: opts.httpAdvertise, role: opts.learner ? "learner" : "voter" });
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(new URL("/admin/members", opts.join!), { method: "POST", body, headers: { "content-type": "application/json" } });
      if (res.ok) {
        log(`joined through ${opts.join} as a ${opts.learner ? "learner" : "voter"}`);
        return;
      }
      log(`join attempt ${attempt}: ${res.status} ${await res.text()}`);
    } catch (e) {
      log(`join attempt ${attempt}: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * attempt)));
  }
}
