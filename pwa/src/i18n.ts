// Every user-visible string of the app, in Dutch (default) and English.
// Components call t('key', {param}) and never hold literal text of their own.
// Category, severity and partner labels come from the catalog document.
// The app's name is never written into a string: `{app}` is the theme's name
// (theme.ts, the municipality's [theme] on the server), in every string.
// Each area of the app keeps its strings in its own file under ./messages/,
// merged here into one table per language.

import * as coordinatorMsgs from './messages/coordinator';
import * as adminMsgs from './messages/admin';
import * as photosMsgs from './messages/photos';
import * as editsMsgs from './messages/edits';
import * as mailMsgs from './messages/mail';
import * as callbacksMsgs from './messages/callbacks';
import * as deviceMsgs from './messages/device';
import * as eraseMsgs from './messages/erase';
import * as remoteMsgs from './messages/remote';
import { theme } from './theme';
import * as wijkberichtMsgs from './messages/wijkbericht';
import * as chartMsgs from './messages/charts';
import * as residentsMsgs from './messages/residents';

const nl = {
  'app.name': '{app}',
  'app.loading': '{app} wordt geladen…',
  'app.fatal': '{app} kan niet starten: {msg}',
  'app.update': 'Nieuwe versie — herladen',
  'app.update.hint': 'Er is een nieuwe versie klaar. Herlaad als je klaar bent met typen.',
  'lang.switch': 'English',
  'lang.label': 'Taal',

  'login.title': 'Inloggen',
  'login.username': 'Gebruikersnaam',
  'login.password': 'Wachtwoord',
  'login.submit': 'Inloggen',
  'login.busy': 'Bezig met inloggen…',
  'login.failed': 'Inloggen mislukt: gebruikersnaam of wachtwoord klopt niet.',
  'login.rate_limited': 'Te veel pogingen. Wacht even en probeer het opnieuw.',
  'login.offline': 'Geen verbinding met de server. Inloggen kan alleen online.',
  'login.again': 'Je sessie is verlopen. Log opnieuw in; je niet-verstuurde werk blijft bewaard.',
  'login.wrong_user': 'Dit toestel bevat niet-verstuurd werk van een andere gebruiker. Log in als die gebruiker.',

  'nav.home': 'Overzicht',
  'nav.back': 'Terug naar overzicht',
  'nav.logout': 'Uitloggen',

  'sync.all_sent': 'alles verstuurd',
  'sync.waiting.one': '1 wijziging wacht sinds {time}',
  'sync.waiting.other': '{n} wijzigingen wachten sinds {time}',
  'sync.online': 'verbonden',
  'sync.offline': 'geen verbinding',
  'sync.connecting': 'verbinden…',
  'sync.auth_needed': 'opnieuw inloggen nodig',
  'sync.doc_error': 'Fout bij versturen van “{title}”: {code}',
  'sync.status_label': 'Synchronisatie',

  'store.saved': 'opgeslagen',
  'store.saving': 'opslaan…',
  'store.quota': 'Het geheugen van dit toestel is vol. Je laatste wijziging is NIET opgeslagen. Maak ruimte vrij of verstuur eerst je werk.',
  'store.error': 'Opslaan op dit toestel is mislukt ({code}). Je laatste wijziging is NIET opgeslagen.',
  'store.persist_denied': 'De browser mag gegevens van {app} wissen als het geheugen vol raakt.',

  'home.title': 'Overzicht',
  'home.hello': 'Hallo {name}',
  'home.today': 'Vandaag en gepland',
  'home.recent': 'Recent',
  'home.none': 'Niets gepland.',
  'home.none_recent': 'Nog niets.',
  'home.new_walk': 'Nieuwe wandeling',
  'home.new_session': 'Nieuw spreekuur',
  'home.walk': 'Wandeling',
  'home.session': 'Spreekuur',
  'home.observations.one': '1 waarneming',
  'home.observations.other': '{n} waarnemingen',
  'home.notes.one': '1 notitie',
  'home.notes.other': '{n} notities',
  'home.started': 'bezig',
  'home.ended': 'afgerond',

  'new.walk.title': 'Nieuwe wandeling',
  'new.walk.name': 'Titel',
  'new.walk.wijk': 'Wijk',
  'new.walk.route': 'Route (optioneel)',
  'new.walk.planned': 'Gepland op',
  'new.session.title': 'Nieuw spreekuur',
  'new.session.location': 'Locatie (buurthuis)',
  'new.session.wijk': 'Wijk',
  'new.session.held_on': 'Datum',
  'new.create': 'Aanmaken',
  'new.cancel': 'Annuleren',

  'walk.title': 'Wandeling',
  'walk.start': 'Wandeling starten',
  'walk.end': 'Wandeling beëindigen',
  'walk.started_at': 'Gestart om {time}',
  'walk.ended_at': 'Beëindigd om {time}',
  'walk.reopened': 'Heropend op {time} door {name}.',
  'walk.reopened_other': 'Heropend op {time} door een collega.',
  'walk.reopen': 'Wandeling heropenen',
  'walk.end.confirm_title': 'Wandeling beëindigen?',
  'walk.end.confirm_text': 'Na het beëindigen kun je geen waarnemingen meer toevoegen. Deelnemers en coördinatoren kunnen de wandeling later heropenen; dat wordt vastgelegd.',
  'walk.end.confirm_yes': 'Ja, beëindigen',
  'walk.end.confirm_no': 'Nee, doorgaan',
  'walk.reopen.confirm_title': 'Wandeling heropenen?',
  'walk.reopen.confirm_text': 'De wandeling gaat weer open voor nieuwe waarnemingen. Wie heropent en wanneer wordt vastgelegd.',
  'walk.reopen.confirm_yes': 'Ja, heropenen',
  'walk.not_started': 'Nog niet gestart',
  'walk.participants': 'Deelnemers',
  'walk.participant.name': 'Naam',
  'walk.participant.org': 'Organisatie',
  'walk.participant.add': 'Deelnemer toevoegen',
  'walk.observations': 'Waarnemingen ({n})',
  'walk.no_observations': 'Nog geen waarnemingen.',
  'walk.location_missing.one': 'Locatie niet gevonden — voeg die toe via Bewerken. (1 waarneming zonder locatie)',
  'walk.location_missing.other': 'Locatie niet gevonden — voeg die toe via Bewerken. ({n} waarnemingen zonder locatie)',
  'walk.location_missing.dismiss': 'Begrepen',
  'erase.dropped.one':
    'De gegevens van 1 waarneming of notitie zijn op verzoek gewist. Wat je daar zonder verbinding aan had veranderd, is daarom niet bewaard; je andere wijzigingen wel.',
  'erase.dropped.other':
    'De gegevens van {n} waarnemingen of notities zijn op verzoek gewist. Wat je daar zonder verbinding aan had veranderd, is daarom niet bewaard; je andere wijzigingen wel.',
  'erase.dropped.dismiss': 'Begrepen',
  'walk.add': 'Waarneming toevoegen',
  'walk.summary': 'Samenvatting',
  'walk.summary.save': 'Samenvatting opslaan',
  'walk.closing': 'Afsluiting',
  'walk.closing.counts.one': '1 waarneming, waarvan {urgent} urgent en {positive} positief. {followups} met opvolging.',
  'walk.closing.counts.other': '{n} waarnemingen, waarvan {urgent} urgent en {positive} positief. {followups} met opvolging.',

  'entry.title': 'Nieuwe waarneming',
  'entry.category': 'Categorie',
  'entry.severity': 'Ernst',
  'entry.text': 'Wat zie je? (optioneel)',
  'entry.gps': 'Locatie',
  'entry.gps.waiting': 'GPS zoeken…',
  'entry.gps.ok': 'GPS ±{m} m',
  'entry.gps.inaccurate': 'GPS onnauwkeurig (±{m} m). Typ liever een plaatsnaam.',
  'entry.gps.unavailable': 'Geen GPS. Typ een plaatsnaam.',
  'entry.gps.pinned': 'Positie gekozen op de kaart',
  'entry.map.open': 'Positie aanpassen op de kaart',
  'entry.map.close': 'Kaart sluiten',
  'entry.map.use_gps': 'Toch GPS gebruiken',
  'entry.map.label': 'Kaart: sleep de speld of tik op de plek',
  'entry.map.pin': 'Plek van de waarneming (sleep mij)',
  'entry.map.coords': 'Gekozen plek: {lat}, {lon}',
  'entry.map.no_tiles': 'Geen kaartbeeld (offline?). De speld en de coördinaten werken wel.',
  'entry.map.load_error': 'De kaart kan niet worden geladen. Opslaan kan gewoon.',
  'entry.place': 'Plaats (straat, herkenningspunt)',
  'entry.followup': 'Opvolging nodig door',
  'entry.save': 'Opslaan',
  'entry.cancel': 'Annuleren',
  'entry.pick_category': 'Kies eerst een categorie.',

  'obs.edit': 'Bewerken',
  'obs.delete': 'Verwijderen',
  'obs.deleted': 'Waarneming verwijderd.',
  'obs.undo': 'Ongedaan maken',
  'obs.save': 'Wijziging opslaan',
  'obs.cancel': 'Annuleren',
  'obs.text': 'Tekst',
  'obs.by': 'door {name}',
  'obs.at': 'om {time}',
  'obs.place': 'bij {place}',
  'obs.gps': '±{m} m',
  'obs.address': 'adres {address}',
  'obs.invalid': 'Let op: onleesbaar veld ({fields})',
  'obs.category': 'Categorie',
  'obs.place_label': 'Plaats (straat, herkenningspunt)',
  'obs.location': 'GPS-positie',
  'obs.location.none': 'Geen GPS-positie opgeslagen.',
  'obs.location.current': 'Opgeslagen positie ±{m} m',
  'obs.location.new': 'Nieuwe positie ±{m} m (wordt opgeslagen)',
  'obs.location.recapture': 'Positie opnieuw bepalen',
  'obs.location.searching': 'GPS zoeken…',
  'obs.location.failed': 'Geen GPS-positie gevonden. De oude positie blijft staan.',
  'obs.location.remove': 'Positie weghalen',
  'obs.location.removed': 'Positie wordt weggehaald.',

  'session.title': 'Spreekuur',
  'session.staff': 'Aanwezig',
  'session.notes': 'Notities ({n})',
  'session.no_notes': 'Nog geen notities.',
  'session.add': 'Notitie toevoegen',
  'session.category': 'Categorie',
  'session.text': 'Wat vertelt de bewoner?',
  'session.consent': 'Bewoner geeft toestemming om contactgegevens te bewaren',
  'session.resident.name': 'Naam bewoner',
  'session.resident.phone': 'Telefoon',
  'session.resident.email': 'E-mail',
  'session.callback': 'Bewoner wil teruggebeld worden',
  'session.callback.done': 'Teruggebeld',
  'session.callback.mark_done': 'Terugbellen afgerond',
  'session.callback.open': 'Terugbellen gevraagd',
  'session.save': 'Notitie opslaan',
  'session.contact': 'Contact: {contact}',

  'logout.title': 'Uitloggen',
  'logout.unsent.one': 'Er is nog 1 wijziging niet verstuurd. Als je nu uitlogt, gaat die verloren.',
  'logout.unsent.other': 'Er zijn nog {n} wijzigingen niet verstuurd. Als je nu uitlogt, gaan ze verloren.',
  'logout.wait': 'Wachten tot alles verstuurd is',
  'logout.anyway': 'Toch uitloggen en wissen',
  'logout.cancel': 'Annuleren',
  'logout.waiting': 'Wachten op de server… Je wordt uitgelogd zodra alles verstuurd is.',
  'logout.done': 'Je bent uitgelogd. De gegevens op dit toestel zijn gewist.',

  'revoked.title': 'Toegang ingetrokken',
  'revoked.text': 'De toegang van dit toestel is ingetrokken. Alle gegevens op dit toestel worden gewist.',
  'revoked.unsent.one': 'Let op: 1 wijziging is niet verstuurd en gaat verloren.',
  'revoked.unsent.other': 'Let op: {n} wijzigingen zijn niet verstuurd en gaan verloren.',
  'revoked.ok': 'Begrepen, wissen',

  'error.generic': 'Er ging iets mis ({code}).',
  'error.close': 'Sluiten',
} as const;

type FieldKey = keyof typeof nl;
export type MsgKey =
  | FieldKey
  | keyof typeof coordinatorMsgs.nl
  | keyof typeof adminMsgs.nl
  | keyof typeof photosMsgs.nl
  | keyof typeof editsMsgs.nl
  | keyof typeof mailMsgs.nl
  | keyof typeof callbacksMsgs.nl
  | keyof typeof deviceMsgs.nl
  | keyof typeof eraseMsgs.nl
  | keyof typeof remoteMsgs.nl
  | keyof typeof wijkberichtMsgs.nl
  | keyof typeof chartMsgs.nl
  | keyof typeof residentsMsgs.nl;

const en: Record<FieldKey, string> = {
  'app.name': '{app}',
  'app.loading': 'Loading {app}…',
  'app.fatal': '{app} cannot start: {msg}',
  'app.update': 'New version — reload',
  'app.update.hint': 'A new version is ready. Reload when you have finished typing.',
  'lang.switch': 'Nederlands',
  'lang.label': 'Language',

  'login.title': 'Log in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.busy': 'Logging in…',
  'login.failed': 'Login failed: wrong username or password.',
  'login.rate_limited': 'Too many attempts. Wait a moment and try again.',
  'login.offline': 'No connection to the server. Logging in needs a connection.',
  'login.again': 'Your session has expired. Log in again; your unsent work is kept.',
  'login.wrong_user': 'This device holds unsent work of another user. Log in as that user.',

  'nav.home': 'Overview',
  'nav.back': 'Back to overview',
  'nav.logout': 'Log out',

  'sync.all_sent': 'everything sent',
  'sync.waiting.one': '1 change waiting since {time}',
  'sync.waiting.other': '{n} changes waiting since {time}',
  'sync.online': 'connected',
  'sync.offline': 'no connection',
  'sync.connecting': 'connecting…',
  'sync.auth_needed': 'log in again',
  'sync.doc_error': 'Error sending “{title}”: {code}',
  'sync.status_label': 'Synchronisation',

  'store.saved': 'saved',
  'store.saving': 'saving…',
  'store.quota': 'This device’s storage is full. Your last change was NOT saved. Free some space or send your work first.',
  'store.error': 'Saving on this device failed ({code}). Your last change was NOT saved.',
  'store.persist_denied': 'The browser may clear {app}’s data when storage runs low.',

  'home.title': 'Overview',
  'home.hello': 'Hello {name}',
  'home.today': 'Today and planned',
  'home.recent': 'Recent',
  'home.none': 'Nothing planned.',
  'home.none_recent': 'Nothing yet.',
  'home.new_walk': 'New walk',
  'home.new_session': 'New consultation hour',
  'home.walk': 'Walk',
  'home.session': 'Consultation hour',
  'home.observations.one': '1 observation',
  'home.observations.other': '{n} observations',
  'home.notes.one': '1 note',
  'home.notes.other': '{n} notes',
  'home.started': 'in progress',
  'home.ended': 'finished',

  'new.walk.title': 'New walk',
  'new.walk.name': 'Title',
  'new.walk.wijk': 'Neighbourhood',
  'new.walk.route': 'Route (optional)',
  'new.walk.planned': 'Planned for',
  'new.session.title': 'New consultation hour',
  'new.session.location': 'Location (community centre)',
  'new.session.wijk': 'Neighbourhood',
  'new.session.held_on': 'Date',
  'new.create': 'Create',
  'new.cancel': 'Cancel',

  'walk.title': 'Walk',
  'walk.start': 'Start walk',
  'walk.end': 'End walk',
  'walk.started_at': 'Started at {time}',
  'walk.ended_at': 'Ended at {time}',
  'walk.reopened': 'Reopened on {time} by {name}.',
  'walk.reopened_other': 'Reopened on {time} by a colleague.',
  'walk.reopen': 'Reopen walk',
  'walk.end.confirm_title': 'End the walk?',
  'walk.end.confirm_text': 'After ending you can no longer add observations. Participants and coordinators can reopen the walk later; that is recorded.',
  'walk.end.confirm_yes': 'Yes, end it',
  'walk.end.confirm_no': 'No, continue',
  'walk.reopen.confirm_title': 'Reopen the walk?',
  'walk.reopen.confirm_text': 'The walk opens again for new observations. Who reopens it and when is recorded.',
  'walk.reopen.confirm_yes': 'Yes, reopen',
  'walk.not_started': 'Not started yet',
  'walk.participants': 'Participants',
  'walk.participant.name': 'Name',
  'walk.participant.org': 'Organisation',
  'walk.participant.add': 'Add participant',
  'walk.observations': 'Observations ({n})',
  'walk.no_observations': 'No observations yet.',
  'walk.location_missing.one': 'Location not found — add it via Edit. (1 observation without a location)',
  'walk.location_missing.other': 'Location not found — add it via Edit. ({n} observations without a location)',
  'walk.location_missing.dismiss': 'Got it',
  'erase.dropped.one':
    'The data of 1 observation or note was erased on request. What you changed there while offline was therefore not kept; your other changes were.',
  'erase.dropped.other':
    'The data of {n} observations or notes was erased on request. What you changed there while offline was therefore not kept; your other changes were.',
  'erase.dropped.dismiss': 'Got it',
  'walk.add': 'Add observation',
  'walk.summary': 'Summary',
  'walk.summary.save': 'Save summary',
  'walk.closing': 'Closing',
  'walk.closing.counts.one': '1 observation, {urgent} urgent and {positive} positive. {followups} need follow-up.',
  'walk.closing.counts.other': '{n} observations, {urgent} urgent and {positive} positive. {followups} need follow-up.',

  'entry.title': 'New observation',
  'entry.category': 'Category',
  'entry.severity': 'Severity',
  'entry.text': 'What do you see? (optional)',
  'entry.gps': 'Location',
  'entry.gps.waiting': 'Finding GPS…',
  'entry.gps.ok': 'GPS ±{m} m',
  'entry.gps.inaccurate': 'GPS inaccurate (±{m} m). Better type a place name.',
  'entry.gps.unavailable': 'No GPS. Type a place name.',
  'entry.gps.pinned': 'Position chosen on the map',
  'entry.map.open': 'Adjust the position on the map',
  'entry.map.close': 'Close the map',
  'entry.map.use_gps': 'Use GPS after all',
  'entry.map.label': 'Map: drag the pin or tap the spot',
  'entry.map.pin': 'Spot of the observation (drag me)',
  'entry.map.coords': 'Chosen spot: {lat}, {lon}',
  'entry.map.no_tiles': 'No map image (offline?). The pin and the coordinates still work.',
  'entry.map.load_error': 'The map cannot be loaded. Saving works as usual.',
  'entry.place': 'Place (street, landmark)',
  'entry.followup': 'Follow-up needed by',
  'entry.save': 'Save',
  'entry.cancel': 'Cancel',
  'entry.pick_category': 'Pick a category first.',

  'obs.edit': 'Edit',
  'obs.delete': 'Delete',
  'obs.deleted': 'Observation deleted.',
  'obs.undo': 'Undo',
  'obs.save': 'Save change',
  'obs.cancel': 'Cancel',
  'obs.text': 'Text',
  'obs.by': 'by {name}',
  'obs.at': 'at {time}',
  'obs.place': 'near {place}',
  'obs.gps': '±{m} m',
  'obs.address': 'address {address}',
  'obs.invalid': 'Note: unreadable field ({fields})',
  'obs.category': 'Category',
  'obs.place_label': 'Place (street, landmark)',
  'obs.location': 'GPS position',
  'obs.location.none': 'No GPS position stored.',
  'obs.location.current': 'Stored position ±{m} m',
  'obs.location.new': 'New position ±{m} m (will be saved)',
  'obs.location.recapture': 'Capture position again',
  'obs.location.searching': 'Searching GPS…',
  'obs.location.failed': 'No GPS position found. The old position stays.',
  'obs.location.remove': 'Remove position',
  'obs.location.removed': 'The position will be removed.',

  'session.title': 'Consultation hour',
  'session.staff': 'Present',
  'session.notes': 'Notes ({n})',
  'session.no_notes': 'No notes yet.',
  'session.add': 'Add note',
  'session.category': 'Category',
  'session.text': 'What does the resident say?',
  'session.consent': 'Resident consents to storing contact details',
  'session.resident.name': 'Resident name',
  'session.resident.phone': 'Phone',
  'session.resident.email': 'Email',
  'session.callback': 'Resident wants a call back',
  'session.callback.done': 'Called back',
  'session.callback.mark_done': 'Call back done',
  'session.callback.open': 'Call back requested',
  'session.save': 'Save note',
  'session.contact': 'Contact: {contact}',

  'logout.title': 'Log out',
  'logout.unsent.one': '1 change has not been sent yet. If you log out now, it is lost.',
  'logout.unsent.other': '{n} changes have not been sent yet. If you log out now, they are lost.',
  'logout.wait': 'Wait until everything is sent',
  'logout.anyway': 'Log out anyway and wipe',
  'logout.cancel': 'Cancel',
  'logout.waiting': 'Waiting for the server… You will be logged out once everything is sent.',
  'logout.done': 'You are logged out. The data on this device has been wiped.',

  'revoked.title': 'Access revoked',
  'revoked.text': 'This device’s access has been revoked. All data on this device will be wiped.',
  'revoked.unsent.one': 'Note: 1 change was not sent and will be lost.',
  'revoked.unsent.other': 'Note: {n} changes were not sent and will be lost.',
  'revoked.ok': 'Understood, wipe',

  'error.generic': 'Something went wrong ({code}).',
  'error.close': 'Close',
};

export type Lang = 'nl' | 'en';
const nlAll: Record<MsgKey, string> = { ...nl, ...coordinatorMsgs.nl, ...adminMsgs.nl, ...photosMsgs.nl, ...editsMsgs.nl, ...mailMsgs.nl, ...callbacksMsgs.nl, ...deviceMsgs.nl, ...eraseMsgs.nl, ...remoteMsgs.nl, ...wijkberichtMsgs.nl, ...chartMsgs.nl, ...residentsMsgs.nl };
const enAll: Record<MsgKey, string> = { ...en, ...coordinatorMsgs.en, ...adminMsgs.en, ...photosMsgs.en, ...editsMsgs.en, ...mailMsgs.en, ...callbacksMsgs.en, ...deviceMsgs.en, ...eraseMsgs.en, ...remoteMsgs.en, ...wijkberichtMsgs.en, ...chartMsgs.en, ...residentsMsgs.en };
const tables: Record<Lang, Record<MsgKey, string>> = { nl: nlAll, en: enAll };
const LANG_KEY = 'wijklog.lang';

let current: Lang = readLang();
const listeners = new Set<() => void>();

function readLang(): Lang {
  try {
    const v = globalThis.localStorage?.getItem(LANG_KEY);
    return v === 'en' ? 'en' : 'nl';
  } catch {
    return 'nl';
  }
}

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  try {
    globalThis.localStorage?.setItem(LANG_KEY, l);
  } catch {
    // Private mode without storage: the choice lasts for this visit only.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = l;
  for (const f of listeners) f();
}

export function onLangChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Translate `key`, replacing `{name}` placeholders with `params` (and `{app}` with the theme's name). */
export function t(key: MsgKey, params: Record<string, string | number> = {}): string {
  const s = tables[current][key] ?? nlAll[key];
  const all: Record<string, string | number> = { app: theme().name, ...params };
  return s.replace(/\{(\w+)\}/g, (m, p: string) => (p in all ? String(all[p]) : m));
}

/** The base keys that have plural forms: `key.one` and `key.other` in every table. */
export type PluralKey = MsgKey extends infer K ? (K extends `${infer B}.other` ? B : never) : never;

const pluralRules: Partial<Record<Lang, Intl.PluralRules>> = {};

function pluralCategory(l: Lang, n: number): Intl.LDMLPluralRule {
  const rules = (pluralRules[l] ??= new Intl.PluralRules(l === 'nl' ? 'nl-NL' : 'en-GB'));
  return rules.select(n);
}

/**
 * Translate a count with its noun: picks `key.one` or `key.other` by the plural
 * rules of the current language (Intl.PluralRules), with `{n}` set to `n`. Every
 * place a number meets a noun goes through here, so "1 waarnemingen" cannot happen.
 */
export function tn(key: PluralKey, n: number, params: Record<string, string | number> = {}): string {
  const table = tables[current];
  const cat = pluralCategory(current, n);
  const s = table[`${key}.${cat}` as MsgKey] ?? table[`${key}.other` as MsgKey] ?? nlAll[`${key}.other` as MsgKey];
  const all: Record<string, string | number> = { app: theme().name, ...params, n };
  return s.replace(/\{(\w+)\}/g, (m, p: string) => (p in all ? String(all[p]) : m));
}


