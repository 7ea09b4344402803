// One catalogue of every failure the platform reports. HTTP bodies, IoT Hub error codes, MQTT
// reason codes and the docs all come from this table, so a code means the same thing everywhere.

interface ErrorSpec {
  /** HTTP status on Omnistream's own routes. */
  readonly status: number;
  /** IoT Hub's error code name, used on IoT Hub-compatible routes (`iothub-errorcode`). */
  readonly iothubCode: string;
  /** Status on IoT Hub routes when it differs: the official SDKs map statuses to error classes. */
  readonly iothubStatus?: number;
  /**
   * MQTT CONNACK return code when the failure refuses a CONNECT (1 protocol version, 2 identifier
   * rejected, 3 server unavailable, 5 not authorized). After a CONNECT, every failure closes the
   * connection: MQTT 3.1.1 has no other way to say no, and IoT Hub does the same.
   */
  readonly connack?: 1 | 2 | 3 | 5;
  readonly message: string;
}

export const errorCatalogue = {
  unauthorized: { status: 401, iothubCode: 'IotHubUnauthorizedAccess', connack: 5, message: 'Unauthorized' },
  token_expired: { status: 401, iothubCode: 'IotHubUnauthorizedAccess', connack: 5, message: 'The specified SAS token is expired' },
  // IoT Hub answers a policy that lacks a right with 401; the SDKs read 403 as a quota error.
  forbidden: { status: 403, iothubCode: 'IotHubUnauthorized', iothubStatus: 401, connack: 5, message: 'The credential does not grant this right' },
  device_disabled: { status: 403, iothubCode: 'IotHubUnauthorized', iothubStatus: 401, connack: 5, message: 'The device is disabled' },
  invalid_app_key: { status: 401, iothubCode: 'IotHubUnauthorizedAccess', message: 'Unknown or revoked app key' },
  invalid_viewer_key: { status: 401, iothubCode: 'IotHubUnauthorizedAccess', message: 'Unknown or revoked viewer key' },
  invalid_device_id: { status: 400, iothubCode: 'ArgumentInvalid', connack: 2, message: 'Invalid device id' },
  invalid_argument: { status: 400, iothubCode: 'ArgumentInvalid', message: 'Invalid argument' },
  invalid_body: { status: 400, iothubCode: 'ArgumentInvalid', message: 'Malformed request body' },
  batch_too_large: { status: 400, iothubCode: 'ArgumentInvalid', message: 'A batch holds at most 500 messages' },
  message_too_large: { status: 413, iothubCode: 'MessageTooLarge', message: 'Message too large' },
  unsupported_media_type: { status: 415, iothubCode: 'ArgumentInvalid', iothubStatus: 400, message: 'Unsupported content type' },
  // Over MQTT an unknown device is refused like a wrong key, so ids cannot be probed.
  device_not_found: { status: 404, iothubCode: 'DeviceNotFound', connack: 5, message: 'Device not found' },
  device_exists: { status: 409, iothubCode: 'DeviceAlreadyExists', message: 'Device already exists' },
  precondition_failed: { status: 412, iothubCode: 'PreconditionFailed', message: 'Precondition failed' },
  partition_not_found: { status: 404, iothubCode: 'ArgumentInvalid', message: 'Partition not found' },
  consumer_group_not_found: { status: 404, iothubCode: 'ArgumentInvalid', message: 'Consumer group not found' },
  reader_not_found: { status: 404, iothubCode: 'ArgumentInvalid', message: 'Reader not found' },
  invalid_cursor: { status: 400, iothubCode: 'ArgumentInvalid', message: 'Malformed, forged or foreign cursor' },
  // The group was repositioned or deleted and recreated after the cursor was handed out.
  stale_cursor: { status: 409, iothubCode: 'PreconditionFailed', message: 'The cursor predates the consumer group\'s current position' },
  job_not_found: { status: 404, iothubCode: 'ArgumentInvalid', message: 'No such job' },
  output_not_found: { status: 404, iothubCode: 'ArgumentInvalid', message: 'No such output' },
  dashboard_not_found: { status: 404, iothubCode: 'ArgumentInvalid', message: 'No such dashboard' },
  // A job refused at start (its query or its bindings are wrong) cannot be started or replayed.
  job_not_runnable: { status: 409, iothubCode: 'PreconditionFailed', message: 'The job was refused at start and cannot run' },
  route_not_found: { status: 404, iothubCode: 'ArgumentInvalid', iothubStatus: 404, message: 'No such route' },
  method_not_allowed: { status: 405, iothubCode: 'ArgumentInvalid', message: 'Method not allowed on this route' },
  rate_limited: { status: 429, iothubCode: 'ThrottlingException', message: 'Too many requests' },
  // Per device or per tenant (the app key's brand): one flooding sender is slowed, the others go on.
  quota_exceeded: { status: 429, iothubCode: 'ThrottlingException', message: 'The device or its tenant is over its message quota' },
  // Refused by the HTTP parser, before any route: what a broken client or a smuggling attempt gets.
  malformed_request: { status: 400, iothubCode: 'ArgumentInvalid', message: 'The request is not valid HTTP/1.1' },
  request_timeout: { status: 408, iothubCode: 'ArgumentInvalid', message: 'The request\'s headers or body did not arrive in time' },
  headers_too_large: { status: 431, iothubCode: 'ArgumentInvalid', message: 'The request\'s headers are over 16 KB' },
  overloaded: { status: 503, iothubCode: 'ServiceUnavailable', connack: 3, message: 'The server is overloaded; retry later' },
  // A backend (the database, the log's servers) cannot be reached; the process reconnects by itself.
  unavailable: { status: 503, iothubCode: 'ServiceUnavailable', connack: 3, message: 'A backend this server needs is unreachable; retry later' },
  // The data directory's file system is full: the append was rolled back; it succeeds again once space returns.
  storage_full: { status: 503, iothubCode: 'ServiceUnavailable', message: 'The log\'s disk is full; retry later' },
  shutting_down: { status: 503, iothubCode: 'ServiceUnavailable', connack: 3, message: 'The server is shutting down' },
  // MQTT only (the statuses are what an HTTP route would answer, for the one table).
  unsupported_protocol_version: { status: 400, iothubCode: 'ArgumentInvalid', connack: 1, message: 'Only MQTT 3.1.1 (protocol level 4) is supported' },
  protocol_error: { status: 400, iothubCode: 'ArgumentInvalid', message: 'Malformed MQTT packet, or a packet not allowed at this point' },
  qos_not_supported: { status: 400, iothubCode: 'ArgumentInvalid', message: 'QoS 2 is not supported; publish with QoS 0 or 1' },
  topic_not_allowed: { status: 403, iothubCode: 'IotHubUnauthorized', iothubStatus: 401, message: 'A device publishes only to devices/{its id}/messages/events/' },
  internal: { status: 500, iothubCode: 'ServerError', connack: 3, message: 'Internal server error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface OmniErrorOptions {
  cause?: unknown;
  /** Seconds a client should wait before retrying (429 / 503). */
  retryAfterSeconds?: number;
}

/** An expected failure with a stable code; anything else reaching the edge is a bug (500). */
export class OmniError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message?: string, options: OmniErrorOptions = {}) {
    super(message ?? errorCatalogue[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OmniError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get spec(): ErrorSpec {
    return errorCatalogue[this.code];
  }
}

/**
 * A refusal a flood produces by the thousand (a quota, overload), built without a stack trace: its
 * capture was the largest part of what a refused request cost the event loop, and a refusal's code
 * and message say all there is.
 */
export function refusal(code: ErrorCode, message: string, retryAfterSeconds: number): OmniError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new OmniError(code, message, { retryAfterSeconds });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A write the file system had no room for: SQLite's SQLITE_FULL (its transaction was rolled back)
 * or a file write's ENOSPC. An expected condition, not a defect: the same write succeeds once space
 * returns, so callers make it `storage_full` with a Retry-After.
 */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}

export function isOmniError(err: unknown): err is OmniError {
  return err instanceof OmniError;
}
