// Follow-up and feedback edits of the coordinator, made THROUGH THE DOCUMENT:
// typed edits of the wasm WijkDoc (wijklog-shared), committed locally by
// app.edit() and synced like every other change, so that they merge with what
// a boa changes on a phone at the same time (docs/pwa.md, "Coordinator area").

import { DocError, minimalSplice, type Doc } from '../../model/doc';
import type { Channel, Status } from './filters';

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DocError) throw e;
    const code = (e as { code?: unknown } | null)?.code;
    const msg = (e as { message?: unknown } | null)?.message;
    throw new DocError(typeof code === 'string' ? code : 'internal', typeof msg === 'string' ? msg : String(e));
  }
}

/** Assign a partner (or change its status); `note` null leaves an existing note alone. */
export function setFollowUp(doc: Doc, catalog: Doc, itemId: string, partner: string, status: Status, note: string | null): void {
  wrap(() => doc.raw.setFollowUp(catalog.raw, itemId, partner, status, note ?? undefined));
}

/** Change a follow-up note by one minimal splice, so a concurrent edit elsewhere in the note survives. */
export function setFollowUpNote(doc: Doc, itemId: string, partner: string, prev: string, next: string): void {
  const s = minimalSplice(prev, next);
  if (s) wrap(() => doc.raw.spliceFollowUpNote(itemId, partner, s.pos, s.del, s.insert));
}

export function setFeedbackNeeded(doc: Doc, itemId: string, needed: boolean): void {
  wrap(() => doc.raw.setFeedbackNeeded(itemId, needed));
}

export function recordFeedbackGiven(doc: Doc, itemId: string, channel: Channel, givenAt: number): void {
  wrap(() => doc.raw.recordFeedbackGiven(itemId, channel, givenAt));
}
