// What an erased item shows in place of its values: "Gegevens gewist op
// 7 december 2026 (verzoek)" for an erased observation or note,
// "Contactgegevens gewist op … (bewaartermijn)" for a resident's erased
// contact details. The erasure itself is recorded in the item by the
// document model (`erased.item` / `erased.contact`: at, by, basis; see
// docs/privacy.md, "Erasure") and reaches the app in every projection row,
// on the phone (wasm `project()`) and in the server's rows alike. One
// wording for every screen that shows items: the phone's list, the
// coordinators' list and detail, the walk report.

import { lang, t, type MsgKey } from '../i18n';
import type { Row } from '../model/doc';

/** The `erased` record of a row, as the model's types have it. */
export type Erased = NonNullable<Row['erased']>;
/** One recorded erasure (`erased.item` or `erased.contact`). */
export type Erasure = NonNullable<Erased['item']>;

const BASES = ['verzoek', 'anders', 'bewaartermijn'] as const;

/** The erasure that covers the item's content, if any. */
export function itemErasure(row: { erased?: Erased | null } | null | undefined): Erasure | null {
  return row?.erased?.item ?? null;
}

/**
 * The erasure that covers the resident's contact details: their own
 * erasure, or the item's (erasing a whole note erases its contact too).
 */
export function contactErasure(row: { erased?: Erased | null } | null | undefined): Erasure | null {
  return row?.erased?.contact ?? row?.erased?.item ?? null;
}

/** The long local date of an erasure ("7 december 2026"); "–" when the record has none. */
export function erasureDate(at: number | null | undefined): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return '–';
  return new Date(at).toLocaleDateString(lang() === 'nl' ? 'nl-NL' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
}

/**
 * The sentence shown in place of erased values; `what` says which values
 * (the item's content or the resident's contact details). A basis the app
 * does not know is shown as it is written.
 */
export function erasedText(e: Erasure, what: 'item' | 'contact'): string {
  const basis = e.basis && (BASES as readonly string[]).includes(e.basis) ? t(`erase.basis.${e.basis}` as MsgKey) : (e.basis ?? '?');
  return t(what === 'item' ? 'erase.notice.item' : 'erase.notice.contact', { date: erasureDate(e.at), basis });
}
