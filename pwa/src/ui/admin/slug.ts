// Catalog ids are lowercase slugs (docs/data-model.md): made from the label the admin types.

/**
 * A lowercase slug id from a label: "Stad en Lande" -> "stad_en_lande".
 * Like wijklog-shared's rule: starts with a letter, then a-z, 0-9, _.
 */
export function slug(label: string): string {
  return label
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, 48)
    .replace(/_+$/, '');
}

/**
 * A team id from a label: "Team Oost" -> "team-oost". Team ids also allow
 * hyphens (wijklog-shared's team rule), the form accounts have held them in.
 */
export function teamSlug(label: string): string {
  return label
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}
