import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ValidationIssue } from '../errors/index.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** A JSON Schema 2020-12 validator with formats, strict about schema mistakes. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // Annotation keywords EventFabric reads itself; declaring them keeps strict mode on.
  ajv.addKeyword({ keyword: 'x-pii', schemaType: 'boolean' });
  return ajv;
}

/** Turn Ajv's errors into one issue per failing path. */
export function toIssues(errors: ErrorObject[] | null | undefined, prefix = ''): ValidationIssue[] {
  // A bad property name yields two errors: the inner one (with `propertyName`) says which.
  return (errors ?? [])
    .filter((e) => e.keyword !== 'propertyNames')
    .map((e) => {
      let path = prefix + e.instancePath;
      if (e.propertyName !== undefined) {
        return {
          path: `${path}/${e.propertyName}`,
          message: `property name ${e.message ?? 'is invalid'}`,
          keyword: 'propertyNames',
        };
      }
      if (e.keyword === 'required') path += `/${String(e.params.missingProperty)}`;
      if (e.keyword === 'additionalProperties') path += `/${String(e.params.additionalProperty)}`;
      return {
        path: path === '' ? '/' : path,
        message: e.message ?? e.keyword,
        keyword: e.keyword,
      };
    });
}
