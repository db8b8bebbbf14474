import { Either, ParseResult, Schema } from "effect";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { formatPath } from "@berth/core/spec/issues";
import { ScenarioSpec, type LeaseTemplate, type Scenario } from "./schema.js";

/** One thing wrong with a scenario file, with where it is (`cluster.nodeGroups[0].memory`). */
export interface Problem {
  readonly path: string;
  readonly message: string;
}


const decode = Schema.decodeUnknownEither(ScenarioSpec, { errors: "all", onExcessProperty: "error" });

/** Cross-references the Schema cannot see: models, pools and nodes named elsewhere must exist. */
export const crossCheck = (s: Scenario): Problem[] => {
  const problems: Problem[] = [];
  const models = new Set(s.models.map((m) => m.name));
  const pools = new Set(s.pools.map((p) => p.name));
  const nodes = new Set(s.cluster.nodeGroups.flatMap((g) => Array.from({ length: g.count }, (_, i) => `${g.name}-${i}`)));
  const checkTemplate = (t: LeaseTemplate, at: string) => {
    t.models.forEach((m, i) => {
      if (!models.has(m)) problems.push({ path: `${at}.models[${i}]`, message: `unknown model ${m} (the catalog has ${[...models].join(", ")})` });
    });
    if (t.pool !== undefined && !pools.has(t.pool)) problems.push({ path: `${at}.pool`, message: `unknown pool ${t.pool}` });
    if (t.autoscaling !== undefined && t.pool !== undefined) problems.push({ path: `${at}.autoscaling`, message: "autoscaling is for bespoke leases only" });
  };
  const checkWorkload = (w: Scenario["workload"], at: string) => {
    if (w.kind === "synthetic") w.templates.forEach((t, i) => checkTemplate(t, `${at}.templates[${i}]`));
    else checkTemplate(w.template, `${at}.template`);
  };
  s.pools.forEach((p, i) => {
    if (p.resources.gpuMemory === undefined && p.resources.gpus === 0) problems.push({ path: `pools[${i}].resources.gpuMemory`, message: "a pool instance needs GPU memory (or whole GPUs) to offer its leases" });
  });
  checkWorkload(s.workload, "workload");
  s.experiment?.workloads?.forEach((w, i) => checkWorkload(w.workload, `experiment.workloads[${i}].workload`));
  s.failures.nodeLoss.forEach((loss, i) => {
    if (loss.node !== undefined && !nodes.has(loss.node)) problems.push({ path: `failures.nodeLoss[${i}].node`, message: `unknown node ${loss.node} (nodes are named <group>-<index>)` });
    if (loss.at > s.duration) problems.push({ path: `failures.nodeLoss[${i}].at`, message: "after the end of the scenario" });
  });
  return problems;
};

/** Decodes a scenario from already-parsed data (YAML or JSON). */
export const decodeScenario = (input: unknown): Either.Either<Scenario, Problem[]> => {
  const decoded = decode(input);
  if (Either.isLeft(decoded)) {
    return Either.left(ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  const problems = crossCheck(decoded.right);
  return problems.length > 0 ? Either.left(problems) : Either.right(decoded.right);
};

/** Parses and decodes a scenario file's text. */
export const parseScenario = (text: string): Either.Either<Scenario, Problem[]> => {
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const line = e.linePos?.[0];
      return Either.left([{ path: line ? `line ${line.line}:${line.col}` : "", message: e.message.split("\n")[0] }]);
    }
    throw e;
  }
  return decodeScenario(data);
};
