import { FsError } from "../core/errors";

/**
 * Encryption at rest for stored secrets: AES-256-GCM with a key derived
 * (SHA-256) from the Worker secret EDGEFS_SECRETS_KEY, a fresh 96-bit IV per
 * value, and the secret's environment and name as additional data, so a
 * sealed value copied under another name does not open.
 */
export interface Sealed {
  iv: string;
  data: string;
}

const encoder = new TextEncoder();
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function keyFrom(secret: string | undefined): Promise<CryptoKey> {
  if (!secret)
    throw new FsError("ENOTSUP", "storing secrets needs the EDGEFS_SECRETS_KEY Worker secret");
  const raw = await crypto.subtle.digest("SHA-256", encoder.encode(secret));
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function seal(
  keySecret: string | undefined,
  context: string,
  value: unknown,
): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await keyFrom(keySecret),
    encoder.encode(JSON.stringify(value)),
  );
  return { iv: b64(iv), data: b64(new Uint8Array(data)) };
}

export async function unseal<T>(
  keySecret: string | undefined,
  context: string,
  sealed: Sealed,
): Promise<T> {
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: unb64(sealed.iv), additionalData: encoder.encode(context) },
      await keyFrom(keySecret),
      unb64(sealed.data),
    );
    return JSON.parse(new TextDecoder().decode(plain)) as T;
  } catch (e) {
    if (e instanceof FsError) throw e;
    // Wrong key (rotated without re-saving the secrets) or tampered storage.
    throw new FsError(
      "EINTERNAL",
      "a stored secret could not be decrypted with EDGEFS_SECRETS_KEY",
    );
  }
}

/** The additional data that binds a sealed secret to its environment and name. */
export const secretContext = (environment: string, name: string) =>
  `edgefs-secret-v1/${environment}/${name}`;
