// The filter panel of the list and the map. Edits a local copy; "Toepassen"
// writes the filters to the URL hash (#/coord/<screen>?...), which is what the
// screens read, so a filtered view can be shared and survives a reload.

import { useEffect, useState } from 'preact/hooks';
import { t, type MsgKey, tn } from '../../i18n';
import { teamLabel, type CatalogEntry } from '../../model/doc';
import { go } from '../hooks';
import { activeCount, emptyFilters, filtersToQuery, SEVERITIES, STATUSES, type Filters } from './filters';
import { useCatalog, usePeople } from './common';
import { TeamSelect } from '../TeamSelect';

type ListKey = 'wijk' | 'category' | 'severity' | 'status' | 'partner' | 'author';

export function FilterForm({ screen, filters, authors, teams }: { screen: 'list' | 'map'; filters: Filters; authors: string[]; teams: string[] }) {
  const catalog = useCatalog();
  const people = usePeople();
  const [f, setF] = useState<Filters>(filters);
  const [authorText, setAuthorText] = useState(filters.author.join(', '));
  useEffect(() => {
    setF(filters);
    setAuthorText(filters.author.join(', '));
  }, [filtersToQuery(filters)]);

  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const apply = (next: Filters) => {
    const q = filtersToQuery(next);
    go(`/coord/${screen}${q ? `?${q}` : ''}`);
  };
  const submit = (e: Event) => {
    e.preventDefault();
    apply(people.length > 0 ? f : { ...f, author: list(authorText) });
  };
  const toggle = (k: ListKey, id: string, on: boolean) => setF({ ...f, [k]: on ? [...f[k], id] : f[k].filter((x) => x !== id) });
  const group = (k: ListKey, legend: MsgKey, entries: { id: string; label: string }[]) => (
    <details class="fgroup" open={filters[k].length > 0}>
      <summary>
        {t(legend)}
        {f[k].length > 0 ? ` (${f[k].length})` : ''}
      </summary>
      <fieldset>
        <legend class="sr-only">{t(legend)}</legend>
        {entries.map((e) => (
          <label class="check" key={e.id}>
            <input type="checkbox" name={k} value={e.id} checked={f[k].includes(e.id)} onChange={(ev) => toggle(k, e.id, ev.currentTarget.checked)} data-filter={`${k}:${e.id}`} />
            <span>{e.label}</span>
          </label>
        ))}
      </fieldset>
    </details>
  );
  const sevEntries: CatalogEntry[] = catalog?.severities.length ? catalog.severities : SEVERITIES.map((s, i) => ({ id: s, label: s, order: i }));
  const statusEntries = STATUSES.map((s) => ({ id: s, label: t(`coordinator.status.${s}` as MsgKey) }));

  return (
    <form class="filters" onSubmit={submit} aria-label={t('coordinator.filters')} data-testid="filters">
      <div class="frow">
        <div class="field grow">
          <label for="f-q">{t('coordinator.f.q')}</label>
          <input id="f-q" type="search" value={f.q} maxLength={500} onInput={(e) => setF({ ...f, q: e.currentTarget.value })} data-testid="filter-q" />
        </div>
        <div class="field">
          <label for="f-from">{t('coordinator.f.from')}</label>
          <input id="f-from" type="date" value={f.from} onInput={(e) => setF({ ...f, from: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="f-to">{t('coordinator.f.to')}</label>
          <input id="f-to" type="date" value={f.to} onInput={(e) => setF({ ...f, to: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="f-kind">{t('coordinator.f.kind')}</label>
          <select id="f-kind" value={f.kind} onChange={(e) => setF({ ...f, kind: e.currentTarget.value as Filters['kind'] })}>
            <option value="">{t('coordinator.f.all')}</option>
            <option value="walk">{t('coordinator.kind.walk')}</option>
            <option value="spreekuur">{t('coordinator.kind.spreekuur')}</option>
          </select>
        </div>
        <div class="field">
          <label for="f-feedback">{t('coordinator.f.feedback')}</label>
          <select id="f-feedback" value={f.feedback} onChange={(e) => setF({ ...f, feedback: e.currentTarget.value as Filters['feedback'] })} data-testid="filter-feedback">
            <option value="">{t('coordinator.f.all')}</option>
            <option value="true">{t('coordinator.f.feedback_open')}</option>
            <option value="false">{t('coordinator.f.feedback_not_open')}</option>
          </select>
        </div>
        {screen === 'list' && (
          <div class="field">
            <label for="f-n">{t('coordinator.f.per_page')}</label>
            <select id="f-n" value={String(f.n)} onChange={(e) => setF({ ...f, n: Number(e.currentTarget.value) })}>
              {[...new Set([25, 50, 100, 200, f.n])].sort((a, b) => a - b).map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        )}
        {screen === 'list' && (
          <div class="field">
            <label for="f-sort">{t('coordinator.f.sort')}</label>
            <select id="f-sort" value={f.sort} onChange={(e) => setF({ ...f, sort: e.currentTarget.value as Filters['sort'] })}>
              <option value="created_at">{t('coordinator.f.sort_new')}</option>
              <option value="severity">{t('coordinator.f.sort_severity')}</option>
            </select>
          </div>
        )}
      </div>
      <div class="frow groups">
        {group('wijk', 'coordinator.f.wijk', catalog?.wijken ?? [])}
        {group('category', 'coordinator.f.category', catalog?.categories ?? [])}
        {group('severity', 'coordinator.f.severity', sevEntries)}
        {group('status', 'coordinator.f.status', statusEntries)}
        {group('partner', 'coordinator.f.partner', catalog?.partners ?? [])}
      </div>
      <div class="frow">
        <div class="field">
          <label for="f-team">{t('coordinator.f.team')}</label>
          <TeamSelect
            id="f-team"
            value={f.team[0] ?? ''}
            onChange={(v) => setF({ ...f, team: v ? [v] : [] })}
            catalog={catalog}
            known={[...people.map((p) => p.team).filter((x): x is string => !!x), ...teams]}
            allowNone
            noneLabel={t('coordinator.f.team_all')}
            testid="filter-team"
          />
        </div>
        {people.length > 0 ? (
          <>
            {group('author', 'coordinator.f.author_group', [...people].sort((a, b) => a.name.localeCompare(b.name)).map((p) => ({ id: p.id, label: p.team ? `${p.name} (${teamLabel(catalog, p.team)})` : p.name })))}
          </>
        ) : (
          <>
            <div class="field">
              <label for="f-author">{t('coordinator.f.author')}</label>
              <input id="f-author" list="f-author-list" value={authorText} onInput={(e) => setAuthorText(e.currentTarget.value)} />
              <datalist id="f-author-list">
                {authors.map((x) => (
                  <option key={x} value={x} />
                ))}
              </datalist>
            </div>
          </>
        )}
        <div class="row end">
          <button type="submit" class="btn primary" data-testid="filter-apply">
            {t('coordinator.f.apply')}
          </button>
          <button
            type="button"
            class="btn"
            onClick={() => {
              setF(emptyFilters());
              setAuthorText('');
              apply(emptyFilters());
            }}
            data-testid="filter-reset"
          >
            {t('coordinator.f.reset')}
          </button>
          <span class="hint">{tn('coordinator.f.active', activeCount(filters))}</span>
        </div>
      </div>
    </form>
  );
}
