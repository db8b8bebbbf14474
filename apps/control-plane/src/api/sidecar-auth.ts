import { createHmac, timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { Either } from "effect";
import { apiError, type ApiError } from "./errors.js";

// Sidecar tokens: berthd mints one per server (an HMAC of the server id under auth.sidecarSecret)
// and the backend hands it to that server's sidecars in their environment. Nothing is stored:
// any berthd with the secret (a restarted one, another replica) checks any token, and a token
// speaks for its own server only.

const VERSION = "bst1";

const mac = (secret: string, serverId: string): string => createHmac("sha256", secret).update(`berth-sidecar\n${serverId}`).digest("base64url");

/** The token the sidecars of `serverId` present: `bst1.<server id>.<mac>`. */
export const mintSidecarToken = (secret: string, serverId: string): string => `${VERSION}.${serverId}.${mac(secret, serverId)}`;

/** Who a sidecar call speaks for: any server (no secret configured), or the server its token names. */
export type SidecarPrincipal = { readonly _tag: "AnyServer" } | { readonly _tag: "Server"; readonly serverId: string };

const unauthenticated = (message: string) => apiError(grpc.status.UNAUTHENTICATED, message);

/** Checks a SidecarService call's `authorization: Bearer <token>` against the secret; no secret: every caller is accepted. */
export const authenticateSidecar = (secret: string | undefined, metadata: grpc.Metadata): Either.Either<SidecarPrincipal, ApiError> => {
  if (secret === undefined) return Either.right({ _tag: "AnyServer" });
  const header = metadata.get("authorization")[0];
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  if (match === null) return Either.left(unauthenticated("missing sidecar token (authorization: Bearer <token>, handed to the sidecar in BERTH_SIDECAR_TOKEN)"));
  const parts = match[1]!.split(".");
  if (parts.length !== 3 || parts[0] !== VERSION || parts[1] === "") return Either.left(unauthenticated("malformed sidecar token"));
  const serverId = parts[1]!;
  const given = Buffer.from(parts[2]!);
  const expected = Buffer.from(mac(secret, serverId));
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? Either.right({ _tag: "Server", serverId })
    : Either.left(unauthenticated("sidecar token not minted by this Berth"));
};

/** A sidecar may speak only for the server its token names. */
export const mayActFor = (principal: SidecarPrincipal, serverId: string): boolean => principal._tag === "AnyServer" || principal.serverId === serverId;
