// The coordinator area: overview, filtered list, map, item detail,
// follow-up, feedback work list, walk report, planning. Routes are #/coord/...
//   #/coord, #/coord/overview?from=&to=   counts per wijk/category/severity with trend
//   #/coord/list?<filters>                the filtered, searchable, paged list + export
//   #/coord/map?<filters>                 the same filters on a Leaflet map
//   #/coord/item/<doc>/<item>             one item: context, history, follow-up, feedback
//   #/coord/feedback                      feedback work list (oldest first)
//   #/coord/plan, #/coord/report/<walk>   planning and the walk report (Planning.tsx, Report.tsx)
//   #/coord/berichten, #/coord/bericht/<id> the wijkberichten for residents (Wijkbericht.tsx)
//   #/coord/points                        residents' points: agenda, merge, answer, decline (Points.tsx)
// Every screen shows the area navigation and announces urgent items that arrive.
import { useEffect, useRef } from 'preact/hooks';
import { t, type MsgKey } from '../../i18n';
import { useApp } from '../hooks';
import { Planning } from './Planning';
import { WalkReport } from './Report';
import { OverviewScreen } from './Overview';
import { ListScreen } from './List';
import { MapScreen } from './MapScreen';
import { DetailScreen } from './Detail';
import { FeedbackScreen } from './Feedback';
import { UrgentAnnouncer } from './Urgent';
import { WijkberichtenScreen, WijkberichtScreen } from './Wijkbericht';
import { PointsScreen } from './Points';
import './coordinator.css';

const NAV: { id: string; href: string; key: MsgKey }[] = [
  { id: 'overview', href: '#/coord/overview', key: 'coordinator.nav.overview' },
  { id: 'list', href: '#/coord/list', key: 'coordinator.nav.list' },
  { id: 'map', href: '#/coord/map', key: 'coordinator.nav.map' },
  { id: 'feedback', href: '#/coord/feedback', key: 'coordinator.nav.feedback' },
  { id: 'plan', href: '#/coord/plan', key: 'coordinator.nav.plan' },
  { id: 'berichten', href: '#/coord/berichten', key: 'wijkbericht.nav' },
  { id: 'points', href: '#/coord/points', key: 'coordinator.nav.points' },
];

export function CoordinatorArea({ path }: { path: string[] }) {
  const app = useApp();
  const clean = path.map((p) => p.split('?')[0]);
  const sub = clean[0] || 'overview';
  const ref = useRef<HTMLDivElement>(null);
  const screenKey = clean.join('/');
  useEffect(() => {
    // A new coordinator screen: start at the top and move focus to its heading (Root does this only between areas).
    window.scrollTo(0, 0);
    ref.current?.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }, [screenKey]);

  if (!app.user?.roles.includes('coordinator')) {
    return (
      <section>
        <h1 tabIndex={-1}>{t('coordinator.title')}</h1>
        <p data-testid="coord-forbidden">{t('coordinator.forbidden')}</p>
      </section>
    );
  }

  let screen;
  if (sub === 'plan') screen = <Planning />;
  else if (sub === 'report' && clean[1]) screen = <WalkReport id={clean[1]} />;
  else if (sub === 'list') screen = <ListScreen />;
  else if (sub === 'map') screen = <MapScreen />;
  else if (sub === 'item' && clean[1] && clean[2]) screen = <DetailScreen docId={clean[1]} itemId={clean[2]} />;
  else if (sub === 'feedback') screen = <FeedbackScreen />;
  else if (sub === 'berichten') screen = <WijkberichtenScreen />;
  else if (sub === 'bericht' && clean[1]) screen = <WijkberichtScreen id={clean[1]} />;
  else if (sub === 'points') screen = <PointsScreen />;
  else screen = <OverviewScreen />;
  const active = sub === 'item' ? 'list' : sub === 'report' ? '' : sub === 'bericht' ? 'berichten' : sub;

  return (
    <div class="coord" ref={ref}>
      <nav class="coord-nav no-print" aria-label={t('coordinator.nav')}>
        <ul>
          {NAV.map((n) => (
            <li key={n.id}>
              <a href={n.href} aria-current={active === n.id ? 'page' : undefined} data-testid={`coord-nav-${n.id}`}>
                {t(n.key)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="no-print">
        <UrgentAnnouncer />
      </div>
      {screen}
    </div>
  );
}
