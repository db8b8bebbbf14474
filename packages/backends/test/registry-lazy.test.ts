import { describe, expect, it } from "vitest";
import { builtinBackends, dockerLazyPlugin, kubernetesLazyPlugin } from "../src/registry.js";
import { dockerBackendPlugin } from "../src/docker/docker-backend.js";
import { kubernetesBackendPlugin } from "../src/kubernetes/kubernetes-backend.js";

// The registry names Docker's and Kubernetes' plugins before it imports them: the names it
// gives must be the plugins' own.
describe("lazily loaded backend plugins", () => {
  it("carry the names of the plugins they load", () => {
    expect(dockerLazyPlugin.name).toBe(dockerBackendPlugin.name);
    expect(kubernetesLazyPlugin.name).toBe(kubernetesBackendPlugin.name);
    expect([...builtinBackends.keys()].sort()).toEqual(["docker", "kubernetes", "process"]);
  });
});
