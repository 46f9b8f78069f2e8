// One object's details: properties, metadata, checksums, lock state, tags, versions, share link.
import { ask, bytes, errorBox, guard, h, link, toast, when } from './dom.js'
import { s3, s3xml, tagsText, tagsXml } from './s3.js'
import { deleteAllVersions, download, restoreVersion, versionsOf } from './objects.js'
import { shareBox } from './share.js'

const PROPERTIES = [['Size', 'content-length', bytes], ['Content type', 'content-type'], ['ETag', 'etag'],
  ['Last modified', 'last-modified', when], ['Version', 'x-amz-version-id'], ['Storage class', 'x-amz-storage-class'],
  ['Encryption', 'x-amz-server-side-encryption'], ['Lock mode', 'x-amz-object-lock-mode'],
  ['Retain until', 'x-amz-object-lock-retain-until-date', when], ['Legal hold', 'x-amz-object-lock-legal-hold']]

export function objectPage(bucket, key, versionId) {
  const box = errorBox()
  const props = h('dl.props#props')
  const meta = h('dl.props#metadata')
  const tags = h('textarea#tags', { rows: 4, placeholder: 'key=value, one a line', 'aria-label': 'Tags' })
  const versions = h('tbody')
  const folder = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : ''
  const page = h('section.page',
    h('nav.crumbs', h('a', { href: '#/buckets' }, 'Buckets'), ' / ', h('a', { href: link('b', bucket, folder) }, bucket + '/' + folder)),
    h('div.titlebar', h('h2.key', key.slice(folder.length)),
      h('div', h('button.primary', { type: 'button', onclick: () => download(bucket, key, versionId) }, 'Download'),
        h('button.danger', { type: 'button', onclick: remove }, 'Delete'))),
    versionId ? h('p.hint', `Version ${versionId}`) : null,
    box,
    h('div.grid',
      h('div.card', h('h3', 'Properties'), props),
      h('div.card', h('h3', 'Metadata'), meta),
      h('div.card', h('h3', 'Tags'), tags, h('button#save-tags', { type: 'button', onclick: saveTags }, 'Save tags')),
      h('div.card', h('h3', 'Share'), shareBox(bucket, key, versionId))),
    h('div.card', h('h3', 'Versions'), h('div.scroll', h('table#versions',
      h('thead', h('tr', h('th', 'Version'), h('th', 'Size'), h('th', 'Modified'), h('th', ''))), versions))))
  load()

  async function load() {
    await guard(box, async () => {
      const resp = await s3('HEAD', bucket, key, { query: { versionId }, headers: { 'x-amz-checksum-mode': 'ENABLED' } })
      const hd = resp.headers
      props.replaceChildren(...PROPERTIES.filter(([, name]) => hd.get(name)).flatMap(([label, name, fmt]) =>
        [h('dt', label), h('dd', fmt ? fmt(hd.get(name)) : hd.get(name))]),
      ...[...hd.keys()].filter((k) => k.startsWith('x-amz-checksum-') && k !== 'x-amz-checksum-type')
        .flatMap((k) => [h('dt', 'Checksum ' + k.slice(15).toUpperCase()), h('dd.mono', hd.get(k))]))
      const user = [...hd.keys()].filter((k) => k.startsWith('x-amz-meta-'))
      const pairs = user.flatMap((k) => [h('dt', k.slice(11)), h('dd', hd.get(k))])
      meta.replaceChildren(...(user.length ? pairs : [h('dd.empty', 'No user metadata')]))
    })
    guard(box, async () => {
      const doc = await s3xml('GET', bucket, key, { query: { tagging: null, versionId } })
      tags.value = tagsText(doc)
    })
    loadVersions()
  }

  async function loadVersions() {
    await guard(box, async () => {
      const list = await versionsOf(bucket, key)
      versions.replaceChildren(...list.map((v) => h('tr', { 'data-version': v.versionId },
        h('td.mono', h('a', { href: link('o', bucket, key) + '?v=' + encodeURIComponent(v.versionId) }, v.versionId),
          v.latest ? ' (latest)' : '', v.marker ? ' delete marker' : ''),
        h('td', bytes(v.size)), h('td', when(v.modified)),
        h('td.actions', !v.latest && !v.marker ? h('button.restore', { type: 'button', onclick: () => restore(v) }, 'Restore') : null))))
      if (!list.length) versions.append(h('tr', h('td.empty', { colspan: 4 }, 'No versions')))
    })
  }

  async function restore(v) {
    await guard(box, async () => { await restoreVersion(bucket, key, v.versionId); toast('Restored'); loadVersions() })
  }

  async function saveTags() {
    const body = tagsXml(tags.value)
    await guard(box, async () => { await s3('PUT', bucket, key, { query: { tagging: null, versionId }, body }); toast('Tags saved') })
  }

  async function remove() {
    const choices = versionId ? [['Delete this version', 'one', 'danger']]
      : [['Delete', 'one', 'danger'], ['Delete every version', 'all', 'danger']]
    const how = await ask(`Delete ${key}?`, h('p', versionId ? 'This version is deleted for good.'
      : 'In a versioned bucket, Delete adds a delete marker and keeps the versions.'), choices)
    if (!how) return
    await guard(box, async () => {
      if (how === 'all') await deleteAllVersions(bucket, key)
      else await s3('DELETE', bucket, key, { query: { versionId } })
      location.hash = link('b', bucket, folder)
    })
  }
  return page
}
