// #/coord/map?<filters>: the filtered observations and notes that have a GPS
// location, on a Leaflet map. Points are vector circle markers in the
// category's colour, so they show even when no background tile loads (a
// banner then says the background map is unavailable). Leaflet is loaded on
// demand (its own chunk), so the field app never pays for it.

import { useEffect, useRef, useState } from 'preact/hooks';
import type * as Leaflet from 'leaflet';
import { t, tn } from '../../i18n';
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
      <LeafletMap rows={located} />
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

function LeafletMap({ rows }: { rows: ApiItem[] }) {
  const catalog = useCatalog();
  const el = useRef<HTMLDivElement>(null);
  const map = useRef<{ L: typeof Leaflet; map: Leaflet.Map; layer: Leaflet.LayerGroup } | null>(null);
  const [ready, setReady] = useState(false);
  const [tilesFailed, setTilesFailed] = useState(false);
  const [loadError, setLoadError] = useState(false);

  useEffect(() => {
    let disposed = false;
    let m: Leaflet.Map | null = null;
    void (async () => {
      try {
        const [mod, cfg] = await Promise.all([import('leaflet'), mapConfig(), import('leaflet/dist/leaflet.css')]);
        if (disposed || !el.current) return;
        const L = (mod as unknown as { default?: typeof Leaflet }).default ?? (mod as unknown as typeof Leaflet);
        m = L.map(el.current, { center: DEFAULT_CENTER, zoom: 13, preferCanvas: false });
        const tiles = L.tileLayer(cfg.tileUrl, { attribution: cfg.attribution, maxZoom: cfg.maxZoom });
        tiles.on('tileerror', () => setTilesFailed(true));
        tiles.addTo(m);
        const layer = L.layerGroup().addTo(m);
        map.current = { L, map: m, layer };
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
      marker.addTo(layer);
      const path = marker.getElement();
      if (path) {
        path.setAttribute('data-category', r.category ?? '');
        path.setAttribute('data-key', itemKey(r));
      }
    }
    m.invalidateSize();
    if (pts.length === 1) m.setView(pts[0], 16, { animate: false });
    else if (pts.length > 1) m.fitBounds(L.latLngBounds(pts), { padding: [30, 30], maxZoom: 17, animate: false });
  }, [pointsKey, ready, colors]);

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
