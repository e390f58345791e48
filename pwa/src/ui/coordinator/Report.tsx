// The printable walk report (issue 5). Route: #/coord/report/<walk id>
import { t } from '../../i18n';

export function WalkReport(_props: { id: string }) {
  return (
    <section>
      <h1 tabIndex={-1}>{t('coordinator.report.title')}</h1>
    </section>
  );
}
