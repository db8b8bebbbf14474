// Child processes of the process backend: spawned detached (their own process group, logs in
// files rather than pipes) so they outlive a crashed berthd and can be adopted by the next;
// marked through their environment so the next berthd can tell its own from a reused pid.
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { Deferred, Duration, Effect, Schedule } from "effect";

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

export type ChildRole = "server" | "sidecar";

export interface ChildHandle {
  readonly pid: number;
  readonly role: ChildRole;
  readonly logPath: string;
  /** Completes when the process has exited (spawned: its exit event; adopted: polled). */
  readonly exit: Effect.Effect<ExitInfo>;
}

/** Environment marks: which backend state dir, replica and role a process belongs to. */
export const ENV_STATE_DIR = "BERTH_PROCESS_BACKEND";
export const ENV_REPLICA_ID = "BERTH_REPLICA_ID";
export const ENV_ROLE = "BERTH_PROCESS_ROLE";

export interface SpawnRequest {
  readonly role: ChildRole;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly logPath: string;
}

export const spawnChild = (request: SpawnRequest): Effect.Effect<ChildHandle, Error> =>
  Effect.gen(function* () {
    const exited = yield* Deferred.make<ExitInfo>();
    const child = yield* Effect.try({
      try: () => {
        const log = openSync(request.logPath, "a");
        try {
          const c = spawn(request.command[0], request.command.slice(1), {
            cwd: request.cwd,
            env: request.env,
            detached: true,
            stdio: ["ignore", log, log],
          });
          c.once("exit", (code, signal) => Deferred.unsafeDone(exited, Effect.succeed({ code, signal })));
          c.once("error", (e) => Deferred.unsafeDone(exited, Effect.succeed({ code: null, signal: `spawn error: ${e.message}` })));
          // The backend watches through `exit`; the child must not keep the event loop alive.
          c.unref();
          return c;
        } finally {
          closeSync(log);
        }
      },
      catch: (e) => (e instanceof Error ? e : new Error(String(e))),
    });
    if (child.pid === undefined) {
      const info = yield* Deferred.await(exited);
      return yield* Effect.fail(new Error(`cannot start ${request.command[0]}: ${info.signal ?? "no pid"}`));
    }
    return { pid: child.pid, role: request.role, logPath: request.logPath, exit: Deferred.await(exited) };
  });

/** Whether a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // A zombie still answers kill(0); /proc tells it apart (state Z), where /proc exists.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** The environment marks of a live process (Linux /proc), or undefined when unreadable. */
export function processMarks(pid: number): Readonly<Record<string, string>> | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return undefined;
  }
  const marks: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const eq = entry.indexOf("=");
    const key = entry.slice(0, eq);
    if (key === ENV_STATE_DIR || key === ENV_REPLICA_ID || key === ENV_ROLE) marks[key] = entry.slice(eq + 1);
  }
  return marks;
}

/**
 * Whether `pid` is still the process this backend started for `replicaId`: alive and, where
 * /proc can say, carrying the same marks (a recycled pid would not).
 */
export function isOurProcess(pid: number, stateDir: string, replicaId: string, role: ChildRole): boolean {
  if (!isAlive(pid)) return false;
  const marks = processMarks(pid);
  if (marks === undefined) return true;
  return marks[ENV_STATE_DIR] === stateDir && marks[ENV_REPLICA_ID] === replicaId && marks[ENV_ROLE] === role;
}

/** Live processes marked with this state dir (Linux; empty elsewhere): candidates for orphans. */
export function markedProcesses(stateDir: string): readonly number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (processMarks(pid)?.[ENV_STATE_DIR] === stateDir && isAlive(pid)) pids.push(pid);
  }
  return pids;
}

/** A handle on a process this instance did not spawn (adopted): its exit is polled. */
export function adoptedChild(pid: number, role: ChildRole, logPath: string, pollMs: number): ChildHandle {
  const exit = Effect.sync(() => isAlive(pid)).pipe(
    Effect.repeat({ while: (alive) => alive, schedule: Schedule.spaced(Duration.millis(pollMs)) }),
    Effect.as<ExitInfo>({ code: null, signal: null }),
  );
  return { pid, role, logPath, exit };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Detached children lead their own process group: signal the group, then the pid in case
    // it left the group.
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; completes when the process is gone. */
export const stopChild = (child: ChildHandle, graceMs: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    signalGroup(child.pid, "SIGTERM");
    const stopped = yield* child.exit.pipe(Effect.timeout(Duration.millis(graceMs)), Effect.option);
    if (stopped._tag === "None") {
      signalGroup(child.pid, "SIGKILL");
      yield* child.exit;
    }
  }).pipe(Effect.uninterruptible);

/** Kill a process known only by pid (an orphan), with the same grace. */
export const stopPid = (pid: number, graceMs: number, pollMs: number): Effect.Effect<void> => stopChild(adoptedChild(pid, "server", "", pollMs), graceMs);

/** The last `bytes` of a log file (empty when there is none). */
export function logTail(path: string, bytes: number): string {
  try {
    const size = statSync(path).size;
    const start = Math.max(0, size - bytes);
    const fd = openSync(path, "r");
    try {
      const buffer = Buffer.alloc(size - start);
      let read = 0;
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, start + read);
        if (n === 0) break;
        read += n;
      }
      return buffer.subarray(0, read).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}
