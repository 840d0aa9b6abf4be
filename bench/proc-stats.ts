/**
 * Linux /proc readings for the processes under test: resident memory per
 * server process, and CPU time per process and for the whole machine, so each
 * row can say how the 2 cores were shared between the servers, the load
 * generator and anything else that happened to run at the same time.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface Memory {
  /** VmRSS in MiB. */
  readonly rssMb: number;
  /** VmHWM (peak resident set) in MiB. */
  readonly peakMb: number;
}

export function readMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** Clock ticks per second for /proc/…/stat; 100 on every Linux build this runs on. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return (total - idle) / TICKS_PER_SECOND;
}

export function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

export interface ProcessCpu {
  readonly pid: number;
  readonly ppid: number;
  /** The command name from /proc/PID/stat (kernel threads included, e.g. jbd2/…, kworker/…). */
  readonly command: string;
  readonly cpuSeconds: number;
}

/** CPU seconds of every process on the machine right now. */
export function everyProcessCpu(): Map<number, ProcessCpu> {
  const out = new Map<number, ProcessCpu>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const open = stat.indexOf("(");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      out.set(pid, { pid, ppid: Number(fields[1]), command: stat.slice(open + 1, close), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The process exited between readdir and read.
    }
  }
  return out;
}

/** The full command line of a process, or its short name when that is unreadable. */
export function commandLine(pid: number, fallback: string): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    return cmd === "" ? fallback : cmd;
  } catch {
    return fallback;
  }
}
