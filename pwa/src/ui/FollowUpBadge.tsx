// Shows, on an observation or note in the field app, what the coordinator
// decided: each follow-up partner with its status (and note), and whether the
// resident still has to hear back or did (channel, date). Renders nothing
// when there is neither follow-up nor a feedback flag. Self-contained: the
// labels come from the catalog, the strings from messages/coordinator.ts.

import { formatDay } from '../dates';
import { t, type MsgKey } from '../i18n';
import type { CatalogInfo, Row } from '../model/doc';

export function FollowUpBadge({ row, catalog }: { row: Row; catalog: CatalogInfo | null }) {
  const entries = Object.entries(row.follow_up ?? {});
  const fb = row.feedback;
  if (entries.length === 0 && !fb?.needed && !fb?.given_at) return null;
  const partner = (id: string) => catalog?.partners.find((p) => p.id === id)?.label ?? id;
  const status = (s: string | null) => (s === 'open' || s === 'in_behandeling' || s === 'afgerond' ? t(`coordinator.status.${s}` as MsgKey) : '?');
  return (
    <div class="followup-badge" data-testid="followup-badge">
      {entries.length > 0 && (
        <ul class="plain">
          {entries.map(([p, fu]) => (
            <li key={p} class="item-meta" data-testid="followup-entry" data-partner={p} data-status={fu.status ?? ''}>
              {t('coordinator.badge.followup', { partner: partner(p), status: status(fu.status) })}
              {fu.note ? ` — ${fu.note}` : ''}
            </li>
          ))}
        </ul>
      )}
      {(fb?.needed || fb?.given_at) && (
        <p class="item-meta" data-testid="followup-feedback" data-given={fb?.given_at ? 'true' : 'false'}>
          {fb?.given_at
            ? t('coordinator.badge.feedback_given', { date: formatDay(fb.given_at, 'detail'), channel: t(`coordinator.channel.${fb.channel ?? 'telefoon'}` as MsgKey) })
            : t('coordinator.badge.feedback_needed')}
        </p>
      )}
    </div>
  );
}
