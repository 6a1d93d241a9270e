import { z } from 'zod';

/**
 * A secret is read from a file or an environment variable. A literal value is accepted
 * only as `{ value: …, insecure: true }`, so that nobody pastes a token into YAML by accident.
 */
export const SecretSchema = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ value: z.string(), insecure: z.literal(true) }).strict(),
]);
export type Secret = z.infer<typeof SecretSchema>;
