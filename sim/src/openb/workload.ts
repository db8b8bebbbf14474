// The arrival sequence of the FGD paper's experiment, as its simulator builds it
// (hkust-adsl/kubernetes-scheduler-simulator, `SortClusterPods` then `TunePodsByNodeTotalResource`
// with `--shuffle-pod=true -tune 1.3 -tuneseed S`):
//   1. every pod of the trace (GPU and CPU-only), in a seeded random order;
//   2. then pods drawn uniformly with replacement from the trace and appended, until the next
//      draw would push the total GPU request past ratio x cluster GPU capacity;
//   (if the trace alone already exceeds the target, random pods are removed until it fits).
// Pods never depart. CPU-only pods arrive and take CPU and memory but add nothing to the
// arrived GPU request.
import type { Rng } from "@berth/core/random/rng";
import { podGpuMilli, type OpenbPod } from "./trace.js";

export const shuffleInPlace = <T>(items: T[], rng: Rng): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
};

export interface ArrivalSequence {
  readonly pods: readonly OpenbPod[];
  /** Total GPU request of the sequence in milli-GPU. */
  readonly gpuMilli: number;
  readonly targetGpuMilli: number;
}

export const buildArrivalSequence = (trace: readonly OpenbPod[], capacityGpuMilli: number, ratio: number, rng: Rng): ArrivalSequence => {
  if (trace.length === 0) throw new Error("the pod trace is empty");
  const target = ratio * capacityGpuMilli;
  const pods = shuffleInPlace([...trace], rng);
  let total = pods.reduce((s, p) => s + podGpuMilli(p), 0);
  while (total > target && pods.length > 0) {
    const [removed] = pods.splice(rng.int(pods.length), 1);
    total -= podGpuMilli(removed);
  }
  if (trace.some((p) => podGpuMilli(p) > 0)) {
    for (;;) {
      const drawn = trace[rng.int(trace.length)];
      if (total + podGpuMilli(drawn) > target) break;
      pods.push(drawn);
      total += podGpuMilli(drawn);
    }
  }
  return { pods, gpuMilli: total, targetGpuMilli: target };
};
