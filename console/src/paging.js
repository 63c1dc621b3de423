// A list page by page (`limit` and `next_cursor`), with "加载更多".
import { ref } from 'vue'
import { call } from './api.js'
import { attempt } from './errors.js'

/** `items` of `path` (query from `query()`), `load()` the first page again, `load(true)` the next one. */
export function usePaged(path, query = () => ({})) {
  const items = ref([])
  const cursor = ref(null)
  const loading = ref(false)

  function load(more = false) {
    return attempt(async () => {
      const page = await call('GET', path, { query: { ...query(), limit: 20, cursor: more ? cursor.value : null } })
      items.value = more ? [...items.value, ...page.items] : page.items
      cursor.value = page.next_cursor
    }, loading)
  }

  return { items, cursor, loading, load }
}
