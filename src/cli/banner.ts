import { createHmac } from "node:crypto";

/**
 * The root S3 key pair's secret: the same derivation as the Worker's
 * (src/auth/s3-keys.ts rootSecret): 30 bytes of HMAC-SHA256 under the root
 * token, base64url. With a supplied token, docs/s3.md shows the openssl
 * one-liner that computes it.
 */
export function rootS3Secret(token: string): string {
  return createHmac("sha256", token)
    .update("edgefs s3 root secret")
    .digest()
    .subarray(0, 30)
    .toString("base64url");
}

/**
 * What `npm start` (scripts/start.mjs) and `edgefs serve` print once the
 * gateway answers. Written with erasable types only: start.mjs runs before
 * any build and imports this file as TypeScript (Node 22 strips the types).
 *
 * A root token the operator supplied (EDGEFS_ROOT_TOKEN) is theirs already:
 * it is not echoed into terminals and logs, nor is the S3 secret derived
 * from it. A generated one is printed: this is how its user learns it (it
 * is also in <data dir>/root-token), with the root S3 key pair.
 */
export function banner(url: string, dataDir: string, token: string, from: string): string {
  const supplied = from === "EDGEFS_ROOT_TOKEN";
  const secret = supplied ? "derived from EDGEFS_ROOT_TOKEN (docs/s3.md)" : rootS3Secret(token);
  return `
edgefs is running at ${url}
  data:       ${dataDir}
  root token: ${supplied ? "from EDGEFS_ROOT_TOKEN" : `${token}   (from ${from})`}
  S3 API:     ${url}   access key EFROOT   secret ${secret}
  browser:    ${url}/   (sign in with the root token)

Try it:
  export EDGEFS_URL=${url} EDGEFS_TOKEN=${supplied ? '"$EDGEFS_ROOT_TOKEN"' : token}
  curl -H "Authorization: Bearer $EDGEFS_TOKEN" -X PUT $EDGEFS_URL/v1/shares/demo
  AWS_ACCESS_KEY_ID=EFROOT AWS_SECRET_ACCESS_KEY=${supplied ? "…" : secret} aws --endpoint-url ${url} s3 ls
`;
}
