// The one way a team is entered: chosen from the catalog's team list (an admin
// keeps it under Catalogus). Free text used to let "Team Oost" through where
// accounts held team-oost, so that walk went to a team nobody was in.
// A team the list does not know (old data, a retired team) still shows, as
// the current value, so opening a form never changes it silently.
import { t } from '../i18n';
import { teamLabel, type CatalogInfo } from '../model/doc';

export interface TeamChoice {
  id: string;
  label: string;
}

/**
 * The teams a form offers: the catalog's active teams; while the catalog has
 * none yet, the `known` ones (teams accounts already hold). The current
 * `value` is always among them, marked when the list does not hold it.
 */
export function teamChoices(catalog: CatalogInfo | null, value: string, known: readonly string[] = []): TeamChoice[] {
  const active = (catalog?.teams ?? []).filter((x) => !x.retired).map((x) => ({ id: x.id, label: x.label }));
  const out: TeamChoice[] = active.length > 0 ? active : [...new Set(known)].filter(Boolean).sort().map((id) => ({ id, label: teamLabel(catalog, id) }));
  if (value && !out.some((x) => x.id === value)) {
    const known = catalog?.teams.find((x) => x.id === value);
    out.push({ id: value, label: t('admin.users.team_unknown', { team: known ? known.label : value }) });
  }
  return out;
}

export function TeamSelect({
  id,
  value,
  onChange,
  catalog,
  known,
  allowNone,
  noneLabel,
  required,
  describedBy,
  testid,
}: {
  id: string;
  value: string;
  onChange: (team: string) => void;
  catalog: CatalogInfo | null;
  known?: readonly string[];
  allowNone?: boolean;
  /** What the empty choice says when `allowNone` (default: "geen team"). */
  noneLabel?: string;
  required?: boolean;
  describedBy?: string;
  testid?: string;
}) {
  const choices = teamChoices(catalog, value, known);
  return (
    <select id={id} value={value} required={required} aria-describedby={describedBy} onChange={(e) => onChange(e.currentTarget.value)} data-testid={testid}>
      {(allowNone || !value) && <option value="">{allowNone ? (noneLabel ?? t('admin.users.team_none')) : '—'}</option>}
      {choices.map((c) => (
        <option key={c.id} value={c.id}>
          {c.label}
        </option>
      ))}
    </select>
  );
}
