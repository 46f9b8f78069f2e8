// Login: an access key and secret (and a session token for temporary credentials), checked with
// ListBuckets. A refusal (AccessDenied) still proves the key: the user may open a bucket by name.
import { errorBox, guard, h } from './dom.js'
import { query, s3, setCredentials } from './s3.js'

export function loginPage(done) {
  const box = errorBox()
  const field = (label, name, type = 'text', extra = {}) =>
    h('label', label, h('input', { name, id: name, type, autocomplete: 'off', spellcheck: 'false', ...extra }))
  const form = h('form.card.login', { onsubmit: (e) => { e.preventDefault(); submit() } },
    h('h1', 'Log in to Coffer'),
    field('Access key', 'accessKeyId', 'text', { required: true, autofocus: true }),
    field('Secret key', 'secretAccessKey', 'password', { required: true }),
    field('Session token (temporary credentials only)', 'sessionToken'),
    box,
    h('button.primary#login', { type: 'submit' }, 'Log in'),
    h('p.hint', 'The keys stay in this tab (sessionStorage); the browser signs each request itself.'))

  async function submit() {
    const c = Object.fromEntries(['accessKeyId', 'secretAccessKey', 'sessionToken']
      .map((n) => [n, form.elements[n].value.trim()]))
    setCredentials(c)
    const ok = await guard(box, async () => {
      try {
        await s3('GET', null, null)
      } catch (err) {
        if (err.code !== 'AccessDenied') throw err
      }
      return true
    })
    if (!ok) { setCredentials(null); return }
    try {
      const who = await query('sts', 'GetCallerIdentity')
      c.arn = who.getElementsByTagName('Arn')[0]?.textContent || ''
      c.root = c.arn.endsWith(':root')
    } catch { /* identity unknown: no IAM pages */ }
    setCredentials(c)
    done()
  }
  return form
}
