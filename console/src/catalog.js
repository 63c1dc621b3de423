// What several pages read: the program (tiers, templates it names) and the coupon templates, kept once.
import { reactive } from 'vue'
import { call, everyItem } from './api.js'

export const catalog = reactive({ program: null, templates: [] })

/** Reads the program again (after a save, or on a page that shows tier names). */
export async function loadProgram() {
  catalog.program = await call('GET', '/v1/admin/program')
  return catalog.program
}

/** Reads every coupon template again (after a create or an edit, or for a select). */
export async function loadTemplates() {
  catalog.templates = await everyItem('/v1/admin/coupon-templates')
  return catalog.templates
}

/** The name of a coupon template, or its id when it is unknown. */
export function templateName(id) {
  return catalog.templates.find((template) => template.template_id === id)?.name ?? id
}

/** Creates an item of a catalog (`POST collection`) or, given the `current` one, changes it with only
 * the fields that differ (`PATCH collection/<id>`: the API merges them and checks the whole). */
export function saveItem(collection, idField, current, body) {
  if (!current) return call('POST', collection, { body })
  const changed = Object.fromEntries(Object.entries(body).filter(
    ([name, value]) => JSON.stringify(value) !== JSON.stringify(current[name] ?? null)))
  return call('PATCH', `${collection}/${encodeURIComponent(current[idField])}`, { body: changed })
}
