import { z } from 'zod';

/**
 * Empties zod's global registry, where `.meta({ id })` and `.describe()` record each schema's
 * name and description for the hub's OpenAPI and JSON Schema documents. The agent never writes
 * those documents, and the registry is all that holds the schemas the agent does not use (the
 * hub's API bodies): emptying it once the modules are loaded lets them be collected. Measured on
 * the idle agent (issue #16): live heap 14.1 → 11.5 MiB, RSS ~2.4 MiB less. Parsing is unchanged;
 * only `.meta()` and `.description` read the registry.
 */
export function releaseSchemaRegistry(): void {
  z.globalRegistry.clear();
}
