// The logic of the coordinators' "Gegevens wissen" dialog (Erase.tsx), apart
// from the screen so it can be tested: what can still be erased of an item,
// the basis and reason that are sent (and audited by the server), and the call
// POST /api/v1/items/{doc}/{id}/erase with what its answer means. Success is
// only a 200 whose body confirms this item's erasure; everything else says
// what happened, and whether anything may have been erased (docs/api.md).

import { ApiError, type Api } from '../../net/api';
import type { MsgKey } from '../../i18n';
import { itemErasure } from '../erased';
import type { Row } from '../../model/doc';

export type EraseWhat = 'contact' | 'item';
export type ReasonKind = 'verzoek' | 'other';
/** The basis the server records (audit log, and the item's notice): the resident's request or another reason. */
export type EraseBasis = 'verzoek' | 'anders';

/** The basis sent for the reason the coordinator chose. */
export function basisOf(kind: ReasonKind): EraseBasis {
  return kind === 'verzoek' ? 'verzoek' : 'anders';
}

/** The longest reason the server takes (characters). */
export const MAX_REASON_CHARS = 500;
/** An erasure rewrites the document's history: give it longer than an ordinary call. */
export const ERASE_TIMEOUT_MS = 120_000;
/** The reason sent for a resident's request, in the municipality's language whatever the screen's. */
export const VERZOEK_REASON = 'Verzoek van de bewoner';

/**
 * What of this item can still be erased: its contact details (spreekuur
 * notes whose contact details and content are not erased yet) and the whole
 * item (not erased yet). Empty: nothing left to erase.
 */
export function eraseChoices(row: Pick<Row, 'doc_kind' | 'erased'>): EraseWhat[] {
  if (itemErasure(row)) return [];
  return row.doc_kind === 'spreekuur' && !row.erased?.contact ? ['contact', 'item'] : ['item'];
}

export type Reason = { ok: true; text: string } | { ok: false; key: MsgKey };

/**
 * The reason as sent: "Verzoek van de bewoner", with the coordinator's
 * details after a colon when given; or the coordinator's own words (needed).
 * At most MAX_REASON_CHARS characters either way.
 */
export function reasonOf(kind: ReasonKind, detail: string): Reason {
  const d = detail.trim();
  const text = kind === 'verzoek' ? (d ? `${VERZOEK_REASON}: ${d}` : VERZOEK_REASON) : d;
  if (!text) return { ok: false, key: 'erase.reason.needed' };
  if ([...text].length > MAX_REASON_CHARS) return { ok: false, key: 'erase.reason.too_long' };
  return { ok: true, text };
}

/** The server's answer to a completed erasure. */
export interface EraseResult {
  doc: string;
  item: string;
  what: EraseWhat;
  erased_at: number;
  epoch: number;
  photos_removed: number;
}

export type EraseOutcome = { ok: true; result: EraseResult } | { ok: false; key: MsgKey; code: string };

/**
 * Erase `what` of one item. `online` is the browser's word on the network:
 * without one nothing is sent (erasure is a server operation; nothing can
 * wait for later here). Never rejects.
 */
export async function requestErase(api: Api, doc: string, item: string, what: EraseWhat, basis: EraseBasis, reason: string, online: boolean): Promise<EraseOutcome> {
  if (!online) return { ok: false, key: 'erase.error.offline', code: 'offline' };
  let res: Response;
  try {
    res = await api.fetch(`/api/v1/items/${encodeURIComponent(doc)}/${encodeURIComponent(item)}/erase`, {
      method: 'POST',
      body: { what, basis, reason },
      timeoutMs: ERASE_TIMEOUT_MS,
    });
  } catch (e) {
    return failureOf(e);
  }
  // Only a 200 says the erasure is complete; anything else that got through is not a confirmation.
  if (res.status !== 200) return { ok: false, key: 'erase.error.unknown', code: `http_${res.status}` };
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { ok: false, key: 'erase.error.unknown', code: 'invalid_response' };
  }
  const b = body as Partial<EraseResult> | null;
  if (!b || b.item !== item || b.what !== what || typeof b.erased_at !== 'number' || typeof b.epoch !== 'number') {
    return { ok: false, key: 'erase.error.unknown', code: 'invalid_response' };
  }
  return { ok: true, result: { doc: b.doc ?? doc, item, what, erased_at: b.erased_at, epoch: b.epoch, photos_removed: typeof b.photos_removed === 'number' ? b.photos_removed : 0 } };
}

/** What a refused or failed call means for the user (the codes of docs/api.md). */
export function failureOf(e: unknown): { ok: false; key: MsgKey; code: string } {
  const code = e instanceof ApiError ? e.code : 'internal';
  const status = e instanceof ApiError ? e.status : 0;
  const key: MsgKey =
    code === 'network'
      ? 'erase.error.network'
      : code === 'busy'
        ? 'erase.error.busy'
        : code === 'not_found'
          ? 'erase.error.not_found'
          : code === 'wrong_kind'
            ? 'erase.error.wrong_kind'
            : code === 'sqlite_only'
              ? 'erase.error.sqlite_only'
              : code === 'session_ended' || code === 'revoked'
                ? 'erase.error.session'
                : status === 403
                  ? 'erase.error.forbidden'
                  : 'erase.error.other';
  return { ok: false, key, code };
}
