// The button that brings one document onto this device to edit it (ui/openDoc.ts),
// with what the opening is doing: busy, refused (no access, gone), offline.

import { t, type MsgKey } from '../i18n';
import { useApp } from './hooks';
import { openState, startOpen } from './openDoc';

export function OpenToEdit({ docId, label, hint }: { docId: string; label: string; hint?: string }) {
  useApp();
  const st = openState(docId);
  if (st.kind === 'opening') {
    return (
      <p class="hint" role="status" data-testid="doc-loading" data-doc={docId}>
        {t('remote.opening')}
      </p>
    );
  }
  return (
    <div class="stack open-edit">
      {hint && <p class="hint">{hint}</p>}
      <button type="button" class="btn" onClick={() => startOpen(docId)} data-testid="open-edit" data-doc={docId}>
        {label}
      </button>
      {st.kind === 'error' && (
        <p class="error-text" role="alert" data-testid="open-error" data-code={st.code}>
          {openFailureText(st.code)}
        </p>
      )}
    </div>
  );
}

const KNOWN = new Set(['offline', 'forbidden', 'not_found']);

/** What a failed opening says, in the user's words. */
export function openFailureText(code: string): string {
  return KNOWN.has(code) ? t(`remote.open_failed.${code}` as MsgKey) : t('remote.open_failed.other', { code });
}
