/**
 * The dashboard in a real headless Chromium (Debian's `chromium`): the page's
 * script must fetch the cluster view and render every node with its role.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestCluster } from "../support/cluster.ts";

const chromium = Bun.which("chromium") ?? Bun.which("chromium-browser");
let cluster: TestCluster;
beforeAll(async () => {
  if (chromium) cluster = await TestCluster.start({ nodes: 3 });
}, 60_000);
afterAll(() => cluster?.stop());

async function renderedDom(url: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), "ql-chromium-"));
  try {
    const proc = Bun.spawn(
      [chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, "--virtual-time-budget=4000", "--dump-dom", url],
      { stdout: "pipe", stderr: "ignore" },
    );
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    return out;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * A node learns its peers' HTTP addresses from their `info` answers, retried every
 * couple of seconds: until then the page rightly shows a peer as unreachable.
 */
async function untilNodeSeesEveryPeer(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const view = (await (await fetch(`${url}/dashboard/cluster`)).json()) as { nodes: { ok: boolean }[] };
    if (view.nodes.every((n) => n.ok)) return;
    await Bun.sleep(100);
  }
}

test.skipIf(!chromium)("headless Chromium renders every node, the leader and the placement reason", async () => {
  const leader = await cluster.leader();
  await untilNodeSeesEveryPeer(cluster.url("n2"));
  const dom = await renderedDom(`${cluster.url("n2")}/`);
  for (const s of cluster.specs) expect(dom).toContain(`data-node="${s.id}"`);
  expect(dom).toMatch(new RegExp(`leader: <b>${leader} `));
  expect(dom).toMatch(/class="leader">leader</);
  expect((dom.match(/class="follower">follower</g) ?? []).length).toBe(2);
}, 60_000);
