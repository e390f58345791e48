// A refused edit shown in plain words next to the field it is about (or under
// the form). Edits go through app.edit(), which applies all edits of a user
// action or none (docs/pwa.md, "One action, one write"); this turns the
// error it throws into what the form shows.

import { t, type MsgKey } from '../i18n';
import { DocError } from '../model/doc';
import { StoreError } from '../store/db';
import { nl as editMsgs } from '../messages/edits';

/** The form field a model error code is about. */
export type Field = 'name' | 'phone' | 'email' | 'category' | 'form';

const FIELD_OF: Record<string, Field> = {
  invalid_phone: 'phone',
  invalid_email: 'email',
  invalid_name: 'name',
  unknown_category: 'category',
  retired_category: 'category',
};

export interface EditError {
  field: Field;
  code: string;
  /** The whole sentence to show. */
  text: string;
}

/** The reason in plain words (without the "Niet opgeslagen" frame). */
export function reasonOf(code: string): string {
  const key = `edit.error.${code}`;
  return key in editMsgs ? t(key as MsgKey) : t('edit.error.other', { code });
}

/**
 * What to show for an error thrown by app.edit(): null for a StoreError (the
 * header's storage banner shows those), else the field and the sentence.
 */
export function editError(e: unknown): EditError | null {
  if (e instanceof StoreError) return null;
  const code = e instanceof DocError ? e.code : ((e as { code?: unknown } | null)?.code as string | undefined) ?? 'internal';
  return { field: FIELD_OF[code] ?? 'form', code, text: t('edit.not_saved', { reason: reasonOf(code) }) };
}

/** The sentence for a field that failed the model's rule before anything was written. */
export function fieldError(field: Field, code: string): EditError {
  return { field, code, text: t('edit.not_saved', { reason: reasonOf(code) }) };
}
