// Strings of the photos part of the app (Dutch first, English beside it).
// Merged into the one table in ../i18n.ts; keys are prefixed 'photos.' by convention.

export const nl = {
} as const;

export const en: Record<keyof typeof nl, string> = {
};
