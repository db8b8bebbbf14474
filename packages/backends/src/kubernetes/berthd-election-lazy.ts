// berthd's leader election on a coordination.k8s.io Lease, loaded on demand: the Kubernetes
// client is large, and most berthds never elect on a cluster. (Within this package, so that
// importers outside it keep static imports only.)
export const loadBerthdElection = () => import("./berthd-election.js");
