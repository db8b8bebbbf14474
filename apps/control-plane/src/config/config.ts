import { Context, Layer } from "effect";
import type { DecideConfig } from "@berth/core";
import type { ConfigFile, RepositoryConfig, TokenConfig } from "./schema.js";

/** A repository as berthd uses it: a directory or a URL (with its auth header resolved). */
export type ResolvedRepository =
  | { readonly name: string; readonly kind: "dir"; readonly dir: string }
  | { readonly name: string; readonly kind: "http"; readonly url: string; readonly authHeader?: string };

export interface ResolvedToken {
  readonly token: string;
  readonly tenant: string;
  readonly admin: boolean;
}

/** berthd's configuration after defaults, environment and flags, with paths made absolute. */
export interface BerthdConfigShape extends Omit<ConfigFile, "repositories" | "auth" | "defaultRepository" | "store" | "sidecarListen" | "images"> {
  /** `default` resolved for the backend (see ImagesConfig). */
  readonly images: ConfigFile["images"] & { readonly default: string };
  /** Where SidecarService listens on its own (plaintext); undefined: on the API's listener. */
  readonly sidecarListen: string | undefined;
  readonly stateDir: string;
  readonly store: ConfigFile["store"] & { readonly path: string };
  readonly repositories: readonly ResolvedRepository[];
  readonly defaultRepository: string;
  /** The default image first; the default image is always allowed. */
  readonly initialAllowlist: readonly string[];
  readonly auth: {
    /** False when no tokens are configured: every caller is tenant `default` with the admin role. */
    readonly enabled: boolean;
    readonly tokens: readonly ResolvedToken[];
    readonly tenants: ConfigFile["auth"]["tenants"];
    /** Resolved auth.sidecarSecret(Env): sidecars present per-server tokens minted from it. */
    readonly sidecarSecret?: string;
  };
  /**
   * Environment variables that held berthd's own secrets (API tokens, the sidecar secret): main.ts
   * removes them once read, so that no child process (the process backend's servers and sidecars
   * inherit berthd's environment) can read them.
   */
  readonly secretEnv?: readonly string[];
  /** How sidecars reach berthd over TLS (TLS on and auth.sidecarSecret set); undefined: plaintext. */
  readonly sidecarTls?: {
    /** PEM of the CA that signed berthd's certificate. */
    readonly ca: string;
    readonly serverName?: string;
  };
  /** decide's configuration (policies by name, default image). */
  readonly decide: DecideConfig;
  /** Where the demo repository is generated when the configuration names none. */
  readonly demoRepositoryDir?: string;
}

export class BerthdConfig extends Context.Tag("@berth/control-plane/BerthdConfig")<BerthdConfig, BerthdConfigShape>() {
  static readonly layer = (config: BerthdConfigShape): Layer.Layer<BerthdConfig> => Layer.succeed(BerthdConfig, config);
}

export type { RepositoryConfig, TokenConfig };
