// The coordinators' erasure screen. A spreekuur worker notes a resident's
// name and phone number with her story; the phone syncs and then loses its
// network. On the laptop a coordinator opens the note, chooses "Gegevens
// wissen": first without a connection (the dialog says erasing needs one and
// nothing is erased), then online, for the contact details on the
// resident's request. The dialog says they are erased only after the
// server's 200; the note shows "Contactgegevens gewist op … (verzoek)" in
// place of the contact, in the detail and the list, while its story stays;
// the audit log has the reason and not the values. The phone, back online,
// shows the same line, and its store (decrypted as the app reads it) and the
// full history of its copy hold neither the name nor the number, where a
// positive control found both before. A whole walk observation erased the
// for another reason (basis "anders", in the coordinator's words) shows
// "Gegevens gewist op … (andere reden)" in the detail, the list, the walk
// report and on the phone (without edit or delete), the audit entry has that
// basis and reason, and its text is on none of them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Proxy, launchBrowser, newPhone, openApp, login, waitAllSent, restLogin, createWalk, addObservation } from './helpers.mjs';
import { deviceCopy, historyOf } from './device-copy.mjs';

/** @type {Server} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;

const NAME = 'Markeernaam Wqzv';
const PHONE = '06 7364 9182';
const TEXT = 'Bewoner Ljkh vertelt over lekkage bij de buren';
const MARKERS = [NAME, PHONE];
/** @param {string} text */
const markersIn = (text) => MARKERS.filter((m) => text.includes(m));

before(async () => {
  server = await Server.start();
  await server.addUser('oov-sara', { roles: ['spreekuur'], team: 'team-oost', name: 'Sara' });
  await server.addUser('coord-cor', { roles: ['coordinator'], team: 'team-oost', name: 'Cor' });
  await server.addUser('admin-ad', { roles: ['admin'], team: null, name: 'Ad' });
  await server.addUser('boa-bas', { roles: ['boa'], team: 'team-oost', name: 'Bas' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('a coordinator erases a resident\'s contact details on the screen; the laptop and a phone that syncs afterwards show the notice and keep no value', async () => {
  const proxy = await Proxy.start(server.port);
  const phoneCtx = await newPhone(browser, { origin: proxy.origin });
  const laptopCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  try {
    // The phone: a note with the resident's contact, sent.
    const phone = await phoneCtx.newPage();
    await openApp(phone, proxy.origin);
    await login(phone, 'oov-sara');
    await phone.getByRole('link', { name: 'Nieuw spreekuur' }).click();
    await phone.getByLabel('Locatie (buurthuis)').fill('Buurthuis de Schakel');
    await phone.getByLabel('Wijk').selectOption({ index: 1 });
    await phone.getByRole('button', { name: 'Aanmaken' }).click();
    await phone.getByRole('heading', { name: /Buurthuis de Schakel/ }).waitFor();
    const docId = phone.url().split('/session/')[1];
    await phone.locator('form.card-form [data-category="woonoverlast"]').click();
    await phone.getByTestId('note-text').fill(TEXT);
    await phone.getByTestId('consent').check();
    await phone.getByLabel('Naam bewoner').fill(NAME);
    await phone.getByLabel('Telefoon').fill(PHONE);
    await phone.getByTestId('note-save').click();
    const note = phone.getByTestId('item').filter({ has: phone.getByTestId('item-text').filter({ hasText: TEXT }) });
    await note.getByTestId('item-contact').filter({ hasText: NAME }).waitFor();
    const itemId = /** @type {string} */ (await note.getAttribute('data-item-id'));
    await waitAllSent(phone);

    // The phone loses its network; its copy holds the contact (positive control).
    proxy.cut();
    await phoneCtx.setOffline(true);
    await phone.locator('[data-testid="conn"]:not([data-conn="online"])').waitFor({ timeout: 15_000 });
    const old = await deviceCopy(phone, docId);
    assert.deepEqual(markersIn(historyOf(old)), MARKERS, 'the phone holds the contact before the erasure');

    // The laptop: the coordinator opens the note.
    const laptop = await laptopCtx.newPage();
    await laptop.goto(`${server.origin}/`);
    await login(laptop, 'coord-cor');
    await laptop.goto(`${server.origin}/#/coord/item/${docId}/${itemId}`);
    await laptop.getByTestId('detail-resident').filter({ hasText: PHONE }).waitFor({ timeout: 30_000 });

    // Without a connection: the dialog says erasing needs one; nothing is erased.
    await laptopCtx.setOffline(true);
    await laptop.getByTestId('erase-open').click();
    const dialog = laptop.getByTestId('erase-dialog');
    await dialog.getByTestId('erase-what-contact').check();
    await dialog.getByTestId('erase-reason-verzoek').check();
    await dialog.getByTestId('erase-next').click();
    await dialog.getByTestId('erase-confirm').click();
    const offline = dialog.getByTestId('erase-error');
    await offline.waitFor();
    assert.equal(await offline.getAttribute('data-code'), 'offline');
    assert.match(await offline.textContent() ?? '', /alleen met verbinding/);
    assert.match(await offline.textContent() ?? '', /niets gewist/);
    await dialog.getByTestId('erase-close').click();
    await laptopCtx.setOffline(false);
    const admin = await restLogin(server.origin, 'admin-ad');
    const audit = async () => {
      const r = await fetch(`${server.origin}/api/v1/admin/audit?action=item.erase_contact`, { headers: { Authorization: `Bearer ${admin}` } });
      assert.equal(r.status, 200);
      return /** @type {{ entries: any[] }} */ (await r.json()).entries;
    };
    assert.deepEqual(await audit(), [], 'nothing was erased while offline');
    assert.match(await laptop.getByTestId('detail-resident').textContent() ?? '', new RegExp(PHONE));

    // Another reason needs words of its own.
    await laptop.getByTestId('erase-open').click();
    await dialog.getByTestId('erase-reason-other').check();
    await dialog.getByTestId('erase-next').click();
    await dialog.getByTestId('erase-reason-error').waitFor();
    assert.equal(await dialog.getAttribute('data-step'), 'choose');

    // Online, on the resident's request: the confirmation says what will be gone, then the call.
    await dialog.getByTestId('erase-what-contact').check();
    await dialog.getByTestId('erase-reason-verzoek').check();
    await dialog.getByTestId('erase-reason-detail').fill('telefoontje 7 december');
    await dialog.getByTestId('erase-next').click();
    assert.match(await dialog.getByTestId('erase-consequence').textContent() ?? '', /naam, het telefoonnummer en het e-mailadres/);
    const answer = laptop.waitForResponse((r) => r.url().endsWith(`/api/v1/items/${docId}/${itemId}/erase`));
    await dialog.getByTestId('erase-confirm').click();
    const res = await answer;
    assert.equal(res.status(), 200);
    await dialog.getByTestId('erase-done').waitFor();
    assert.equal(await dialog.getByTestId('erase-done').textContent(), 'De contactgegevens zijn gewist.');
    await dialog.getByTestId('erase-close').click();

    // The laptop: the notice in place of the contact; the story stays; no value on the page.
    const day = new Date((await res.json()).erased_at).toLocaleDateString('nl-NL', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Amsterdam' });
    const notice = `Contactgegevens gewist op ${day} (verzoek)`;
    await laptop.getByTestId('detail-resident').filter({ hasText: notice }).waitFor();
    assert.equal(await laptop.getByTestId('detail-text').textContent(), TEXT);
    assert.deepEqual(markersIn(await laptop.locator('body').textContent() ?? ''), []);
    // The list says so too.
    await laptop.goto(`${server.origin}/#/coord/list?kind=spreekuur`);
    const row = laptop.getByTestId('coord-row').filter({ hasText: TEXT });
    await row.getByTestId('erased').filter({ hasText: notice }).waitFor({ timeout: 30_000 });
    assert.deepEqual(markersIn(await laptop.locator('body').textContent() ?? ''), []);

    // Audited: who, which item, the reason; never the values.
    const entries = await audit();
    assert.equal(entries.length, 1);
    assert.equal(entries[0].subject, `${docId}/${itemId}`);
    assert.equal(entries[0].detail.reason, 'Verzoek van de bewoner: telefoontje 7 december');
    assert.equal(entries[0].detail.basis, 'verzoek');
    assert.deepEqual(markersIn(JSON.stringify(entries)), []);

    // The phone, back online: the same notice, and no value in its store or its copy's history.
    proxy.restore();
    await phoneCtx.setOffline(false);
    await note.getByTestId('item-contact-erased').filter({ hasText: notice }).waitFor({ timeout: 30_000 });
    assert.equal(await note.getByTestId('item-text').textContent(), TEXT);
    assert.equal(await note.getByTestId('item-contact').count(), 0);
    assert.deepEqual(markersIn(await phone.locator('body').textContent() ?? ''), []);
    const now = await deviceCopy(phone, docId);
    assert.equal(now.sync.epoch, 1, 'the phone stored the new epoch');
    assert.deepEqual(markersIn(historyOf(now)), [], 'no erased value in the phone\'s document or its history');
    assert.deepEqual(markersIn(JSON.stringify(now.sync)), []);
    assert.ok(historyOf(now).includes('lekkage'), 'the story is kept');
  } finally {
    await laptopCtx.close();
    await phoneCtx.close();
    await proxy.close();
  }
});

test('a whole walk observation erased on the screen for another reason shows the notice with that basis in the detail, the list and the walk report, and the audit entry has it', async () => {
  const OBS = 'Markeerwaarneming Hgfd bij het hek';
  const phoneCtx = await newPhone(browser, { origin: server.origin });
  const laptopCtx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam', serviceWorkers: 'block' });
  try {
    const phone = await phoneCtx.newPage();
    await openApp(phone, server.origin);
    await login(phone, 'boa-bas');
    const walkId = await createWalk(phone, 'Ronde Hgfd');
    await addObservation(phone, { text: OBS });
    await addObservation(phone, { text: 'Blijft staan Trew' });
    const obs = phone.getByTestId('item').filter({ has: phone.getByTestId('item-text').filter({ hasText: OBS }) });
    const itemId = /** @type {string} */ (await obs.getAttribute('data-item-id'));
    await waitAllSent(phone);

    const laptop = await laptopCtx.newPage();
    await laptop.goto(`${server.origin}/`);
    await login(laptop, 'coord-cor');
    await laptop.goto(`${server.origin}/#/coord/report/${walkId}`);
    await laptop.getByTestId('report-item').filter({ hasText: OBS }).waitFor({ timeout: 30_000 });
    await laptop.goto(`${server.origin}/#/coord/item/${walkId}/${itemId}`);
    await laptop.getByTestId('detail-text').filter({ hasText: OBS }).waitFor({ timeout: 30_000 });

    // A walk observation has no contact details: the whole observation is the only choice.
    await laptop.getByTestId('erase-open').click();
    const dialog = laptop.getByTestId('erase-dialog');
    assert.equal(await dialog.getByTestId('erase-what-contact').count(), 0);
    await dialog.getByTestId('erase-what-item').check();
    await dialog.getByTestId('erase-reason-other').check();
    await dialog.getByTestId('erase-reason-detail').fill('Herleidbaar tot een bewoner');
    await dialog.getByTestId('erase-next').click();
    assert.match(await dialog.getByTestId('erase-consequence').textContent() ?? '', /tekst, de plaats, de locatie, de foto/);
    const answer = laptop.waitForResponse((r) => r.url().endsWith(`/api/v1/items/${walkId}/${itemId}/erase`));
    await dialog.getByTestId('erase-confirm').click();
    const res = await answer;
    assert.equal(res.status(), 200);
    await dialog.getByTestId('erase-done').filter({ hasText: 'De gegevens zijn gewist.' }).waitFor();
    await dialog.getByTestId('erase-close').click();
    const day = new Date((await res.json()).erased_at).toLocaleDateString('nl-NL', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Amsterdam' });
    // Another reason: the notice and the audit entry say so, with the coordinator's words.
    const notice = `Gegevens gewist op ${day} (andere reden)`;
    const r = await fetch(`${server.origin}/api/v1/admin/audit?action=item.erase_item`, { headers: { Authorization: `Bearer ${await restLogin(server.origin, 'admin-ad')}` } });
    assert.equal(r.status, 200);
    const entries = /** @type {{ entries: any[] }} */ (await r.json()).entries.filter((e) => e.subject === `${walkId}/${itemId}`);
    assert.equal(entries.length, 1);
    assert.equal(entries[0].detail.basis, 'anders');
    assert.equal(entries[0].detail.reason, 'Herleidbaar tot een bewoner');

    // Nothing left to erase: the button is gone; the notice stands in place of the text.
    await laptop.getByTestId('detail-text').filter({ hasText: notice }).waitFor();
    assert.equal(await laptop.getByTestId('erase-open').count(), 0);
    assert.doesNotMatch(await laptop.locator('body').textContent() ?? '', /Hgfd bij/);

    await laptop.goto(`${server.origin}/#/coord/list?kind=walk`);
    await laptop.getByTestId('coord-row').getByTestId('erased').filter({ hasText: notice }).waitFor({ timeout: 30_000 });
    await laptop.getByTestId('coord-row').filter({ hasText: 'Blijft staan Trew' }).waitFor();
    assert.doesNotMatch(await laptop.locator('body').textContent() ?? '', /Hgfd bij/);

    await laptop.goto(`${server.origin}/#/coord/report/${walkId}`);
    await laptop.getByTestId('report-item').getByTestId('erased').filter({ hasText: notice }).waitFor({ timeout: 30_000 });
    await laptop.getByTestId('report-item').filter({ hasText: 'Blijft staan Trew' }).waitFor();
    assert.doesNotMatch(await laptop.locator('body').textContent() ?? '', /Hgfd bij/);

    // The phone, online all along: the notice, without edit or delete.
    await phone.getByTestId('item').filter({ has: phone.getByTestId('erased').filter({ hasText: notice }) }).waitFor({ timeout: 30_000 });
    const erasedItem = phone.locator(`[data-item-id="${itemId}"]`);
    assert.equal(await erasedItem.getByTestId('edit').count(), 0);
    assert.equal(await erasedItem.getByTestId('delete').count(), 0);
    assert.doesNotMatch(await phone.locator('body').textContent() ?? '', /Hgfd bij/);
  } finally {
    await laptopCtx.close();
    await phoneCtx.close();
  }
});
