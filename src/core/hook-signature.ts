/**
 * Webhook signatures (docs/api.md "Webhooks"): each delivery carries
 * `Edgefs-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` of the string
 * `<t>.<raw body>` under the hook's secret. The timestamp is signed so a
 * captured delivery cannot be replayed later; a receiver refuses one whose
 * `t` is too far from its clock. Web Crypto only: the gateway signs with
 * it, and receivers in Node, browsers or Workers verify with the same code
 * (exported by the SDK).
 */
export const SIGNATURE_HEADER = "edgefs-signature";

/** How far a delivery's timestamp may be from the receiver's clock by default (seconds). */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const utf8 = new TextEncoder();

async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    utf8.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(text)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export async function signHook(secret: string, timestamp: number, body: string): Promise<string> {
  return `t=${timestamp},v1=${await hmacHex(secret, `${timestamp}.${body}`)}`;
}

/**
 * Whether `header` (the Edgefs-Signature value) signs `body` (the raw
 * request body, as received: not re-serialized JSON) under `secret`, at a
 * time within `toleranceSeconds` of `now` (ms). Compares in constant time.
 */
export async function verifyHookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): Promise<boolean> {
  const parts = new Map(
    (header ?? "").split(",").map((p) => {
      const i = p.indexOf("=");
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get("t"));
  const given = parts.get("v1") ?? "";
  if (!Number.isSafeInteger(t) || !/^[0-9a-f]{64}$/.test(given)) return false;
  const tolerance = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs((options.now ?? Date.now()) / 1000 - t) > tolerance) return false;
  const expected = await hmacHex(secret, `${t}.${body}`);
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}
