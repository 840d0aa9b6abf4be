import { describe, expect, test } from "bun:test";
import { peerOrigin } from "../../src/transport/peer-address.ts";

describe("peerOrigin", () => {
  test("host:port with DNS names, IPv4 and bracketed IPv6", () => {
    expect(peerOrigin("localhost:7001")).toBe("http://localhost:7001");
    expect(peerOrigin("n1.vm.my-app.internal:7001")).toBe("http://n1.vm.my-app.internal:7001");
    expect(peerOrigin("10.0.0.7:65535")).toBe("http://10.0.0.7:65535");
    expect(peerOrigin("[fdaa:0:1::3]:7001")).toBe("http://[fdaa:0:1::3]:7001");
  });

  test("anything else is refused", () => {
    for (const bad of ["", "localhost", ":7001", "host:0", "host:65536", "host:70000", "http://host:1", "host:1/path", "fdaa::3:7001", "a b:1"]) {
      expect(() => peerOrigin(bad)).toThrow(/invalid raft address/);
    }
  });
});
