/**
 * The simulator's own reading of configuration changes, used where the
 * runtime (not the core) must know a membership: the snapshot meta it records
 * when it compacts its durable log. The workload only issues unambiguous
 * changes (add a new id, promote a learner, remove a member).
 */
import type { ConfChange, Entry, Member, Membership } from "../../src/raft/types.ts";

export function applyConfChange(m: Membership, c: ConfChange): Membership {
  switch (c.op) {
    case "add-voter":
    case "add-learner": {
      const role = c.op === "add-voter" ? "voter" : "learner";
      const rest = m.members.filter((x) => x.id !== c.member.id);
      return { members: [...rest, { ...c.member, role }] };
    }
    case "promote":
      return { members: m.members.map((x): Member => (x.id === c.id ? { ...x, role: "voter" } : x)) };
    case "remove":
      return { members: m.members.filter((x) => x.id !== c.id) };
  }
}

export function membershipAfter(base: Membership, entries: readonly Entry[]): Membership {
  let m = base;
  for (const e of entries) if (e.type === "conf") m = applyConfChange(m, e.change);
  return m;
}

export function voters(m: Membership): string[] {
  return m.members.filter((x) => x.role === "voter").map((x) => x.id);
}

export function isMember(m: Membership, id: string): boolean {
  return m.members.some((x) => x.id === id);
}
