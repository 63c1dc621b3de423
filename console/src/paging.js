// A list page by page (`limit` and `next_cursor`), with "加载更多".
import { ref } from 'vue'
import { call } from './api.js'
import { showError } from './errors.js'

/** `items` of `path` (query from `query()`), `load()` the first page again, `load(true)` the next one. */
export function usePaged(path, query = () => ({})) {
  const items = ref([])
  const cursor = ref(null)
  const loading = ref(false)

  async function load(more = false) {
    loading.value = true
    try {
      const page = await call('GET', path, { query: { ...query(), limit: 20, cursor: more ? cursor.value : null } })
      items.value = more ? [...items.value, ...page.items] : page.items
      cursor.value = page.next_cursor
    } catch (caught) {
      showError(caught)
    } finally {
      loading.value = false
    }
  }

  return { items, cursor, loading, load }
}
