// A bucket's objects by prefix, like a file browser: breadcrumbs, search by prefix, paging with
// continuation tokens, sort (within the page), uploads, downloads, share links, delete, versions.
import { ask, bytes, errorBox, guard, h, link, toast, when } from './dom.js'
import { children, enc, presign, s3, s3xml, tag } from './s3.js'
import { uploadPanel } from './upload.js'
import { shareDialog } from './share.js'

export const PAGE_SIZE = 1000

export function objectsPage(bucket, prefix) {
  const box = errorBox()
  const body = h('tbody')
  const pager = h('div.pager')
  const state = { versions: false, versioning: '', pages: [undefined], page: 0, rows: [], sort: ['name', 1] }
  const search = h('input#search', { type: 'search', placeholder: 'Search by prefix', 'aria-label': 'Search by prefix',
    oninput: debounce(() => restart(), 250) })
  const restart = () => { state.pages = [undefined]; state.page = 0; load() }
  const picked = () => { addFiles(picker.files); picker.value = '' }
  const picker = h('input#file-input', { type: 'file', multiple: true, hidden: true, onchange: picked })
  const uploads = uploadPanel(debounce(load, 300))
  const versionsBox = h('input#show-versions', { type: 'checkbox',
    onchange: () => { state.versions = versionsBox.checked; restart() } })
  const head = h('tr', ['name', 'size', 'modified'].map((col) =>
    h('th.sortable', { 'data-col': col, onclick: () => sortBy(col) }, col[0].toUpperCase() + col.slice(1))), h('th', ''))
  const table = h('table#objects', h('thead', head), body)
  const drop = h('div.drop', { ondragover: (e) => { e.preventDefault(); drop.classList.add('over') },
    ondragleave: () => drop.classList.remove('over'),
    ondrop: (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles(e.dataTransfer.files) } },
  h('div.scroll', table), h('p.hint', 'Drop files here to upload them to ', h('code', '/' + prefix)))

  const page = h('section.page',
    h('nav.crumbs', crumbs(bucket, prefix)),
    h('div.toolbar',
      h('button.primary#upload', { type: 'button', onclick: () => picker.click() }, 'Upload'), picker,
      h('button#new-folder', { type: 'button', onclick: newFolder }, 'New folder'),
      search,
      h('label.check', versionsBox, 'Show versions'),
      h('button#refresh', { type: 'button', onclick: () => load() }, 'Refresh'),
      h('a.button', { href: link('s', bucket) }, 'Settings')),
    box, uploads.panel, drop, pager)
  // The versioning status only shapes the delete dialog: a refusal here is shown by the listing.
  s3xml('GET', bucket, null, { query: { versioning: null } }).then((doc) => { state.versioning = tag(doc, 'Status') }, () => {})
  load()

  function addFiles(files) {
    for (const f of files) uploads.add(bucket, prefix, f)
  }

  async function load() {
    const started = performance.now()
    await guard(box, async () => {
      const rows = state.versions ? await listVersions() : await listObjects()
      state.rows = rows
      render()
      page.dataset.loadedMs = String(Math.round(performance.now() - started))
      page.dataset.loaded = String(Date.now())
    })
  }

  async function listObjects() {
    const token = state.pages[state.page]
    const doc = await s3xml('GET', bucket, null, { query: { 'list-type': '2', delimiter: '/', prefix: prefix + search.value,
      'max-keys': String(PAGE_SIZE), 'continuation-token': token } })
    const root = doc.documentElement
    state.pages[state.page + 1] = tag(root, 'IsTruncated') === 'true' ? tag(root, 'NextContinuationToken') : undefined
    return [
      ...children(root, 'CommonPrefixes').map((p) => ({ folder: true, key: tag(p, 'Prefix') })),
      ...children(root, 'Contents').filter((c) => tag(c, 'Key') !== prefix).map((c) => ({ key: tag(c, 'Key'),
        size: Number(tag(c, 'Size')), modified: tag(c, 'LastModified') })),
    ]
  }

  async function listVersions() {
    const [keyMarker, versionMarker] = state.pages[state.page] || []
    const doc = await s3xml('GET', bucket, null, { query: { versions: null, delimiter: '/', prefix: prefix + search.value,
      'max-keys': String(PAGE_SIZE), 'key-marker': keyMarker, 'version-id-marker': versionMarker } })
    const root = doc.documentElement
    const more = tag(root, 'IsTruncated') === 'true'
    state.pages[state.page + 1] = more ? [tag(root, 'NextKeyMarker'), tag(root, 'NextVersionIdMarker')] : undefined
    const version = (v, marker) => ({ key: tag(v, 'Key'), versionId: tag(v, 'VersionId'), latest: tag(v, 'IsLatest') === 'true',
      marker, size: marker ? null : Number(tag(v, 'Size')), modified: tag(v, 'LastModified') })
    return [
      ...children(root, 'CommonPrefixes').map((p) => ({ folder: true, key: tag(p, 'Prefix') })),
      ...[...children(root, 'Version').map((v) => version(v, false)), ...children(root, 'DeleteMarker').map((v) => version(v, true))]
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : b.modified.localeCompare(a.modified))),
    ]
  }

  function sortBy(col) {
    state.sort = [col, state.sort[0] === col ? -state.sort[1] : 1]
    render()
  }

  function render() {
    const [col, dir] = state.sort
    const value = (r) => (col === 'name' ? r.key : col === 'size' ? (r.size ?? -1) : r.modified || '')
    const rows = state.versions && col === 'name' ? state.rows : [...state.rows].sort((a, b) =>
      (b.folder - a.folder) || (value(a) < value(b) ? -dir : value(a) > value(b) ? dir : 0))
    for (const th of head.querySelectorAll('th[data-col]')) th.dataset.sort = th.dataset.col === col ? (dir > 0 ? 'asc' : 'desc') : ''
    body.replaceChildren(...rows.map(row))
    const none = search.value ? 'Nothing starts with that.' : 'This folder is empty.'
    if (!rows.length) body.append(h('tr', h('td.empty', { colspan: 4 }, none)))
    pager.replaceChildren(
      h('button#prev', { type: 'button', disabled: state.page === 0, onclick: () => { state.page--; load() } }, 'Previous'),
      h('span', `Page ${state.page + 1} · ${rows.length} entries`),
      h('button#next', { type: 'button', disabled: !state.pages[state.page + 1], onclick: () => { state.page++; load() } }, 'Next'))
  }

  function row(r) {
    const name = r.key.slice(prefix.length)
    if (r.folder) {
      return h('tr.folder', { 'data-key': r.key }, h('td', h('a', { href: link('b', bucket, r.key) }, name)), h('td'), h('td'), h('td'))
    }
    const v = r.versionId && r.versionId !== 'null' ? r.versionId : undefined
    const details = link('o', bucket, r.key) + (r.versionId ? '?v=' + encodeURIComponent(r.versionId) : '')
    const label = [h('a', { href: details }, name),
      r.versionId ? h('small.version', ` ${r.marker ? 'delete marker' : 'version'} ${r.versionId}${r.latest ? ' (latest)' : ''}`) : null]
    return h('tr', { 'data-key': r.key, 'data-version': r.versionId || null, class: r.marker ? 'marker' : null },
      h('td.name', label), h('td.size', r.marker ? '' : bytes(r.size)), h('td', when(r.modified)),
      h('td.actions',
        r.marker ? null : h('button.dl', { type: 'button', onclick: () => download(bucket, r.key, v) }, 'Download'),
        r.marker || r.versionId ? null : h('button.share', { type: 'button', onclick: () => shareDialog(bucket, r.key) }, 'Share'),
        r.versionId && !r.latest && !r.marker ? h('button.restore', { type: 'button', onclick: () => restore(r) }, 'Restore') : null,
        h('button.danger.del', { type: 'button', onclick: () => remove(r) }, 'Delete')))
  }

  async function restore(r) {
    await guard(box, async () => {
      await restoreVersion(bucket, r.key, r.versionId)
      toast(`Restored ${r.key} to version ${r.versionId}`)
      await load()
    })
  }

  async function remove(r) {
    let how = 'one'
    if (r.versionId) {
      const text = h('p', 'This version is deleted for good.')
      if (await ask(`Delete this version of ${r.key}?`, text, [['Delete version', 'one', 'danger']]) !== 'one') return
    } else if (state.versioning) {
      const text = h('p', 'Versioning is on: a delete marker hides the object and keeps its versions; '
        + 'or delete every version for good.')
      how = await ask(`Delete ${r.key}?`, text,
        [['Add a delete marker', 'one', 'primary'], ['Delete every version', 'all', 'danger']])
    } else if (await ask(`Delete ${r.key}?`, h('p', 'The object is deleted for good.'), [['Delete', 'one', 'danger']]) !== 'one') {
      return
    }
    if (!how) return
    await guard(box, async () => {
      if (how === 'all') await deleteAllVersions(bucket, r.key)
      else await s3('DELETE', bucket, r.key, { query: { versionId: r.versionId } })
      toast(`Deleted ${r.key}`)
      await load()
    })
  }

  async function newFolder() {
    const input = h('input', { name: 'folder', id: 'folder-name', required: true })
    if (await ask('New folder', h('label', 'Name', input), [['Create', 'ok', 'primary']]) !== 'ok' || !input.value.trim()) return
    location.hash = link('b', bucket, prefix + input.value.trim().replace(/\/*$/, '/'))
  }
  return page
}

function crumbs(bucket, prefix) {
  const parts = prefix.split('/').filter(Boolean)
  return [h('a', { href: '#/buckets' }, 'Buckets'), ' / ', h('a', { href: link('b', bucket) }, bucket),
    ...parts.flatMap((p, i) => [' / ', h('a', { href: link('b', bucket, parts.slice(0, i + 1).join('/') + '/') }, p)])]
}

function debounce(fn, ms) {
  let t
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms) }
}

/** Download through a presigned GET that asks for an attachment named after the key. */
export async function download(bucket, key, versionId) {
  const name = key.split('/').pop() || 'download'
  const href = await presign('GET', bucket, key, { versionId,
    'response-content-disposition': `attachment;filename*=UTF-8''${enc(name)}` }, 300)
  const a = h('a', { href, download: name })
  document.body.append(a)
  a.click()
  a.remove()
}

/** Make an older version the current one by copying it over its key (the history is kept). */
export function restoreVersion(bucket, key, versionId) {
  return s3('PUT', bucket, key, { headers: { 'x-amz-copy-source': `/${enc(bucket)}/${enc(key, true)}?versionId=${enc(versionId)}` } })
}

/** Every version and delete marker of one key. */
export async function versionsOf(bucket, key) {
  const out = []
  let keyMarker, versionMarker
  do {
    const query = { versions: null, prefix: key, 'key-marker': keyMarker, 'version-id-marker': versionMarker }
    const doc = await s3xml('GET', bucket, null, { query })
    const root = doc.documentElement
    for (const [name, marker] of [['Version', false], ['DeleteMarker', true]]) {
      for (const v of children(root, name)) {
        if (tag(v, 'Key') === key) out.push({ key, versionId: tag(v, 'VersionId'), latest: tag(v, 'IsLatest') === 'true', marker,
          size: marker ? null : Number(tag(v, 'Size')), modified: tag(v, 'LastModified'), etag: tag(v, 'ETag') })
      }
    }
    const more = tag(root, 'IsTruncated') === 'true' && tag(root, 'NextKeyMarker') === key
    keyMarker = more ? tag(root, 'NextKeyMarker') : undefined
    versionMarker = more ? tag(root, 'NextVersionIdMarker') : undefined
  } while (keyMarker)
  return out.sort((a, b) => b.modified.localeCompare(a.modified))
}

export async function deleteAllVersions(bucket, key) {
  for (const v of await versionsOf(bucket, key)) await s3('DELETE', bucket, key, { query: { versionId: v.versionId } })
}
