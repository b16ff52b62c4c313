// Typed errors of the edgefs SDK. The server answers every failure with
// `{"error":{"code","message","path"?}}` and one HTTP status per code; each
// code maps to one class here, all extending EdgefsError.

// Types only: the client stays free of the server's runtime (FsError and all).
// The server's table is the source of truth, so a code added there without a
// class here, or a class whose status differs from the server's, fails to compile.
import type { ERROR_STATUS, ErrorCode } from "../core/errors.js";

/** What an error carries besides its message. */
export interface EdgefsErrorInit {
  /** HTTP status of the answer (0 when there was none, or the error was raised locally). */
  status?: number;
  /** The path the server named, if any. */
  path?: string;
  cause?: unknown;
}

/** Any failure reported by edgefs or on the way to it. */
export class EdgefsError extends Error {
  /** The server's error code (ENOENT, EEXIST, …), ENETWORK, or HTTP_<status> for an unknown answer. */
  readonly code: string;
  /** HTTP status, 0 when there was no answer. */
  readonly status: number;
  /** The path the error is about, when the server named one. */
  readonly path?: string;

  constructor(code: string, message: string, init: EdgefsErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = init.status ?? 0;
    if (init.path !== undefined) this.path = init.path;
  }
}

/** The HTTP status the server answers `code` with. */
type StatusOf<C extends ErrorCode> = (typeof ERROR_STATUS)[C];

function fixed<C extends ErrorCode>(code: C, status: StatusOf<C>) {
  return class extends EdgefsError {
    constructor(message: string, init: EdgefsErrorInit = {}) {
      super(code, message, { status, ...init });
    }
  };
}

/** ENOENT (404): the share, path or route does not exist. */
export class NotFoundError extends fixed("ENOENT", 404) {}
/** EEXIST (409): strict create of an existing share; move/copy onto an existing path. */
export class ExistsError extends fixed("EEXIST", 409) {}
/** EISDIR (409): a directory where a file was expected. */
export class IsADirectoryError extends fixed("EISDIR", 409) {}
/** ENOTDIR (409): a file where a directory was expected. */
export class NotADirectoryError extends fixed("ENOTDIR", 409) {}
/** ENOTEMPTY (409): non-recursive delete of a non-empty directory. */
export class NotEmptyError extends fixed("ENOTEMPTY", 409) {}
/** EPRECONDITION (412): If-Match / If-None-Match failed. */
export class PreconditionError extends fixed("EPRECONDITION", 412) {}
/** ELOCKED (423): the path is held by a lease the request does not hold. */
export class LockedError extends fixed("ELOCKED", 423) {}
/** EACCES (403): the token lacks the permission, environment or share. */
export class PermissionError extends fixed("EACCES", 403) {}
/** EUNAUTHENTICATED (401): missing, malformed, expired, revoked or foreign token. */
export class AuthenticationError extends fixed("EUNAUTHENTICATED", 401) {}
/** EINVAL (400): bad path, name, header, range, query or body (also raised locally, status 0). */
export class InvalidRequestError extends fixed("EINVAL", 400) {}
/** ETOOLARGE (413): over a documented size limit. */
export class TooLargeError extends fixed("ETOOLARGE", 413) {}
/** EEXPIRED (410): a version older than the share's retention window that no snapshot keeps. */
export class ExpiredError extends fixed("EEXPIRED", 410) {}
/** ERANGE (416): unsatisfiable range. */
export class RangeNotSatisfiableError extends fixed("ERANGE", 416) {}
/** ENOTSUP (501): the backend cannot do it (e.g. rename on a bucket mount). */
export class NotSupportedError extends fixed("ENOTSUP", 501) {}
/** EUPSTREAM (502): a mounted bucket answered with an error or could not be reached. */
export class UpstreamError extends fixed("EUPSTREAM", 502) {}

/** EINTERNAL, or any other 5xx / non-JSON error answer. `code` is the server's, or HTTP_<status>. */
export class ServerError extends EdgefsError {
  constructor(message: string, init: EdgefsErrorInit & { code?: string } = {}) {
    const { code = "EINTERNAL", ...rest } = init;
    const status: StatusOf<"EINTERNAL"> = 500;
    super(code, message, { status, ...rest });
  }
}

/**
 * ENOSPC (507): a documented count limit is reached (e.g. a share's active leases).
 * A ServerError, as every 5xx answer was before it had a class of its own.
 */
export class NoSpaceError extends ServerError {
  constructor(message: string, init: EdgefsErrorInit = {}) {
    const status: StatusOf<"ENOSPC"> = 507;
    super(message, { status, ...init, code: "ENOSPC" });
  }
}

/** The request never got an answer: fetch itself threw (DNS, refused, reset, aborted). */
export class NetworkError extends EdgefsError {
  constructor(message: string, init: EdgefsErrorInit = {}) {
    super("ENETWORK", message, { ...init, status: 0 });
  }
}

/**
 * ETIMEDOUT: the SDK stopped waiting by itself (waitFor's timeout). A code of
 * the SDK's, like ENETWORK: no server answer carries it.
 */
export class TimeoutError extends EdgefsError {
  constructor(message: string, init: EdgefsErrorInit = {}) {
    super("ETIMEDOUT", message, { ...init, status: 0 });
  }
}

type ErrorClass = new (message: string, init?: EdgefsErrorInit) => EdgefsError;

/** One class per server code: `satisfies` makes a missing or unknown code a type error. */
const BY_CODE = {
  ENOENT: NotFoundError,
  EEXIST: ExistsError,
  EISDIR: IsADirectoryError,
  ENOTDIR: NotADirectoryError,
  ENOTEMPTY: NotEmptyError,
  EPRECONDITION: PreconditionError,
  ELOCKED: LockedError,
  EACCES: PermissionError,
  EUNAUTHENTICATED: AuthenticationError,
  EINVAL: InvalidRequestError,
  ETOOLARGE: TooLargeError,
  ERANGE: RangeNotSatisfiableError,
  EEXPIRED: ExpiredError,
  ENOTSUP: NotSupportedError,
  EUPSTREAM: UpstreamError,
  ENOSPC: NoSpaceError,
  EINTERNAL: ServerError,
} satisfies Record<ErrorCode, ErrorClass>;

/** The class of a server code; own keys only, so "constructor" or "__proto__" is no code. */
function classOf(code: string): ErrorClass | undefined {
  return Object.hasOwn(BY_CODE, code) ? BY_CODE[code as ErrorCode] : undefined;
}

/** The typed error for a code the server sent (or inferred from the status). */
export function errorFromCode(
  code: string,
  message: string,
  status: number,
  path?: string,
): EdgefsError {
  const init: EdgefsErrorInit = path === undefined ? { status } : { status, path };
  const Known = classOf(code);
  if (Known) return new Known(message, init);
  if (status >= 500) return new ServerError(message, { ...init, code });
  return new EdgefsError(code, message, init);
}

/** Reads an error answer (its body is consumed) into a typed error. */
export async function errorFromResponse(res: Response, what = ""): Promise<EdgefsError> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // the body broke off: the status is all there is
  }
  const prefix = what ? `${what}: ` : "";
  try {
    const body = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; path?: unknown };
    };
    const e = body.error;
    if (e && typeof e.code === "string") {
      const message = typeof e.message === "string" ? e.message : `${prefix}${res.status}`;
      return errorFromCode(
        e.code,
        message,
        res.status,
        typeof e.path === "string" ? e.path : undefined,
      );
    }
  } catch {
    // not JSON
  }
  // Not edgefs speaking (a proxy, a crashed Worker, an HTML error page).
  const snippet = text.trim().slice(0, 200);
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  return new ServerError(`${prefix}${status}${snippet ? `: ${snippet}` : ""}`, {
    status: res.status,
    code: `HTTP_${res.status}`,
  });
}
