// The coordinator area (issue 5): overview, filtered list, map, item detail,
// follow-up, feedback work list, walk report, planning. Routes are #/coord/...
import { t } from '../../i18n';

export function CoordinatorArea(_props: { path: string[] }) {
  return (
    <section>
      <h1 tabIndex={-1}>{t('coordinator.title')}</h1>
    </section>
  );
}
