/**
 * Exact AWS Signature V4 verification of S3 requests (Authorization header and
 * presigned query forms), in Web Crypto only.
 *
 * The canonical request is rebuilt by hand (./sigv4-canonical.ts) because the
 * verifier must use the signed header list and the path and query as the client
 * sent them; aws4fetch's AwsV4Signer signs with its own choices. The signing
 * key is derived here too (four HMACs) so the tests, which sign with aws4fetch,
 * check it against an independent implementation.
 */
import { timingSafeEqual } from "hono/utils/buffer";
import { FsError } from "../core/errors.js";
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  rawPathAndQuery,
  stringToSign,
} from "./sigv4-canonical.js";

export type PayloadMode =
  | { kind: "unsigned" } // UNSIGNED-PAYLOAD
  | { kind: "sha256"; hex: string } // a hex SHA-256 the body must match
  | { kind: "chunked"; trailer: boolean } // STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
  | { kind: "unsigned-trailer" }; // STREAMING-UNSIGNED-PAYLOAD-TRAILER

export interface SigV4Auth {
  accessKeyId: string;
  region: string;
  /** YYYYMMDD and the full x-amz-date (YYYYMMDDTHHMMSSZ) of the signature. */
  date: string;
  datetime: string;
  payload: PayloadMode;
  presigned: boolean;
  /** Presigned: when the URL stops working (ms since epoch). */
  expiresAt?: number;
  /** The request's signature (seed signature for chunked payloads) and the derived signing key, for chunk/trailer verification. */
  signature: string;
  signingKey: CryptoKey | ArrayBuffer;
}

const ALGORITHM = "AWS4-HMAC-SHA256";
/** S3's allowed clock difference for header-signed requests (and presigned start times). */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** The longest a presigned URL may live: seven days. */
export const MAX_PRESIGN_SECONDS = 604800;

const encoder = new TextEncoder();

const hex = (buf: ArrayBuffer) => {
  let out = "";
  for (const b of new Uint8Array(buf)) out += b.toString(16).padStart(2, "0");
  return out;
};

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return hex(
    await crypto.subtle.digest(
      "SHA-256",
      typeof data === "string" ? encoder.encode(data) : (data as Uint8Array<ArrayBuffer>),
    ),
  );
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", k, encoder.encode(data));
}

/** kSigning = HMAC chain over date, region, service, "aws4_request" from "AWS4" + secret. */
export async function deriveSigningKey(
  secret: string,
  date: string,
  region: string,
  service = "s3",
): Promise<ArrayBuffer> {
  const kDate = await hmac(encoder.encode(`AWS4${secret}`), date);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  return hmac(kService, "aws4_request");
}

/**
 * Signing keys by secret, day and region, per isolate, as AWS's SDKs keep
 * them: a key changes once a day, so each request costs one HMAC instead of
 * five (and no import). Bounded: cleared when full.
 */
const signingKeys = new Map<string, Promise<CryptoKey>>();
const MAX_SIGNING_KEYS = 1000;

function signingKeyFor(secret: string, date: string, region: string): Promise<CryptoKey> {
  const id = `${date}/${region}/${secret}`;
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    key = deriveSigningKey(secret, date, region).then((raw) =>
      crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]),
    );
    // A failed derivation is not kept.
    key.catch(() => signingKeys.delete(id));
    signingKeys.set(id, key);
  }
  return key;
}

/** The hex HMAC-SHA256 of a string to sign under a derived signing key. */
export async function signWith(key: CryptoKey | ArrayBuffer, data: string): Promise<string> {
  const k =
    key instanceof ArrayBuffer
      ? await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
          "sign",
        ])
      : key;
  return hex(await crypto.subtle.sign("HMAC", k, encoder.encode(data)));
}

/** Constant-time comparison of two hex signatures. */
export const signaturesEqual = (a: string, b: string): Promise<boolean> => timingSafeEqual(a, b);

const queryHas = (url: string, name: string) => {
  const { query } = rawPathAndQuery(url);
  return query.split("&").some((p) => p === name || p.startsWith(`${name}=`));
};

/** Whether a request claims SigV4 (header or presigned query): it is then an S3 request. */
export function isSigV4(request: Request): boolean {
  const authorization = request.headers.get("authorization");
  if (authorization?.startsWith(`${ALGORITHM} `)) return true;
  return queryHas(request.url, "X-Amz-Algorithm") || queryHas(request.url, "X-Amz-Credential");
}

interface Claim {
  accessKeyId: string;
  date: string;
  region: string;
  signedHeaders: string[];
  signature: string;
  datetime: string;
  payloadHash: string;
  payload: PayloadMode;
  presigned: boolean;
  expiresAt?: number;
  /** The query with X-Amz-Signature left out (presigned) or whole. */
  canonicalQuery: string;
}

const DATETIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseDatetime(value: string): number | undefined {
  const m = DATETIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const t = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  return Number.isNaN(t) ? undefined : t;
}

/** An HTTP Date header (RFC 7231 IMF-fixdate and the like) as YYYYMMDDTHHMMSSZ. */
function httpDateToDatetime(value: string): string | undefined {
  const t = Date.parse(value);
  if (Number.isNaN(t)) return undefined;
  return new Date(t).toISOString().replace(/[-:]|\.\d{3}/g, "");
}

const SIGNATURE = /^[0-9a-f]{64}$/;
const SIGNED_HEADER = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

function payloadMode(value: string, presigned: boolean, fail: (m: string) => FsError): PayloadMode {
  switch (value) {
    case "UNSIGNED-PAYLOAD":
      return { kind: "unsigned" };
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
    case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER":
    case "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
      if (presigned) throw fail(`x-amz-content-sha256 ${value} needs the Authorization header`);
      return value === "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        ? { kind: "unsigned-trailer" }
        : { kind: "chunked", trailer: value.endsWith("-TRAILER") };
  }
  if (value.startsWith("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")) {
    throw new FsError(
      "ENOTSUP",
      "SigV4a (ECDSA) signing is not supported",
      undefined,
      undefined,
      "NotImplemented",
    );
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: "sha256", hex: value.toLowerCase() };
  throw new FsError(
    "EINVAL",
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-… value or a hex SHA-256",
    undefined,
    undefined,
    "InvalidArgument",
  );
}

/** Parses "AKID/YYYYMMDD/region/s3/aws4_request". */
function parseCredential(value: string, fail: (m: string) => FsError) {
  const parts = value.split("/");
  if (parts.length !== 5)
    throw fail(`the Credential ${JSON.stringify(value)} is not AKID/date/region/s3/aws4_request`);
  const [accessKeyId, date, region, service, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (accessKeyId === "") throw fail("the Credential has no access key id");
  if (!/^\d{8}$/.test(date))
    throw fail(`the Credential date ${JSON.stringify(date)} is not YYYYMMDD`);
  if (region === "") throw fail("the Credential has no region");
  if (service !== "s3")
    throw fail(`the Credential is scoped to service ${JSON.stringify(service)}, not s3`);
  if (terminator !== "aws4_request")
    throw fail(`the Credential ends in ${JSON.stringify(terminator)}, not aws4_request`);
  return { accessKeyId, date, region };
}

function parseSignedHeaders(value: string, fail: (m: string) => FsError): string[] {
  const names = value.split(";");
  for (const n of names) {
    if (!SIGNED_HEADER.test(n))
      throw fail(`SignedHeaders has the malformed name ${JSON.stringify(n)}`);
  }
  if (!names.includes("host")) throw fail("SignedHeaders must include host");
  return names;
}

function headerClaim(request: Request, authorization: string): Claim {
  const fail = (m: string) =>
    new FsError(
      "EINVAL",
      `Authorization header malformed: ${m}`,
      undefined,
      undefined,
      "AuthorizationHeaderMalformed",
    );
  const rest = authorization.slice(ALGORITHM.length);
  if (!/^ +\S/.test(rest)) throw fail("no fields after the algorithm");
  const fields = new Map<string, string>();
  for (const field of rest.trim().split(/\s*,\s*/)) {
    const eq = field.indexOf("=");
    if (eq <= 0) throw fail(`field ${JSON.stringify(field)} is not Name=value`);
    const name = field.slice(0, eq);
    if (fields.has(name)) throw fail(`field ${name} is given twice`);
    fields.set(name, field.slice(eq + 1));
  }
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined ||
    fields.size !== 3
  ) {
    throw fail("it needs exactly Credential, SignedHeaders and Signature");
  }
  const scope = parseCredential(credential, fail);
  if (!SIGNATURE.test(signature)) throw fail("Signature is not 64 lowercase hex digits");
  const signed = parseSignedHeaders(signedHeaders, fail);

  const amzDate = request.headers.get("x-amz-date");
  const httpDate = request.headers.get("date");
  const datetime = amzDate ?? (httpDate === null ? undefined : httpDateToDatetime(httpDate));
  if (datetime === undefined || parseDatetime(datetime) === undefined) {
    throw new FsError(
      "EACCES",
      "the request needs a valid x-amz-date or Date header",
      undefined,
      undefined,
      "AccessDenied",
    );
  }
  if (!signed.includes(amzDate !== null ? "x-amz-date" : "date")) {
    throw fail(`SignedHeaders must include ${amzDate !== null ? "x-amz-date" : "date"}`);
  }
  if (datetime.slice(0, 8) !== scope.date) {
    throw fail(`the Credential date ${scope.date} is not the date of ${datetime}`);
  }
  const payloadHash = request.headers.get("x-amz-content-sha256");
  if (payloadHash === null) {
    throw new FsError(
      "EINVAL",
      "Missing required header for this request: x-amz-content-sha256",
      undefined,
      undefined,
      "InvalidRequest",
    );
  }
  const { query } = rawPathAndQuery(request.url);
  return {
    ...scope,
    signedHeaders: signed,
    signature,
    datetime,
    payloadHash,
    payload: payloadMode(payloadHash, false, fail),
    presigned: false,
    canonicalQuery: canonicalQuery(query),
  };
}

function queryClaim(request: Request, now: number): Claim {
  const fail = (m: string) =>
    new FsError(
      "EINVAL",
      `presigned query parameters malformed: ${m}`,
      undefined,
      undefined,
      "AuthorizationQueryParametersError",
    );
  const params = new URL(request.url).searchParams;
  const one = (name: string) => {
    const all = params.getAll(name);
    if (all.length !== 1) throw fail(all.length ? `${name} is given twice` : `${name} is missing`);
    return all[0] as string;
  };
  if (one("X-Amz-Algorithm") !== ALGORITHM) throw fail(`X-Amz-Algorithm must be ${ALGORITHM}`);
  const scope = parseCredential(one("X-Amz-Credential"), fail);
  const datetime = one("X-Amz-Date");
  const signedAt = parseDatetime(datetime);
  if (signedAt === undefined) throw fail("X-Amz-Date is not YYYYMMDDTHHMMSSZ");
  if (datetime.slice(0, 8) !== scope.date)
    throw fail("X-Amz-Credential's date is not X-Amz-Date's");
  const expires = one("X-Amz-Expires");
  if (!/^\d{1,6}$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_PRESIGN_SECONDS) {
    throw fail(`X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGN_SECONDS}`);
  }
  const signed = parseSignedHeaders(one("X-Amz-SignedHeaders"), fail);
  const signature = one("X-Amz-Signature");
  if (!SIGNATURE.test(signature)) throw fail("X-Amz-Signature is not 64 lowercase hex digits");
  const expiresAt = signedAt + Number(expires) * 1000;
  if (signedAt > now + MAX_SKEW_MS) {
    throw new FsError("EACCES", "Request is not valid yet", undefined, undefined, "AccessDenied");
  }
  if (now > expiresAt) {
    throw new FsError("EACCES", "Request has expired", undefined, undefined, "AccessDenied");
  }
  // The payload hash of a presigned URL is in its query (or a header) when the
  // signer chose one; otherwise it is UNSIGNED-PAYLOAD.
  const payloadHash =
    params.get("X-Amz-Content-Sha256") ??
    request.headers.get("x-amz-content-sha256") ??
    "UNSIGNED-PAYLOAD";
  const { query } = rawPathAndQuery(request.url);
  return {
    ...scope,
    signedHeaders: signed,
    signature,
    datetime,
    payloadHash,
    payload: payloadMode(payloadHash, true, fail),
    presigned: true,
    expiresAt,
    canonicalQuery: canonicalQuery(query, "X-Amz-Signature"),
  };
}

/** The request's header lines for canonicalization; Host from the URL when the runtime hides it. */
function headerLines(request: Request, acceptEncoding?: string): [string, string][] {
  const lines: [string, string][] = [...request.headers].map(([k, v]) =>
    k === "accept-encoding" && acceptEncoding !== undefined ? [k, acceptEncoding] : [k, v],
  );
  if (!request.headers.has("host")) lines.push(["host", new URL(request.url).host]);
  return lines;
}

/**
 * The Workers runtime (and Cloudflare's edge) rewrites a request's
 * Accept-Encoding before the Worker sees it, so a client that signed it —
 * rclone signs "gzip" on every GET — would never verify. When it is signed,
 * the values clients send are tried too: the header only says which
 * encodings the client accepts (edgefs serves stored bytes as they are),
 * so reading it another way cannot change what the request does.
 */
const CLIENT_ACCEPT_ENCODINGS = ["gzip", "identity", "gzip, deflate", "gzip, deflate, br", "br"];

/**
 * x-amz-* headers change what S3 does (metadata, copy source, checksums), so S3
 * refuses any it finds unsigned rather than let a replayer add them. Exempt:
 * x-amz-content-sha256 (always covered, as the canonical payload hash) and
 * x-amz-user-agent, which SDKs never sign.
 */
const UNSIGNED_ALLOWED = new Set(["x-amz-content-sha256", "x-amz-user-agent"]);

function checkAllAmzHeadersSigned(request: Request, claim: Claim): void {
  for (const [name] of request.headers) {
    if (
      name.startsWith("x-amz-") &&
      !UNSIGNED_ALLOWED.has(name) &&
      !claim.signedHeaders.includes(name)
    ) {
      throw new FsError(
        "EACCES",
        `There were headers present in the request which were not signed: ${name}`,
        undefined,
        undefined,
        "AccessDenied",
      );
    }
  }
}

/** The canonical request a claim's signature must cover. */
function canonicalRequestOf(request: Request, claim: Claim, acceptEncoding?: string): string {
  const block = canonicalHeaders(claim.signedHeaders, headerLines(request, acceptEncoding));
  if ("missing" in block) {
    const message = `signed header ${block.missing} is not in the request`;
    throw claim.presigned
      ? new FsError("EINVAL", message, undefined, undefined, "AuthorizationQueryParametersError")
      : new FsError("EINVAL", message, undefined, undefined, "AuthorizationHeaderMalformed");
  }
  return canonicalRequest({
    method: request.method.toUpperCase(),
    uri: canonicalUri(rawPathAndQuery(request.url).path),
    query: claim.canonicalQuery,
    headers: block.block,
    signedHeaders: claim.signedHeaders,
    payloadHash: claim.payloadHash,
  });
}

/** Verifies exactly; `secretsOf` returns the secrets an access key id may use (current and previous for rotation), or [] for an unknown key. */
export async function verifySigV4(
  request: Request,
  now: number,
  secretsOf: (accessKeyId: string) => Promise<string[]>,
): Promise<SigV4Auth> {
  const authorization = request.headers.get("authorization");
  const presignedQuery = queryHas(request.url, "X-Amz-Algorithm");
  if (authorization !== null && presignedQuery) {
    throw new FsError(
      "EINVAL",
      "Only one auth mechanism allowed: the Authorization header or presigned query parameters",
      undefined,
      undefined,
      "InvalidArgument",
    );
  }
  if (authorization !== null && !authorization.startsWith(`${ALGORITHM} `)) {
    throw new FsError(
      "EINVAL",
      "Authorization header malformed: only AWS4-HMAC-SHA256 is supported",
      undefined,
      undefined,
      "AuthorizationHeaderMalformed",
    );
  }
  const claim =
    authorization !== null ? headerClaim(request, authorization) : queryClaim(request, now);

  if (!claim.presigned) {
    const signedAt = parseDatetime(claim.datetime) as number;
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
      throw new FsError(
        "EACCES",
        "The difference between the request time and the current time is too large",
        undefined,
        undefined,
        "RequestTimeTooSkewed",
      );
    }
  }

  checkAllAmzHeadersSigned(request, claim);
  const secrets = await secretsOf(claim.accessKeyId);
  if (secrets.length === 0) {
    throw new FsError(
      "EUNAUTHENTICATED",
      "The AWS access key Id you provided does not exist in our records",
      undefined,
      undefined,
      "InvalidAccessKeyId",
    );
  }
  // The header as received first; only when that fails, the Accept-Encoding
  // values clients send (CLIENT_ACCEPT_ENCODINGS), each its own string to sign.
  const readings: (string | undefined)[] = [undefined];
  if (claim.signedHeaders.includes("accept-encoding") && request.headers.has("accept-encoding")) {
    readings.push(...CLIENT_ACCEPT_ENCODINGS);
  }
  const scope = credentialScope(claim.date, claim.region);
  const keys = await Promise.all(
    secrets.map((secret) => signingKeyFor(secret, claim.date, claim.region)),
  );
  for (const acceptEncoding of readings) {
    const toSign = stringToSign(
      claim.datetime,
      scope,
      await sha256Hex(canonicalRequestOf(request, claim, acceptEncoding)),
    );
    let key: CryptoKey | undefined;
    for (const candidate of keys) {
      if (await signaturesEqual(await signWith(candidate, toSign), claim.signature)) {
        key = candidate;
      }
    }
    if (key !== undefined) {
      return {
        accessKeyId: claim.accessKeyId,
        region: claim.region,
        date: claim.date,
        datetime: claim.datetime,
        payload: claim.payload,
        presigned: claim.presigned,
        ...(claim.expiresAt === undefined ? {} : { expiresAt: claim.expiresAt }),
        signature: claim.signature,
        signingKey: key,
      };
    }
  }
  throw new FsError(
    "EUNAUTHENTICATED",
    "The request signature we calculated does not match the signature you provided",
    undefined,
    undefined,
    "SignatureDoesNotMatch",
  );
}
