// Showing what went wrong: a toast for a refusal, and a form's VALIDATION_ERROR at the field it names.
import { inject, provide, ref } from 'vue'
import { ElMessage } from 'element-plus'
import { ApiError } from './api.js'

const FIELD_ERRORS = Symbol('field-errors')

/** A toast with the API's Chinese message (or the error's own). */
function showError(error) {
  ElMessage.error({ message: error.message, grouping: true })
}

/** Runs `work` with `busy` (a ref, optional) true meanwhile; a failure is shown as a toast and
 * resolves to undefined. */
export async function attempt(work, busy = null) {
  if (busy) busy.value = true
  try {
    return await work()
  } catch (caught) {
    showError(caught)
    return undefined
  } finally {
    if (busy) busy.value = false
  }
}

/** A form's field errors, provided to the FormField components inside it. */
export function provideFieldErrors() {
  const error = ref(null)
  const errors = {
    error,
    /** The message when the error names `path` (or, unless `exact`, a field inside it), else ''. */
    at(path, exact = false) {
      const field = error.value?.field
      if (field === null || field === undefined) return ''
      const inside = !exact && (field.startsWith(`${path}.`) || field.startsWith(`${path}[`))
      return field === path || inside ? error.value.message : ''
    },
    /** Keeps a VALIDATION_ERROR for its field (true), or toasts any other error (false). */
    take(caught) {
      if (caught instanceof ApiError && caught.code === 'VALIDATION_ERROR') {
        error.value = { field: caught.field, message: caught.message }
        return true
      }
      error.value = null
      showError(caught)
      return false
    },
    clear() {
      error.value = null
    },
    /** Runs the form's `work` with `busy` true meanwhile, the last error cleared first and a new one
     * taken as above; true when the work succeeded. */
    async submit(work, busy) {
      busy.value = true
      errors.clear()
      try {
        await work()
        return true
      } catch (caught) {
        errors.take(caught)
        return false
      } finally {
        busy.value = false
      }
    },
  }
  provide(FIELD_ERRORS, errors)
  return errors
}

/** The field errors of the enclosing form. */
export function injectFieldErrors() {
  return inject(FIELD_ERRORS)
}
