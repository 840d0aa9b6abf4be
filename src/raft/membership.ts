/**
 * Cluster membership as a value: applying single-server changes (thesis §4.1)
 * and the questions the core asks of a configuration.
 */
import type { ConfChange, Member, Membership, NodeId } from "./types.ts";

export function findMember(m: Membership, id: NodeId): Member | undefined {
  return m.members.find((x) => x.id === id);
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return findMember(m, id)?.role === "voter";
}

export function voters(m: Membership): readonly Member[] {
  return m.members.filter((x) => x.role === "voter");
}

/**
 * Total function: every replica applies the same change to the same
 * configuration and must reach the same result, so a change that does not fit
 * (validated away on the leader) degrades to the closest meaningful outcome
 * rather than throwing.
 */
export function applyConfChange(m: Membership, c: ConfChange): Membership {
  switch (c.op) {
    case "add-voter":
      return { members: upsert(m.members, { ...c.member, role: "voter" }) };
    case "add-learner": {
      if (isVoter(m, c.member.id)) return m;
      return { members: upsert(m.members, { ...c.member, role: "learner" }) };
    }
    case "promote":
      return {
        members: m.members.map((x) => (x.id === c.id ? { ...x, role: "voter" } : x)),
      };
    case "remove":
      return { members: m.members.filter((x) => x.id !== c.id) };
  }
}

function upsert(members: readonly Member[], member: Member): readonly Member[] {
  const i = members.findIndex((x) => x.id === member.id);
  if (i < 0) return [...members, member];
  return members.map((x, j) => (j === i ? member : x));
}

/** Why the leader refuses to propose a change, or null if it is acceptable. */
export function rejectConfChange(m: Membership, c: ConfChange): string | null {
  switch (c.op) {
    case "add-voter":
      return isVoter(m, c.member.id) ? `${c.member.id} is already a voter` : null;
    case "add-learner":
      return findMember(m, c.member.id) ? `${c.member.id} is already a member` : null;
    case "promote":
      return findMember(m, c.id)?.role === "learner" ? null : `${c.id} is not a learner`;
    case "remove": {
      const member = findMember(m, c.id);
      if (!member) return `${c.id} is not a member`;
      if (member.role === "voter" && voters(m).length === 1) return "cannot remove the last voter";
      return null;
    }
  }
}
