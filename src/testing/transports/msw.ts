import { createRequire } from 'node:module';
import type * as Msw from 'msw';
import type { Dispatcher } from '../http/dispatcher.js';

/** The user's msw (an optional peer dependency), or an error saying what needs it and what does not. */
function loadMsw(): typeof Msw {
  try {
    return createRequire(import.meta.url)('msw') as typeof Msw;
  } catch (error) {
    throw new Error(
      'emulator.handlers needs msw 2 (npm i -D msw): it is an optional peer of typeorm-sharepoint. The loopback emulator (await emulator.listen()) does not need it.',
      { cause: error },
    );
  }
}

/** msw 2 handlers answering Graph paths under `/v1.0` on any origin; msw is loaded on the first call. */
export function mswHandlers(dispatcher: Dispatcher): Msw.RequestHandler[] {
  const msw = loadMsw();
  return [
    msw.http.all(/\/v1\.0(\/|$)/, async ({ request }) => {
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
      const answer = await dispatcher.handle({
        method: request.method,
        url: request.url,
        headers,
        ...(body ? { body } : {}),
      });
      if (answer.drop) return msw.HttpResponse.error();
      return new msw.HttpResponse(answer.body ?? null, { status: answer.status, headers: answer.headers });
    }),
  ];
}
