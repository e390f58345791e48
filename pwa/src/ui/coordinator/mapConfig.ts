// Where the coordinator map's background tiles come from. In order:
// 1. the server's client configuration (GET /api/v1/client-config,
//    `{"map":{"tile_url","attribution","max_zoom"}}`) when the server offers it;
// 2. the build-time setting VITE_MAP_TILE_URL (and VITE_MAP_ATTRIBUTION);
// 3. the default: PDOK's BRT-Achtergrondkaart (the Dutch national base map),
//    WMTS in EPSG:3857 (Web Mercator), which Leaflet uses by default.
// The points never depend on the tiles: they are vector circle markers.

export interface MapConfig {
  tileUrl: string;
  attribution: string;
  maxZoom: number;
}

export const PDOK_BRT = 'https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png';

export function buildTimeConfig(): MapConfig {
  const env = import.meta.env as Record<string, string | undefined>;
  return {
    tileUrl: env.VITE_MAP_TILE_URL || PDOK_BRT,
    attribution: env.VITE_MAP_ATTRIBUTION || 'Kaartgegevens &copy; <a href="https://www.kadaster.nl">Kadaster</a>',
    maxZoom: 19,
  };
}

let cached: Promise<MapConfig> | null = null;

export function mapConfig(): Promise<MapConfig> {
  cached ??= (async () => {
    const base = buildTimeConfig();
    try {
      const res = await fetch('/api/v1/client-config', { cache: 'no-store' });
      if (!res.ok) return base;
      const body = (await res.json()) as { map?: { tile_url?: unknown; attribution?: unknown; max_zoom?: unknown } };
      const m = body.map ?? {};
      return {
        tileUrl: typeof m.tile_url === 'string' && m.tile_url ? m.tile_url : base.tileUrl,
        attribution: typeof m.attribution === 'string' ? m.attribution : base.attribution,
        maxZoom: typeof m.max_zoom === 'number' && m.max_zoom > 0 ? m.max_zoom : base.maxZoom,
      };
    } catch {
      return base;
    }
  })();
  return cached;
}
