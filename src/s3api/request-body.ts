import type { SigV4Auth } from "../auth/sigv4";
import { verifiedBody } from "./payload";

/**
 * A request's bytes as the S3 front-end hands them to a Backend: decoded
 * (aws-chunked) and verified while they stream (payload hash, chunk
 * signatures, checksums: payload.ts). A verification failure errors the
 * stream, so the write it feeds fails and commits nothing; `settle` then
 * answers with that failure (BadDigest, SignatureDoesNotMatch…) rather than
 * whatever the storage made of a stream that broke off.
 */
export interface BodyOf {
  stream: ReadableStream<Uint8Array> | null;
  length: number | undefined;
  settle<T>(work: Promise<T>): Promise<T>;
  /** The `x-amz-checksum-*` headers the request carried, echoed as S3 does. */
  checksums(): [string, string][];
}

export function bodyOf(request: Request, auth: SigV4Auth): BodyOf {
  const verified = verifiedBody(request, auth);
  return {
    stream: verified.stream,
    length: verified.length,
    async settle(work) {
      try {
        return await work;
      } catch (e) {
        throw verified.failure() ?? e;
      }
    },
    checksums() {
      const echoed: [string, string][] = [];
      request.headers.forEach((value, name) => {
        if (name.startsWith("x-amz-checksum-") && name !== "x-amz-checksum-type") {
          echoed.push([name, value]);
        }
      });
      return echoed;
    },
  };
}
