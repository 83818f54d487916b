/**
 * Which of pgkeeper's search attributes a namespace lacks. A workflow that sets an unregistered
 * attribute fails its workflow task over and over, so the worker refuses to start without them.
 */
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';

/** The one call needed from Temporal's OperatorService (client and worker connections both have it). */
interface OperatorService {
  listSearchAttributes(request: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
}

export async function missingSearchAttributes(operator: OperatorService, namespace: string): Promise<string[]> {
  const listed = await operator.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(listed.customAttributes ?? {}));
  return SEARCH_ATTRIBUTES.map((key) => key.name).filter((name) => !known.has(name));
}
