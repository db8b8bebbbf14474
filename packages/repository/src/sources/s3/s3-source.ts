// A repository in an S3 bucket (AWS or any S3-compatible server), in the indexed layout:
// s3://bucket/prefix/index.json plus s3://bucket/prefix/{model}/... . Requests are signed with
// SigV4 when credentials are given (anonymous otherwise, for public buckets).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { listLocalModels } from "../../local-directory.js";
import { manifestOfDirectory } from "../file-manifest.js";
import { formatHttpRepositoryIndex, HTTP_INDEX_FILE } from "../http-layout.js";
import { indexedModelSource, okOrRepositoryError } from "../indexed-source.js";
import type { ModelSource } from "../model-source.js";
import { awsUriEncode, EMPTY_PAYLOAD_SHA256, signV4, type AwsCredentials } from "./sigv4.js";

export interface S3Options {
  /** An S3-compatible server ("http://127.0.0.1:9000"): requests are path-style. Absent: AWS, virtual-hosted style. */
  readonly endpoint?: string;
  readonly region: string;
  readonly credentials?: AwsCredentials;
}

export interface S3Location {
  readonly bucket: string;
  /** Key prefix without leading or trailing '/' ("" for the bucket's root). */
  readonly prefix: string;
}

/** "s3://bucket/some/prefix" -> {bucket, prefix}. */
export function parseS3Location(location: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
  if (m === null) throw new Error(`an S3 repository is s3://BUCKET[/PREFIX], got '${location}'`);
  return { bucket: m[1], prefix: (m[2] ?? "").replace(/^\/+|\/+$/g, "") };
}

/** The standard AWS variables: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. */
export function s3OptionsFromEnv(env: Readonly<Record<string, string | undefined>>): S3Options {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(endpoint ? { endpoint } : {}),
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {}),
  };
}

/** The URL of an object (key '/'-separated, unencoded). */
function objectUrl(options: S3Options, bucket: string, key: string): URL {
  const path = key.split("/").map(awsUriEncode).join("/");
  if (options.endpoint !== undefined) return new URL(`${options.endpoint.replace(/\/+$/, "")}/${bucket}${key === "" ? "" : `/${path}`}`);
  return new URL(`https://${bucket}.s3.${options.region}.amazonaws.com/${path}`);
}

/** Sends one S3 request, signed when there are credentials. */
export function s3Fetch(options: S3Options, method: string, url: URL, body?: Uint8Array): Promise<Response> {
  const payloadHash = body === undefined ? EMPTY_PAYLOAD_SHA256 : createHash("sha256").update(body).digest("hex");
  const headers: Record<string, string> = { "x-amz-content-sha256": payloadHash };
  const signed =
    options.credentials === undefined
      ? {}
      : signV4({ method, url, headers, payloadHash, service: "s3", region: options.region, credentials: options.credentials, now: new Date() });
  return fetch(url, { method, headers: { ...headers, ...signed }, ...(body === undefined ? {} : { body }) });
}

export function s3ModelSource(location: string, options: S3Options): ModelSource {
  const { bucket, prefix } = parseS3Location(location);
  const shown = `s3://${bucket}${prefix === "" ? "" : `/${prefix}`}`;
  return indexedModelSource({
    kind: "s3",
    location: shown,
    get(path, model) {
      const url = objectUrl(options, bucket, prefix === "" ? path : `${prefix}/${path}`);
      return okOrRepositoryError(s3Fetch(options, "GET", url), `${shown}/${path}`, model);
    },
  });
}

/** Uploads a local repository directory to s3://bucket/prefix with its index.json (creating the bucket if asked). */
export async function publishRepositoryToS3(dir: string, location: string, options: S3Options & { readonly createBucket?: boolean }): Promise<void> {
  const { bucket, prefix } = parseS3Location(location);
  const put = async (key: string, body: Uint8Array) => {
    const res = await s3Fetch(options, "PUT", objectUrl(options, bucket, key), body);
    if (!res.ok) throw new Error(`PUT s3://${bucket}/${key}: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  if (options.createBucket) await put("", new Uint8Array());
  const models = [];
  for (const name of await listLocalModels(dir)) {
    const files = await manifestOfDirectory(join(dir, name));
    for (const f of files) await put(`${prefix === "" ? "" : `${prefix}/`}${name}/${f.path}`, await readFile(join(dir, name, ...f.path.split("/"))));
    models.push({ name, files });
  }
  await put(`${prefix === "" ? "" : `${prefix}/`}${HTTP_INDEX_FILE}`, Buffer.from(formatHttpRepositoryIndex(models)));
}
