// Closed-loop load on berthd's lease API (the helpers of api.bench.ts): `concurrency` clients,
// each issuing its next call when the last one answered; every call's latency recorded.
import { performance } from "node:perf_hooks";
import { collect } from "../test/external/berthd-process.js";
import type { BerthClient } from "@berth/api/berth";

export interface LoadResult {
  readonly calls: number;
  readonly seconds: number;
  /** Latency of every call, ms, sorted. */
  readonly latencies: readonly number[];
}

export const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export const leaseSpec = (name: string) => ({ name, models: [{ name: "simple" }], resources: { gpuMemory: "64Mi" }, minDuration: "2h" });

/** `jobs` jobs over `concurrency` workers; a job is a list of calls made in order. */
export async function closedLoop(jobs: number, concurrency: number, job: (i: number, timed: (call: () => Promise<unknown>) => Promise<void>) => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  const timed = async (call: () => Promise<unknown>) => {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs) await job(next++, timed);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { calls: latencies.length, seconds, latencies };
}

/** Create (without waiting for Ready) then release: two lease operations per job. */
export const createRelease = (client: BerthClient, prefix: string) => (i: number, timed: (call: () => Promise<unknown>) => Promise<void>) =>
  (async () => {
    const name = `${prefix}-${i}`;
    await timed(() => collect(client.lease.create({ spec: leaseSpec(name) })));
    await timed(() => client.lease.release({ name }));
  })();
