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
