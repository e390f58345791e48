import { useEffect, useState } from 'preact/hooks';
import { lang, t, tn } from '../i18n';
import { useApp } from './hooks';

type Estimate = { usage: number; quota: number } | 'unknown' | null;

/** Bytes for people: "840 kB", "12,4 MB", "1,2 GB". */
export function formatBytes(n: number, locale: string): string {
  const fmt = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  if (n < 1_000_000) return `${fmt.format(Math.max(0, Math.round(n / 1000)))} kB`;
  if (n < 1_000_000_000) return `${fmt.format(n / 1_000_000)} MB`;
  return `${fmt.format(n / 1_000_000_000)} GB`;
}

/**
 * The settings screen: what this device holds (documents by kind, unsent
 * changes) and the storage it uses (navigator.storage.estimate(): the
 * browser's figure for this origin, IndexedDB and the app's cache together).
 */
export function Settings() {
  const app = useApp();
  const held = app.heldCounts();
  const docs = held.walk + held.spreekuur + held.catalog;
  const [estimate, setEstimate] = useState<Estimate>(null);
  useEffect(() => {
    let live = true;
    const storage = globalThis.navigator?.storage;
    if (!storage?.estimate) {
      setEstimate('unknown');
      return;
    }
    storage.estimate().then(
      (e) => live && setEstimate(typeof e.usage === 'number' && typeof e.quota === 'number' ? { usage: e.usage, quota: e.quota } : 'unknown'),
      () => live && setEstimate('unknown'),
    );
    return () => {
      live = false;
    };
  }, [docs, app.totalPending()]);
  const locale = lang() === 'nl' ? 'nl-NL' : 'en-GB';
  const list = [tn('settings.walks', held.walk), tn('settings.sessions', held.spreekuur), held.catalog > 0 ? t('settings.catalog') : ''].filter(Boolean).join(', ');
  const pending = app.totalPending();
  return (
    <section class="screen narrow">
      <a class="back" href="#/">
        ← {t('nav.back')}
      </a>
      <h1 tabIndex={-1}>{t('settings.title')}</h1>
      <h2>{t('settings.storage')}</h2>
      <p data-testid="held-docs" data-walks={held.walk} data-sessions={held.spreekuur} data-docs={docs}>
        {t('settings.held', { list })}
      </p>
      {pending > 0 && <p data-testid="held-unsent">{tn('settings.unsent', pending)}</p>}
      {estimate !== null && (
        <p data-testid="storage-used" data-usage={estimate === 'unknown' ? '' : estimate.usage}>
          {estimate === 'unknown'
            ? t('settings.used_unknown')
            : t('settings.used', { used: formatBytes(estimate.usage, locale), quota: formatBytes(estimate.quota, locale) })}
        </p>
      )}
      {app.persistDenied && <p class="hint">{t('store.persist_denied')}</p>}
      <p class="hint">{t('settings.scope_hint')}</p>
    </section>
  );
}
