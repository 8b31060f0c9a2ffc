import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';

// ajv-formats is CommonJS: under NodeNext its function is the default export's `default`
const addFormats = addFormatsModule.default;

/** A JSON-schema file compiled with ajv (formats checked), and its last errors as "path message" lines. */
export function schemaValidator(file: string): { validate: (data: unknown) => boolean; errors: () => string[] } {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')) as object);
  return { validate: (data) => validate(data), errors: () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`) };
}
