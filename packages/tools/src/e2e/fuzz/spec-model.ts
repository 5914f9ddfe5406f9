import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/*
 * What the generative test knows of the API, read from docs/openapi.yaml: per operation its
 * method, path, parameters, request body schema, and the statuses and error codes it may answer;
 * and validators for request bodies and answers.
 */

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const SPEC_URL = new URL('../../../../../docs/openapi.yaml', import.meta.url);

const isObject = (value: Json | undefined): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const at = (value: Json | undefined, ...keys: string[]): Json | undefined => {
  let current = value;
  for (const key of keys) current = isObject(current) ? current[key] : undefined;
  return current;
};

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  /** The schema with `$ref`s and `allOf`s resolved into one object. */
  readonly schema: JsonObject;
  /** The component it names, e.g. `UserId`, when the schema is a `$ref` to one. */
  readonly component?: string | undefined;
}

export interface BodyField {
  readonly name: string;
  readonly required: boolean;
  readonly schema: JsonObject;
  readonly component?: string | undefined;
}

export interface Operation {
  readonly id: string;
  readonly method: 'GET' | 'POST';
  /** The path template, e.g. `/orders/{id}`. */
  readonly path: string;
  readonly parameters: readonly Parameter[];
  /** The request body's fields, when the operation takes a JSON body. */
  readonly body?: { readonly fields: readonly BodyField[]; validate: ValidateFunction } | undefined;
  /** Every documented status, with the error codes documented for it (empty for a success). */
  readonly responses: ReadonlyMap<number, readonly string[]>;
  /** The documented answer's validator for a status (its `application/json` schema). */
  answerValidator(status: number): ValidateFunction | undefined;
}

export class SpecModel {
  readonly operations: readonly Operation[];
  /** Error codes the `Error` schema knows. */
  readonly errorCodes: ReadonlySet<string>;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private static readonly SCHEMAS_ID = 'https://gozon.local/openapi-components.json';

  constructor(private readonly spec: JsonObject = parse(readFileSync(SPEC_URL, 'utf-8')) as JsonObject) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: SpecModel.SCHEMAS_ID, $defs: this.rewrite(at(spec, 'components', 'schemas') ?? {}) });
    const codes = at(spec, 'components', 'schemas', 'Error', 'properties', 'error', 'properties', 'code', 'enum');
    this.errorCodes = new Set((codes as string[] | undefined) ?? []);
    const operations: Operation[] = [];
    for (const [path, item] of Object.entries(at(spec, 'paths') as JsonObject)) {
      if (!path.startsWith('/orders') && !path.startsWith('/payments')) continue; // not through the gateway
      for (const method of ['get', 'post'] as const) {
        const op = at(item, method);
        if (isObject(op)) operations.push(this.operation(method, path, op));
      }
    }
    this.operations = operations;
  }

  operation(method: 'get' | 'post', path: string, op: JsonObject): Operation {
    const id = String(op.operationId);
    const parameters = ((op.parameters as Json[] | undefined) ?? []).map((raw) => {
      const p = this.deref(raw);
      const schemaRef = at(p, 'schema', '$ref');
      return {
        name: String(p.name),
        in: p.in as Parameter['in'],
        required: p.required === true,
        schema: this.resolve(p.schema ?? {}),
        component: typeof schemaRef === 'string' ? schemaRef.split('/').pop() : undefined,
      };
    });
    const bodySchema = at(op, 'requestBody', 'content', 'application/json', 'schema');
    let body: Operation['body'];
    if (bodySchema !== undefined) {
      const resolved = this.resolve(bodySchema);
      const required = new Set((resolved.required as string[] | undefined) ?? []);
      const fields = Object.entries((resolved.properties as JsonObject | undefined) ?? {}).map(([name, raw]) => ({
        name,
        required: required.has(name),
        schema: this.resolve(raw),
        component: this.componentOf(raw),
      }));
      body = { fields, validate: this.compile(`${id} request`, bodySchema) };
    }
    const responses = new Map<number, string[]>();
    const answers = new Map<number, Json>();
    for (const [status, raw] of Object.entries((op.responses as JsonObject | undefined) ?? {})) {
      const response = this.deref(raw);
      const schema = at(response, 'content', 'application/json', 'schema');
      const code = at(
        schema === undefined ? undefined : this.resolve(schema),
        'properties',
        'error',
        'properties',
        'code',
      );
      const codes = at(code, 'enum') ?? (at(code, 'const') === undefined ? [] : [at(code, 'const')]);
      responses.set(Number(status), (codes as Json[]).map(String));
      if (schema !== undefined) answers.set(Number(status), schema);
    }
    return {
      id,
      method: method.toUpperCase() as Operation['method'],
      path,
      parameters,
      body,
      responses,
      answerValidator: (status) => {
        const schema = answers.get(status);
        return schema === undefined ? undefined : this.compile(`${id} ${status}`, schema);
      },
    };
  }

  byId(id: string): Operation {
    const op = this.operations.find((o) => o.id === id);
    if (!op) throw new Error(`docs/openapi.yaml has no operation ${id}`);
    return op;
  }

  errorsText(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: '; ' });
  }

  private compile(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(this.rewrite(schema) as object);
      this.validators.set(key, validate);
    }
    return validate;
  }

  private componentOf(raw: Json | undefined): string | undefined {
    // A field is `$ref: X` or, with a description of its own, `allOf: [$ref: X]`.
    const ref = at(raw, '$ref') ?? at((at(raw, 'allOf') as Json[] | undefined)?.[0], '$ref');
    return typeof ref === 'string' ? ref.split('/').pop() : undefined;
  }

  /** Follows local `$ref`s (responses, parameters, schemas). */
  private deref(value: Json | undefined): JsonObject {
    if (!isObject(value)) return {};
    const ref = value.$ref;
    if (typeof ref !== 'string') return value;
    return this.deref(at(this.spec, ...ref.slice(2).split('/')));
  }

  /** One schema object with `$ref`s followed and `allOf` parts merged, for generating values. */
  private resolve(value: Json): JsonObject {
    const node = this.deref(value);
    const { allOf, ...rest } = node;
    const merged: JsonObject = { ...rest };
    for (const part of (allOf as Json[] | undefined) ?? []) Object.assign(merged, this.resolve(part));
    return merged;
  }

  private rewrite(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.rewrite(v));
    if (!isObject(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key === '$ref' && typeof inner === 'string' && inner.startsWith('#/components/schemas/')
          ? `${SpecModel.SCHEMAS_ID}#/$defs/${inner.slice('#/components/schemas/'.length)}`
          : this.rewrite(inner),
      ]),
    );
  }
}
