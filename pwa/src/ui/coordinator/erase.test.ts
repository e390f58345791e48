// The erasure dialog's logic: which choices an item still offers, the reason
// that is sent, and what the answer to POST /api/v1/items/{doc}/{id}/erase
// means. The calls go through the app's real REST client (net/api.ts) with a
// recorded fetch in place of the network.

import { afterEach, describe, expect, it } from 'vitest';
import { Api, ApiError } from '../../net/api';
import { setLang, t } from '../../i18n';
import { basisOf, eraseChoices, failureOf, MAX_REASON_CHARS, reasonOf, requestErase } from './erase';

afterEach(() => setLang('nl'));

const DOC = '0b6b3c1e-7a43-4d38-9c55-2f0e9f1c0a11';
const ITEM = '5d1f7f0c-2c7e-4f7e-8a5b-6a1e0c3b9d22';
const ERASURE = { at: 1_765_108_800_000, by: 'coord-cor', basis: 'verzoek' };

/** An Api whose fetch answers `answer` and records every request. */
function recorded(answer: () => Response | Promise<Response>) {
  const calls: { url: string; method: string; body: unknown; auth: string | null }[] = [];
  const api = new Api(
    async () => 'tok',
    async (input, init) => {
      const headers = new Headers(init?.headers);
      calls.push({ url: String(input), method: init?.method ?? 'GET', body: init?.body ? JSON.parse(String(init.body)) : undefined, auth: headers.get('authorization') });
      return answer();
    },
  );
  return { api, calls };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const ok = (what: string) => json(200, { doc: DOC, item: ITEM, what, erased_at: ERASURE.at, epoch: 1, photos_removed: 2 });

describe('eraseChoices', () => {
  it('a note offers its contact details and the whole note; a walk observation only the whole observation', () => {
    expect(eraseChoices({ doc_kind: 'spreekuur' })).toEqual(['contact', 'item']);
    expect(eraseChoices({ doc_kind: 'walk' })).toEqual(['item']);
  });

  it('after the contact erasure only the whole note is left; after the item erasure nothing', () => {
    expect(eraseChoices({ doc_kind: 'spreekuur', erased: { contact: ERASURE } })).toEqual(['item']);
    expect(eraseChoices({ doc_kind: 'spreekuur', erased: { item: ERASURE } })).toEqual([]);
    expect(eraseChoices({ doc_kind: 'walk', erased: { item: ERASURE } })).toEqual([]);
  });
});

describe('reasonOf', () => {
  it('the resident\'s request is sent in Dutch whatever the screen language, with the details after a colon', () => {
    setLang('en');
    expect(reasonOf('verzoek', '')).toEqual({ ok: true, text: 'Verzoek van de bewoner' });
    expect(reasonOf('verzoek', '  brief van 3 december ')).toEqual({ ok: true, text: 'Verzoek van de bewoner: brief van 3 december' });
  });

  it('another reason needs words of its own', () => {
    expect(reasonOf('other', '   ')).toEqual({ ok: false, key: 'erase.reason.needed' });
    expect(reasonOf('other', ' Bewaartermijn handmatig ')).toEqual({ ok: true, text: 'Bewaartermijn handmatig' });
  });

  it('at most 500 characters, counted as the server counts them (not UTF-16 units)', () => {
    expect(reasonOf('other', 'é'.repeat(MAX_REASON_CHARS))).toEqual({ ok: true, text: 'é'.repeat(500) });
    expect(reasonOf('other', '😀'.repeat(500))).toMatchObject({ ok: true });
    expect(reasonOf('other', 'x'.repeat(501))).toEqual({ ok: false, key: 'erase.reason.too_long' });
    // The prefix counts too.
    expect(reasonOf('verzoek', 'x'.repeat(480))).toEqual({ ok: false, key: 'erase.reason.too_long' });
  });
});

describe('basisOf', () => {
  it('the resident\'s request is basis verzoek; another reason is basis anders', () => {
    expect(basisOf('verzoek')).toBe('verzoek');
    expect(basisOf('other')).toBe('anders');
  });
});

describe('requestErase', () => {
  it('posts what, basis and reason to the item\'s erase endpoint with the bearer token; a 200 for this item is success', async () => {
    const { api, calls } = recorded(() => ok('contact'));
    const out = await requestErase(api, DOC, ITEM, 'contact', 'verzoek', 'Verzoek van de bewoner', true);
    expect(out).toEqual({ ok: true, result: { doc: DOC, item: ITEM, what: 'contact', erased_at: ERASURE.at, epoch: 1, photos_removed: 2 } });
    expect(calls).toEqual([{ url: `/api/v1/items/${DOC}/${ITEM}/erase`, method: 'POST', body: { what: 'contact', basis: 'verzoek', reason: 'Verzoek van de bewoner' }, auth: 'Bearer tok' }]);
  });

  it('another reason is sent as basis anders with the coordinator\'s words', async () => {
    const { api, calls } = recorded(() => ok('item'));
    const out = await requestErase(api, DOC, ITEM, 'item', 'anders', 'Herleidbaar tot een bewoner', true);
    expect(out).toMatchObject({ ok: true });
    expect(calls.map((c) => c.body)).toEqual([{ what: 'item', basis: 'anders', reason: 'Herleidbaar tot een bewoner' }]);
  });

  it('offline: nothing is sent and the answer says it needs a connection', async () => {
    const { api, calls } = recorded(() => ok('item'));
    const out = await requestErase(api, DOC, ITEM, 'item', 'verzoek', 'x', false);
    expect(out).toEqual({ ok: false, key: 'erase.error.offline', code: 'offline' });
    expect(calls).toEqual([]);
    expect(t('erase.error.offline')).toMatch(/alleen met verbinding/);
  });

  it('no answer from the server is not success, and does not claim nothing was erased', async () => {
    const api = new Api(async () => 'tok', async () => {
      throw new TypeError('Failed to fetch');
    });
    const out = await requestErase(api, DOC, ITEM, 'item', 'verzoek', 'x', true);
    expect(out).toEqual({ ok: false, key: 'erase.error.network', code: 'network' });
    expect(t('erase.error.network')).toMatch(/niet zeker/);
  });

  it('any other 2xx, a body that is not JSON, or a body about another item is not a confirmation', async () => {
    for (const res of [
      () => json(202, { doc: DOC, item: ITEM, what: 'item', erased_at: 1, epoch: 1 }),
      () => new Response('<html>ok</html>', { status: 200 }),
      () => json(200, { doc: DOC, item: 'other', what: 'item', erased_at: 1, epoch: 1 }),
      () => json(200, { doc: DOC, item: ITEM, what: 'contact', erased_at: 1, epoch: 1 }),
      () => json(200, { doc: DOC, item: ITEM, what: 'item', epoch: 1 }),
    ]) {
      const out = await requestErase(recorded(res).api, DOC, ITEM, 'item', 'verzoek', 'x', true);
      expect(out).toMatchObject({ ok: false, key: 'erase.error.unknown' });
    }
  });

  it('each refusal of the server becomes its own sentence', async () => {
    const cases: [number, string, string][] = [
      [503, 'busy', 'erase.error.busy'],
      [404, 'not_found', 'erase.error.not_found'],
      [409, 'wrong_kind', 'erase.error.wrong_kind'],
      [503, 'sqlite_only', 'erase.error.sqlite_only'],
      [403, 'forbidden', 'erase.error.forbidden'],
      [400, 'invalid_parameter', 'erase.error.other'],
      [500, 'internal', 'erase.error.other'],
    ];
    for (const [status, code, key] of cases) {
      const out = await requestErase(recorded(() => json(status, { code, message: 'm' })).api, DOC, ITEM, 'item', 'verzoek', 'x', true);
      expect(out, code).toEqual({ ok: false, key, code });
    }
    // The session's own refusals (no token to be had) ask for a new login.
    expect(failureOf(new ApiError(401, 'session_ended'))).toEqual({ ok: false, key: 'erase.error.session', code: 'session_ended' });
  });
});
