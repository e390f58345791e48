// The admin area (issue 5): accounts, devices, catalog, audit log. Routes are #/admin/...
import { t } from '../../i18n';

export function AdminArea(_props: { path: string[] }) {
  return (
    <section>
      <h1 tabIndex={-1}>{t('admin.title')}</h1>
    </section>
  );
}
