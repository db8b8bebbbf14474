import { Schema } from "effect";
import { show, type Issues, type SpecPath, plain } from "./issues.js";

// Names follow Kubernetes, so every name Berth accepts can become a Kubernetes object name:
// lease, pool, tenant and repository names are DNS-1123 labels; labels are Kubernetes labels.

export const MAX_LABEL_LENGTH = 63;
const MAX_SUBDOMAIN_LENGTH = 253;

/** Which DNS-1123 label rules `name` breaks, in plain words; undefined when it is a valid label. */
export const dnsLabelProblem = (name: string): string | undefined => {
  if (name.length === 0) return "a name cannot be empty";
  const broken: string[] = [];
  if (name.length > MAX_LABEL_LENGTH) broken.push(`it is ${name.length} characters long, at most ${MAX_LABEL_LENGTH} are allowed`);
  if (/[A-Z]/.test(name)) broken.push("it has uppercase letters (use lowercase)");
  const odd = [...new Set(name.replace(/[a-zA-Z0-9-]/g, ""))];
  if (odd.length > 0) broken.push(`it has ${odd.map((c) => JSON.stringify(c)).join(", ")} (only lowercase letters, digits and '-' are allowed)`);
  if (name.startsWith("-")) broken.push("it starts with '-' (start with a letter or digit)");
  if (name.endsWith("-") && name.length > 1) broken.push("it ends with '-' (end with a letter or digit)");
  if (broken.length === 0) return undefined;
  return `${show(name)} is not a valid name: ${broken.join("; ")}`;
};

const nameFilter = (problem: (s: string) => string | undefined) => (s: string) => problem(s) ?? true;

/** A DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters. */
export const DnsLabel = Schema.String.pipe(Schema.filter(nameFilter(dnsLabelProblem))).annotations({
  identifier: "DnsLabel",
  message: plain((issue) => (typeof issue.actual === "string" ? (dnsLabelProblem(issue.actual) ?? "not a valid name") : `expected a name, not ${show(issue.actual)}`)),
});

const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Problems with a label key (`[prefix/]name`, prefix a DNS subdomain), or undefined. */
export const labelKeyProblem = (key: string): string | undefined => {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return `label key ${show(key)} has an empty prefix before '/'`;
    if (prefix.length > MAX_SUBDOMAIN_LENGTH || !SUBDOMAIN.test(prefix)) {
      return `label key ${show(key)} has a bad prefix: the part before '/' must be a lowercase DNS name like example.com`;
    }
  }
  if (name.length === 0) return `label key ${show(key)} has an empty name`;
  if (name.length > MAX_LABEL_LENGTH) return `label key ${show(key)} is too long: the name part may have at most ${MAX_LABEL_LENGTH} characters`;
  if (!LABEL_NAME.test(name)) {
    return `label key ${show(key)} is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, optionally after a prefix like example.com/`;
  }
  return undefined;
};

/** Problems with a label value (empty, or up to 63 of letters, digits, '-', '_', '.', alphanumeric at both ends), or undefined. */
export const labelValueProblem = (value: string): string | undefined => {
  if (value.length === 0) return undefined;
  if (value.length > MAX_LABEL_LENGTH) return `label value ${show(value)} is too long: at most ${MAX_LABEL_LENGTH} characters`;
  if (!LABEL_NAME.test(value)) return `label value ${show(value)} is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  return undefined;
};

export const LabelKey = Schema.String.pipe(Schema.filter(nameFilter(labelKeyProblem))).annotations({ identifier: "LabelKey" });

export const LabelValue = Schema.String.pipe(Schema.filter(nameFilter(labelValueProblem))).annotations({
  identifier: "LabelValue",
  message: plain((issue) => (typeof issue.actual === "string" ? (labelValueProblem(issue.actual) ?? "not a valid label value") : `a label value must be a string, not ${show(issue.actual)} (quote numbers and booleans in YAML)`)),
});

/** Decoded labels (already checked). */
export const Labels = Schema.Record({ key: Schema.String, value: Schema.String });

/**
 * Read Kubernetes-style labels (`{ team: vision, "example.com/tier": gold }`) at `path`,
 * reporting every bad key and value. Read by hand because a Schema.Record drops keys that
 * fail its key schema instead of reporting them.
 */
export const readLabels = (value: unknown, path: SpecPath, issues: Issues): Record<string, string> | undefined => {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    issues.add(path, value, `labels must be a mapping of keys to values, not ${show(value)}`);
    return undefined;
  }
  const before = issues.list.length;
  const labels: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) issues.add([...path, key], raw, keyProblem);
    if (typeof raw !== "string") {
      issues.add([...path, key], raw, `label value ${show(raw)} must be a string (quote numbers and booleans in YAML)`);
      continue;
    }
    const valueProblem = labelValueProblem(raw);
    if (valueProblem !== undefined) issues.add([...path, key], raw, valueProblem);
    labels[key] = raw;
  }
  return issues.list.length > before ? undefined : labels;
};
