// confirmDialog asks for confirmation, and for the given fields' values,
// in the page's modal <dialog id="action">: keyboard first (Esc cancels,
// Enter confirms, the first field has the focus).

import { h } from './dom.js';

// confirmDialog resolves to {fieldId: value} when confirmed, or null.
export function confirmDialog({ title, text, fields = [], ok = 'OK', danger = false, validate }) {
  const dlg = document.getElementById('action');
  const form = document.getElementById('action-form');
  const okBtn = document.getElementById('action-ok');
  document.getElementById('action-title').textContent = title;
  document.getElementById('action-text').textContent = text;
  const error = h('p', { class: 'note bad', role: 'alert', hidden: true });
  const inputs = fields.map((f) => h('input', {
    id: 'action-' + f.id, name: f.id, type: f.type || 'text', value: f.value ?? '',
    min: f.min, step: f.step, required: f.required, inputmode: f.type === 'number' ? 'numeric' : null,
    'aria-describedby': f.hint ? 'action-' + f.id + '-hint' : null, placeholder: f.placeholder,
  }));
  document.getElementById('action-fields').replaceChildren(...fields.flatMap((f, i) => [
    h('label', { for: 'action-' + f.id }, f.label), inputs[i],
    f.hint ? h('p', { class: 'hint', id: 'action-' + f.id + '-hint' }, f.hint) : null,
  ].filter(Boolean)), error);
  okBtn.textContent = ok;
  okBtn.className = danger ? 'danger' : 'primary';
  // The browser gives the focus back to the opener on close; a refresh
  // meanwhile may have replaced it with its twin of the same id.
  const opener = document.activeElement;
  const openerId = opener && opener.id;
  return new Promise((resolve) => {
    const onSubmit = (ev) => {
      if (ev.submitter && ev.submitter.value === 'cancel') return;
      const values = Object.fromEntries(fields.map((f, i) => [f.id, inputs[i].value.trim()]));
      const problem = validate ? validate(values) : '';
      if (problem) {
        ev.preventDefault();
        error.hidden = false;
        error.textContent = problem;
      }
    };
    form.addEventListener('submit', onSubmit);
    dlg.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      if (openerId && (!opener.isConnected || document.activeElement === document.body)) {
        const twin = document.getElementById(openerId);
        if (twin) twin.focus();
      }
      resolve(dlg.returnValue === 'ok' ? Object.fromEntries(fields.map((f, i) => [f.id, inputs[i].value.trim()])) : null);
    }, { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    (inputs[0] || okBtn).focus();
  });
}
