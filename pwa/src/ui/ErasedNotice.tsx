import { t, tn } from '../i18n';
import { useApp } from './hooks';
import { erasedText, type Erasure } from './erased';

/**
 * Shown on a walk or session after its copy on this device was replaced by
 * the server's rewritten history (an erasure) and some edits made offline to
 * the erased data were dropped: says so once, until the user dismisses it.
 */
export function ErasedNotice({ docId }: { docId: string }) {
  const app = useApp();
  const items = app.repo.droppedEdits.get(docId) ?? [];
  if (items.length === 0) return null;
  return (
    <div class="banner warn" role="alert" data-testid="erased-dropped" data-items={items.join(' ')}>
      <p>{tn('erase.dropped', items.length)}</p>
      <button type="button" class="btn small" onClick={() => app.dismissDroppedEdits(docId)} data-testid="erased-dropped-dismiss">
        {t('erase.dropped.dismiss')}
      </button>
    </div>
  );
}

/**
 * The line an erased item shows in place of its values ("Gegevens gewist op
 * 7 december 2026 (verzoek)"); nothing when `erasure` is null.
 */
export function ErasedLine({ erasure, what, testId = 'erased' }: { erasure: Erasure | null; what: 'item' | 'contact'; testId?: string }) {
  if (!erasure) return null;
  return (
    <span class="erased-line" data-testid={testId} data-what={what} data-basis={erasure.basis ?? ''}>
      {erasedText(erasure, what)}
    </span>
  );
}
