/**
 * Temporal's answer when TEMPORAL_NAMESPACE names no namespace ("5 NOT_FOUND: Namespace x is not
 * found."), turned into one line naming the variable: a configuration error, like a bad variable.
 */
export function namespaceMissingMessage(err: unknown): string | undefined {
  // The server's words, or the SDK's NamespaceNotFoundError ("Namespace not found: 'x'").
  const found = /Namespace (\S+?) is not found|Namespace not found: '([^']*)'/i.exec(err instanceof Error ? err.message : String(err));
  if (!found) return undefined;
  const name = found[1] ?? found[2]!;
  return `namespace "${name}" does not exist on this Temporal server: set TEMPORAL_NAMESPACE to one that does (default "default"), or create it (\`temporal operator namespace create --namespace ${name}\`)`;
}
