// The serving path on the real single-node cluster (../shared/k8s): `npm start -- --backend
// kubernetes --kubeconfig FILE` as a child process with its own namespace, host-port range and
// state directory, plus kubectl for reading what it made. The cluster comes from
// scripts/ci/start-kube.sh (idempotent): with CI=true a cluster that cannot be had fails the
// tests; elsewhere they skip with the reason, unless the cluster binaries are built.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createBerthClient, type BerthClient } from "@berth/api/berth";
import { ROOT, runBerth } from "./stack.js";

export const KUBE_IMAGE = process.env.BERTH_KUBE_TEST_IMAGE ?? "localhost/berth:dev";

export type KubeCluster = { readonly up: true; readonly kubeconfig: string } | { readonly up: false; readonly reason: string };

let cluster: KubeCluster | undefined;

/** The cluster (started once per test file when it can be). */
export function kubeCluster(): KubeCluster {
  cluster ??= startCluster();
  return cluster;
}

function startCluster(): KubeCluster {
  const binaries = join(process.env.KUBE_CACHE ?? "/var/cache/berth-kube", "bin", "kubelet");
  if (process.env.CI !== "true" && !existsSync(binaries)) return { up: false, reason: "the cluster binaries are not built (scripts/ci/start-kube.sh builds them)" };
  try {
    const out = execFileSync(join(ROOT, "scripts/ci/start-kube.sh"), { encoding: "utf8", timeout: 15 * 60_000, stdio: ["ignore", "pipe", "pipe"] });
    const line = out.split("\n").find((l) => l.startsWith("KUBECONFIG="));
    if (line === undefined) return { up: false, reason: `start-kube.sh printed no KUBECONFIG: ${out}` };
    execFileSync("docker", ["image", "inspect", KUBE_IMAGE], { stdio: "ignore" });
    return { up: true, kubeconfig: line.slice("KUBECONFIG=".length) };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { up: false, reason: `the cluster or ${KUBE_IMAGE} is not available: ${(err.stderr ?? err.message).slice(-2000)}` };
  }
}

/** kubectl against the cluster; `-o json` output parsed. */
export function kubectl(kubeconfig: string, ...args: string[]): string {
  return execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
}

export function kubectlJson<A = { items: KubeItem[] }>(kubeconfig: string, ...args: string[]): A {
  return JSON.parse(kubectl(kubeconfig, ...args, "-o", "json")) as A;
}

export interface KubeItem {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly ownerReferences?: { name: string; kind: string }[]; readonly deletionTimestamp?: string };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
}

export interface KubeStack {
  readonly stateDir: string;
  readonly berthd: string;
  readonly client: BerthClient;
  berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(graceMs?: number): Promise<number | null>;
  output(): string;
}

/** A started `npm start` child: `started` settles once it prints berth.started (a standby never does until it leads). */
export interface SpawnedKubeStack {
  readonly stateDir: string;
  readonly started: Promise<KubeStack>;
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to release anything. */
  crash(): void;
  output(): string;
}

/** `npm start -- --backend kubernetes --kubeconfig FILE` with `config` as berthd's configuration file. */
export function spawnKubeStack(kubeconfig: string, config: Record<string, unknown>): SpawnedKubeStack {
  const stateDir = mkdtempSync(join(tmpdir(), "berth-e2e-kube-"));
  const configFile = join(stateDir, "berthd.yaml");
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [
      "--import", "tsx", join(ROOT, "scripts/start.ts"),
      "--backend", "kubernetes",
      "--kubeconfig", kubeconfig,
      "--json",
      "--config", configFile,
      "--state-dir", stateDir,
      "--listen", "127.0.0.1:0",
      "--http", "127.0.0.1:0",
      "--router-http-port", "0",
      "--router-grpc-port", "0",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let text = "";
  child.stderr.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let client: BerthClient | undefined;
  let stopping: Promise<number | null> | undefined;
  const stop = (graceMs = 30_000) =>
    (stopping ??= (async () => {
      client?.close();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      rmSync(stateDir, { recursive: true, force: true });
      return code;
    })());
  const started = new Promise<{ berthd: string }>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`the stack exited (${code}) before starting:\n${text}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      text += `${line}\n`;
      try {
        const event = JSON.parse(line) as { event?: string; berthd?: string };
        if (event.event === "berth.started") resolve(event as { berthd: string });
      } catch {
        // not the start line
      }
    });
  }).then((s): KubeStack => {
    client = createBerthClient(s.berthd, { callTimeoutMs: 15_000 });
    return { stateDir, berthd: s.berthd, client, berth: (...args) => runBerth(s.berthd, args), stop, output: () => text };
  });
  // A standby that is stopped before it leads never starts: nobody need hear of it.
  started.catch(() => undefined);
  return { stateDir, started, stop, crash: () => void child.kill("SIGKILL"), output: () => text };
}

/** spawnKubeStack, waiting until it serves. */
export async function startKubeStack(kubeconfig: string, config: Record<string, unknown>, startTimeoutMs = 60_000): Promise<KubeStack> {
  const spawned = spawnKubeStack(kubeconfig, config);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      spawned.started,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the stack did not start within ${startTimeoutMs} ms:\n${spawned.output()}`)), startTimeoutMs))),
    ]);
  } catch (e) {
    await spawned.stop(1000);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export async function eventually<A>(what: string, get: () => A | undefined | Promise<A | undefined>, timeoutMs: number, intervalMs = 250): Promise<A> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await get();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * berthd's configuration for an e2e test in its own namespace and host-port range: npm start's
 * one-machine defaults (host network, 127.0.0.1 endpoints, any node, no GPU request, builtin
 * autoscaling) apply; what is set here is what a test on a shared cluster needs on top.
 */
export function kubeTestConfig(namespace: string, hostPorts: { readonly first: number; readonly last: number }, kubernetes: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    placement: { keepWarm: false },
    images: { default: KUBE_IMAGE },
    // The image is made by `npm run image:local`; there is no registry to pull from.
    backend: { kubernetes: { namespace, hostPorts, imagePullPolicy: "Never", retryBaseMs: 50, ...kubernetes } },
  };
}

/** A namespace of the test's own, ready for pods (its default ServiceAccount exists). */
export async function createTestNamespace(kubeconfig: string, namespace: string): Promise<void> {
  kubectl(kubeconfig, "create", "namespace", namespace);
  await eventually("the namespace's default ServiceAccount", () => (kubectl(kubeconfig, "-n", namespace, "get", "serviceaccount", "default", "--ignore-not-found").trim() === "" ? undefined : true), 20_000);
}
