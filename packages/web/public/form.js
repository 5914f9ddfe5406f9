/** Shows `message` next to `input`, or clears it; the note is the input's aria-describedby. */
export const setFieldError = (input, message) => {
  const note = document.getElementById(`${input.id}-error`);
  note.textContent = message ?? '';
  note.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
};

/** Checks each `[input, message-or-null]`; shows every problem and focuses the first. */
export const checkFields = (checks) => {
  const failed = checks.filter(([input, message]) => {
    setFieldError(input, message);
    return Boolean(message);
  });
  failed[0]?.[0].focus();
  return failed.length === 0;
};

/** Shows the outcome of a submission under the form; `tone` is "error" or "ok". */
export const say = (form, message, tone = 'ok') => {
  const out = form.querySelector('.form-message');
  out.textContent = message;
  out.dataset.tone = tone;
};

const keys = new WeakMap();

/**
 * The Idempotency-Key for submitting `body` from `form`: the same while the same body is retried
 * after no answer, new once the body changes or the last try got an answer (see `settle`).
 */
export const keyFor = (form, body) => {
  const text = JSON.stringify(body);
  const held = keys.get(form);
  if (held?.text === text) return held.key;
  const key = crypto.randomUUID();
  keys.set(form, { text, key });
  return key;
};

/** The submission got an answer (success or refusal): the next one is a new submission. */
export const settle = (form) => keys.delete(form);

/** Runs `work` with `button` disabled and saying `label`; a busy form ignores further submits. */
export const whileBusy = async (form, button, label, work) => {
  if (form.dataset.busy) return;
  const idle = button.textContent;
  form.dataset.busy = 'true';
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    await work();
  } finally {
    delete form.dataset.busy;
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = idle;
    // A disabled button drops the focus; give it back so keyboard users keep their place.
    if (document.activeElement === document.body || document.activeElement === null) button.focus();
  }
};
