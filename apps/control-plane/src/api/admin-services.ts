import * as grpc from "@grpc/grpc-js";
import { Clock, Effect, Either, type Runtime } from "effect";
import { imageAllowed, validatePoolSpec, type Event } from "@berth/core";
import type { AllowlistServiceHandlers, PoolServiceHandlers, RepositoryServiceHandlers, ServerServiceHandlers } from "@berth/api/berth";
import type * as T from "@berth/api/berth";
import type { BerthdConfigShape } from "../config/config.js";
import type { EngineShape } from "../engine/engine.js";
import type { SidecarHubShape } from "../executor/sidecar-hub.js";
import type { RepositoriesShape } from "../repositories/repositories.js";
import type { AllowlistShape } from "./allowlist.js";
import { requireAdmin } from "./auth.js";
import { apiError, fromRejection, fromRepositoryError, fromStoreError, invalidArgument, notFound, type ApiError } from "./errors.js";
import { poolPath, poolSpecInput } from "./inputs.js";
import { rpcKit, type CallContext } from "./rpc.js";
import { poolStatusView, poolView, serverView } from "./views.js";

export interface AdminDeps {
  readonly config: BerthdConfigShape;
  readonly engine: EngineShape;
  readonly hub: SidecarHubShape;
  readonly repositories: RepositoriesShape;
  readonly allowlist: AllowlistShape;
}

const admin = (context: CallContext, what: string): Effect.Effect<void, ApiError> => Either.match(requireAdmin(context.principal, what), { onLeft: Effect.fail, onRight: () => Effect.void });

const submitOrFail = (engine: EngineShape, event: Event) =>
  engine.submit(event).pipe(
    Effect.mapError(fromStoreError),
    Effect.flatMap((s) => (s.committed || s.duplicate || s.result.rejections.length === 0 ? Effect.succeed(s) : Effect.fail(fromRejection(s.result.rejections[0]!)))),
  );

export const makePoolHandlers = (deps: AdminDeps, runtime: Runtime.Runtime<never>): PoolServiceHandlers => {
  const { engine, allowlist } = deps;
  const kit = rpcKit(runtime, deps.config.auth);
  const pool = (name: string) =>
    Effect.suspend(() => {
      const spec = engine.snapshot().pools[name];
      return spec === undefined ? Effect.fail(notFound(`pool "${name}" not found`)) : Effect.succeed(spec);
    });
  return {
    Create: kit.unary("Pool.Create", (request: T.CreatePoolRequest, context) =>
      Effect.gen(function* () {
        yield* admin(context, "creating a pool");
        const decoded = validatePoolSpec(poolSpecInput(request.spec));
        if (Either.isLeft(decoded))
          return yield* Effect.fail(
            invalidArgument(
              decoded.left.message,
              decoded.left.problems.map((p) => ({ field: `spec.${poolPath(p.path)}`.replace(/\.$/, ""), description: p.message })),
            ),
          );
        const spec = decoded.right;
        const images = yield* allowlist.list;
        if (!imageAllowed(spec.template.image, images)) return yield* Effect.fail(apiError(grpc.status.FAILED_PRECONDITION, `image "${spec.template.image}" is not on the allowlist`));
        if (engine.snapshot().pools[spec.name] !== undefined) return yield* Effect.fail(apiError(grpc.status.ALREADY_EXISTS, `pool "${spec.name}" already exists`));
        const at = yield* Clock.currentTimeMillis;
        const submitted = yield* submitOrFail(engine, { _tag: "PoolDefined", at, spec });
        return poolView(submitted.snapshot, spec);
      }),
    ),
    Get: kit.unary("Pool.Get", (request: T.GetPoolRequest) => Effect.map(pool(request.name), (spec) => poolView(engine.snapshot(), spec))),
    List: kit.unary("Pool.List", () =>
      Effect.sync(() => {
        const snapshot = engine.snapshot();
        return { pools: Object.values(snapshot.pools).sort((a, b) => a.name.localeCompare(b.name)).map((p) => poolView(snapshot, p)) };
      }),
    ),
    Delete: kit.unary("Pool.Delete", (request: T.DeletePoolRequest, context) =>
      Effect.gen(function* () {
        yield* admin(context, "deleting a pool");
        const spec = yield* pool(request.name);
        const before = poolView(engine.snapshot(), spec);
        const at = yield* Clock.currentTimeMillis;
        yield* submitOrFail(engine, { _tag: "PoolDeleted", at, name: request.name });
        return before;
      }),
    ),
    Status: kit.unary("Pool.Status", (request: T.GetPoolRequest) => Effect.map(pool(request.name), (spec) => poolStatusView(engine.snapshot(), spec))),
  };
};

export const makeAllowlistHandlers = (deps: AdminDeps, runtime: Runtime.Runtime<never>): AllowlistServiceHandlers => {
  const kit = rpcKit(runtime, deps.config.auth);
  const images = (request: T.AllowlistRequest) => {
    const bad = request.images.flatMap((image, i) => (image === "" || /\s/.test(image) ? [{ field: `images[${i}]`, description: "an image has no spaces and is not empty" }] : []));
    return bad.length > 0 ? Effect.fail(invalidArgument("bad image names", bad)) : Effect.succeed(request.images);
  };
  return {
    Append: kit.unary("Allowlist.Append", (request: T.AllowlistRequest, context) =>
      Effect.gen(function* () {
        yield* admin(context, "changing the allowlist");
        const add = yield* images(request);
        return { images: [...(yield* deps.allowlist.append(add).pipe(Effect.mapError(fromStoreError)))] };
      }),
    ),
    List: kit.unary("Allowlist.List", () => Effect.map(deps.allowlist.list, (list) => ({ images: [...list] }))),
    Remove: kit.unary("Allowlist.Remove", (request: T.AllowlistRequest, context) =>
      Effect.gen(function* () {
        yield* admin(context, "changing the allowlist");
        const drop = yield* images(request);
        return { images: [...(yield* deps.allowlist.remove(drop).pipe(Effect.mapError(fromStoreError)))] };
      }),
    ),
  };
};

export const makeServerHandlers = (deps: AdminDeps, runtime: Runtime.Runtime<never>): ServerServiceHandlers => {
  const kit = rpcKit(runtime, deps.config.auth);
  return {
    List: kit.unary("Server.List", () =>
      Effect.sync(() => {
        const snapshot = deps.engine.snapshot();
        return { servers: Object.values(snapshot.servers).sort((a, b) => a.id.localeCompare(b.id)).map((s) => serverView(snapshot, s, deps.hub.endpoints(s.id), deps.hub.grpcEndpoints(s.id))) };
      }),
    ),
    Get: kit.unary("Server.Get", (request: T.GetServerRequest) =>
      Effect.suspend(() => {
        const snapshot = deps.engine.snapshot();
        const server = snapshot.servers[request.id];
        return server === undefined ? Effect.fail(notFound(`server "${request.id}" not found`)) : Effect.succeed(serverView(snapshot, server, deps.hub.endpoints(server.id), deps.hub.grpcEndpoints(server.id)));
      }),
    ),
  };
};

export const makeRepositoryHandlers = (deps: AdminDeps, runtime: Runtime.Runtime<never>): RepositoryServiceHandlers => {
  const kit = rpcKit(runtime, deps.config.auth);
  return {
    ListModels: kit.unary("Repository.ListModels", (request: T.ListModelsRequest) =>
      deps.repositories.list(request.repository).pipe(
        Effect.mapError(fromRepositoryError),
        Effect.map((entries) => ({
          models: entries.map((e) => ({
            repository: e.repository,
            name: e.summary.name,
            versions: [...e.summary.versions],
            platform: e.summary.config.platform !== "" ? e.summary.config.platform : e.summary.config.backend,
            group: e.summary.group,
            sizeBytes: e.summary.sizeBytes,
          })),
        })),
      ),
    ),
  };
};
