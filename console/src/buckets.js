// The buckets page: list, create (with versioning or object lock), delete, usage (count and bytes).
import { ask, bytes, errorBox, guard, h, toast, when } from './dom.js'
import { children, s3, s3xml, tag } from './s3.js'
import { link } from './dom.js'

export function bucketsPage() {
  const box = errorBox()
  const body = h('tbody')
  const page = h('section.page',
    h('div.titlebar', h('h2', 'Buckets'), h('button.primary#new-bucket', { type: 'button', onclick: create }, 'Create bucket')),
    box,
    h('form.inline', { onsubmit: open },
      h('input', { name: 'open', placeholder: 'Open a bucket by name', 'aria-label': 'Bucket name' }), h('button', 'Open')),
    h('div.scroll', h('table#buckets', h('thead', h('tr', h('th', 'Name'), h('th', 'Created'), h('th', 'Usage'), h('th', ''))), body)))
  load()

  function open(e) {
    e.preventDefault()
    const name = e.target.elements.open.value.trim()
    if (name) location.hash = link('b', name)
  }

  async function load() {
    await guard(box, async () => {
      const doc = await s3xml('GET', null, null)
      const names = [...doc.getElementsByTagName('Bucket')].map((b) => [tag(b, 'Name'), tag(b, 'CreationDate')])
      body.replaceChildren(...names.map(([name, created]) => row(name, created)))
      if (!names.length) body.append(h('tr', h('td.empty', { colspan: 4 }, 'No buckets yet.')))
    })
  }

  function row(name, created) {
    const usage = h('td.usage', h('button.link', { type: 'button', onclick: () => count(name, usage) }, 'Count'))
    return h('tr', { 'data-bucket': name },
      h('td', h('a', { href: link('b', name) }, name)), h('td', when(created)), usage,
      h('td.actions', h('a.button', { href: link('s', name) }, 'Settings'),
        h('button.danger', { type: 'button', onclick: () => remove(name) }, 'Delete')))
  }

  async function count(name, cell) {
    cell.textContent = 'Counting…'
    await guard(box, async () => {
      let n = 0, total = 0, token
      do {
        const doc = await s3xml('GET', name, null, { query: { 'list-type': '2', 'continuation-token': token } })
        for (const c of children(doc.documentElement, 'Contents')) { n++; total += Number(tag(c, 'Size')) }
        cell.textContent = `${n} objects, ${bytes(total)}…`
        token = tag(doc, 'IsTruncated') === 'true' ? tag(doc, 'NextContinuationToken') : undefined
      } while (token)
      cell.textContent = `${n} objects, ${bytes(total)}`
    })
  }

  async function create() {
    const form = h('form.stack',
      h('label', 'Name', h('input', { name: 'name', id: 'bucket-name', required: true, pattern: '[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]' })),
      h('label.check', h('input', { type: 'checkbox', name: 'versioning', id: 'bucket-versioning' }), 'Versioning'),
      h('label.check', h('input', { type: 'checkbox', name: 'lock', id: 'bucket-lock' }), 'Object lock (turns versioning on, for good)'))
    if (await ask('Create bucket', form, [['Create', 'create', 'primary']]) !== 'create') return
    const { name, versioning, lock } = form.elements
    await guard(box, async () => {
      await s3('PUT', name.value.trim(), null, { headers: lock.checked ? { 'x-amz-bucket-object-lock-enabled': 'true' } : {} })
      if (versioning.checked && !lock.checked) await setVersioning(name.value.trim(), 'Enabled')
      toast(`Bucket ${name.value.trim()} created`)
      await load()
    })
  }

  async function remove(name) {
    if (await ask(`Delete bucket ${name}?`, h('p', 'Only an empty bucket can be deleted.'), [['Delete', 'yes', 'danger']]) !== 'yes') return
    await guard(box, async () => { await s3('DELETE', name, null); toast(`Bucket ${name} deleted`); await load() })
  }
  return page
}

export function setVersioning(bucket, status) {
  const body = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    + `<Status>${status}</Status></VersioningConfiguration>`
  return s3('PUT', bucket, null, { query: { versioning: null }, body })
}
