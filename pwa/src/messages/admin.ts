// Strings of the admin part of the app (Dutch first, English beside it).
// Merged into the one table in ../i18n.ts; keys are prefixed 'admin.' by convention.

export const nl = {
  'admin.nav': 'Beheer',
  'admin.title': 'Beheer',
} as const;

export const en: Record<keyof typeof nl, string> = {
  'admin.nav': 'Admin',
  'admin.title': 'Administration',
};
