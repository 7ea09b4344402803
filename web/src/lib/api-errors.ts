// The three failures of an API call the pages tell apart — the key was refused (show how to get
// one), the server answered an error (say what it said), or it could not be reached (retry).
// Pure: the browser's side of a call is in ui/api-client.ts.

/** An error answer of the server: its status, code and message. */
export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** 401: no key, or a key the server does not know (`unauthorized`, `invalid_viewer_key`). */
export class KeyRefusedError extends ApiError {
  override readonly name = 'KeyRefusedError';
}

/** No answer: the server is down, restarting, or the network is gone. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}
