// Browsers give crypto.subtle only to secure contexts (HTTPS, localhost). A console reached over plain
// HTTP at another address still signs its requests: SHA-256 and HMAC from @noble/hashes stand in for it.
import { sha256 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'

const bytes = (data) => (data instanceof ArrayBuffer ? new Uint8Array(data)
  : new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
const buffer = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength)

if (!globalThis.crypto.subtle) {
  const shim = {
    async digest(alg, data) { return buffer(sha256(bytes(data))) },
    async importKey(format, key) { return { raw: bytes(key).slice() } },
    async sign(alg, key, data) { return buffer(hmac(sha256, key.raw, bytes(data))) },
  }
  Object.defineProperty(globalThis.crypto, 'subtle', { value: shim, configurable: true })
}
