// The Docker backend's public surface (the package index re-exports it).
export { DOCKER_BACKEND_NAME, dockerBackendLayerFromConfig, dockerBackendPlugin, layerDocker, layerDockerWith, makeDockerBackend } from "./docker-backend.js";
export { decodeDockerBackendConfig, DockerBackendConfigSchema, type DockerBackendConfig, type DockerBackendOptions, type DockerImage } from "./config.js";
export { containerName, LABEL_INSTANCE, LABEL_ROLE, MANAGED_BY_DOCKER, MODEL_REPOSITORY, replicaContainers, volumeName } from "./containers.js";
export { engineRetrySchedule, EngineError, makeEngine, type Engine } from "./engine.js";
export { gpuInventory, nvidiaSmiGpus } from "./gpus.js";
