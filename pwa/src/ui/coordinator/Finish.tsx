// "Klaar met bewerken" (app.finish): the coordinator is done with a walk or
// session this laptop holds to edit it. The item detail, every work list
// entry whose forms are shown, and the work list's "Op dit toestel" section
// (the walks and sessions this device holds) offer it; once pressed they all
// show the same notice: why the document is still here (unsent changes, no
// connection, the server's confirmation) until it leaves, with "Toch verder
// bewerken" to take it back. Unsent edits are never dropped (docs/pwa.md
// "Sync scope on the device"). A document the server keeps on the device for
// another reason (its `kept` answer, protocol 5) says why instead.

import type { DocKind } from '../../model/doc';

import type { App } from '../../app';
import { t, tn, type MsgKey } from '../../i18n';
import { useApp } from '../hooks';

/** The "Klaar met bewerken" button (with its explanation unless `compact`), or why the server keeps the document here. */
export function FinishButton({ docId, compact = false }: { docId: string; compact?: boolean }) {
  const app = useApp();
  const kept = app.keptReason(docId);
  if (kept !== null) {
    return (
      <p class="hint" role="status" data-testid="kept" data-doc={docId} data-reason={kept}>
        {keptText(kept, app.kindOf(docId))}
      </p>
    );
  }
  return (
    <div class={compact ? 'row' : 'stack'}>
      {!compact && <p class="hint">{t('coordinator.detail.finish_hint')}</p>}
      <button type="button" class={compact ? 'btn small' : 'btn'} onClick={() => app.finish(docId)} data-testid="finish-edit" data-doc={docId}>
        {t('coordinator.detail.finish')}
      </button>
    </div>
  );
}

/**
 * After "Klaar": the document leaves this device once every change of it is
 * acked (app.finish); until then this says why it is still here.
 */
export function FinishingNotice({ docId }: { docId: string }) {
  const app = useApp();
  const pending = app.pending.get(docId) ?? 0;
  return (
    <div class="stack">
      <p class="hint" role="status" data-testid="finishing" data-doc={docId} data-pending={pending}>
        {pending > 0 ? tn('coordinator.detail.finishing', pending) : t('coordinator.detail.finishing_sent')}
        {pending > 0 && app.conn !== 'online' ? ` ${t('coordinator.detail.finishing_offline')}` : ''}
      </p>
      <button type="button" class="btn small" onClick={() => void app.subscribe(docId).catch(() => undefined)} data-testid="finish-undo" data-doc={docId}>
        {t('coordinator.detail.finish_undo')}
      </button>
    </div>
  );
}

/**
 * Why the server keeps a document on this device after "Klaar" (its reason
 * in the `kept` frame), in the user's words, and that it goes when that ends.
 */
export function keptText(reason: string, kind: DocKind | null): string {
  const k = kind === 'spreekuur' ? 'spreekuur' : 'walk';
  let why: string;
  if (reason === 'planned') why = t(`device.kept.planned.${k}`);
  else if (reason === 'member') why = t(`device.kept.member.${k}`);
  else if (reason === 'open_task') why = t('device.kept.open_task');
  else if (reason === 'subscribed') why = t('device.kept.subscribed');
  else if (reason === 'catalog') why = t('device.kept.catalog');
  else why = t('device.kept.other', { reason });
  return `${why} ${t('device.kept.then')}`;
}

/** What one held walk or session is called in a list: its title, or where and when the session is. */
function heldTitle(app: App, docId: string): { kind: 'walk' | 'spreekuur'; title: string } | null {
  const d = app.docs.get(docId);
  const k = d?.kind();
  try {
    if (k === 'walk') return { kind: k, title: d!.walk().title || '–' };
    if (k === 'spreekuur') return { kind: k, title: d!.session().location || '–' };
  } catch {
    // an unreadable document is listed by its id
    if (k === 'walk' || k === 'spreekuur') return { kind: k, title: docId };
  }
  return null;
}

/**
 * "Op dit toestel": every walk and session this device holds (a
 * coordinator's laptop holds only what was opened to edit), each with
 * "Klaar met bewerken" or, once pressed, why it is still here. Nothing when
 * the device holds none.
 */
export function HeldDocs() {
  const app = useApp();
  const held = [...app.docs.keys()].map((id) => ({ id, info: heldTitle(app, id) })).filter((x): x is { id: string; info: NonNullable<ReturnType<typeof heldTitle>> } => x.info !== null);
  if (held.length === 0) return null;
  held.sort((a, b) => a.info.title.localeCompare(b.info.title) || a.id.localeCompare(b.id));
  return (
    <section class="card-form held-docs" aria-labelledby="held-docs-h" data-testid="on-device">
      <h2 id="held-docs-h">{t('coordinator.held.title')}</h2>
      <p class="hint">{t('coordinator.held.hint')}</p>
      <ul class="cards">
        {held.map(({ id, info }) => {
          const pending = app.pending.get(id) ?? 0;
          return (
            <li key={id} class="item" data-testid="on-device-doc" data-doc={id}>
              <div class="item-head">
                <strong>{t(`coordinator.kind.${info.kind}` as MsgKey)}</strong>
                <span>{info.title}</span>
                <span class="hint">{pending > 0 ? tn('coordinator.detail.pending', pending) : t('coordinator.detail.synced')}</span>
              </div>
              {app.finishedHere(id) ? <FinishingNotice docId={id} /> : <FinishButton docId={id} compact />}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
