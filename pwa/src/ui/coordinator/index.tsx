// The coordinator area (issue 5): overview, filtered list, map, item detail,
// follow-up, feedback work list, walk report, planning. Routes are #/coord/...
import { t } from '../../i18n';
import { Planning } from './Planning';
import { WalkReport } from './Report';

export function CoordinatorArea({ path }: { path: string[] }) {
  if (path[0] === 'plan') return <Planning />;
  if (path[0] === 'report' && path[1]) return <WalkReport id={path[1]} />;
  return (
    <section>
      <h1 tabIndex={-1}>{t('coordinator.title')}</h1>
    </section>
  );
}
