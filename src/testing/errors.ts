/**
 * The emulator's Graph error answer (rendered as Graph's error body; not the library's `GraphErrorResponse`):
 * status, `error.code`, `error.message`, optional extra headers and a more specific `innerError.code`.
 */
export class GraphErrorResponse extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new GraphErrorResponse(400, 'invalidRequest', message);
export const notFound = (message: string) => new GraphErrorResponse(404, 'itemNotFound', message);

/**
 * Graph's error body: `{ error: { code, message, innerError: { code?, date, request-id, client-request-id } } }`;
 * `innerCode` is the more specific code errors.md lists under "Detailed error codes" (`throttledRequest`).
 */
export function graphErrorBody(
  code: string,
  message: string,
  requestId: string,
  clientRequestId: string,
  date: string,
  innerCode?: string,
): { error: Record<string, unknown> } {
  return {
    error: {
      code,
      message,
      innerError: {
        ...(innerCode !== undefined ? { code: innerCode } : {}),
        date,
        'request-id': requestId,
        'client-request-id': clientRequestId,
      },
    },
  };
}

/**
 * SharePoint's throttling answer through Graph: `activityLimitReached` ("The app or user has been throttled",
 * errors.md) with the inner code `throttledRequest`, as SharePoint answers it (OneDrive/onedrive-api-docs#1307,
 * #812). throttling.md's generic sample (`TooManyRequests`) is another workload's: docs/emulator.md.
 */
const CODE_BY_STATUS: Record<number, [string, string]> = {
  429: ['activityLimitReached', 'The request has been throttled'],
  500: ['generalException', 'An unspecified error has occurred.'],
  502: ['badGateway', 'The upstream service did not answer.'],
  503: ['serviceNotAvailable', 'The service is temporarily unavailable.'],
  504: ['gatewayTimeout', 'The upstream service timed out.'],
};

export function faultError(
  status: number,
  retryAfterSeconds?: number,
  extraHeaders: Record<string, string> = {},
): GraphErrorResponse {
  const [code, message] = CODE_BY_STATUS[status] ?? ['generalException', 'Injected fault.'];
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined && (status === 429 || status === 503)) {
    headers['Retry-After'] = String(retryAfterSeconds);
  }
  return new GraphErrorResponse(
    status,
    code,
    message,
    { ...headers, ...extraHeaders },
    status === 429 ? 'throttledRequest' : undefined,
  );
}
