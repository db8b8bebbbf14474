// `npm start` runs berthd on this machine, whatever the backend: what that implies for the
// backends' options, applied only where the configuration left them unset.
import type { BerthdConfigShape } from "@berth/control-plane";
import { findExecutable } from "@berth/backends/process/runtime";

/**
 * Docker: Ctrl-C stops everything, so the containers stop with it (berthd's own default leaves
 * them running for the next berthd to adopt).
 * Kubernetes: the sidecars dial berthd on this machine's loopback, which only pods on the host
 * network of this machine can reach (a single-node or edge cluster): host network, endpoints on
 * 127.0.0.1, any node (berthd's node is `local`, the cluster's has its own name), and no
 * `nvidia.com/gpu` request when this machine has no NVIDIA driver (berthd then offers a pretend
 * GPU that no device plugin could satisfy), and berthd's own autoscaler (an HPA needs a custom
 * metrics adapter serving the lease's metric, which a cluster made for one machine lacks).
 */
export function oneMachineDefaults(config: BerthdConfigShape, hasNvidiaDriver: boolean = findExecutable("nvidia-smi") !== undefined): BerthdConfigShape {
  switch (config.backend.kind) {
    case "docker":
      return { ...config, backend: { ...config.backend, docker: { onClose: "stop", ...config.backend.docker } } };
    case "kubernetes":
      return {
        ...config,
        backend: {
          ...config.backend,
          kubernetes: {
            network: "host",
            endpointHost: "127.0.0.1",
            nodeSelection: "any",
            autoscaling: "builtin",
            ...(hasNvidiaDriver ? {} : { requestGpus: false }),
            ...config.backend.kubernetes,
          },
        },
      };
    default:
      return config;
  }
}
