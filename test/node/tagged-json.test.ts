/** Node-to-node RPC bodies: bigints and byte arrays survive exactly, with or without tags in the text. */
import { describe, expect, test } from "bun:test";
import { fromTaggedJson, toTaggedJson } from "../../src/node/tagged-json.ts";

describe("tagged JSON", () => {
  test("bigints and Uint8Arrays round-trip exactly, nested anywhere", () => {
    const value = { cmd: { args: [9007199254740993n, -1n, new Uint8Array([0, 1, 255]), "text", 1.5, null] }, rows: [[2n, new Uint8Array()]] };
    const text = toTaggedJson(value);
    expect(text).toContain('"$bigint":"9007199254740993"');
    expect(fromTaggedJson(text)).toEqual(value);
  });

  test("text without tags parses the same as with the reviver", () => {
    const value = { cmd: { kind: "statements", statements: [{ sql: "INSERT INTO t VALUES (?, ?)", args: [1, "a $ sign"] }] }, options: {} };
    const text = toTaggedJson(value);
    expect(text.includes("$bigint") || text.includes("$bytes")).toBe(false);
    expect(fromTaggedJson(text)).toEqual(value);
  });

  test("a string that merely mentions a tag stays a string", () => {
    const value = { sql: "SELECT '$bigint', '$bytes'", args: ["$bigint"], o: { note: "$bytes" } };
    expect(fromTaggedJson(toTaggedJson(value))).toEqual(value);
  });
});
