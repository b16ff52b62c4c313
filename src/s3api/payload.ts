/**
 * The body of a SigV4-verified S3 request as the bytes to store, verified while
 * it streams: the signed SHA-256 (x-amz-content-sha256), aws-chunked framing with
 * its chunk and trailer signatures, and the S3 checksums (x-amz-checksum-*,
 * Content-MD5). Nothing is buffered beyond one chunk header line: bytes are handed
 * on as they arrive, and a failed check errors the stream at its end instead of
 * closing it, so the storage write it feeds fails and nothing commits.
 */
import { type SigV4Auth, sha256Hex, signaturesEqual, signWith } from "../auth/sigv4.js";
import { credentialScope } from "../auth/sigv4-canonical.js";
import { type Checksum, crc32, crc32c, crc64nvme } from "../core/crc.js";
import { FsError } from "../core/errors.js";

export interface VerifiedBody {
  stream: ReadableStream<Uint8Array> | null;
  length: number | undefined;
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** Longest chunk header or trailer line accepted ("hex;chunk-signature=<64 hex>" is ~85 bytes). */
export const MAX_CHUNK_LINE = 4096;

const fail = (reason: string, message: string) =>
  new FsError("EINVAL", message, undefined, undefined, reason);

/** An incremental digest: the CRCs of src/core/crc.ts or a Workers DigestStream. */
interface Digest {
  update(bytes: Uint8Array): void | Promise<void>;
  finish(): Promise<Uint8Array>;
}

function crcDigest(checksum: Checksum): Digest {
  return {
    update: (bytes) => checksum.update(bytes),
    finish: async () => checksum.digest(),
  };
}

function streamDigest(algorithm: "SHA-1" | "SHA-256" | "MD5"): Digest {
  const stream = new crypto.DigestStream(algorithm);
  const writer = stream.getWriter();
  return {
    update: (bytes) => writer.write(bytes),
    finish: async () => {
      await writer.close();
      return new Uint8Array(await stream.digest);
    },
  };
}

const CHECKSUMS = {
  crc32: { bytes: 4, digest: () => crcDigest(crc32()) },
  crc32c: { bytes: 4, digest: () => crcDigest(crc32c()) },
  crc64nvme: { bytes: 8, digest: () => crcDigest(crc64nvme()) },
  sha1: { bytes: 20, digest: () => streamDigest("SHA-1") },
  sha256: { bytes: 32, digest: () => streamDigest("SHA-256") },
} as const;
type ChecksumName = keyof typeof CHECKSUMS;
const CHECKSUM_NAMES = Object.keys(CHECKSUMS) as ChecksumName[];

function decodeBase64(value: string, bytes: number, header: string): Uint8Array {
  const invalid = () =>
    fail("InvalidDigest", `${header} must be the base64 of a ${bytes}-byte digest`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) throw invalid();
  const binary = atob(value);
  if (binary.length !== bytes) throw invalid();
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

const toHex = (bytes: Uint8Array) => {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
};

/** One comparison made when the body ends. */
interface Check {
  digest: Digest;
  /** Compares the final digest; throws the FsError of a mismatch. */
  verify(actual: Uint8Array): Promise<void> | void;
}

/** A checksum whose expected value is known up front (a header) or arrives in the trailer. */
interface ChecksumCheck {
  header: string;
  algorithm: ChecksumName;
  expected: Uint8Array | "trailer";
}

function checksumOf(request: Request, trailing: boolean): ChecksumCheck | undefined {
  const found: ChecksumCheck[] = [];
  for (const algorithm of CHECKSUM_NAMES) {
    const header = `x-amz-checksum-${algorithm}`;
    const value = request.headers.get(header);
    if (value !== null) {
      found.push({
        header,
        algorithm,
        expected: decodeBase64(value.trim(), CHECKSUMS[algorithm].bytes, header),
      });
    }
  }
  const trailer = request.headers.get("x-amz-trailer");
  if (trailing && trailer !== null && trailer.trim() !== "") {
    const header = trailer.trim().toLowerCase();
    const algorithm = header.startsWith("x-amz-checksum-")
      ? (header.slice("x-amz-checksum-".length) as ChecksumName)
      : undefined;
    if (algorithm === undefined || !CHECKSUM_NAMES.includes(algorithm)) {
      throw fail(
        "InvalidRequest",
        `x-amz-trailer names ${JSON.stringify(trailer)}, not a checksum`,
      );
    }
    found.push({ header, algorithm, expected: "trailer" });
  }
  if (found.length > 1) {
    throw fail("InvalidRequest", "Expecting a single x-amz-checksum- header");
  }
  return found[0];
}

const badDigest = (what: string) =>
  fail("BadDigest", `The ${what} you specified did not match the calculated checksum`);

/** The bytes to store of a verified request, with every check the request asks for. */
export function verifiedBody(request: Request, auth: SigV4Auth): VerifiedBody {
  const chunked = auth.payload.kind === "chunked" || auth.payload.kind === "unsigned-trailer";
  const checksum = checksumOf(
    request,
    auth.payload.kind === "unsigned-trailer" ||
      (auth.payload.kind === "chunked" && auth.payload.trailer),
  );
  const checks: Check[] = [];
  /** Trailer values by lower-case name, filled in by the aws-chunked decoder. */
  const trailers = new Map<string, string>();

  if (auth.payload.kind === "sha256") {
    const expected = auth.payload.hex;
    checks.push({
      digest: streamDigest("SHA-256"),
      verify: (actual) => {
        if (toHex(actual) !== expected) {
          throw fail(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed",
          );
        }
      },
    });
  }
  if (checksum) {
    checks.push({
      digest: CHECKSUMS[checksum.algorithm].digest(),
      verify: (actual) => {
        let expected = checksum.expected;
        if (expected === "trailer") {
          const value = trailers.get(checksum.header);
          if (value === undefined) {
            throw fail(
              "InvalidRequest",
              `the trailer ${checksum.header} announced by x-amz-trailer is missing`,
            );
          }
          expected = decodeBase64(value, CHECKSUMS[checksum.algorithm].bytes, checksum.header);
        }
        if (toBase64(actual) !== toBase64(expected)) throw badDigest(checksum.header);
      },
    });
  }
  const md5 = request.headers.get("content-md5");
  if (md5 !== null) {
    const expected = decodeBase64(md5.trim(), 16, "Content-MD5");
    checks.push({
      digest: streamDigest("MD5"),
      verify: (actual) => {
        if (toBase64(actual) !== toBase64(expected)) throw badDigest("Content-MD5");
      },
    });
  }

  let length: number | undefined;
  let decoder: ChunkDecoder | undefined;
  if (chunked) {
    const declared = request.headers.get("x-amz-decoded-content-length");
    if (declared === null || !/^\d{1,16}$/.test(declared.trim())) {
      throw new FsError(
        "EINVAL",
        "aws-chunked uploads need x-amz-decoded-content-length",
        undefined,
        undefined,
        "MissingContentLength",
      );
    }
    length = Number(declared.trim());
    decoder = new ChunkDecoder(auth, length, trailers, checksum?.expected === "trailer");
  } else {
    const contentLength = request.headers.get("content-length");
    length =
      contentLength !== null && /^\d{1,16}$/.test(contentLength.trim())
        ? Number(contentLength.trim())
        : undefined;
  }

  if (!decoder && checks.length === 0) return { stream: request.body, length };
  // An absent body still has to match what was signed and declared (the hash of "").
  const source =
    request.body ??
    new ReadableStream<Uint8Array>({
      start: (c) => c.close(),
    });
  const feed = async (bytes: Uint8Array) => {
    for (const check of checks) await check.digest.update(bytes);
  };
  const verifier = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      if (decoder) {
        await decoder.push(chunk, async (data) => {
          await feed(data);
          controller.enqueue(data);
        });
      } else {
        await feed(chunk);
        controller.enqueue(chunk);
      }
    },
    // Throwing here errors the readable side instead of closing it: the consumer
    // sees a failure, never a clean end of a body that did not verify.
    async flush() {
      if (decoder) await decoder.end();
      for (const check of checks) await check.verify(await check.digest.finish());
    },
  });
  return { stream: source.pipeThrough(verifier), length };
}

type DecoderState = "header" | "data" | "data-crlf" | "trailer" | "done";

/**
 * The aws-chunked decoder: "hex-size[;chunk-signature=sig]\r\n data \r\n" …,
 * a final 0-size chunk, then (trailer modes) "name:value\r\n" lines and an
 * empty line. Chunk data is handed on as it arrives; each chunk's signature is
 * checked when its last byte has arrived, chained from the seed signature.
 */
class ChunkDecoder {
  private state: DecoderState = "header";
  private line = new Uint8Array(MAX_CHUNK_LINE);
  private lineLength = 0;
  private remaining = 0;
  private crlfSeen = 0;
  private decoded = 0;
  private finalSeen = false;
  private chunkHash: Digest | undefined;
  private chunkSignature = "";
  private previousSignature: string;
  private trailerLines: [string, string][] = [];
  private blankSkipped = false;
  private readonly signed: boolean;
  private readonly trailing: boolean;
  private readonly scope: string;

  constructor(
    private readonly auth: SigV4Auth,
    private readonly declared: number,
    private readonly trailers: Map<string, string>,
    private readonly trailerExpected: boolean,
  ) {
    this.signed = auth.payload.kind === "chunked";
    this.trailing =
      auth.payload.kind === "unsigned-trailer" ||
      (auth.payload.kind === "chunked" && auth.payload.trailer);
    this.previousSignature = auth.signature;
    this.scope = credentialScope(auth.date, auth.region);
  }

  async push(bytes: Uint8Array, emit: (data: Uint8Array) => Promise<void>): Promise<void> {
    let i = 0;
    while (i < bytes.length) {
      switch (this.state) {
        case "header":
        case "trailer": {
          const line = this.takeLine(bytes, i);
          i = line.next;
          if (line.text !== undefined) {
            if (this.state === "header") await this.startChunk(line.text);
            else await this.trailerLine(line.text);
          }
          break;
        }
        case "data": {
          const n = Math.min(this.remaining, bytes.length - i);
          const data = bytes.subarray(i, i + n);
          i += n;
          this.remaining -= n;
          this.decoded += n;
          if (this.chunkHash) await this.chunkHash.update(data);
          await emit(data);
          if (this.remaining === 0) {
            await this.endChunk();
            this.state = "data-crlf";
          }
          break;
        }
        case "data-crlf": {
          const expected = this.crlfSeen === 0 ? 0x0d : 0x0a;
          if (bytes[i] !== expected) {
            throw fail("IncompleteBody", "aws-chunked data is not followed by CRLF");
          }
          i++;
          if (++this.crlfSeen === 2) {
            this.crlfSeen = 0;
            this.state = this.finalSeen ? "done" : "header";
          }
          break;
        }
        case "done":
          throw fail("InvalidRequest", "bytes follow the end of the aws-chunked body");
      }
    }
  }

  /** Accumulates one CRLF-terminated line, bounded by MAX_CHUNK_LINE. */
  private takeLine(bytes: Uint8Array, from: number): { text?: string; next: number } {
    const lf = bytes.indexOf(0x0a, from);
    const end = lf < 0 ? bytes.length : lf;
    if (this.lineLength + (end - from) > MAX_CHUNK_LINE) {
      throw fail(
        "InvalidRequest",
        `an aws-chunked header line is longer than ${MAX_CHUNK_LINE} bytes`,
      );
    }
    this.line.set(bytes.subarray(from, end), this.lineLength);
    this.lineLength += end - from;
    if (lf < 0) return { next: bytes.length };
    const length = this.lineLength;
    this.lineLength = 0;
    if (length === 0 || this.line[length - 1] !== 0x0d) {
      throw fail("InvalidRequest", "an aws-chunked line does not end in CRLF");
    }
    // Latin-1 keeps every byte one character, so no malformed UTF-8 can throw here.
    let text = "";
    for (let k = 0; k < length - 1; k++) text += String.fromCharCode(this.line[k] as number);
    return { text, next: lf + 1 };
  }

  private async startChunk(line: string): Promise<void> {
    const match = this.signed
      ? /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/.exec(line)
      : /^([0-9a-fA-F]{1,16})(?:;.*)?$/.exec(line);
    if (!match) {
      throw fail(
        "InvalidRequest",
        this.signed
          ? "an aws-chunked header is not hex-size;chunk-signature=<64 hex>"
          : "an aws-chunked header is not a hex size",
      );
    }
    const size = Number.parseInt(match[1] as string, 16);
    if (size > this.declared - this.decoded) {
      throw fail(
        "InvalidRequest",
        "the aws-chunked body is longer than x-amz-decoded-content-length",
      );
    }
    this.remaining = size;
    this.chunkSignature = match[2] ?? "";
    this.chunkHash = this.signed ? CHECKSUMS.sha256.digest() : undefined;
    if (size > 0) {
      this.state = "data";
      return;
    }
    this.finalSeen = true;
    await this.endChunk();
    this.state = this.trailing ? "trailer" : "data-crlf";
  }

  private async endChunk(): Promise<void> {
    if (!this.chunkHash) return;
    const hash = toHex(await this.chunkHash.finish());
    this.chunkHash = undefined;
    const toSign = [
      "AWS4-HMAC-SHA256-PAYLOAD",
      this.auth.datetime,
      this.scope,
      this.previousSignature,
      EMPTY_SHA256,
      hash,
    ].join("\n");
    const expected = await signWith(this.auth.signingKey, toSign);
    if (!(await signaturesEqual(expected, this.chunkSignature))) {
      throw new FsError(
        "EUNAUTHENTICATED",
        "The chunk signature we calculated does not match the signature you provided",
        undefined,
        undefined,
        "SignatureDoesNotMatch",
      );
    }
    this.previousSignature = this.chunkSignature;
  }

  private async trailerLine(line: string): Promise<void> {
    if (line === "") {
      // Some clients put a blank line between the final chunk and the trailers.
      if (this.trailerLines.length === 0 && this.trailerExpected && !this.blankSkipped) {
        this.blankSkipped = true;
        return;
      }
      await this.endTrailers();
      return;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw fail("InvalidRequest", "an aws-chunked trailer line is not name:value");
    this.trailerLines.push([
      line.slice(0, colon).trim().toLowerCase(),
      line.slice(colon + 1).trim(),
    ]);
    if (this.trailerLines.length > 16)
      throw fail("InvalidRequest", "too many aws-chunked trailers");
  }

  private async endTrailers(): Promise<void> {
    let signature: string | undefined;
    let canonical = "";
    for (const [name, value] of this.trailerLines) {
      if (name === "x-amz-trailer-signature") signature = value;
      else {
        canonical += `${name}:${value}\n`;
        this.trailers.set(name, value);
      }
    }
    if (this.signed) {
      const toSign = [
        "AWS4-HMAC-SHA256-TRAILER",
        this.auth.datetime,
        this.scope,
        this.previousSignature,
        await sha256Hex(canonical),
      ].join("\n");
      const expected = await signWith(this.auth.signingKey, toSign);
      if (signature === undefined || !(await signaturesEqual(expected, signature))) {
        throw new FsError(
          "EUNAUTHENTICATED",
          "The trailer signature we calculated does not match the signature you provided",
          undefined,
          undefined,
          "SignatureDoesNotMatch",
        );
      }
    }
    this.state = "done";
  }

  /** At the end of the input: the body must be complete and exactly the declared length. */
  async end(): Promise<void> {
    // A trailer section cut off after its last line (without the closing blank
    // line) still ends the body once every line has arrived whole.
    if (this.state === "trailer" && this.lineLength === 0) await this.endTrailers();
    if (this.state !== "done") {
      throw fail("IncompleteBody", "The request body ended before the aws-chunked encoding did");
    }
    if (this.decoded !== this.declared) {
      throw fail(
        "IncompleteBody",
        `The decoded body is ${this.decoded} bytes, x-amz-decoded-content-length says ${this.declared}`,
      );
    }
  }
}
