export { ActivityCounter, type ActivityListener } from "./activity.js";
export { AutoLeaser, type RequestLease } from "./auto-lease.js";
export { HTTP_STATUS, type Refusal, type RefusalReason } from "./refusal.js";
export { readRouteFile, watchRouteFile, type RouteFileWatch } from "./route-file.js";
export * from "./route-set.js";
export { InMemoryRouteTable, type Candidate, type ModelRoutes, type Protocol, type RouteTable } from "./route-table.js";
export { ROUTER_NAME, ROUTER_VERSION, startRouter, type RouterOptions, type RunningRouter } from "./router.js";
