// The fields an item's history entry changed, in words: the server lists
// field paths of the projection row ("follow_up.politie.status",
// "location.lat"); a coordinator reads "opvolging Politie (wijkagent)",
// "locatie". One word per field group, in the order they first appear;
// a path this table does not know is shown as it is.

import { t, type MsgKey } from '../../i18n';

const GROUPS = ['category', 'severity', 'text', 'place', 'location', 'address', 'photos', 'feedback', 'follow_up', 'resident', 'callback', 'deleted'] as const;

/** `paths` in words; `partnerLabel` names a partner id (the catalog's label). */
export function fieldWords(paths: readonly string[], partnerLabel: (id: string) => string): string[] {
  const out: string[] = [];
  for (const path of paths) {
    const [head, second] = path.split('.');
    let word: string;
    if (head === 'created_at' || head === 'created_by') continue;
    if (head === 'follow_up' && second) word = t('coordinator.history.field.follow_up_of', { partner: partnerLabel(second) });
    else if ((GROUPS as readonly string[]).includes(head)) word = t(`coordinator.history.field.${head}` as MsgKey);
    else word = path;
    if (!out.includes(word)) out.push(word);
  }
  // "opvolging" alone adds nothing next to "opvolging <partner>".
  const named = out.some((w) => w !== t('coordinator.history.field.follow_up') && w.startsWith(t('coordinator.history.field.follow_up')));
  return named ? out.filter((w) => w !== t('coordinator.history.field.follow_up')) : out;
}
