/** A forwarded write that may have reached the leader is never retried behind the client's back. */
import { describe, expect, test } from "bun:test";
import { leaderCallError } from "../../src/node/leader-call-error.ts";
import { PeerRequestError } from "../../src/transport/peer-request-error.ts";

const err = (kind: ConstructorParameters<typeof PeerRequestError>[0]) => new PeerRequestError(kind, "n1", kind);

describe("leaderCallError", () => {
  test("a write whose RPC timed out or broke after it went out: 'timeout', with how to retry safely", () => {
    for (const path of ["write", "write-batch"] as const) {
      for (const kind of ["timeout", "reset"] as const) {
        const e = leaderCallError("n1", path, err(kind));
        expect(e.code).toBe("timeout");
        expect(e.message).toContain("may still be applied");
        expect(e.message).toContain("x-quorumlite-request-id");
      }
    }
  });

  test("nothing reached the leader, or the call was a read: 'no-leader', which the caller may retry", () => {
    for (const kind of ["unreachable", "unknown-peer", "closed"] as const) expect(leaderCallError("n1", "write", err(kind)).code).toBe("no-leader");
    for (const kind of ["timeout", "reset", "unreachable"] as const) expect(leaderCallError("n1", "read", err(kind)).code).toBe("no-leader");
    expect(leaderCallError("n1", "read", err("timeout")).message).toBe("leader n1 unreachable: n1: timeout");
  });
});
