/** One-line renderings of messages for --trace output. */
import type { Message } from "../../src/raft/types.ts";
import { describeEntry } from "./entry-hash.ts";

export function describeMessage(m: Message): string {
  const head = `${m.from}→${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case "append":
      return `${head} prev ${m.prevIndex}@${m.prevTerm} [${m.entries.map(describeEntry).join(" ")}] commit ${m.commit}`;
    case "append-resp":
      return `${head} ${m.reject ? `REJECT hint ${m.hintIndex}@${m.hintTerm}` : "ok"} index ${m.index}`;
    case "vote":
      return `${head}${m.pre ? " PRE" : ""}${m.transfer ? " transfer" : ""} last ${m.lastIndex}@${m.lastTerm}`;
    case "vote-resp":
      return `${head}${m.pre ? " PRE" : ""} ${m.granted ? "granted" : "rejected"}`;
    case "heartbeat":
      return `${head} commit ${m.commit}${m.ctx ? ` ctx ${m.ctx}` : ""}`;
    case "heartbeat-resp":
      return `${head}${m.ctx ? ` ctx ${m.ctx}` : ""}`;
    case "snapshot":
      return `${head} meta ${m.meta.index}@${m.meta.term} members ${m.meta.membership.members.map((x) => `${x.id}${x.role === "learner" ? "(L)" : ""}`).join(",")}`;
    case "timeout-now":
      return head;
    case "read-index":
      return `${head} ctx ${m.ctx}`;
    case "read-index-resp":
      return `${head} ctx ${m.ctx} index ${m.index}`;
  }
}

export function timestamp(ms: number): string {
  return `[${ms.toFixed(3).padStart(10)}]`;
}
