// The admin key, kept for this browser tab's session only (sessionStorage): closing the tab forgets it.
const KEY = 'member-loyalty-admin-key'

export function adminKey() {
  return sessionStorage.getItem(KEY)
}

export function keepAdminKey(key) {
  sessionStorage.setItem(KEY, key)
}

export function forgetAdminKey() {
  sessionStorage.removeItem(KEY)
}
