// The backend's registry name and how API failures become its errors (shared by the backend and
// its lease routing without an import cycle).
import { backendError, type BackendError } from "../errors.js";
import type { KubeApiError } from "./kube-client.js";

export const KUBERNETES_BACKEND_NAME = "kubernetes";

export const unavailable = (e: KubeApiError): BackendError =>
  backendError(KUBERNETES_BACKEND_NAME, { _tag: "Unavailable", message: `${e.operation}: ${e.status} ${e.reason} ${e.message}`.trim() });
