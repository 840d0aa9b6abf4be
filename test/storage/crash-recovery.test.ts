import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { RaftLogStore } from "../../src/storage/raft-log-store.ts";
import { crashEntry } from "./fixtures/crash-entries.ts";
import { tempDir } from "./log-store-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const bun = process.execPath;
const writerScript = join(import.meta.dir, "fixtures", "crash-writer.ts");

/** Runs the crash writer until it has acknowledged at least `minAcked` entries, then kill -9s it. */
async function runAndKill(dir: string, writer: "worker" | "inline", minAcked: number): Promise<number> {
  const child = Bun.spawn([bun, writerScript, dir, writer], { stdout: "pipe", stderr: "pipe" });
  let maxAcked = 0;
  let buffered = "";
  const decoder = new TextDecoder();
  const reader = child.stdout.getReader();
  while (maxAcked < minAcked) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`crash writer exited early: ${await new Response(child.stderr).text()}`);
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) maxAcked = Math.max(maxAcked, Number(line));
  }
  child.kill("SIGKILL");
  await child.exited;
  expect(child.signalCode).toBe("SIGKILL");
  return maxAcked;
}

describe.each(["worker", "inline"] as const)("kill -9 while writing (%s writer)", (writer) => {
  test("every acknowledged entry survives, the log is intact, and writing resumes", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    let acked = 0;
    // Twice: the second run appends after the first crash's recovered log and is killed again.
    for (let round = 0; round < 2; round++) {
      acked = await runAndKill(t.dir, writer, acked + 400);
      const store = await RaftLogStore.open(t.dir, { writer: "inline" });
      const loaded = store.load();
      await store.close();
      // A kill can interrupt a batch's write (Linux stops a large write() at a fatal signal): that
      // batch was never acknowledged, so a cut may only ever remove entries after the acknowledged ones.
      const cut = loaded.recovery.truncated;
      if (cut !== null) expect(cut.fromIndex).toBeGreaterThan(acked);
      const last = loaded.entries.length;
      expect(last).toBeGreaterThanOrEqual(acked);
      const wrong = loaded.entries.filter((e, i) => !Bun.deepEquals(e, crashEntry(i + 1))).map((e) => e.index);
      expect(wrong).toEqual([]);
      expect(loaded.hardState.commit).toBeLessThanOrEqual(last);
      expect(loaded.hardState.term).toBe(loaded.entries[last - 1].term);
      acked = last;
    }
  });
});
