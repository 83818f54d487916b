/** Input of verifyBackups: whose archives to read back, and in which store. */
import { checkFields, jsonSurface, type InputSurface } from './input-fields.js';
import { validateDatabaseName } from './names.js';
import { validateStoreField } from './restore-input.js';

export interface VerifyInput {
  /** One database's backups; default every database's, and the globals backups. */
  database?: string;
  /** One store's URL; default every store of the worker. */
  store?: string;
}

export function normalizeVerifyInput(input: unknown, surface: InputSurface = jsonSurface): VerifyInput {
  const value = checkFields(input ?? {}, ['database', 'store'], 'verifyBackups', '{"database": "app"}', surface) as Partial<VerifyInput>;
  const store = validateStoreField(value.store, surface);
  return {
    ...(value.database !== undefined ? { database: validateDatabaseName(value.database, surface.field('database')) } : {}),
    ...(store !== undefined ? { store } : {}),
  };
}
