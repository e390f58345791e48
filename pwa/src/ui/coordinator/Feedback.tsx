// #/coord/feedback: the feedback work list (GET /api/v1/feedback/open):
// everything where the resident must hear back and has not yet, oldest
// first, with the age in days; "terugkoppeling gegeven" right there (a typed
// edit of the document, like the detail screen). An item marked here leaves
// the list at once; the server's list catches up after the sync.

import { useEffect, useState } from 'preact/hooks';
import { t, type MsgKey, tn } from '../../i18n';
import { useApp } from '../hooks';
import { getFeedbackOpen, type FeedbackOpen } from './api';
import { ApiErrorLine, colorOf, fmtDate, labelOf, localRow, useCatalog, useDocChanges } from './common';
import { FeedbackEditor } from './Detail';
import { itemKey } from './live';

export function FeedbackScreen() {
  const app = useApp();
  const catalog = useCatalog();
  const [data, setData] = useState<FeedbackOpen | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function load() {
    try {
      setData(await getFeedbackOpen());
      setError(null);
    } catch (e) {
      setError(e);
    }
  }
  useEffect(() => {
    void load();
  }, []);
  useDocChanges(() => void load(), undefined, 1000);
  useEffect(() => {
    for (const e of data?.items ?? []) if (!app.docs.has(e.item.doc_id)) app.requestDoc(e.item.doc_id);
  }, [data]);

  // Given locally (perhaps not yet on the server): leave the list now.
  const open = (data?.items ?? []).filter((e) => {
    const l = localRow(e.item.doc_id, e.item.item_id);
    return !(l && (l.feedback?.given_at || l.feedback?.needed === false || l.deleted));
  });

  return (
    <section class="coord-screen">
      <h1 tabIndex={-1}>{t('coordinator.feedback_list.title')}</h1>
      <p class="hint">{t('coordinator.feedback_list.hint')}</p>
      <ApiErrorLine error={error} />
      <p class="hint" role="status" data-testid="feedback-count" data-count={open.length}>
        {data ? t('coordinator.feedback_list.count', { n: open.length }) : t('coordinator.loading')}
      </p>
      <ol class="cards" data-testid="feedback-list">
        {open.map((e) => {
          const r = e.item;
          const doc = app.docs.get(r.doc_id);
          const local = localRow(r.doc_id, r.item_id);
          return (
            <li key={itemKey(r)} class="item fb-item" style={{ borderLeftColor: colorOf(catalog, r.category) }} data-testid="feedback-item" data-key={itemKey(r)}>
              <div class="item-head">
                <strong>{labelOf(catalog?.categories, r.category)}</strong>
                <span class="age" data-testid="feedback-age">
                  {tn('coordinator.feedback_list.age', e.age_days)}
                </span>
                <span class="hint">
                  {t(`coordinator.kind.${r.doc_kind}` as MsgKey)}: {r.doc_title || '–'} · {labelOf(catalog?.wijken, r.wijk)} · {fmtDate(r.created_at)}
                </span>
              </div>
              <p class="item-text">
                <a href={`#/coord/item/${r.doc_id}/${r.item_id}`}>{r.text?.trim() || t('coordinator.list.no_text')}</a>
              </p>
              {doc && local ? <FeedbackEditor doc={doc} row={local} compact /> : <p class="hint">{t('coordinator.detail.doc_loading')}</p>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
