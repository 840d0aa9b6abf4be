/**
 * Membership and leadership operations, run on the leader. A new voter joins
 * as a learner first and is promoted once caught up (thesis §4.2.1), so adding
 * it never leaves the cluster waiting on a node that has nothing yet.
 */
import { z } from "zod";
import type { Raft } from "../raft/raft.ts";
import type { ConfChange, ProposeResult } from "../raft/types.ts";
import { ServiceError } from "./sql-service.ts";

export const adminRequestSchema = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("add"),
    id: z.string().min(1).max(64),
    region: z.string().min(1).max(64),
    raftAddr: z.string().min(3),
    httpAddr: z.string().url(),
    role: z.enum(["voter", "learner"]),
  }),
  z.object({ op: z.literal("promote"), id: z.string().min(1) }),
  z.object({ op: z.literal("remove"), id: z.string().min(1) }),
  z.object({ op: z.literal("transfer"), to: z.string().min(1) }),
]);

export type AdminRequest = z.infer<typeof adminRequestSchema>;

export interface AdminDeps {
  readonly raft: Raft;
  readonly schedule: () => void;
  readonly waitApplied: (index: number, ms: number) => Promise<void>;
  readonly proposeConfChange: (cc: ConfChange) => ProposeResult;
}

const CATCH_UP_LAG = 16;

export async function adminOperation(req: AdminRequest, deps: AdminDeps): Promise<unknown> {
  switch (req.op) {
    case "add": {
      const existing = deps.raft.status().membership.members.find((m) => m.id === req.id);
      const member = { id: req.id, region: req.region, raftAddr: req.raftAddr, httpAddr: req.httpAddr };
      if (!existing) await commitChange(deps, { op: "add-learner", member });
      if (req.role === "voter" && existing?.role !== "voter") {
        await waitCaughtUp(deps, req.id, 60_000);
        await commitChange(deps, { op: "promote", id: req.id });
      }
      return { members: deps.raft.status().membership.members };
    }
    case "promote":
      await waitCaughtUp(deps, req.id, 60_000);
      await commitChange(deps, { op: "promote", id: req.id });
      return { members: deps.raft.status().membership.members };
    case "remove":
      await commitChange(deps, { op: "remove", id: req.id });
      return { members: deps.raft.status().membership.members };
    case "transfer": {
      if (!deps.raft.transferLeadership(req.to)) throw new ServiceError("bad-request", `cannot transfer leadership to ${req.to}`);
      deps.schedule();
      return { transferring: req.to };
    }
  }
}

async function commitChange(deps: AdminDeps, cc: ConfChange): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = deps.proposeConfChange(cc);
    if (r.ok) {
      await deps.waitApplied(r.index, Math.max(1, deadline - Date.now()));
      return;
    }
    if (r.reason !== "conf-change-pending" || Date.now() > deadline) throw new ServiceError(r.reason === "not-leader" ? "not-leader" : "timeout", `membership change refused: ${r.reason}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function waitCaughtUp(deps: AdminDeps, id: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const s = deps.raft.status();
    const p = s.progress?.find((x) => x.id === id);
    if (p && p.match >= s.commit - CATCH_UP_LAG) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new ServiceError("timeout", `${id} did not catch up within ${ms} ms`);
}
