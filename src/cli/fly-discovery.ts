/**
 * First start on Fly.io without --bootstrap/--join: the machines of the app
 * are listed in the `vms.<app>.internal` TXT record ("id region,id region").
 * The machine with the smallest id bootstraps a one-node cluster; every other
 * machine joins through it (and the leader adds it as learner, then voter).
 * Deterministic, so no two machines bootstrap separate clusters.
 */
import { resolveTxt } from "node:dns/promises";

export interface FlyPlan {
  readonly bootstrapSelf: boolean;
  readonly joinUrl: string | null;
}

export function planFromMachines(selfId: string, machineIds: readonly string[], app: string, httpPort: number): FlyPlan {
  const ids = [...new Set([...machineIds, selfId])].sort();
  const first = ids[0]!;
  if (first === selfId) return { bootstrapSelf: true, joinUrl: null };
  return { bootstrapSelf: false, joinUrl: `http://${first}.vm.${app}.internal:${httpPort}` };
}

export async function discoverFly(selfId: string, app: string, httpPort: number): Promise<FlyPlan> {
  const records = await resolveTxt(`vms.${app}.internal`);
  const ids = records
    .flat()
    .join(",")
    .split(",")
    .map((x) => x.trim().split(/\s+/)[0] ?? "")
    .filter((x) => x.length > 0);
  return planFromMachines(selfId, ids, app, httpPort);
}
