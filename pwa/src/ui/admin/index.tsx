// The admin area: accounts, devices, catalog, audit log. Routes:
//   #/admin                 accounts (list + new account)
//   #/admin/user/<id>       one account: details, roles, team, password, access, devices
//   #/admin/catalog         categories, partners, wijken (edited through the catalog document)
//   #/admin/audit           the audit log (read-only, filterable, paged)
//   #/admin/mail            the feedback e-mail templates
// Everything here is also enforced by the server (admin role only).
import './admin.css';
import { t } from '../../i18n';
import { useApp } from '../hooks';
import { Accounts } from './Accounts';
import { AccountDetail } from './AccountDetail';
import { CatalogAdmin } from './CatalogAdmin';
import { AuditLog } from './AuditLog';
import { MailTemplates } from './MailTemplates';

type Tab = 'accounts' | 'catalog' | 'audit' | 'mail';

export function AdminArea({ path }: { path: string[] }) {
  const app = useApp();
  if (!app.user?.roles.includes('admin')) {
    return (
      <section class="screen">
        <h1 tabIndex={-1}>{t('admin.title')}</h1>
        <p class="error-text" role="alert" data-testid="admin-forbidden">
          {t('admin.forbidden')}
        </p>
      </section>
    );
  }
  const tab: Tab = path[0] === 'catalog' ? 'catalog' : path[0] === 'audit' ? 'audit' : path[0] === 'mail' ? 'mail' : 'accounts';
  let body;
  if (path[0] === 'user' && path[1]) body = <AccountDetail id={path[1]} />;
  else if (tab === 'catalog') body = <CatalogAdmin />;
  else if (tab === 'audit') body = <AuditLog />;
  else if (tab === 'mail') body = <MailTemplates />;
  else body = <Accounts />;
  return (
    <div class="admin">
      <nav class="admin-tabs" aria-label={t('admin.tabs')}>
        <TabLink tab="accounts" current={tab} href="#/admin" />
        <TabLink tab="catalog" current={tab} href="#/admin/catalog" />
        <TabLink tab="audit" current={tab} href="#/admin/audit" />
        <TabLink tab="mail" current={tab} href="#/admin/mail" />
      </nav>
      {body}
    </div>
  );
}

function TabLink({ tab, current, href }: { tab: Tab; current: Tab; href: string }) {
  return (
    <a class="btn small" href={href} aria-current={tab === current ? 'page' : undefined} data-testid={`admin-tab-${tab}`}>
      {tab === 'mail' ? t('mail.admin.tab') : t(`admin.tab.${tab}`)}
    </a>
  );
}
