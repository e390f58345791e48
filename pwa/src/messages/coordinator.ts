// Strings of the coordinator part of the app (Dutch first, English beside it).
// Merged into the one table in ../i18n.ts; keys are prefixed 'coordinator.' by convention.

export const nl = {
  'coordinator.nav': 'Coördinatie',
  'coordinator.title': 'Coördinatie',
  'coordinator.plan.title': 'Planning',
  'coordinator.report.title': 'Verslag van de wandeling',
} as const;

export const en: Record<keyof typeof nl, string> = {
  'coordinator.nav': 'Coordination',
  'coordinator.title': 'Coordination',
  'coordinator.plan.title': 'Planning',
  'coordinator.report.title': 'Walk report',
};
