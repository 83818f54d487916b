/**
 * Node's DEP0123 ("Setting the TLS ServerName to an IP address is not permitted"): grpc-js sends
 * the address as the TLS server name whenever Temporal is reached at an IP with TLS on. Printed
 * before anything pgkeeper says, it would be the first line a person reads — often above the real
 * answer (a failed handshake) — and about nothing they can change.
 */
type EmitWarning = (warning: string | Error, ...rest: unknown[]) => void;

export function dropServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as EmitWarning;
  const isServerName = (rest: unknown[]) => rest.includes('DEP0123') || (rest[0] as { code?: string } | undefined)?.code === 'DEP0123';
  (process as { emitWarning: EmitWarning }).emitWarning = (warning, ...rest) => {
    if (!isServerName(rest)) emit(warning, ...rest);
  };
}
