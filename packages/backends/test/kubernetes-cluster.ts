// The real single-node cluster for the Kubernetes tests (../shared/k8s, started by
// scripts/ci/start-kube.sh). With CI=true a cluster that cannot be started fails the tests;
// elsewhere they are skipped with the reason, unless the binaries are built (then it starts).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Effect } from "effect";
import { makeKubeClient, type KubeClient } from "../src/kubernetes/kube-client.js";

export const REPO_ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
/** The Berth image (scripts/image/build.sh); BERTH_KUBE_TEST_IMAGE names another with the same entrypoints. */
export const IMAGE = process.env.BERTH_KUBE_TEST_IMAGE ?? "localhost/berth:dev";
export const NODE = process.env.NODE_NAME ?? "berth-node";

export type ClusterState = { readonly up: true; readonly kubeconfig: string } | { readonly up: false; readonly reason: string };

function start(): ClusterState {
  const binaries = join(process.env.KUBE_CACHE ?? "/var/cache/berth-kube", "bin", "kubelet");
  if (process.env.CI !== "true" && !existsSync(binaries)) return { up: false, reason: "the cluster binaries are not built (scripts/ci/start-kube.sh builds them)" };
  try {
    const out = execFileSync(join(REPO_ROOT, "scripts/ci/start-kube.sh"), { encoding: "utf8", timeout: 15 * 60_000, stdio: ["ignore", "pipe", "pipe"] });
    const line = out.split("\n").find((l) => l.startsWith("KUBECONFIG="));
    if (line === undefined) return { up: false, reason: `start-kube.sh printed no KUBECONFIG: ${out}` };
    if (!imagePresent()) return { up: false, reason: `${IMAGE} is missing (scripts/image/build.sh builds it)` };
    return { up: true, kubeconfig: line.slice("KUBECONFIG=".length) };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { up: false, reason: `start-kube.sh failed: ${(err.stderr ?? err.message).slice(-2000)}` };
  }
}

function imagePresent(): boolean {
  try {
    execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let state: ClusterState | undefined;
/** The cluster, started on first use (once per test file). */
export function cluster(): ClusterState {
  state ??= start();
  return state;
}

/** In CI a missing cluster is a failure; elsewhere a skip. */
export const mustRun = (): boolean => process.env.CI === "true";

export function adminClient(kubeconfig: string): KubeClient {
  return makeKubeClient({ kubeconfig, fieldManager: "berth-test", retryBaseMs: 50, retryTimes: 5 });
}

/** A fresh namespace (with its default ServiceAccount, which pods need), for one test file. */
export async function freshNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await Effect.runPromise(client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "berth.dev/test": prefix } } }));
  for (let i = 0; i < 100; i++) {
    if ((await Effect.runPromise(client.get("v1", "ServiceAccount", name, "default"))) !== undefined) return name;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`namespace ${name} got no default ServiceAccount`);
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  await Effect.runPromise(client.remove("v1", "Namespace", "", name, "Background").pipe(Effect.ignore));
}

/** Docker container id of a pod's container (the dockershim names them k8s_<container>_<pod>_...). */
export function containerOf(podName: string, container: string): string {
  const out = execFileSync("docker", ["ps", "-q", "--filter", `label=io.kubernetes.pod.name=${podName}`, "--filter", `label=io.kubernetes.container.name=${container}`], { encoding: "utf8" }).trim();
  if (out === "") throw new Error(`no running container ${container} of pod ${podName}`);
  return out.split("\n")[0];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
