import { describe, expect, it } from "@effect/vitest";
import { Effect } from "effect";
import type { BackendAutoscalerShape, BackendShape } from "@berth/backends/backend";
import { leaderGated } from "../../src/leadership/gated-backend.js";
import { soleLeader } from "../../src/store/leader-control.js";

// The backend's own autoscaler (`hpa` mode) is gated like the rest of lease routing: it writes
// HPAs and its scale target's status, which a deposed leader must not do.

const recordingAutoscaler = (calls: string[]): BackendAutoscalerShape => ({
  defaultMode: "hpa",
  ensureLeaseAutoscaler: (spec) => Effect.sync(() => void calls.push(`ensure ${spec.leaseName}`)),
  syncScaleTarget: (serverId, replicas) => Effect.sync(() => (calls.push(`sync ${serverId} ${replicas}`), 2)),
  deleteLeaseAutoscaler: (lease) => Effect.sync(() => void calls.push(`delete ${lease}`)),
});

const backendWith = (autoscaler: BackendAutoscalerShape): BackendShape =>
  ({
    name: "recording",
    capabilities: { gpus: false, images: "process", adoption: false, nodes: "one" },
    leaseRouting: {
      autoscaling: "builtin",
      autoscaler,
      ensureLeaseRoute: () => Effect.void,
      deleteLeaseRoute: () => Effect.void,
      leaseRoutes: () => Effect.succeed([]),
      setLeaseMember: () => Effect.void,
    },
  }) as unknown as BackendShape;

describe("the leader gate on the backend's autoscaler", () => {
  it.effect("passes it through while leading, with its default mode; refuses it once deposed", () =>
    Effect.gen(function* () {
      const calls: string[] = [];
      const control = yield* soleLeader("a", 1);
      const autoscaler = leaderGated(backendWith(recordingAutoscaler(calls)), control.leadership).leaseRouting?.autoscaler;
      expect(autoscaler?.defaultMode).toBe("hpa");
      const spec = { leaseName: "l", serverId: "s", metric: "queue_time", target: 1, minReplicas: 1, maxReplicas: 2 };
      yield* autoscaler!.ensureLeaseAutoscaler(spec, 1);
      expect(yield* autoscaler!.syncScaleTarget("s", 1)).toBe(2);
      yield* control.deposed;
      for (const refused of [autoscaler!.ensureLeaseAutoscaler(spec, 1), autoscaler!.syncScaleTarget("s", 1), autoscaler!.deleteLeaseAutoscaler("l")]) {
        expect((yield* Effect.flip(refused)).reason._tag).toBe("Unavailable");
      }
      expect(calls).toEqual(["ensure l", "sync s 1"]);
    }),
  );
});
