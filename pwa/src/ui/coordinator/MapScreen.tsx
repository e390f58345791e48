// #/coord/map?<filters>: the filtered observations and notes that have a GPS
// location, on a Leaflet map. Points are vector circle markers in the
// category's colour, so they show even when no background tile loads (a
// banner then says the background map is unavailable). Leaflet is loaded on
// demand (its own chunk), so the field app never pays for it.
//
// Points that would cover each other (closer than MARKER_CLUSTER_PX on the
// screen) are grouped by leaflet.markercluster (docs/decisions/0024-map-clusters-markercluster-and-an-address-proxy.md) into a
// numbered circle; activating it zooms in, or, when its points stay together
// down to the closest zoom (the same spot), spreads them out around it. The
// address search above the map asks the server (GET /api/v1/geocode/search)
// and shows the chosen place; the map works the same without it.

import { useEffect, useRef, useState } from 'preact/hooks';
import type * as Leaflet from 'leaflet';
import type { MarkerClusterGroup } from 'leaflet.markercluster';
import { t, tn } from '../../i18n';
import { lookupFailure, searchAddress, type LookupFailure, type Place } from '../../net/geocode';
import { listItems, type ApiItem } from './api';
import { ApiErrorLine, colorOf, labelOf, LIVE_POLL_MS, useCatalog, useLiveRefresh } from './common';
import { FilterForm } from './FilterForm';
import { activeCount, filtersToApi, filtersToQuery } from './filters';
import { itemKey } from './live';
import { useHashFilters } from './List';
import { mapConfig } from './mapConfig';

/** At most this many points are fetched for the map (pages of 500). */
const MAX_POINTS = 5000;
/** Huizen-ish: where the map starts when nothing has a location. */
const DEFAULT_CENTER: [number, number] = [52.2995, 5.2435];
/** Points closer than this on the screen (pixels) are one cluster: a marker is 22 px across. */
const MARKER_CLUSTER_PX = 24;

export function MapScreen() {
  const filters = useHashFilters();
  const key = filtersToQuery(filters);
  const [rows, setRows] = useState<ApiItem[]>([]);
  const [truncated, setTruncated] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);

  async function load() {
    const g = ++gen.current;
    setError(null);
    const p = filtersToApi(filters, { sort: false });
    const out: ApiItem[] = [];
    let cursor: string | null = null;
    try {
      do {
        const page = await listItems(p, cursor, 500);
        if (g !== gen.current) return;
        out.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor && out.length < MAX_POINTS);
      setRows(out);
      setTruncated(!!cursor);
    } catch (e) {
      if (g === gen.current) setError(e);
    }
    if (g === gen.current) setLoading(false);
  }

  useEffect(() => {
    setLoading(true);
    void load();
  }, [key]);
  useLiveRefresh(() => void load(), 1000, 2 * LIVE_POLL_MS);

  const located = rows.filter((r) => r.location && Number.isFinite(r.location.lat) && Number.isFinite(r.location.lon));
  const [focus, setFocus] = useState<Place | null>(null);

  return (
    <section class="coord-screen">
      <h1 tabIndex={-1}>{t('coordinator.map.title')}</h1>
      <details class="filters-toggle">
        <summary>{tn('coordinator.f.active', activeCount(filters))}</summary>
        <FilterForm screen="map" filters={filters} authors={[]} teams={[]} />
      </details>
      <ApiErrorLine error={error} />
      <div class="row map-bar">
        <a class="btn small" href={`#/coord/list${key ? `?${key}` : ''}`} data-testid="to-list">
          {t('coordinator.map.as_list')}
        </a>
        <p class="hint" role="status" data-testid="map-count" data-count={located.length} data-state={loading ? 'loading' : 'ready'}>
          {loading ? t('coordinator.loading') : t('coordinator.map.count', { n: located.length, without: rows.length - located.length })}
          {truncated ? ` ${t('coordinator.map.truncated', { n: MAX_POINTS })}` : ''}
        </p>
      </div>
      <AddressSearch onChoose={setFocus} />
      <LeafletMap rows={located} focus={focus} />
      <details class="map-list">
        <summary>{t('coordinator.map.points_list')}</summary>
        <ul class="plain">
          {located.map((r) => (
            <li key={itemKey(r)}>
              <a href={`#/coord/item/${r.doc_id}/${r.item_id}`}>{r.text?.trim() || r.category}</a>
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}

/** The address search: words in, up to five places out; choosing one moves the map there. */
function AddressSearch({ onChoose }: { onChoose: (p: Place) => void }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<Place[] | null>(null);
  const [failure, setFailure] = useState<LookupFailure | null>(null);
  const [busy, setBusy] = useState(false);
  const gen = useRef(0);

  async function submit(e: Event) {
    e.preventDefault();
    const words = q.trim();
    if (words.length < 2) {
      setResults(null);
      setFailure(null);
      return;
    }
    const g = ++gen.current;
    setBusy(true);
    setFailure(null);
    try {
      const found = await searchAddress(words);
      if (g !== gen.current) return;
      setResults(found);
      if (found.length === 1) onChoose(found[0]);
    } catch (err) {
      if (g !== gen.current) return;
      setResults(null);
      setFailure(lookupFailure(err));
    } finally {
      if (g === gen.current) setBusy(false);
    }
  }

  return (
    <form class="map-search" role="search" data-testid="map-search" onSubmit={(e) => void submit(e)}>
      <label for="map-search-q">{t('coordinator.map.search.label')}</label>
      <div class="row">
        <input
          id="map-search-q"
          type="search"
          maxLength={100}
          autocomplete="off"
          value={q}
          placeholder={t('coordinator.map.search.placeholder')}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          data-testid="map-search-q"
        />
        <button type="submit" class="btn small" disabled={busy} data-testid="map-search-go">
          {t('coordinator.map.search.go')}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {failure && (
          <p class="hint" data-testid="map-search-failed" data-failure={failure}>
            {t(`coordinator.map.search.${failure}`)}
          </p>
        )}
        {results && results.length === 0 && (
          <p class="hint" data-testid="map-search-none">
            {t('coordinator.map.search.none')}
          </p>
        )}
      </div>
      {results && results.length > 0 && (
        <ul class="plain map-search-results" data-testid="map-search-results">
          {results.map((r) => (
            <li key={`${r.label}@${r.lat},${r.lon}`}>
              <button type="button" class="btn small ghost" data-testid="map-search-result" onClick={() => onChoose(r)}>
                {r.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

function LeafletMap({ rows, focus }: { rows: ApiItem[]; focus: Place | null }) {
  const catalog = useCatalog();
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<{ L: typeof Leaflet; map: Leaflet.Map; layer: MarkerClusterGroup<Leaflet.CircleMarker>; search: Leaflet.LayerGroup } | null>(null);
  const [ready, setReady] = useState(false);
  const [tilesFailed, setTilesFailed] = useState(false);
  const [loadError, setLoadError] = useState(false);

  useEffect(() => {
    let disposed = false;
    let m: Leaflet.Map | null = null;
    void (async () => {
      try {
        const [mod, cluster, cfg] = await Promise.all([
          import('leaflet'),
          import('leaflet.markercluster'),
          mapConfig(),
          import('leaflet/dist/leaflet.css'),
          import('leaflet.markercluster/dist/MarkerCluster.Default.css'),
        ]);
        if (disposed || !el.current) return;
        const L = (mod as unknown as { default?: typeof Leaflet }).default ?? (mod as unknown as typeof Leaflet);
        m = L.map(el.current, { center: DEFAULT_CENTER, zoom: 13, preferCanvas: false });
        const tiles = L.tileLayer(cfg.tileUrl, { attribution: cfg.attribution, maxZoom: cfg.maxZoom });
        tiles.on('tileerror', () => setTilesFailed(true));
        tiles.addTo(m);
        const layer = new cluster.MarkerClusterGroup<Leaflet.CircleMarker>({
          maxClusterRadius: MARKER_CLUSTER_PX,
          showCoverageOnHover: false,
          spiderfyOnMaxZoom: true,
          zoomToBoundsOnClick: true,
          clusterLabel: (c) => t('coordinator.map.cluster', { n: c.getChildCount() }),
        });
        // Its declarations extend Leaflet 2's layer types, not @types/leaflet 1.9's.
        m.addLayer(layer as unknown as Leaflet.Layer);
        // Which cluster is spread out, for the eye of tests (and nothing else).
        const events = layer as unknown as Leaflet.Evented;
        const box = el.current;
        events.on('spiderfied', (e) => box.setAttribute('data-spread', String((e as unknown as { markers: unknown[] }).markers.length)));
        events.on('unspiderfied', () => box.removeAttribute('data-spread'));
        const search = L.layerGroup().addTo(m);
        map.current = { L, map: m, layer, search };
        setReady(true);
      } catch {
        if (!disposed) setLoadError(true);
      }
    })();
    return () => {
      disposed = true;
      m?.remove();
      map.current = null;
    };
  }, []);

  // Redraw only when the points or the category colours change (not on every app event).
  const colors = (catalog?.categories ?? []).map((c) => `${c.id}=${c.color}`).join(',');
  const pointsKey = rows.map((r) => `${itemKey(r)}@${r.location?.lat},${r.location?.lon},${r.category}`).join(';');
  useEffect(() => {
    const cur = map.current;
    if (!cur) return;
    const { L, map: m, layer } = cur;
    layer.clearLayers();
    const pts: [number, number][] = [];
    const markers: Leaflet.CircleMarker[] = [];
    for (const r of rows) {
      if (!r.location) continue;
      const ll: [number, number] = [r.location.lat, r.location.lon];
      pts.push(ll);
      const color = colorOf(catalog, r.category);
      const marker = L.circleMarker(ll, { radius: 9, color: '#111111', weight: 2, fillColor: color, fillOpacity: 0.9, className: 'coord-marker' });
      const popup = document.createElement('div');
      const title = document.createElement('strong');
      title.textContent = labelOf(catalog?.categories, r.category);
      const text = document.createElement('p');
      text.textContent = r.text ?? '';
      const link = document.createElement('a');
      link.href = `#/coord/item/${r.doc_id}/${r.item_id}`;
      link.textContent = t('coordinator.map.open');
      popup.append(title, text, link);
      marker.bindPopup(popup);
      // A clustered marker has no element until its cluster opens; each time
      // it is drawn it gets a new one, marked again here.
      marker.on('add', () => {
        const path = marker.getElement();
        if (path) {
          path.setAttribute('data-category', r.category ?? '');
          path.setAttribute('data-key', itemKey(r));
        }
      });
      markers.push(marker);
    }
    layer.addLayers(markers);
    m.invalidateSize();
    if (pts.length === 1) m.setView(pts[0], 16, { animate: false });
    else if (pts.length > 1) m.fitBounds(L.latLngBounds(pts), { padding: [30, 30], maxZoom: 17, animate: false });
  }, [pointsKey, ready, colors]);

  // The chosen search result: a ring at the place, the map moved there.
  useEffect(() => {
    const cur = map.current;
    if (!cur) return;
    cur.search.clearLayers();
    if (!focus || focus.lat === null || focus.lon === null) return;
    const ll: [number, number] = [focus.lat, focus.lon];
    const ring = cur.L.circleMarker(ll, { radius: 14, color: '#0b3d91', weight: 4, fill: false, className: 'search-marker', interactive: false });
    ring.addTo(cur.search);
    ring.getElement()?.setAttribute('data-testid', 'search-marker');
    cur.map.setView(ll, Math.max(cur.map.getZoom(), 17), { animate: false });
  }, [focus, ready]);

  return (
    <div>
      {tilesFailed && (
        <p class="banner warn" role="status" data-testid="tiles-failed">
          {t('coordinator.map.tiles_failed')}
        </p>
      )}
      {loadError && <p class="error-text">{t('coordinator.map.load_error')}</p>}
      <div ref={el} class="coord-map" data-testid="coord-map" role="region" aria-label={t('coordinator.map.title')} />
    </div>
  );
}
