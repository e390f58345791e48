// "Mijn terugbelverzoeken" on the field app's home screen: the open call
// backs of the spreekuur sessions on this device that are for this worker
// (assigned to them, or to their team with nobody in particular), late ones
// first. Read from the local documents, so it works without a connection; the
// resident's contact is on the device already (consented, encrypted at rest).
// Logging an attempt or closing is a local typed edit, synced later.

import { t } from '../i18n';
import { callbackOpen, type Row } from '../model/doc';
import { useApp } from './hooks';
import { CallbackTask, contactOf } from './CallbackTask';

export interface MyCallback {
  docId: string;
  title: string;
  row: Row;
}

/** The open call backs for `user` in the spreekuur documents on the device, due date first. */
export function myCallbacks(docs: Map<string, { kind(): string | null; rows(): Row[]; session(): { location: string; team: string } }>, user: { id: string; team: string | null }): MyCallback[] {
  const out: MyCallback[] = [];
  for (const [docId, doc] of docs) {
    if (doc.kind() !== 'spreekuur') continue;
    try {
      const s = doc.session();
      for (const row of doc.rows()) {
        const c = row.callback;
        if (row.deleted || !callbackOpen(c)) continue;
        const mine = c?.assignee ? c.assignee === user.id : user.team !== null && s.team === user.team;
        if (mine) out.push({ docId, title: s.location, row });
      }
    } catch {
      // an unreadable document has no tasks to show
    }
  }
  const due = (m: MyCallback) => m.row.callback?.due_at ?? Number.MAX_SAFE_INTEGER;
  return out.sort((a, b) => due(a) - due(b) || a.row.item_id.localeCompare(b.row.item_id));
}

export function MyCallbacks() {
  const app = useApp();
  const user = app.user;
  if (!user) return null;
  const list = myCallbacks(app.docs as never, user);
  const now = Date.now();
  const names = (id: string | null | undefined) => (id === user.id ? user.name : id ?? '–');
  return (
    <section data-testid="my-callbacks" data-count={list.length}>
      <h2>{t('callbacks.mine.title')}</h2>
      <p class="hint">{t('callbacks.mine.hint')}</p>
      {list.length === 0 && <p class="hint">{t('callbacks.mine.none')}</p>}
      <ol class="cards">
        {list.map((m) => (
          <li key={`${m.docId}/${m.row.item_id}`} class="item" data-testid="my-callback" data-key={`${m.docId}/${m.row.item_id}`}>
            <p class="item-head">
              <strong>{m.title}</strong>
            </p>
            {m.row.text && <p class="item-text">{m.row.text}</p>}
            <CallbackTask docId={m.docId} row={m.row} contact={contactOf(m.row)} names={names} now={now} />
          </li>
        ))}
      </ol>
    </section>
  );
}
