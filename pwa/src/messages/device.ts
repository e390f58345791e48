// Strings of what this device holds: documents that left the device (the
// sync scope, docs/pwa.md "Sync scope") and the settings screen with the
// storage used. Merged into the one table in ../i18n.ts; keys are prefixed
// 'device.' and 'settings.' by convention. Dutch at B1 level.

export const nl = {
  'device.evicted': 'Niet meer op dit toestel; online te openen.',
  'device.not_held': 'Niet op dit toestel; online te openen.',
  'device.open_online': 'Online openen',
  'device.opening': 'Bezig met openen…',
  'device.needs_connection': 'Er is nu geen verbinding. Openen kan zodra er weer verbinding is.',
  'device.error.not_found': 'Dit bestaat niet op de server.',
  'device.error.forbidden': 'Je mag dit niet openen.',
  'device.error.too_many_subscriptions': 'Op dit toestel staan al te veel geopende wandelingen en spreekuren. Na twee weken gaan ze er vanzelf af; probeer het dan opnieuw.',
  'device.error.offline': 'Openen lukte niet: de verbinding viel weg. Probeer het opnieuw.',
  'device.error.failed': 'Openen lukte niet. Probeer het later opnieuw.',
  'device.leaving': 'Dit staat niet meer op je lijst. Het gaat van dit toestel af zodra al je wijzigingen verstuurd zijn en je dit scherm verlaat. Online kun je het weer openen.',

  'settings.nav': 'Instellingen',
  'settings.title': 'Instellingen',
  'settings.storage': 'Opslag op dit toestel',
  'settings.walks.one': '1 wandeling',
  'settings.walks.other': '{n} wandelingen',
  'settings.sessions.one': '1 spreekuur',
  'settings.sessions.other': '{n} spreekuren',
  'settings.catalog': 'de catalogus',
  'settings.held': 'Op dit toestel: {list}.',
  'settings.used': 'Wijklog gebruikt {used} van de {quota} die de browser toestaat.',
  'settings.used_unknown': 'Hoeveel ruimte Wijklog gebruikt, kan deze browser niet zeggen.',
  'settings.unsent.one': 'Nog niet verstuurd: 1 wijziging.',
  'settings.unsent.other': 'Nog niet verstuurd: {n} wijzigingen.',
  'settings.scope_hint':
    'Op dit toestel staat alleen wat je nu nodig hebt: je eigen wandelingen en spreekuren van de laatste twee weken, wat voor je team gepland is en wat je zelf opende. Ouder werk gaat er vanzelf af, maar pas als al je wijzigingen verstuurd zijn. Online kun je het weer openen.',
};

export const en: Record<keyof typeof nl, string> = {
  'device.evicted': 'No longer on this device; can be opened online.',
  'device.not_held': 'Not on this device; can be opened online.',
  'device.open_online': 'Open online',
  'device.opening': 'Opening…',
  'device.needs_connection': 'There is no connection now. It can be opened once there is a connection again.',
  'device.error.not_found': 'This does not exist on the server.',
  'device.error.forbidden': 'You may not open this.',
  'device.error.too_many_subscriptions': 'This device already holds too many opened walks and consultation hours. They leave by themselves after two weeks; try again then.',
  'device.error.offline': 'Opening failed: the connection dropped. Try again.',
  'device.error.failed': 'Opening failed. Try again later.',
  'device.leaving': 'This is no longer on your list. It leaves this device once all your changes are sent and you leave this screen. You can open it again online.',

  'settings.nav': 'Settings',
  'settings.title': 'Settings',
  'settings.storage': 'Storage on this device',
  'settings.walks.one': '1 walk',
  'settings.walks.other': '{n} walks',
  'settings.sessions.one': '1 consultation hour',
  'settings.sessions.other': '{n} consultation hours',
  'settings.catalog': 'the catalog',
  'settings.held': 'On this device: {list}.',
  'settings.used': 'Wijklog uses {used} of the {quota} the browser allows.',
  'settings.used_unknown': 'This browser cannot tell how much space Wijklog uses.',
  'settings.unsent.one': 'Not sent yet: 1 change.',
  'settings.unsent.other': 'Not sent yet: {n} changes.',
  'settings.scope_hint':
    'This device holds only what you need now: your own walks and consultation hours of the last two weeks, what is planned for your team and what you opened yourself. Older work leaves by itself, but only once all your changes are sent. You can open it again online.',
};
