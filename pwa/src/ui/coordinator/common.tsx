// Small pieces the coordinator screens share: catalog labels, date
// formatting, the document-change hook that drives live updates, and the
// error line for failed API calls.

import { useEffect, useRef, useState } from 'preact/hooks';
import { app } from '../../app';
import { lang, t } from '../../i18n';
import type { CatalogInfo, Row } from '../../model/doc';
import { ApiError, getPeople, type Person } from './api';
import { formatDay, formatWhen, type DateContext } from '../../dates';

let catalogCache: { heads: string; info: CatalogInfo } | null = null;

/** The catalog (categories, severities, partners, wijken, teams), read again only when it or the language changed. */
export function useCatalog(): CatalogInfo | null {
  const c = app.catalog();
  if (!c) return null;
  try {
    const heads = `${lang()}:${c.heads().join(',')}`;
    if (catalogCache?.heads !== heads) catalogCache = { heads, info: c.catalog() };
    return catalogCache.info;
  } catch {
    return null;
  }
}

export function labelOf(list: { id: string; label: string }[] | undefined, id: string | null | undefined): string {
  if (!id) return '–';
  return list?.find((x) => x.id === id)?.label ?? id;
}

export function colorOf(catalog: CatalogInfo | null, category: string | null | undefined): string {
  return catalog?.categories.find((c) => c.id === category)?.color ?? '#555555';
}

/** A moment in the one format of its context (src/dates.ts). */
export function fmtDateTime(ms: number | null | undefined, ctx: DateContext): string {
  return formatWhen(ms, ctx);
}

/** A day in the one format of its context (src/dates.ts). */
export function fmtDate(ms: number | null | undefined, ctx: DateContext): string {
  return formatDay(ms, ctx);
}

const rowsCache = new Map<string, { heads: string; rows: Row[] }>();

/**
 * The projection rows of a local document, re-projected (wasm `project()`,
 * 10-45 ms for a typical walk) only when its heads changed; [] when the
 * document is not on this device or cannot be read.
 */
export function rowsOf(docId: string): Row[] {
  const doc = app.docs.get(docId);
  if (!doc) return [];
  try {
    const heads = doc.heads().join(',');
    const hit = rowsCache.get(docId);
    if (hit && hit.heads === heads) return hit.rows;
    const rows = doc.rows();
    rowsCache.set(docId, { heads, rows });
    return rows;
  } catch {
    return [];
  }
}

/** One item of a local document, or null. */
export function localRow(docId: string, itemId: string): Row | null {
  return rowsOf(docId).find((r) => r.item_id === itemId) ?? null;
}

/** A signature of every walk/spreekuur document's heads (changes when any of them changes). */
export function docsSignature(only?: string): string {
  const parts: string[] = [];
  for (const [id, d] of app.docs) {
    if (only && id !== only) continue;
    if (!only && app.kindOf(id) === 'catalog') continue;
    try {
      parts.push(id + ':' + d.heads().join(','));
    } catch {
      // an unreadable document does not change the signature
    }
  }
  return parts.sort().join(';');
}

/**
 * Call `onChange` (debounced) whenever a synced walk or spreekuur document
 * changes, locally or from the server (the sync client applies the server's
 * live pushes and the app emits). `only` limits it to one document.
 */
export function useDocChanges(onChange: () => void, only?: string, debounceMs = 250): void {
  const cb = useRef(onChange);
  cb.current = onChange;
  useEffect(() => {
    let last = docsSignature(only);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unsub = app.listen(() => {
      const sig = docsSignature(only);
      if (sig === last) return;
      last = sig;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => cb.current(), debounceMs);
    });
    return () => {
      unsub();
      if (timer) clearTimeout(timer);
    };
  }, [only, debounceMs]);
}

/**
 * How often a coordinator screen reads the server again while the tab is
 * visible, when no `lists_changed` came: a fallback for a push lost with a
 * connection (a new connection also counts as a change).
 */
export const LIVE_POLL_MS = 120_000;

/**
 * Keep a screen that reads the server up to date: `onChange` runs
 * (debounced) when the server says the lists changed (`lists_changed` on
 * the sync socket, docs/sync-protocol.md §6: walks or sessions changed on
 * other devices; at most one a second), when a document on this device
 * changes (this device's edits, and the server's pushes of the few
 * documents it holds), when the tab becomes visible again, and every
 * `pollMs` while it is visible (the fallback).
 */
export function useLiveRefresh(onChange: () => void, debounceMs = 250, pollMs = LIVE_POLL_MS): void {
  useDocChanges(onChange, undefined, debounceMs);
  useListsChanged(onChange, debounceMs);
  const cb = useRef(onChange);
  cb.current = onChange;
  useEffect(() => {
    const visible = () => document.visibilityState === 'visible';
    const timer = setInterval(() => {
      if (visible()) cb.current();
    }, pollMs);
    const onVisible = () => {
      if (visible()) cb.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [pollMs]);
}

/**
 * Call `onChange` (debounced) when the server says the lists changed
 * (`lists_changed` on the sync socket: walks or sessions changed on other
 * devices) and when the sync connection comes (back): what was read over
 * REST may be stale then (`app.listsVersion`).
 */
export function useListsChanged(onChange: () => void, debounceMs = 250): void {
  const cb = useRef(onChange);
  cb.current = onChange;
  useEffect(() => {
    let seen = app.listsVersion;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unsub = app.listen(() => {
      if (app.listsVersion === seen) return;
      seen = app.listsVersion;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => cb.current(), debounceMs);
    });
    return () => {
      unsub();
      if (timer) clearTimeout(timer);
    };
  }, [debounceMs]);
}

export function ApiErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'internal';
  return (
    <p class="error-text" role="alert" data-testid="api-error">
      {code === 'network' ? t('coordinator.error.network') : t('coordinator.error.api', { code })}
    </p>
  );
}

let peopleCache: Promise<Person[]> | null = null;

/**
 * Every account's display name and team (GET /api/v1/people), fetched once
 * per page load; an empty list until it arrives or when it cannot be read
 * (then ids are shown instead of names).
 */
export function usePeople(): Person[] {
  const [people, setPeople] = useState<Person[]>([]);
  useEffect(() => {
    peopleCache ??= getPeople()
      .then((r) => r.people)
      .catch(() => {
        peopleCache = null;
        return [];
      });
    let live = true;
    void peopleCache.then((p) => {
      if (live) setPeople(p);
    });
    return () => {
      live = false;
    };
  }, []);
  return people;
}

export function personName(people: Person[], id: string | null | undefined): string {
  if (!id) return '–';
  return people.find((p) => p.id === id)?.name || id;
}
