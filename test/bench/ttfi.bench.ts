// Time to first inference: `lease create` -> the first successful inference through the router,
// on the real serving path (`npm start`'s stack: berthd, process backend, model server, sidecar,
// router). Two cases: a lease on a pool whose server is already up (the model is pulled and
// loaded, the route appears: the goal is p50 < 300 ms for a small model), and a bespoke lease
// whose server starts from nothing (a process start, for comparison). Each iteration releases
// its lease and waits for the route to go before the next.
// A bespoke start runs the model server and sidecar from their pre-built bundles (see
// packages/backends/src/process/bundle.ts); BERTH_PROCESS_RUNTIME=tsx runs them from source
// under tsx instead, the way to measure "before" beside "after" in one sitting.
//   npm run bench:ttfi [-- --iterations 20 --bespoke 5]
//   BERTH_PROCESS_RUNTIME=tsx npm run bench:ttfi [-- --iterations 20 --bespoke 5]
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { inferSimple, until } from "../e2e/support/kserve.js";
import { startStack, type Stack } from "../e2e/support/stack.js";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const iterations = arg("iterations", 20);
const bespokeIterations = arg("bespoke", 5);

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
const summary = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p90: quantile(s, 0.9), max: s.at(-1)!, n: s.length };
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function firstInference(stack: Stack, name: string, spec: Record<string, unknown>): Promise<number> {
  const start = performance.now();
  for await (const progress of stack.client.lease.create({ spec: { name, models: [{ name: "simple" }], ...spec }, wait: false })) void progress;
  for (;;) {
    const answer = await inferSimple(stack.router);
    if (answer.status === 200) {
      if (JSON.stringify(answer.outputs.OUTPUT0) !== JSON.stringify(answer.expected.sum)) throw new Error(`wrong answer: ${JSON.stringify(answer.outputs)}`);
      return performance.now() - start;
    }
    if (performance.now() - start > 60_000) throw new Error(`no successful inference within 60 s (last: ${answer.status} ${answer.error ?? ""})`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function release(stack: Stack, name: string): Promise<void> {
  await stack.client.lease.release({ name });
  await until(`lease ${name}'s route to go`, async () => ((await inferSimple(stack.router)).status === 404 ? true : undefined), 30_000, 10);
}

// Two GPUs: the pool server holds one whole, bespoke servers take the other.
const stack = await startStack({ config: { placement: { keepWarm: false }, nodes: [{ name: "local", gpus: [{ memory: "4Gi" }, { memory: "4Gi" }] }] } });
try {
  await stack.client.pool.create({ spec: { name: "bench", group: "onnxruntime", resources: { gpuMemory: "2Gi" }, minInstances: 1, maxInstances: 1, quotaPerInstance: "1Gi" } });
  await until("the pool's server", async () => ((await stack.client.server.list()).servers.some((s) => s.pool === "bench" && s.readyReplicas > 0) ? true : undefined), 60_000);

  const bespoke: number[] = [];
  for (let i = 0; i < bespokeIterations; i++) {
    bespoke.push(await firstInference(stack, `ttfi-bespoke-${i}`, { resources: { gpuMemory: "256Mi" } }));
    await release(stack, `ttfi-bespoke-${i}`);
  }
  const pooled: number[] = [];
  for (let i = 0; i < iterations; i++) {
    pooled.push(await firstInference(stack, `ttfi-pool-${i}`, { pool: "bench", quota: "128Mi" }));
    await release(stack, `ttfi-pool-${i}`);
  }
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`process runtime: ${process.env.BERTH_PROCESS_RUNTIME === "tsx" ? "tsx (BERTH_PROCESS_RUNTIME=tsx)" : "bundles when fresh"}; load average ${load}`);
  if (bespoke.length > 0) {
    const b = summary(bespoke);
    console.log(`bespoke lease (server started from nothing): n=${b.n} p50 ${ms(b.p50)} p90 ${ms(b.p90)} max ${ms(b.max)}`);
  }
  const p = summary(pooled);
  console.log(`pool lease (server up, model pulled and loaded): n=${p.n} p50 ${ms(p.p50)} p90 ${ms(p.p90)} max ${ms(p.max)}`);
  console.log(`ttfi: lease create -> first inference through the router, small model on a running server: p50 ${ms(p.p50)} (goal < 300 ms) p90 ${ms(p.p90)} max ${ms(p.max)}`);
} finally {
  const code = await stack.stop();
  if (code !== 0) console.error(`the stack exited with ${code}`);
}
