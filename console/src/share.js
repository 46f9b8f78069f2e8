// Share links: a presigned GET with a chosen expiry, copied to the clipboard.
import { ask, copyText, errorBox, guard, h } from './dom.js'
import { presign } from './s3.js'

const EXPIRIES = [['15 minutes', 900], ['1 hour', 3600], ['1 day', 86400], ['7 days (the most SigV4 allows)', 604800]]

/** The share-link controls for one object (a version when `versionId`). */
export function shareBox(bucket, key, versionId) {
  const box = errorBox()
  const expiry = h('select#share-expiry', { 'aria-label': 'Expires in' }, EXPIRIES.map(([label, s]) => h('option', { value: s }, label)))
  const out = h('input#share-url', { readonly: true, placeholder: 'Make a link, then copy it', 'aria-label': 'Share link' })
  const copy = h('button#share-copy', { type: 'button', disabled: true, onclick: () => copyText(out.value, out) }, 'Copy')
  const make = h('button.primary#share-make', { type: 'button', onclick: () => guard(box, async () => {
    out.value = await presign('GET', bucket, key, { versionId }, Number(expiry.value))
    copy.disabled = false
    out.select()
  }) }, 'Make link')
  return h('div.share', h('div.row', h('label', 'Expires in ', expiry), make), h('div.row', out, copy), box,
    h('p.hint', 'Anyone with the link can download the object until it expires, as long as your key may.'))
}

export function shareDialog(bucket, key) {
  return ask(`Share ${key}`, shareBox(bucket, key), [])
}
