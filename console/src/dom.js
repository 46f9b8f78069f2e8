// Small DOM helpers: h() builds elements, the rest formats values and shows messages.

/** h('div.cls#id', {attrs, onclick}, ...children): an element; strings become text nodes. */
export function h(tag, props, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/)
  const el = document.createElement(name || 'div')
  for (const part of rest) {
    if (part[0] === '.') el.classList.add(part.slice(1))
    else el.id = part.slice(1)
  }
  if (props && (typeof props !== 'object' || props instanceof Node || Array.isArray(props))) {
    children.unshift(props)
    props = null
  }
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (k === 'value' || k === 'checked' || k === 'disabled') el[k] = v
    else el.setAttribute(k, v === true ? '' : v)
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.append(c instanceof Node ? c : String(c))
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

export const $ = (sel, root = document) => root.querySelector(sel)

export function bytes(n) {
  if (n == null || isNaN(n)) return ''
  n = Number(n)
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + ' ' + units[i]
}

export function when(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  return isNaN(d) ? iso : d.toLocaleString()
}

/** An error banner: the S3 error's message (and its code, small). */
export function errorBox(err) {
  const box = h('div.error', { role: 'alert' })
  if (err) showError(box, err)
  else box.hidden = true
  return box
}

export function showError(box, err) {
  if (!err) { box.hidden = true; box.replaceChildren(); return }
  box.hidden = false
  fill(box, h('span.msg', err.message || String(err)), err.code ? h('small.code', ' ' + err.code) : null)
}

/** Run an async action, showing any error in `box`; returns its result or undefined. */
export async function guard(box, fn) {
  showError(box, null)
  try {
    return await fn()
  } catch (err) {
    showError(box, err)
    if (!err.code) console.error(err)
  }
}

let toastTimer
export function toast(text) {
  const t = $('#toast')
  t.textContent = text
  t.hidden = false
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => { t.hidden = true }, 3000)
}

/** A modal dialog; resolves with the value of the button pressed (null when dismissed). */
export function ask(title, body, buttons) {
  return new Promise((resolve) => {
    const close = (v) => { back.remove(); resolve(v) }
    const back = h('div.modal-back', { onclick: (e) => { if (e.target === back) close(null) } },
      h('div.modal', { role: 'dialog', 'aria-label': title },
        h('h3', title), body,
        h('div.buttons', buttons.map(([label, value, cls]) =>
          h('button' + (cls ? '.' + cls : ''), { type: 'button', onclick: () => close(value) }, label)),
        h('button', { type: 'button', onclick: () => close(null) }, buttons.length ? 'Cancel' : 'Close'))))
    document.body.append(back)
    back.querySelector('button').focus()
  })
}

/** Copy text to the clipboard (the async API, else the selection fallback of plain HTTP pages). */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text)
  } catch {
    input.select()
    document.execCommand('copy')
  }
  toast('Copied to the clipboard')
}

/** The hash of a route: '#/b/' + bucket + '/' + prefix (or key), each part encoded. */
export function link(kind, bucket, rest = '') {
  return `#/${kind}/${encodeURIComponent(bucket)}` + (kind === 's' ? '' : '/' + rest.split('/').map(encodeURIComponent).join('/'))
}
