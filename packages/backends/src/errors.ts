// One tagged error for everything a backend can fail at; `reason` says which, as data, so the
// executor decides (retry Unavailable, fail the lease on InvalidSpec/ImageNotFound/StartFailed).
import { Data } from "effect";

export type BackendErrorReason =
  /** The backend's engine/API cannot be reached or answered with an error (retry later). */
  | { readonly _tag: "Unavailable"; readonly message: string }
  /** The spec cannot be run by this backend; every problem is listed. */
  | { readonly _tag: "InvalidSpec"; readonly problems: readonly string[] }
  | { readonly _tag: "ImageNotFound"; readonly image: string; readonly message: string }
  /** A replica did not come up (exited, or not ready in time); the end of its log says why. */
  | { readonly _tag: "StartFailed"; readonly replicaId: string; readonly message: string; readonly logTail: string; readonly exitCode?: number }
  | { readonly _tag: "NotFound"; readonly serverId: string }
  /** The backend's own configuration (or its name, at plugin loading) is wrong. */
  | { readonly _tag: "InvalidConfig"; readonly problems: readonly string[] };

export type BackendErrorReasonTag = BackendErrorReason["_tag"];

export class BackendError extends Data.TaggedError("BackendError")<{ readonly backend: string; readonly reason: BackendErrorReason }> {
  override get message(): string {
    const r = this.reason;
    switch (r._tag) {
      case "Unavailable":
        return `${this.backend}: unavailable: ${r.message}`;
      case "InvalidSpec":
        return `${this.backend}: invalid server spec: ${r.problems.join("; ")}`;
      case "ImageNotFound":
        return `${this.backend}: image '${r.image}' not found: ${r.message}`;
      case "StartFailed":
        return `${this.backend}: replica ${r.replicaId} failed to start: ${r.message}`;
      case "NotFound":
        return `${this.backend}: server '${r.serverId}' not found`;
      case "InvalidConfig":
        return `${this.backend}: invalid configuration: ${r.problems.join("; ")}`;
    }
  }
}

export const backendError = (backend: string, reason: BackendErrorReason): BackendError => new BackendError({ backend, reason });
