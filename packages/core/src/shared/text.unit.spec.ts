import { expect } from 'chai';
import { DomainError } from './errors.js';
import { checkIdempotencyKey } from './idempotency.js';
import { MessageId, UserId } from './ids.js';
import { checkDescription, checkText, textProblem } from './text.js';

const refused = (fn: () => unknown, field: string, code = 'invalid_field'): void => {
  expect(fn).to.throw(DomainError).with.property('field', field);
  expect(fn).to.throw(DomainError).with.property('code', code);
  expect(fn).to.throw(DomainError).with.property('kind', 'validation');
};

// C0 (with tab and newline), DEL, C1 (NEL), a lone high and a lone low surrogate.
const badText = ['\u0000', '\t', '\n', '\u001b', '\u007f', '\u0085', '\u009f', '\ud800', '\udfff', 'a\ud800b'];

describe('the text rule', () => {
  for (const bad of badText) {
    it(`refuses ${JSON.stringify(bad)}, naming the field`, () => {
      expect(textProblem(`x${bad}y`, 'description')).to.match(/^description must/);
      refused(() => checkText(bad, 'description'), 'description');
      refused(() => checkDescription(`a book ${bad}`), 'description');
      refused(() => UserId(`user${bad}`), 'user_id');
      refused(() => checkIdempotencyKey(`key${bad}`), 'Idempotency-Key', 'invalid_idempotency_key');
    });
  }

  it('takes any other Unicode, surrogate pairs included', () => {
    for (const good of ['', 'naïve café ☕', '😀 emoji', 'ü\u00a0no-break', '\u2028 line separator is not Cc']) {
      expect(textProblem(good, 'description')).to.equal(undefined);
      expect(checkDescription(good)).to.equal(good);
    }
  });

  it('names the problem: control characters or invalid Unicode', () => {
    expect(textProblem('\u0085', 'id')).to.equal('id must not contain control characters');
    expect(textProblem('\ud800', 'id')).to.equal('id must be valid Unicode (no lone surrogates)');
  });
});

describe('user ids', () => {
  for (const dots of ['.', '..', '...', '.'.repeat(64)]) {
    it(`refuses ${JSON.stringify(dots)}: dots alone are a path segment's "here" or "up"`, () => {
      refused(() => UserId(dots), 'user_id');
    });
  }

  it('takes dots among other characters', () => {
    for (const good of ['a.b', '.a', 'a..', 'first.last@example.com']) expect(UserId(good)).to.equal(good);
  });
});

describe('Idempotency-Key', () => {
  for (const blank of ['', ' ', '    ']) {
    it(`refuses ${JSON.stringify(blank)} (empty or blank)`, () => {
      refused(() => checkIdempotencyKey(blank), 'Idempotency-Key', 'invalid_idempotency_key');
    });
  }

  it('takes 1 to 128 printable characters, spaces inside included', () => {
    for (const good of ['k', 'a key', 'x'.repeat(128)]) expect(checkIdempotencyKey(good)).to.equal(good);
    refused(() => checkIdempotencyKey('x'.repeat(129)), 'Idempotency-Key', 'invalid_idempotency_key');
  });
});

describe('message ids', () => {
  it('take 1 to 200 characters of valid text', () => {
    expect(MessageId('m'.repeat(200))).to.have.length(200);
    for (const bad of ['', 'm'.repeat(201), 'id\u0000', 'id\ud800']) refused(() => MessageId(bad), 'messageId');
  });
});
