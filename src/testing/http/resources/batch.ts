import { badRequest, GraphErrorResponse, graphErrorBody } from '../../errors.js';
import { type Answer, json } from '../request.js';
import type { Route, RouteContext } from '../route.js';

/** Graph answers `$batch` with at most this many requests (json-batching.md). */
export const MAX_BATCH = 20;

/**
 * Graph validates the whole envelope before running any of it: a `requests` array of at most 20, ids that
 * are strings, unique ignoring case ('a' and 'A' collide), a `Content-Type` on every write with a body, and
 * a `dependsOn` that names only earlier requests of the batch (ignoring case). A malformed batch answers 400
 * as a whole (json-batching.md); a dependsOn naming a request that is not before it is malformed: OData JSON
 * 4.01 allows no forward reference, and Graph refuses one ("Invalid dependency for request Id…",
 * microsoftgraph/msgraph-sdk-dotnet-core#891; OData/odata.net#1822).
 */
function checkEnvelope(body: unknown): Record<string, unknown>[] {
  const requests = (body as { requests?: unknown } | undefined)?.requests;
  if (!Array.isArray(requests)) throw badRequest("A $batch body needs a 'requests' array.");
  if (requests.length > MAX_BATCH)
    throw badRequest(`Number of batch request steps exceeds the maximum value of ${MAX_BATCH}.`);
  const ids = new Set<string>();
  for (const r of requests) {
    const id = (r as { id?: unknown }).id;
    if (typeof id !== 'string' || id === '') throw badRequest('Every batch request needs a string id.');
    if (ids.has(id.toLowerCase())) throw badRequest(`Batch request id '${id}' is used twice.`);
    const depends = (r as { dependsOn?: unknown }).dependsOn ?? undefined;
    if (depends !== undefined && (!Array.isArray(depends) || depends.some((d) => typeof d !== 'string')))
      throw badRequest(`Invalid dependsOn of request '${id}': an array of request ids is expected.`);
    for (const d of (depends ?? []) as string[]) {
      if (!ids.has(d.toLowerCase()))
        throw badRequest(
          `Invalid dependency for request Id '${id}': '${d}' is not an earlier request of this batch.`,
        );
    }
    ids.add(id.toLowerCase());
    const { body: innerBody, headers: innerHeaders } = r as { body?: unknown; headers?: unknown };
    const hasType =
      typeof innerHeaders === 'object' &&
      innerHeaders !== null &&
      Object.keys(innerHeaders).some((k) => k.toLowerCase() === 'content-type');
    if (innerBody !== undefined && innerBody !== null && !hasType)
      throw new GraphErrorResponse(
        400,
        'BadRequest',
        `Write request with id '${id}' does not contain a Content-Type header.`,
      );
  }
  return requests as Record<string, unknown>[];
}

/**
 * `POST /$batch`: each request in order (`dependsOn` a failed one answers 424), answered in a seeded shuffled
 * order as Graph may. The envelope costs nothing; the dispatcher's `inner` charges each request.
 */
async function runBatch(context: RouteContext): Promise<Answer> {
  const requests = checkEnvelope(context.request.body);
  const batchId = context.batch.newId();
  // Ids are not case-sensitive (json-batching.md): statuses are kept by the lower-cased id.
  const statuses = new Map<string, number>();
  const responses: Record<string, unknown>[] = [];
  let items = 0;
  for (const raw of requests) {
    const id = raw.id as string;
    const depends = Array.isArray(raw.dependsOn) ? (raw.dependsOn as string[]) : [];
    const answer = depends.some((d) => (statuses.get(d.toLowerCase()) ?? 424) >= 400)
      ? json(
          424,
          graphErrorBody(
            'failedDependency',
            'A request this request depends on failed.',
            context.random.guid(),
            context.random.guid(),
            new Date(context.now()).toISOString(),
          ),
        )
      : await context.batch.inner(raw, batchId);
    statuses.set(id.toLowerCase(), answer.status);
    items += answer.items ?? 0;
    responses.push({
      id,
      status: answer.status,
      headers: answer.headers,
      ...(answer.body !== undefined ? { body: answer.body } : {}),
    });
  }
  const ordered = context.settings.shuffleBatchResponses ? context.random.shuffle(responses) : responses;
  return { ...json(200, { responses: ordered }), items };
}

export const batchRoutes: Route[] = [{ path: '/$batch', envelope: true, methods: { POST: runBatch } }];
