// A bucket's settings: versioning, anonymous access (through the bucket policy), CORS, tagging,
// lifecycle (when the server has it) and the object lock configuration.
import { errorBox, guard, h, link, toast } from './dom.js'
import { s3, s3xml, tag, tagsText, tagsXml } from './s3.js'
import { setVersioning } from './buckets.js'

const SID = 'CofferConsoleAnonymous'
// What each anonymous access level lets anyone do, as bucket policy statements.
const LEVELS = {
  none: [],
  download: [['s3:GetObject'], '/*'],
  upload: [['s3:PutObject'], '/*'],
  public: [['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], '/*', ['s3:ListBucket'], ''],
}

export function anonymousStatements(bucket, level) {
  const spec = LEVELS[level]
  const out = []
  for (let i = 0; i < spec.length; i += 2) {
    out.push({ Sid: `${SID}${i / 2}`, Effect: 'Allow', Principal: '*', Action: spec[i], Resource: `arn:aws:s3:::${bucket}${spec[i + 1]}` })
  }
  return out
}

export function settingsPage(bucket) {
  const page = h('section.page',
    h('nav.crumbs', h('a', { href: '#/buckets' }, 'Buckets'), ' / ', h('a', { href: link('b', bucket) }, bucket), ' / settings'),
    h('h2', `Settings of ${bucket}`),
    h('div.grid', versioningCard(bucket), anonymousCard(bucket), lockCard(bucket),
      textCard(bucket, 'Tagging', 'tagging', 'NoSuchTagSet', tagsText, tagsXml, 'key=value, one a line'),
      textCard(bucket, 'CORS', 'cors', 'NoSuchCORSConfiguration', (x) => x, (x) => x, '<CORSConfiguration>…</CORSConfiguration>'),
      textCard(bucket, 'Lifecycle', 'lifecycle', 'NoSuchLifecycleConfiguration', (x) => x, (x) => x,
        '<LifecycleConfiguration>…</LifecycleConfiguration>', true)))
  return page
}

function versioningCard(bucket) {
  const box = errorBox()
  const status = h('strong#versioning-status', '…')
  const load = () => guard(box, async () => {
    status.textContent = tag(await s3xml('GET', bucket, null, { query: { versioning: null } }), 'Status') || 'Never enabled'
  })
  const set = (s) => guard(box, async () => { await setVersioning(bucket, s); toast(`Versioning ${s.toLowerCase()}`); await load() })
  load()
  return h('div.card', h('h3', 'Versioning'), h('p', 'Status: ', status), box,
    h('button#versioning-enable', { type: 'button', onclick: () => set('Enabled') }, 'Enable'),
    h('button#versioning-suspend', { type: 'button', onclick: () => set('Suspended') }, 'Suspend'))
}

function anonymousCard(bucket) {
  const box = errorBox()
  const select = h('select#anonymous', { 'aria-label': 'Anonymous access' },
    [['none', 'None'], ['download', 'Download (anyone may GET objects)'], ['upload', 'Upload (anyone may PUT objects)'],
      ['public', 'Public (anyone may list, GET, PUT and DELETE)']].map(([v, l]) => h('option', { value: v }, l)))
  let policy = { Version: '2012-10-17', Statement: [] }
  guard(box, async () => {
    try {
      policy = JSON.parse(await (await s3('GET', bucket, null, { query: { policy: null } })).text())
    } catch (err) {
      if (err.code !== 'NoSuchBucketPolicy') throw err
    }
    const ours = [].concat(policy.Statement || []).filter((s) => String(s.Sid || '').startsWith(SID))
    select.value = Object.keys(LEVELS).find((l) => JSON.stringify(anonymousStatements(bucket, l)) === JSON.stringify(ours)) || 'none'
  })
  async function save() {
    await guard(box, async () => {
      const others = [].concat(policy.Statement || []).filter((s) => !String(s.Sid || '').startsWith(SID))
      const next = { Version: policy.Version || '2012-10-17', Statement: [...others, ...anonymousStatements(bucket, select.value)] }
      if (next.Statement.length) await s3('PUT', bucket, null, { query: { policy: null }, body: JSON.stringify(next) })
      else await s3('DELETE', bucket, null, { query: { policy: null } })
      policy = next
      toast('Anonymous access saved')
    })
  }
  return h('div.card', h('h3', 'Anonymous access'), select, h('button#anonymous-save', { type: 'button', onclick: save }, 'Save'), box,
    h('p.hint', 'Kept as statements of the bucket policy; other statements stay as they are.'))
}

function lockCard(bucket) {
  const box = errorBox()
  const out = h('p#lock-config', '…')
  guard(box, async () => {
    try {
      const doc = await s3xml('GET', bucket, null, { query: { 'object-lock': null } })
      const rule = doc.getElementsByTagName('DefaultRetention')[0]
      const period = rule && (tag(rule, 'Days') ? tag(rule, 'Days') + ' days' : tag(rule, 'Years') + ' years')
      out.textContent = 'Enabled; ' + (rule ? `default retention ${tag(rule, 'Mode')} for ${period}` : 'no default retention')
    } catch (err) {
      if (err.code !== 'ObjectLockConfigurationNotFoundError') throw err
      out.textContent = 'Off (object lock can only be chosen when the bucket is created)'
    }
  })
  return h('div.card', h('h3', 'Object lock'), out, box)
}

/** A sub-resource edited as text (XML, or key=value lines for tags): load, save, delete. */
function textCard(bucket, title, sub, missing, show, store, placeholder, checksum = false) {
  const box = errorBox()
  const area = h('textarea', { id: sub + '-text', rows: 6, placeholder, 'aria-label': title })
  const card = h('div.card', { id: sub + '-card' }, h('h3', title), area, box,
    h('button', { type: 'button', id: sub + '-save', onclick: save }, 'Save'),
    h('button.danger', { type: 'button', id: sub + '-delete', onclick: remove }, 'Delete'))
  guard(box, async () => {
    try {
      const text = await (await s3('GET', bucket, null, { query: { [sub]: null } })).text()
      area.value = sub === 'tagging' ? show(new DOMParser().parseFromString(text, 'application/xml')) : text
    } catch (err) {
      if (err.code === 'NotImplemented') {
        card.replaceChildren(h('h3', title), h('p.hint', 'This server has no ' + title.toLowerCase() + ' API.'))
      } else if (err.code !== missing) throw err
    }
  })
  async function save() {
    if (!area.value.trim()) return remove()
    await guard(box, async () => {
      await s3('PUT', bucket, null, { query: { [sub]: null }, body: store(area.value), checksum })
      toast(title + ' saved')
    })
  }
  async function remove() {
    await guard(box, async () => {
      await s3('DELETE', bucket, null, { query: { [sub]: null } })
      area.value = ''
      toast(title + ' deleted')
    })
  }
  return card
}
