// The Kubernetes backend: `@berth/backends/kubernetes/index`.
export { decodeKubernetesBackendConfig, KubernetesBackendConfigSchema, type KubernetesBackendConfig, type KubernetesBackendOptions } from "./config.js";
export { KubeApiError, kubeRetrySchedule, makeKubeClient, type KubeClient, type KubeObject } from "./kube-client.js";
export {
  KUBERNETES_BACKEND_NAME,
  kubernetesBackendLayerFromConfig,
  kubernetesBackendPlugin,
  layerKubernetes,
  layerKubernetesWith,
  makeKubernetesBackend,
  makeKubernetesBackendWith,
  type KubernetesBackendHandle,
} from "./kubernetes-backend.js";
export { kubernetesLeaseRouting, leaseRoutingOf, type KubernetesLeaseRouting } from "./lease-routing.js";
export { decideElection, runLeaderElection, type LeaderElection, type LeaderElectionOptions } from "./leader-election.js";
export { berthdElectionOptions, runBerthdElection } from "./berthd-election.js";
export { chooseHpaVersion, leaseHpa, leaseService, leaseServiceName, replicaDeployment, serverRecord, sidecarSecret, sidecarSecretName, type LeaseAutoscaling } from "./objects.js";
