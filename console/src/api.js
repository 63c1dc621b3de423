// The merchant API over HTTP: the admin key in X-Admin-Key, JSON bodies, the contract's error envelope
// turned into an ApiError that names the offending `field` of a VALIDATION_ERROR.
import { adminKey, forgetAdminKey } from './session.js'

let apiBase = ''

/** Reads config.json (written next to index.html by the dev stack or the deployment): the API's root URL.
 * Without it the console calls its own origin. */
export async function loadConfig() {
  const response = await fetch('./config.json', { cache: 'no-store' }).catch(() => null)
  const config = response?.ok ? await response.json().catch(() => null) : null
  if (config?.api_base) apiBase = String(config.api_base).replace(/\/+$/, '')
}

/** A refused or failed call: HTTP status, the contract's code, its Chinese message and `field`. */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

let onUnauthenticated = () => {}

/** What to do when the key stops working (the router sends the merchant back to 登录). */
export function whenUnauthenticated(handler) {
  onUnauthenticated = handler
}

/** Calls `method path` with an optional JSON body and query; resolves to the JSON answer (null for 204). */
export async function call(method, path, { body, query, key = adminKey() } = {}) {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== '') params.set(name, value)
  }
  const search = params.toString()
  const url = apiBase + path + (search ? `?${search}` : '')
  const headers = { 'X-Admin-Key': key ?? '' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, 'NETWORK', `无法连接服务器 ${apiBase}，请检查网络后重试`)
  }
  if (response.status === 204) return null
  const answer = await response.json().catch(() => null)
  if (response.ok) return answer
  const error = answer?.error ?? {}
  if (response.status === 401 && key === adminKey()) {
    forgetAdminKey()
    onUnauthenticated()
  }
  throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`,
    error.message ?? `请求失败（HTTP ${response.status}）`, error.field ?? null)
}

/** Every item of an admin list, following `next_cursor` (for the selects of templates and rewards). */
export async function everyItem(path, query = {}) {
  const items = []
  let cursor = null
  do {
    const page = await call('GET', path, { query: { ...query, limit: 100, cursor } })
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor)
  return items
}

/** `request_id`s for one form: a retry of the same body keeps its id (the API answers it once), another body
 * gets a new one, and after `settle()` (a success) the same body again is a new request. */
export function requestIds() {
  let lastBody = null
  let id = null
  return {
    idFor(body) {
      const text = JSON.stringify(body)
      if (text !== lastBody) {
        lastBody = text
        const bytes = crypto.getRandomValues(new Uint8Array(16))
        id = `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
      }
      return id
    },
    settle() {
      lastBody = null
    },
  }
}
