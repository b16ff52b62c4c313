import { timingSafeEqual } from "hono/utils/buffer";
import { FsError } from "../core/errors";
import { base64url, hmacSha256 } from "./hmac";
import { type Keys, signingKey } from "./keys";

/**
 * Presigned URLs: one method on one path of one share, until an expiry,
 * with no header at all. The signature is an HMAC-SHA256 over all of those
 * and the credential that signed (root or a token id, so revoking the token
 * revokes its URLs too).
 */
export const PRESIGN_MAX_SECONDS = 7 * 24 * 3600;

export interface PresignedRequest {
  method: "GET" | "PUT";
  env: string;
  share: string;
  path: string;
  credential: string;
  /** Unix seconds. */
  expires: number;
}

export const PARAM = {
  credential: "X-Edgefs-Credential",
  expires: "X-Edgefs-Expires",
  signature: "X-Edgefs-Signature",
} as const;

function canonical(r: PresignedRequest): string {
  return [
    "edgefs-presign-v1",
    r.method,
    r.env,
    r.share,
    r.path,
    r.credential,
    String(r.expires),
  ].join("\n");
}

async function hmac(key: string, text: string): Promise<string> {
  return base64url(await hmacSha256(key, text));
}

export async function presign(keys: Keys, r: PresignedRequest): Promise<string> {
  return hmac(signingKey(keys), canonical(r));
}

/**
 * Checks a presigned request as it arrived. GET URLs also answer HEAD. Every
 * refusal is the same 401, but says which check failed, so a user can fix it:
 * a URL signed for the other method ("this presigned URL is for PUT, not
 * GET"), one past its expiry, or one whose signature matches nothing (changed,
 * for another file or share, or signed with a key since retired). Naming the
 * method tells the holder of a valid URL only what its signer already told them.
 */
export async function verifyPresigned(
  keys: Keys,
  arrived: Omit<PresignedRequest, "method"> & { method: string; signature: string },
  now: number,
): Promise<void> {
  const method = arrived.method === "HEAD" ? "GET" : arrived.method;
  const refuse = (message: string) => new FsError("EUNAUTHENTICATED", message);
  if (!Number.isSafeInteger(arrived.expires)) {
    throw refuse("invalid presigned URL: its expiry is not a number");
  }
  const signedFor = async (m: "GET" | "PUT") => {
    for (const key of keys.verifying) {
      const expected = await hmac(key, canonical({ ...arrived, method: m }));
      if (await timingSafeEqual(expected, arrived.signature)) return true;
    }
    return false;
  };
  // The arrived method first: a valid URL costs one check per key, as before.
  const candidates: ("GET" | "PUT")[] =
    method === "GET" ? ["GET", "PUT"] : method === "PUT" ? ["PUT", "GET"] : ["GET", "PUT"];
  let signed: "GET" | "PUT" | undefined;
  for (const m of candidates) {
    if (await signedFor(m)) {
      signed = m;
      break;
    }
  }
  if (signed === undefined) {
    throw refuse(
      "invalid presigned URL: its signature does not match (the URL was changed, or its signing key was retired)",
    );
  }
  if (signed !== method) {
    const also = signed === "GET" ? " (and HEAD)" : "";
    throw refuse(`this presigned URL is for ${signed}${also}, not ${arrived.method}`);
  }
  if (arrived.expires * 1000 <= now) {
    throw refuse(`presigned URL expired at ${new Date(arrived.expires * 1000).toISOString()}`);
  }
}
