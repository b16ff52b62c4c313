/**
 * The one error type of edgefs. Every failure a user can cause or observe is
 * an FsError with a code from the contract (docs/api.md "Errors");
 * the app's single error handler renders it as
 * `{"error": {"code", "message", "path"?}}` with the code's status.
 */
export const ERROR_STATUS = {
  EINVAL: 400,
  EUNAUTHENTICATED: 401,
  EACCES: 403,
  ENOENT: 404,
  EEXIST: 409,
  EISDIR: 409,
  ENOTDIR: 409,
  ENOTEMPTY: 409,
  EPRECONDITION: 412,
  ETOOLARGE: 413,
  EEXPIRED: 410,
  ERANGE: 416,
  ELOCKED: 423,
  EINTERNAL: 500,
  ENOTSUP: 501,
  EUPSTREAM: 502,
  ENOSPC: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** What an FsError looks like on the wire and across Durable Object RPC. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  path?: string;
}

export class FsError extends Error {
  override readonly name = "FsError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
    /** Extra response headers (e.g. Content-Range on 416); not sent over RPC. */
    readonly headers?: Record<string, string>,
    /**
     * A front-end's finer name for this failure (an S3 error code such as
     * SignatureDoesNotMatch); front-ends with their own error vocabulary render it;
     * not sent over RPC.
     */
    readonly reason?: string,
  ) {
    super(message);
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }

  toJSON(): ErrorBody {
    return this.path === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, path: this.path };
  }

  static fromBody(body: ErrorBody): FsError {
    return new FsError(body.code, body.message, body.path);
  }
}

export const invalid = (message: string, path?: string) => new FsError("EINVAL", message, path);
export const notFound = (path: string, what = "no such file or directory") =>
  new FsError("ENOENT", `${what}: ${path}`, path);
