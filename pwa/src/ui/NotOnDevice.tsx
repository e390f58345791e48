import { t } from '../i18n';
import { useApp } from './hooks';

/**
 * A walk or session screen for a document this device does not hold: it left
 * the device (evicted after it left the sync scope, "niet meer op dit
 * toestel") or was never here, and cannot be fetched now (no connection, or
 * the server refused it). The button subscribes it (app.subscribe) when
 * online; the screen then shows the document.
 */
export function NotOnDevice({ id, title }: { id: string; title: string }) {
  const app = useApp();
  const online = app.conn === 'online';
  const busy = app.subscribePending(id);
  const err = app.subscribeErrors.get(id);
  const evicted = app.wasEvicted(id);
  // 'offline' while offline says nothing the hint below does not say.
  const shownErr = err && !(err === 'offline' && !online) ? err : null;
  return (
    <section class="screen">
      <a class="back" href="#/">
        ← {t('nav.back')}
      </a>
      <h1 tabIndex={-1}>{title}</h1>
      <p data-testid="not-on-device" data-evicted={evicted ? 'yes' : 'no'}>
        {t(evicted ? 'device.evicted' : 'device.not_held')}
      </p>
      {shownErr && (
        <p class="error-text" role="alert" data-testid="open-online-error" data-code={shownErr}>
          {t(`device.error.${shownErr}`)}
        </p>
      )}
      {!online && <p class="hint">{t('device.needs_connection')}</p>}
      <button type="button" class="btn primary" disabled={!online || busy} onClick={() => void app.subscribe(id).catch(() => undefined)} data-testid="open-online">
        {busy ? t('device.opening') : t('device.open_online')}
      </button>
    </section>
  );
}

/** On a walk or session that left the sync scope but is kept until its changes are acked (and the screen is left). */
export function LeavingNotice({ docId }: { docId: string }) {
  const app = useApp();
  if (!app.isLeaving(docId)) return null;
  return (
    <p class="banner info" role="status" data-testid="leaving">
      {t('device.leaving')}
    </p>
  );
}
