// The submission page: a topology directory packed as one .tar.gz
// (topology.yaml and resources/, as `squall submit DIR` takes it), or a
// definition with its resources archive and Go binary, posted to
// POST /api/v1/topologies as a multipart form (docs/api.md).

import { request } from '../api.js';
import { parseOverrides, route } from '../format.js';
import { h, link, swap } from '../dom.js';
import { gunzip, gzip, readTar, splitTopology, writeTar } from '../tar.js';

export function create(segs, query, app) {
  const modeDir = h('input', { type: 'radio', name: 'mode', id: 'mode-dir', value: 'dir', checked: true });
  const modeFiles = h('input', { type: 'radio', name: 'mode', id: 'mode-files', value: 'files' });
  const dirFile = h('input', { type: 'file', id: 'dir-archive', accept: '.tar.gz,.tgz,application/gzip', 'aria-describedby': 'dir-hint' });
  const defFile = h('input', { type: 'file', id: 'definition', accept: '.yaml,.yml,text/yaml' });
  const pkgFile = h('input', { type: 'file', id: 'package', accept: '.tar.gz,.tgz,application/gzip', 'aria-describedby': 'package-hint' });
  const binFile = h('input', { type: 'file', id: 'go-binary', 'aria-describedby': 'binary-hint' });
  const propsFile = h('input', { type: 'file', id: 'properties', accept: '.properties,text/plain' });
  const name = h('input', { type: 'text', id: 'topology-name', autocomplete: 'off' });
  const overrides = h('textarea', { id: 'overrides', rows: 3, placeholder: 'topology.workers=2', 'aria-describedby': 'overrides-hint' });
  const inactive = h('input', { type: 'checkbox', id: 'inactive' });
  const dryRun = h('input', { type: 'checkbox', id: 'dry-run' });
  const submitBtn = h('button', { type: 'submit', class: 'primary', id: 'submit' }, 'Submit');
  const result = h('div', { id: 'submit-result', 'aria-live': 'polite' });

  const dirSet = h('fieldset', { id: 'dir-fields' }, h('legend', null, 'Topology directory'),
    h('label', { for: 'dir-archive' }, 'Directory archive (.tar.gz)'), dirFile,
    h('p', { class: 'hint', id: 'dir-hint' }, 'A directory holding topology.yaml and resources/, packed with ',
      h('code', null, 'tar -czf wordcount.tar.gz wordcount'), '. It is unpacked in this browser, and resources/ is sent as the package.'));
  const filesSet = h('fieldset', { id: 'file-fields', hidden: true }, h('legend', null, 'Definition and resources'),
    h('label', { for: 'definition' }, 'Definition (YAML: native or Flux)'), defFile,
    h('label', { for: 'package' }, 'Resources (.tar.gz, optional)'), pkgFile,
    h('p', { class: 'hint', id: 'package-hint' }, 'The resources/ directory packed with ', h('code', null, 'tar -C resources -czf resources.tar.gz .')),
    h('label', { for: 'go-binary' }, 'Go binary (optional)'), binFile,
    h('p', { class: 'hint', id: 'binary-hint' }, 'Only for a topology with Go components of its own, built for the cluster\'s OS and architecture.'));
  const form = h('form', { class: 'submit', id: 'submit-form', novalidate: true },
    h('fieldset', null, h('legend', null, 'What to upload'),
      h('label', { class: 'inline' }, modeDir, 'A topology directory as one .tar.gz'),
      h('label', { class: 'inline' }, modeFiles, 'A definition with its resources')),
    dirSet, filesSet,
    h('fieldset', null, h('legend', null, 'Options'),
      h('label', { for: 'topology-name' }, 'Name (optional: instead of the definition\'s)'), name,
      h('label', { for: 'overrides' }, 'Configuration overrides'), overrides,
      h('p', { class: 'hint', id: 'overrides-hint' }, 'One key=value a line, as squall submit -c; the value is JSON if it parses as JSON.'),
      h('label', { for: 'properties' }, 'Properties file for ${key} substitution (optional, Flux --filter)'), propsFile,
      h('div', null,
        h('label', { class: 'inline' }, inactive, 'Submit deactivated'),
        h('label', { class: 'inline' }, dryRun, 'Dry run: validate only'))),
    h('div', { class: 'toolbar' }, submitBtn),
    result);
  const el = h('div', null, h('h1', null, 'Submit a topology'), form);

  const onMode = () => {
    dirSet.hidden = !modeDir.checked;
    filesSet.hidden = modeDir.checked;
  };
  modeDir.addEventListener('change', onMode);
  modeFiles.addEventListener('change', onMode);

  const fail = (msg) => {
    swap(result, h('p', { class: 'note bad', role: 'alert', 'data-testid': 'submit-error' }, msg));
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submitBtn.disabled = true;
    swap(result, h('p', { class: 'muted' }, 'Submitting…'));
    try {
      const fd = new FormData();
      if (modeDir.checked) {
        const f = dirFile.files[0];
        if (!f) throw new Error('Choose the topology directory\'s .tar.gz.');
        const t = splitTopology(readTar(await gunzip(new Uint8Array(await f.arrayBuffer()), f.name), f.name), f.name);
        fd.append('topology', new Blob([t.definition], { type: 'text/yaml' }), t.definitionName);
        if (t.resources.length) fd.append('package', new Blob([await gzip(writeTar(t.resources))], { type: 'application/gzip' }), 'resources.tar.gz');
      } else {
        const d = defFile.files[0];
        if (!d) throw new Error('Choose the topology\'s definition (YAML).');
        fd.append('topology', d, d.name);
        if (pkgFile.files[0]) fd.append('package', pkgFile.files[0], pkgFile.files[0].name);
        if (binFile.files[0]) fd.append('goBinary', binFile.files[0], binFile.files[0].name);
      }
      for (const kv of parseOverrides(overrides.value)) fd.append('config', kv);
      if (propsFile.files[0]) fd.append('properties', propsFile.files[0], propsFile.files[0].name);
      if (name.value.trim()) fd.append('name', name.value.trim());
      fd.append('inactive', String(inactive.checked));
      fd.append('dryRun', String(dryRun.checked));
      const r = await request('/api/v1/topologies', { method: 'POST', body: fd });
      const msg = r.dryRun ? `Dry run: ${r.topologyName} is valid; nothing was started.` : `Submitted ${r.topologyName} as ${r.topologyId}.`;
      swap(result, h('p', { class: 'note', role: 'status', 'data-testid': 'submit-ok', 'data-topology-id': r.topologyId || null }, msg, ' ',
        r.dryRun ? null : link(route(['topology', r.topologyId]), 'Open its page')));
      app.announce(msg);
    } catch (err) {
      fail(err.message);
    } finally {
      submitBtn.disabled = false;
    }
  });

  return { el, title: 'Submit a topology', live: false };
}
