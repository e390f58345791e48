// Strings of the overview's charts (ui/coordinator/Charts.tsx). Merged into
// the one table in ../i18n.ts; keys are prefixed 'chart.'.

export const nl = {
  'chart.title': 'Grafieken',
  'chart.current': 'Deze periode',
  'chart.previous': 'Vorige periode',
  'chart.empty': 'Niets in deze periode.',
  'chart.row': '{label}: {n}, vorige periode {prev}',
  'chart.by_category': 'Per categorie, deze en vorige periode',
  'chart.by_wijk': 'Problemen per wijk, deze en vorige periode',
  'chart.problems_time': 'Problemen over tijd',
  'chart.positive_time': 'Positieve signalen over tijd',
  'chart.step_days.one': 'per dag',
  'chart.step_days.other': 'per {n} dagen',
  'chart.series_desc': 'Aantal {step}. Samen {n} in deze periode, {prev} in de vorige. Het hoogste aantal was {peak}, vanaf {day}.',
  'chart.legend_lines': 'doorgetrokken lijn met rondjes: deze periode; streepjeslijn met vierkantjes: vorige periode',
  'chart.as_table': 'Als tabel',
  'chart.col.from': 'Vanaf',
  'chart.over_time': 'Over tijd',
  'chart.all_wijken': 'Alle wijken',
  'chart.all_categories': 'Alle categorieën',
};

export const en: Record<keyof typeof nl, string> = {
  'chart.title': 'Charts',
  'chart.current': 'This period',
  'chart.previous': 'Previous period',
  'chart.empty': 'Nothing in this period.',
  'chart.row': '{label}: {n}, previous period {prev}',
  'chart.by_category': 'Per category, this and the previous period',
  'chart.by_wijk': 'Problems per neighbourhood, this and the previous period',
  'chart.problems_time': 'Problems over time',
  'chart.positive_time': 'Positive signals over time',
  'chart.step_days.one': 'per day',
  'chart.step_days.other': 'per {n} days',
  'chart.series_desc': 'Count {step}. {n} in all in this period, {prev} in the previous one. The highest count was {peak}, from {day}.',
  'chart.legend_lines': 'solid line with dots: this period; dashed line with squares: previous period',
  'chart.as_table': 'As a table',
  'chart.col.from': 'From',
  'chart.over_time': 'Over time',
  'chart.all_wijken': 'All neighbourhoods',
  'chart.all_categories': 'All categories',
};
