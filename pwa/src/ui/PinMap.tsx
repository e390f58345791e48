// A small map in the observation form with a pin the boa drags to where the
// observation really is (docs/pwa.md, "Addresses"). Leaflet is loaded on
// demand, only when the map is opened; the form never waits for it: saving
// works with the map closed, still loading or failed. Offline the tiles the
// browser has seen before show, and otherwise only the pin on an empty
// background; the pin's coordinates are always written under the map.

import { useEffect, useRef, useState } from 'preact/hooks';
import type * as Leaflet from 'leaflet';
import { t } from '../i18n';
import { mapConfig } from './coordinator/mapConfig';

export interface Pin {
  lat: number;
  lon: number;
}

export function PinMap({ start, onMove }: { start: Pin; onMove: (p: Pin) => void }) {
  const el = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const [tilesFailed, setTilesFailed] = useState(false);
  const [at, setAt] = useState<Pin>(start);
  const move = useRef(onMove);
  move.current = onMove;

  useEffect(() => {
    let disposed = false;
    let m: Leaflet.Map | null = null;
    void (async () => {
      try {
        const [mod, cfg] = await Promise.all([import('leaflet'), mapConfig(), import('leaflet/dist/leaflet.css')]);
        if (disposed || !el.current) return;
        const L = (mod as unknown as { default?: typeof Leaflet }).default ?? (mod as unknown as typeof Leaflet);
        m = L.map(el.current, { center: [start.lat, start.lon], zoom: 18, zoomControl: true, attributionControl: true });
        const tiles = L.tileLayer(cfg.tileUrl, { attribution: cfg.attribution, maxZoom: cfg.maxZoom });
        tiles.on('tileerror', () => setTilesFailed(true));
        tiles.addTo(m);
        const pin = L.marker([start.lat, start.lon], {
          draggable: true,
          autoPan: true,
          title: t('entry.map.pin'),
          alt: t('entry.map.pin'),
          // Leaflet places the icon with an inline transform; the drop's own turn is on its child.
          icon: L.divIcon({ className: 'pin-icon', html: '<span class="pin-drop"></span>', iconSize: [28, 28], iconAnchor: [14, 28] }),
        }).addTo(m);
        const put = (ll: Leaflet.LatLng) => {
          const p = { lat: ll.lat, lon: ll.lng };
          setAt(p);
          move.current(p);
        };
        pin.on('dragend', () => put(pin.getLatLng()));
        // A tap on the map puts the pin there (easier than dragging with a thumb).
        m.on('click', (e: Leaflet.LeafletMouseEvent) => {
          pin.setLatLng(e.latlng);
          put(e.latlng);
        });
      } catch {
        if (!disposed) setFailed(true);
      }
    })();
    return () => {
      disposed = true;
      m?.remove();
    };
  }, []);

  return (
    <div class="pin-map">
      {failed ? (
        <p class="error-text">{t('entry.map.load_error')}</p>
      ) : (
        <div ref={el} class="pin-map-view" data-testid="pin-map" role="region" aria-label={t('entry.map.label')} />
      )}
      {tilesFailed && !failed && <p class="hint">{t('entry.map.no_tiles')}</p>}
      <p class="hint" data-testid="pin-coords" data-lat={at.lat} data-lon={at.lon}>
        {t('entry.map.coords', { lat: at.lat.toFixed(5), lon: at.lon.toFixed(5) })}
      </p>
    </div>
  );
}
