// Planning walks and spreekuur sessions ahead (issue 5). Route: #/coord/plan
import { t } from '../../i18n';

export function Planning() {
  return (
    <section>
      <h1 tabIndex={-1}>{t('coordinator.plan.title')}</h1>
    </section>
  );
}
