// The address lookups of the server (docs/api.md, "Addresses"): the nearest
// address of a position and the address search. The server asks the address
// service (PDOK's Locatieserver by default) on the app's behalf; when it is
// switched off or does not answer, callers go on with coordinates.

import { app } from '../app';
import { ApiError } from './api';

/** A place the address service knows. */
export interface Place {
  /** How people write it: "Stationsplein 1, 3818LE Amersfoort". */
  label: string;
  /** The service's kind: adres, weg, postcode, woonplaats, ... */
  type: string;
  lat: number | null;
  lon: number | null;
  /** Metres from the asked position (reverse only). */
  distance_m?: number;
}

/** Why a lookup has no answer, in the words the screens use. */
export type LookupFailure = 'off' | 'unavailable' | 'busy' | 'network';

/** The failure kind of an error thrown by a lookup. */
export function lookupFailure(e: unknown): LookupFailure {
  if (!(e instanceof ApiError)) return 'unavailable';
  if (e.code === 'network') return 'network';
  if (e.code === 'geocoding_off') return 'off';
  if (e.code === 'busy' || e.code === 'geocoding_rate_limited') return 'busy';
  return 'unavailable';
}

/** Up to 5 places matching the words (trimmed, 2 to 100 characters). */
export async function searchAddress(q: string): Promise<Place[]> {
  const p = new URLSearchParams({ q: q.trim() });
  const body = await app.api.json<{ results: Place[] }>('GET', `/api/v1/geocode/search?${p}`);
  return body.results.filter((r) => Number.isFinite(r.lat) && Number.isFinite(r.lon));
}

/** The nearest address of a position, or null when none is near. */
export async function reverseAddress(lat: number, lon: number): Promise<Place | null> {
  const p = new URLSearchParams({ lat: lat.toFixed(6), lon: lon.toFixed(6) });
  const body = await app.api.json<{ address: Place | null }>('GET', `/api/v1/geocode/reverse?${p}`);
  return body.address;
}
