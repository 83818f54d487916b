/** `pgkeeper setup`: register pgkeeper's search attributes on an existing Temporal cluster (idempotent). */
import type { Client } from '@temporalio/client';
import type { Config } from '../../common/config.js';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { missingSearchAttributes } from '../../worker/search-attribute-check.js';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (all pgkeeper attributes are keywords). */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

export async function setupCommand(client: Client, config: Config): Promise<void> {
  const missingNames = new Set(await missingSearchAttributes(client.connection.operatorService, config.temporal.namespace));
  const missing = SEARCH_ATTRIBUTES.filter((key) => missingNames.has(key.name));
  if (missing.length > 0) {
    await client.connection.operatorService.addSearchAttributes({
      namespace: config.temporal.namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_VALUE_TYPE_KEYWORD])),
    });
  }
  process.stdout.write(
    `search attributes on namespace "${config.temporal.namespace}": ${SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')}` +
      (missing.length ? ` (added ${missing.map((k) => k.name).join(', ')})` : ' (all present)') +
      '\n',
  );
}
