/** Input of restoreDrill: whose newest backup to prove, how, and from which store. */
import { checkFields, jsonSurface, type InputSurface } from './input-fields.js';
import { validateDatabaseName } from './names.js';
import { validateJobs, validateStoreField } from './restore-input.js';

export interface DrillInput {
  database: string;
  /** pg_restore -j. Default 2. */
  jobs?: number;
  /** Drill the copy on this store (its URL); default: the first store that has the backup intact. */
  store?: string;
}

export interface NormalizedDrillInput {
  database: string;
  jobs: number;
  store: string | undefined;
}

export function normalizeDrillInput(input: unknown, surface: InputSurface = jsonSurface): NormalizedDrillInput {
  const value = checkFields(input, ['database', 'jobs', 'store'], 'restoreDrill', '{"database": "app"}', surface) as Partial<DrillInput>;
  return {
    database: validateDatabaseName(value.database, surface.field('database')),
    jobs: validateJobs(value.jobs, surface),
    store: validateStoreField(value.store, surface),
  };
}
