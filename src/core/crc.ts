/**
 * The CRC checksums S3 clients send (x-amz-checksum-crc32, -crc32c, -crc64nvme):
 * incremental, table-driven with slicing-by-8 so a 256 MiB body costs one pass
 * of eight table lookups per 8 bytes. Runtime-free; the digest is the big-endian
 * bytes of the final value, which is what S3 base64-encodes.
 *
 * Written here rather than taken from @aws-crypto/crc32 / crc32c: those process
 * one byte per lookup and have no CRC64NVME, and one module for all three keeps
 * the hashers alike.
 */
export interface Checksum {
  update(bytes: Uint8Array): void;
  /** The big-endian bytes of the checksum of everything given so far. */
  digest(): Uint8Array;
}

/** Eight tables of a reflected 32-bit CRC: table k advances a byte k+1 positions. */
function tables32(poly: number): Int32Array[] {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  const t0 = t[0] as Int32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    const prev = t[k - 1] as Int32Array;
    const cur = t[k] as Int32Array;
    for (let n = 0; n < 256; n++) {
      const v = prev[n] as number;
      cur[n] = ((v >>> 8) ^ (t0[v & 0xff] as number)) >>> 0;
    }
  }
  return t;
}

function crc32Family(tables: Int32Array[]): Checksum {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  let crc = 0xffffffff;
  return {
    update(bytes) {
      let c = crc;
      let i = 0;
      const n = bytes.length;
      for (; i + 8 <= n; i += 8) {
        const a =
          c ^
          ((bytes[i] as number) |
            ((bytes[i + 1] as number) << 8) |
            ((bytes[i + 2] as number) << 16) |
            ((bytes[i + 3] as number) << 24));
        c =
          (t7[a & 0xff] as number) ^
          (t6[(a >>> 8) & 0xff] as number) ^
          (t5[(a >>> 16) & 0xff] as number) ^
          (t4[a >>> 24] as number) ^
          (t3[bytes[i + 4] as number] as number) ^
          (t2[bytes[i + 5] as number] as number) ^
          (t1[bytes[i + 6] as number] as number) ^
          (t0[bytes[i + 7] as number] as number);
      }
      for (; i < n; i++) c = (c >>> 8) ^ (t0[(c ^ (bytes[i] as number)) & 0xff] as number);
      crc = c >>> 0;
    },
    digest() {
      const v = (crc ^ 0xffffffff) >>> 0;
      return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
    },
  };
}

let crc32Tables: Int32Array[] | undefined;
let crc32cTables: Int32Array[] | undefined;

/** CRC-32 (ISO-HDLC, zlib's): reflected polynomial 0xEDB88320. */
export function crc32(): Checksum {
  crc32Tables ??= tables32(0xedb88320);
  return crc32Family(crc32Tables);
}

/** CRC-32C (Castagnoli): reflected polynomial 0x82F63B78. */
export function crc32c(): Checksum {
  crc32cTables ??= tables32(0x82f63b78);
  return crc32Family(crc32cTables);
}

/**
 * The 64-bit tables, each entry split into low and high 32-bit halves
 * (lo[k*256+n], hi[k*256+n]) so the hot loop stays in 32-bit integer arithmetic
 * instead of BigInt.
 */
interface Tables64 {
  lo: Int32Array;
  hi: Int32Array;
}

function tables64(polyHi: number, polyLo: number): Tables64 {
  const lo = new Int32Array(8 * 256);
  const hi = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let l = n;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        l = (l ^ polyLo) >>> 0;
        h = (h ^ polyHi) >>> 0;
      }
    }
    lo[n] = l;
    hi[n] = h;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const pl = lo[(k - 1) * 256 + n] as number;
      const ph = hi[(k - 1) * 256 + n] as number;
      const idx = pl & 0xff;
      lo[k * 256 + n] = (((pl >>> 8) | (ph << 24)) ^ (lo[idx] as number)) >>> 0;
      hi[k * 256 + n] = ((ph >>> 8) ^ (hi[idx] as number)) >>> 0;
    }
  }
  return { lo, hi };
}

let crc64Tables: Tables64 | undefined;

/** CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones. */
export function crc64nvme(): Checksum {
  crc64Tables ??= tables64(0x9a6c9329, 0xac4bc9b5);
  const { lo: TL, hi: TH } = crc64Tables;
  let cl = 0xffffffff;
  let ch = 0xffffffff;
  return {
    update(bytes) {
      let l = cl;
      let h = ch;
      let i = 0;
      const n = bytes.length;
      for (; i + 8 <= n; i += 8) {
        // The register is as wide as the 8 bytes: xor them in, then each byte
        // position k contributes the table that advances it the remaining 7-k bytes.
        const a =
          (l ^
            ((bytes[i] as number) |
              ((bytes[i + 1] as number) << 8) |
              ((bytes[i + 2] as number) << 16) |
              ((bytes[i + 3] as number) << 24))) >>>
          0;
        const b =
          (h ^
            ((bytes[i + 4] as number) |
              ((bytes[i + 5] as number) << 8) |
              ((bytes[i + 6] as number) << 16) |
              ((bytes[i + 7] as number) << 24))) >>>
          0;
        const i0 = 7 * 256 + (a & 0xff);
        const i1 = 6 * 256 + ((a >>> 8) & 0xff);
        const i2 = 5 * 256 + ((a >>> 16) & 0xff);
        const i3 = 4 * 256 + (a >>> 24);
        const i4 = 3 * 256 + (b & 0xff);
        const i5 = 2 * 256 + ((b >>> 8) & 0xff);
        const i6 = 256 + ((b >>> 16) & 0xff);
        const i7 = b >>> 24;
        l =
          ((TL[i0] as number) ^
            (TL[i1] as number) ^
            (TL[i2] as number) ^
            (TL[i3] as number) ^
            (TL[i4] as number) ^
            (TL[i5] as number) ^
            (TL[i6] as number) ^
            (TL[i7] as number)) >>>
          0;
        h =
          ((TH[i0] as number) ^
            (TH[i1] as number) ^
            (TH[i2] as number) ^
            (TH[i3] as number) ^
            (TH[i4] as number) ^
            (TH[i5] as number) ^
            (TH[i6] as number) ^
            (TH[i7] as number)) >>>
          0;
      }
      for (; i < n; i++) {
        const idx = (l ^ (bytes[i] as number)) & 0xff;
        l = (((l >>> 8) | (h << 24)) ^ (TL[idx] as number)) >>> 0;
        h = ((h >>> 8) ^ (TH[idx] as number)) >>> 0;
      }
      cl = l;
      ch = h;
    },
    digest() {
      const h = (ch ^ 0xffffffff) >>> 0;
      const l = (cl ^ 0xffffffff) >>> 0;
      return new Uint8Array([
        h >>> 24,
        (h >>> 16) & 0xff,
        (h >>> 8) & 0xff,
        h & 0xff,
        l >>> 24,
        (l >>> 16) & 0xff,
        (l >>> 8) & 0xff,
        l & 0xff,
      ]);
    },
  };
}
