// The Compose Specification's own JSON schema, checked with ajv: what a compose file may say at
// all (keys, types, allowed values), before the project's policy says what ours must say.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';

const vendored = JSON.parse(readFileSync(new URL('../compose-spec/compose-spec.json', import.meta.url), 'utf-8'));

/** Go's time.ParseDuration, which Compose uses: `10s`, `1m30s`, `1.5h`, `0`. */
const DURATION = /^(0|[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;
const PORT_RANGE = String.raw`\d+(-\d+)?`;
/** `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, ranges allowed; a number alone too. */
const PORTS = new RegExp(
  String.raw`^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):)?(${PORT_RANGE}:|:)?${PORT_RANGE}(/(tcp|udp|sctp))?$`,
);

const validator = () => {
  // The schema is written in the draft-04 manner (`id`, not `$id`) and names a meta-schema ajv
  // does not ship: it is read as draft-07, its `id`s left aside (they only label its parts).
  const schema = { ...vendored };
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: false, logger: false });
  ajv.removeKeyword('id');
  ajv.addFormat('duration', DURATION);
  ajv.addFormat('ports', PORTS);
  ajv.addFormat('expose', new RegExp(`^${PORT_RANGE}(/(tcp|udp|sctp))?$`));
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  return ajv.compile(schema);
};

const validate = validator();

const FORMATS = {
  duration: 'a duration such as 10s or 1m30s',
  ports: 'a port mapping, [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]',
  expose: 'a port, PORT[/PROTOCOL]',
  subnet_ip_address: 'a subnet, ADDRESS/BITS',
};
const KINDS = { object: 'a map', array: 'a list', string: 'a string', number: 'a number', integer: 'a whole number' };
const kindOf = (value) =>
  Array.isArray(value) ? 'a list' : value === null ? 'nothing' : (KINDS[typeof value] ?? typeof value);
const where = (path) => path.slice(1).split('/').join('.') || '(the file)';
const valueAt = (document, path) =>
  path
    .slice(1)
    .split('/')
    .filter(Boolean)
    .reduce((node, key) => node?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], document);

/** One readable line per place: a wrong kind of value, an unknown key, a value not allowed. */
const describe = (errors, document) => {
  const FORMS = ['type', 'oneOf', 'anyOf'];
  // A value of the right kind for one of the allowed forms: that form's own errors say what is wrong.
  const explained = (path) =>
    errors.some(
      (e) => e.instancePath.startsWith(`${path}/`) || (e.instancePath === path && !FORMS.includes(e.keyword)),
    );
  const lines = new Map();
  for (const error of errors) {
    const path = error.instancePath;
    const value = valueAt(document, path);
    if (FORMS.includes(error.keyword) && explained(path)) continue;
    if (FORMS.includes(error.keyword)) {
      const expected = errors
        .filter((e) => e.instancePath === path && e.keyword === 'type')
        .flatMap((e) => [e.params.type].flat().map((type) => KINDS[type] ?? type));
      const wanted = expected.length > 0 ? [...new Set(expected)].join(' or ') : 'one of the forms it allows';
      lines.set(`${path}#type`, `${where(path)}: must be ${wanted}, not ${kindOf(value)}`);
    } else if (error.keyword === 'additionalProperties') {
      const key = error.params.additionalProperty;
      lines.set(`${path}/${key}`, `${where(path)}: unknown key "${key}"`);
    } else if (error.keyword === 'enum') {
      const allowed = error.params.allowedValues.join(', ');
      lines.set(path, `${where(path)}: must be one of ${allowed} (got ${JSON.stringify(value)})`);
    } else if (error.keyword === 'format') {
      const form = FORMATS[error.params.format] ?? error.params.format;
      lines.set(path, `${where(path)}: must be ${form} (got ${JSON.stringify(value)})`);
    } else {
      lines.set(`${path}#${error.keyword}`, `${where(path)}: ${error.message}`);
    }
  }
  return [...lines.values()];
};

/** Where `document` breaks the Compose Specification, one line each; none when it holds. */
export const schemaProblems = (document) => (validate(document) ? [] : describe(validate.errors ?? [], document));
