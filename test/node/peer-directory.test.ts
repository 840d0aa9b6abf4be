import { expect, test } from "bun:test";
import { PeerDirectory } from "../../src/node/peer-directory.ts";
import type { Membership } from "../../src/raft/types.ts";

const self = { id: "n1", region: "ams", httpAddr: "http://n1:8001", raftAddr: "n1:9001" };
const membership = (ids: string[]): Membership => ({
  members: ids.map((id) => ({ id, role: id === "n4" ? ("learner" as const) : ("voter" as const), region: "ams", raftAddr: `${id}:9001` })),
});

test("the command version is the newest every other member has said it reads; silence counts as version 1", () => {
  const d = new PeerDirectory(self);
  d.update(membership(["n1", "n2", "n3"]));
  // Nobody has answered yet: a rolling upgrade must keep writing what old replicas apply.
  expect(d.commandVersion(2)).toBe(1);
  expect(d.unknown().sort()).toEqual(["n2", "n3"]);
  d.learn("n2", { httpAddr: "http://n2:8001", region: "ams", commandVersion: 2 });
  expect(d.commandVersion(2)).toBe(1);
  // An old build answers info without a version: still unknown, asked again later.
  d.learn("n3", { httpAddr: "http://n3:8001", region: "ams" });
  expect(d.unknown()).toEqual(["n3"]);
  expect(d.commandVersion(2)).toBe(1);
  d.learn("n3", { commandVersion: 2 });
  expect(d.unknown()).toEqual([]);
  expect(d.commandVersion(2)).toBe(2);
  // Never above this build's own, even if a newer peer says more.
  d.learn("n3", { commandVersion: 3 });
  expect(d.commandVersion(2)).toBe(2);
  // A learner applies entries too: a new member that has not answered holds the version back.
  d.update(membership(["n1", "n2", "n3", "n4"]));
  expect(d.commandVersion(2)).toBe(1);
  d.learn("n4", { httpAddr: "http://n4:8001", region: "ams", commandVersion: 2 });
  expect(d.commandVersion(2)).toBe(2);
});
