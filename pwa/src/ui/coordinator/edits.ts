// Follow-up and feedback edits of the coordinator, made THROUGH THE DOCUMENT:
// typed edits of the wasm WijkDoc (wijklog-shared), committed locally by
// app.edit() (one action: all edits of a save, or none) and synced like every
// other change, so that they merge with what a boa changes on a phone at the
// same time (docs/pwa.md, "Coordinator area").

import type { Doc } from '../../model/doc';
import type { Channel, Status } from './filters';

/** Assign a partner (or change its status); `note` null leaves an existing note alone. */
export function setFollowUp(doc: Doc, catalog: Doc, itemId: string, partner: string, status: Status, note: string | null): void {
  doc.setFollowUp(catalog, itemId, partner, status, note);
}

/** Change a follow-up note by one minimal splice, so a concurrent edit elsewhere in the note survives. */
export function setFollowUpNote(doc: Doc, itemId: string, partner: string, prev: string, next: string): void {
  doc.setFollowUpNote(itemId, partner, prev, next);
}

export function setFeedbackNeeded(doc: Doc, itemId: string, needed: boolean): void {
  doc.setFeedbackNeeded(itemId, needed);
}

export function recordFeedbackGiven(doc: Doc, itemId: string, channel: Channel, givenAt: number): void {
  doc.recordFeedbackGiven(itemId, channel, givenAt);
}
