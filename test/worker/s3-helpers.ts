import { exports } from "cloudflare:workers";
import { AwsV4Signer } from "aws4fetch";
import { expect } from "vitest";
import { rootSecret } from "../../src/auth/s3-keys";
import { TOKEN } from "./helpers";

/** The S3 endpoint of the worker tests: the same origin as the native API. */
export const S3_ORIGIN = "http://edgefs.test";

export interface S3Pair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The root pair of the test Worker (EDGEFS_ROOT_TOKEN is "test-root-token"). */
export async function rootPair(env = ""): Promise<S3Pair> {
  return {
    accessKeyId: env === "" ? "EFROOT" : `EFROOT.${env}`,
    secretAccessKey: await rootSecret(TOKEN, env === "" ? "main" : env),
  };
}

export interface S3Init {
  body?: string | Uint8Array | null;
  headers?: Record<string, string>;
  pair?: S3Pair;
  /** Presign instead of signing the header. */
  presign?: boolean;
  /** Sign the payload's SHA-256 instead of UNSIGNED-PAYLOAD. */
  hashPayload?: boolean;
  datetime?: string;
  host?: string;
}

/** Signs a request with SigV4 (aws4fetch, as a client would) and sends it through the Worker. */
export async function s3(
  method: string,
  pathAndQuery: string,
  init: S3Init = {},
): Promise<Response> {
  const pair = init.pair ?? (await rootPair());
  const origin = init.host ? `http://${init.host}` : S3_ORIGIN;
  const headers = new Headers(init.headers);
  if (!init.hashPayload && !init.presign && !headers.has("x-amz-content-sha256")) {
    headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  }
  const signer = new AwsV4Signer({
    method,
    url: `${origin}${pathAndQuery}`,
    headers,
    body: init.body ?? undefined,
    accessKeyId: pair.accessKeyId,
    secretAccessKey: pair.secretAccessKey,
    service: "s3",
    region: "auto",
    signQuery: init.presign,
    ...(init.datetime ? { datetime: init.datetime } : {}),
  });
  const signed = await signer.sign();
  return exports.default.fetch(
    new Request(signed.url, { method, headers: signed.headers, body: init.body ?? null }),
  );
}

/** The S3 error document's code (and that it is one: XML with a request id). */
export async function s3ErrorCode(res: Response): Promise<string> {
  const text = await res.text();
  expect(res.headers.get("x-amz-request-id")).toMatch(/^[0-9A-F]{16}$/);
  if (res.status === 304 || (res.status >= 200 && res.status < 300)) return "";
  if (text === "") return `(no body, ${res.status})`;
  expect(text).toMatch(/^<\?xml/);
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? "(no code)";
}

/** Asserts an S3 error: status and code. */
export async function expectS3Error(res: Response, status: number, code: string): Promise<void> {
  const got = await s3ErrorCode(res);
  expect({ status: res.status, code: got }).toEqual({ status, code });
}

/** The texts of every <name> element of an XML answer, in order. */
export function texts(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) =>
    (m[1] as string)
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, "&"),
  );
}

/** The MD5 of bytes, as S3's ETag. */
export async function md5Etag(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("MD5", bytes));
  return `"${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/** S3 keys are percent-encoded per segment in a path-style URL. */
export const keyUrl = (bucket: string, key: string): string =>
  `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
