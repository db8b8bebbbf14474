// AWS Signature Version 4 for the few S3 requests a repository makes (GET, PUT, list), so no
// SDK is needed. Verified against AWS's published example in the tests.
import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignInput {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign besides host and x-amz-date (names any case). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". */
  readonly payloadHash: string;
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  readonly now: Date;
}

export const EMPTY_PAYLOAD_SHA256 = createHash("sha256").update("").digest("hex");

const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key: Buffer | string, s: string) => createHmac("sha256", key).update(s, "utf8").digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
export function awsUriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The headers to add to the request: authorization, x-amz-date, and the session token if any. */
export function signV4(input: SignInput): Record<string, string> {
  const amzDate = input.now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(input.headers ?? {})) headers.set(k.toLowerCase(), v.trim().replace(/\s+/g, " "));
  headers.set("host", input.url.host);
  headers.set("x-amz-date", amzDate);
  if (input.credentials.sessionToken !== undefined) headers.set("x-amz-security-token", input.credentials.sessionToken);
  const names = [...headers.keys()].sort();
  const canonicalUri = input.url.pathname.split("/").map((seg) => awsUriEncode(decodeURIComponent(seg))).join("/") || "/";
  const query = [...input.url.searchParams]
    .map(([k, v]) => [awsUriEncode(k), awsUriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [
    input.method,
    canonicalUri,
    query,
    names.map((n) => `${n}:${headers.get(n)}\n`).join(""),
    names.join(";"),
    input.payloadHash,
  ].join("\n");
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${input.credentials.secretAccessKey}`, day), input.region), input.service), "aws4_request");
  const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  const out: Record<string, string> = {
    authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
    "x-amz-date": amzDate,
  };
  if (input.credentials.sessionToken !== undefined) out["x-amz-security-token"] = input.credentials.sessionToken;
  return out;
}
