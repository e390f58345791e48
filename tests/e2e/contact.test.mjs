// Nothing typed is lost. A spreekuur worker types a resident's
// contact the way people say it: `06.12.34.56.78`, `06 1234 5678 (na 17u)`,
// `035-5251234 / 06-12345678` and `jan@example`. Each note is saved with its
// contact, survives a reload on the phone, and reaches the server with the
// typed value and the E.164 form. Contact is corrected and consent withdrawn
// in the note's edit form. A value the model refuses is explained next to its
// field before anything is written; an edit made to fail inside the model
// (the adapter's test hook) leaves no half-written note, on screen or after a
// reload, and "opgeslagen" does not appear for it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launchBrowser, loggedInPhone, waitAllSent, restLogin, axeSerious, createWalk } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start();
  await server.addUser('oov-sara', { roles: ['spreekuur'], team: 'team-oost', name: 'Sara' });
  await server.addUser('boa-bo', { roles: ['boa'], team: 'team-oost', name: 'Bo' });
  await server.addUser('coord-cor', { roles: ['coordinator'], team: 'team-oost', name: 'Cor' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function newSession(page, location) {
  await page.getByRole('link', { name: 'Nieuw spreekuur' }).click();
  await page.getByLabel('Locatie (buurthuis)').fill(location);
  await page.getByLabel('Wijk').selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Aanmaken' }).click();
  await page.getByRole('heading', { name: new RegExp(location) }).waitFor();
  return page.url().split('/session/')[1];
}

/** Fill the note form; `contact` fields are typed after ticking consent. */
async function fillNote(page, { text, name = '', phone = '', email = '', callback = false }) {
  const form = page.locator('form.card-form');
  await form.locator('[data-category="woonoverlast"]').click();
  await page.getByTestId('note-text').fill(text);
  if (name || phone || email) {
    if (!(await page.getByTestId('consent').isChecked())) await page.getByTestId('consent').check();
    await page.getByLabel('Naam bewoner').fill(name);
    await page.getByLabel('Telefoon').fill(phone);
    await page.getByLabel('E-mail').fill(email);
  }
  if (callback) await form.getByLabel('Bewoner wil teruggebeld worden').check();
}

async function noteWith(page, text) {
  const byText = page.getByTestId('item').filter({ has: page.getByTestId('item-text').filter({ hasText: text }) });
  await byText.waitFor({ timeout: 15_000 });
  const id = await byText.getAttribute('data-item-id');
  return { id, el: page.locator(`[data-item-id="${id}"]`) };
}

async function serverItem(token, docId, itemId) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${server.origin}/api/v1/items/${docId}/${itemId}`, { headers: { Authorization: `Bearer ${token}` } });
    if (r.ok) return (await r.json()).item;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`item ${itemId} never reached the server`);
}

const NOTES = [
  { text: 'Notitie een: lawaai', name: 'Jan Jansen', phone: '06.12.34.56.78', e164: '+31612345678', callback: true },
  { text: 'Notitie twee: losse tegels', name: 'Fatma', phone: '06 1234 5678 (na 17u)', e164: '+31612345678' },
  { text: 'Notitie drie: hangjongeren', name: 'Kees', phone: '035-5251234 / 06-12345678', e164: '+31355251234 +31612345678' },
  { text: 'Notitie vier: zwerfvuil', name: 'Jan', email: 'jan@example' },
];

test('contact typed as people type it is saved with the note, survives a reload and reaches the server', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'oov-sara');
  try {
    const docId = await newSession(page, 'Buurthuis de Kostmand');

    for (const n of NOTES) {
      await fillNote(page, n);
      await page.getByTestId('note-save').click();
      const { el } = await noteWith(page, n.text);
      await page.locator('[data-testid="save-state"][data-state="saved"]').waitFor();
      const contact = await el.getByTestId('item-contact').textContent();
      assert.ok(contact.includes(n.phone ?? n.email), `${n.text}: ${contact}`);
      assert.equal(await page.locator('form.card-form [role="alert"]').count(), 0, 'no error is shown');
      // The form is empty again for the next resident.
      assert.equal(await page.getByTestId('note-text').inputValue(), '');
    }
    await waitAllSent(page);

    // After a reload: every note with its contact, from the device's own store.
    await page.reload();
    const ids = {};
    for (const n of NOTES) {
      const { id, el } = await noteWith(page, n.text);
      ids[n.text] = id;
      const contact = await el.getByTestId('item-contact').textContent();
      assert.ok(contact.includes(n.name), contact);
      assert.ok(contact.includes(n.phone ?? n.email), contact);
      if (n.callback) assert.match(await el.textContent(), /Terugbellen gevraagd/);
    }
    assert.equal(await page.getByTestId('item').count(), NOTES.length);

    // On the server: the typed value, the E.164 form, the e-mail without a dot in the domain.
    const token = await restLogin(server.origin, 'coord-cor');
    for (const n of NOTES) {
      const row = await serverItem(token, docId, ids[n.text]);
      assert.equal(row.resident.name, n.name);
      assert.equal(row.resident.consent, true);
      if (n.phone) {
        assert.equal(row.resident.phone, n.phone);
        assert.equal(row.resident.phone_e164, n.e164);
      } else {
        assert.equal(row.resident.email, 'jan@example');
      }
      assert.equal(row.callback?.requested ?? false, n.callback === true);
    }

    // Correct a contact after saving: the edit form of the note.
    const first = (await noteWith(page, NOTES[0].text)).el;
    await first.getByTestId('edit').click();
    await first.getByTestId('contact-phone').fill('06-87654321');
    await first.getByTestId('contact-email').fill('j.jansen@example.nl');
    await first.getByTestId('edit-save').click();
    await first.getByTestId('item-contact').filter({ hasText: '06-87654321' }).waitFor();
    assert.match(await first.getByTestId('item-contact').textContent(), /j\.jansen@example\.nl/);

    // Withdraw consent on another: name, phone and e-mail are cleared.
    const third = (await noteWith(page, NOTES[2].text)).el;
    await third.getByTestId('edit').click();
    await third.getByTestId('contact-withdraw').click();
    assert.deepEqual(await axeSerious(page), []);
    await third.getByTestId('contact-withdraw-yes').click();
    await third.getByTestId('item-contact-withdrawn').waitFor();
    assert.equal(await third.getByTestId('item-contact').count(), 0);
    await waitAllSent(page);

    const corrected = await serverItem(token, docId, ids[NOTES[0].text]);
    assert.equal(corrected.resident.phone, '06-87654321');
    assert.equal(corrected.resident.phone_e164, '+31687654321');
    assert.equal(corrected.resident.email, 'j.jansen@example.nl');
    let withdrawn;
    for (let i = 0; i < 50; i++) {
      withdrawn = await serverItem(token, docId, ids[NOTES[2].text]);
      if (withdrawn.resident?.consent === false) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(withdrawn.resident.consent, false);
    assert.equal(withdrawn.resident.name, null);
    assert.equal(withdrawn.resident.phone, null);
    assert.equal(withdrawn.resident.phone_e164, undefined);
  } finally {
    await ctx.close();
  }
});

test('a refused value is explained at its field and a failing edit leaves nothing half-written', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'oov-sara');
  try {
    await newSession(page, 'Buurthuis de Roef');

    // "opgeslagen" belongs to the last committed write (the new session); it must not move.
    const savedAt = await page.getByTestId('save-state').getAttribute('data-at');

    // 1. The model's rule, checked in the form before anything is written.
    await fillNote(page, { text: 'Zonder nummer', name: 'Piet', phone: 'geen' });
    await page.getByTestId('note-save').click();
    const phoneErr = page.getByTestId('phone-error');
    await phoneErr.waitFor();
    assert.match(await phoneErr.textContent(), /Niet opgeslagen: dit telefoonnummer herkennen we niet/);
    assert.equal(await page.getByTestId('contact-phone').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('item').count(), 0);
    assert.equal(await page.getByTestId('save-state').getAttribute('data-at'), savedAt);

    // The form shows the number the model derived, before saving.
    for (const n of NOTES.filter((x) => x.phone)) {
      await page.getByTestId('contact-phone').fill(n.phone);
      await page.locator('#r-phone-hint').filter({ hasText: n.e164.split(' ').join(', ') }).waitFor();
    }

    // 2. Every edit of the note form made to fail inside the model: nothing of
    //    the note on screen, the form keeps what was typed, the reason is shown.
    await page.getByTestId('contact-phone').fill('06 1234 5678');
    await page.locator('form.card-form').getByLabel('Bewoner wil teruggebeld worden').check();
    for (const edit of ['addStaff', 'addNote', 'setResident', 'requestCallback']) {
      await page.evaluate((e) => {
        globalThis.__wijklogFailEdit = e;
      }, edit);
      // Typing clears the previous error, so the one awaited below is this attempt's.
      await page.getByTestId('contact-phone').fill('06 1234 5678');
      await page.getByTestId('form-error').waitFor({ state: 'detached' });
      await page.getByTestId('note-save').click();
      const err = page.getByTestId('form-error');
      await err.waitFor();
      assert.match(await err.textContent(), /Niet opgeslagen: .* Er is niets veranderd/, edit);
      assert.equal(await page.getByTestId('item').count(), 0, `${edit}: no note shown`);
      assert.equal(await page.getByTestId('note-text').inputValue(), 'Zonder nummer', `${edit}: form kept`);
      assert.equal(await page.getByTestId('contact-phone').inputValue(), '06 1234 5678');
      assert.equal(await page.getByTestId('save-state').getAttribute('data-at'), savedAt, `${edit}: no new "opgeslagen"`);
    }
    await page.evaluate(() => {
      delete globalThis.__wijklogFailEdit;
    });
    // Nothing of the failed actions is in the device's store either.
    await page.reload();
    await page.getByRole('heading', { name: /Buurthuis de Roef/ }).waitFor();
    await page.getByText('Nog geen notities.').waitFor();
    assert.equal(await page.getByTestId('item').count(), 0);

    // 3. Saved for real: exactly one note with its contact and call back.
    await fillNote(page, { text: 'Zonder nummer', name: 'Piet', phone: '06 1234 5678', callback: true });
    await page.getByTestId('note-save').click();
    const { el } = await noteWith(page, 'Zonder nummer');
    await page.locator('[data-testid="save-state"][data-state="saved"]').waitFor();
    assert.match(await el.getByTestId('item-contact').textContent(), /Piet, 06 1234 5678/);
    assert.match(await el.textContent(), /Terugbellen gevraagd/);
    assert.equal(await page.getByTestId('item').count(), 1);

    // 4. The edit form: a failing contact correction changes nothing of the note.
    await el.getByTestId('edit').click();
    await el.getByTestId('edit-text').fill('Zonder nummer, nu met tekst');
    await el.getByTestId('contact-phone').fill('06-87654321');
    await page.evaluate(() => {
      globalThis.__wijklogFailEdit = 'setResident';
    });
    await el.getByTestId('edit-save').click();
    await el.getByTestId('edit-error').waitFor();
    await page.evaluate(() => {
      delete globalThis.__wijklogFailEdit;
    });
    await el.getByRole('button', { name: 'Annuleren' }).click();
    await el.getByTestId('item-text').filter({ hasText: /^Zonder nummer$/ }).waitFor();
    assert.match(await el.getByTestId('item-contact').textContent(), /06 1234 5678/);
    await waitAllSent(page);
  } finally {
    await ctx.close();
  }
});

test('quick entry: a follow-up partner refused by the model leaves no observation behind', async () => {
  const { ctx, page } = await loggedInPhone(browser, server.origin, 'boa-bo');
  try {
    const walkId = await createWalk(page, 'Ronde Stad en Lande');
    await page.getByTestId('add-observation').click();
    await page.getByRole('heading', { name: 'Nieuwe waarneming' }).waitFor();
    const savedAt = await page.getByTestId('save-state').getAttribute('data-at');
    await page.locator('[data-category="verkeer"]').click();
    await page.getByTestId('entry-text').fill('Auto op de stoep');
    await page.locator('[data-partner="politie"]').click();
    for (const [edit, code] of [['addObservation', 'unknown_category'], ['setFollowUp', 'invalid_item_id']]) {
      await page.evaluate((e) => {
        globalThis.__wijklogFailEdit = e;
      }, edit);
      await page.getByTestId('entry-save').click();
      const err = page.locator(`[data-testid="form-error"][data-code="${code}"]`);
      await err.waitFor();
      assert.match(await err.textContent(), /Niet opgeslagen/, edit);
      // Still on the form, with everything typed and picked; no new "opgeslagen".
      assert.equal(await page.getByTestId('entry-text').inputValue(), 'Auto op de stoep');
      assert.equal(await page.locator('[data-partner="politie"]').getAttribute('aria-pressed'), 'true');
      assert.equal(await page.getByTestId('save-state').getAttribute('data-at'), savedAt, edit);
    }
    await page.evaluate(() => {
      delete globalThis.__wijklogFailEdit;
    });
    // The walk holds nothing of the refused saves, also after a reload.
    await page.goto(`${server.origin}/#/walk/${walkId}`);
    await page.reload();
    await page.getByText('Nog geen waarnemingen.').waitFor();
    assert.equal(await page.getByTestId('item').count(), 0);
  } finally {
    await ctx.close();
  }
});
