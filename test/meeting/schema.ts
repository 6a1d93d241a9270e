/** A small JSON Schema checker (the keywords docs/MINUTES.md uses), and the schema from that doc. */
import { readFileSync } from 'node:fs';

type Schema = Record<string, unknown>;

export function minutesSchema(): Schema {
  const doc = readFileSync('docs/MINUTES.md', 'utf8');
  const block = doc.split('```json')[1]!.split('```')[0]!;
  return JSON.parse(block) as Schema;
}

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

/** The problems of `value` against `schema` ([] when it is valid). */
export function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  if ('const' in schema && value !== schema['const'])
    out.push(`${path}: not ${JSON.stringify(schema['const'])}`);
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value))
    out.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema['enum'])}`);
  if (schema['type'] !== undefined) {
    const types = [schema['type']].flat() as string[];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number')))
      out.push(`${path}: ${t} is not ${types.join('|')}`);
  }
  if (typeof schema['minimum'] === 'number' && typeof value === 'number' && value < schema['minimum'])
    out.push(`${path}: ${value} < ${schema['minimum']}`);
  if (
    schema['format'] === 'date-time' &&
    typeof value === 'string' &&
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)
  )
    out.push(`${path}: not a UTC date-time`);
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const r of (schema['required'] ?? []) as string[])
      if (!(r in obj)) out.push(`${path}.${r}: missing`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) out.push(...validate(props[k]!, v, `${path}.${k}`));
      else if (schema['additionalProperties'] === false) out.push(`${path}.${k}: not in the schema`);
    }
  }
  if (Array.isArray(value) && schema['items']) {
    value.forEach((v, i) => {
      out.push(...validate(schema['items'] as Schema, v, `${path}[${i}]`));
    });
  }
  return out;
}
