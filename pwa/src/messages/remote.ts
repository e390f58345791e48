// Strings of what is read from the server rather than held on the device
// (the sync scope): the home screen's team lists ("meer laden",
// "meedoen"), the planning list, and opening a document to edit it. Merged
// into the one table in ../i18n.ts; keys are prefixed 'remote.'. Dutch at
// B1 level.

export const nl = {
  'remote.loading': 'Laden…',
  'remote.more': 'Meer laden',
  'remote.not_sent': 'nog niet verstuurd',
  'remote.opening': 'Wordt op dit toestel gezet…',
  'remote.edit': 'Bewerken',
  'remote.edit_followup': 'Opvolging en terugkoppeling bewerken',
  'remote.edit_hint': 'Om te bewerken zet {app} deze wandeling of dit spreekuur op dit toestel. Lezen kan zonder.',
  'remote.open_failed.offline': 'Geen verbinding (of geen antwoord). Dit kan alleen online worden geopend; probeer het opnieuw.',
  'remote.open_failed.forbidden': 'Je hebt geen toegang (meer) tot deze wandeling of dit spreekuur.',
  'remote.open_failed.not_found': 'Deze wandeling of dit spreekuur bestaat niet (meer).',
  'remote.open_failed.other': 'Openen lukte niet ({code}). Probeer het opnieuw.',
  'remote.running': 'Nu bezig bij collega’s',
  'remote.join': 'Meedoen',
  'remote.joining': 'Bezig met meedoen…',
  'remote.older_walks': 'Eerdere wandelingen van het team',
  'remote.older_sessions': 'Eerdere spreekuren van het team',
  'remote.older_offline': 'Oudere wandelingen en spreekuren staan niet op dit toestel. Je ziet ze als je online bent.',
  'remote.older_failed': 'De eerdere lijst kon niet worden geladen ({code}).',
  'remote.plan_offline': 'Geen verbinding: hieronder staat alleen wat op dit toestel staat.',
  'remote.plan_failed': 'De planning kon niet van de server worden geladen ({code}); hieronder staat alleen wat op dit toestel staat.',
};

export const en: Record<keyof typeof nl, string> = {
  'remote.loading': 'Loading…',
  'remote.more': 'Load more',
  'remote.not_sent': 'not sent yet',
  'remote.opening': 'Putting it on this device…',
  'remote.edit': 'Edit',
  'remote.edit_followup': 'Edit follow-up and feedback',
  'remote.edit_hint': 'To edit, {app} puts this walk or consultation hour on this device. Reading works without.',
  'remote.open_failed.offline': 'No connection (or no answer). This can only be opened online; please try again.',
  'remote.open_failed.forbidden': 'You have no access (any more) to this walk or consultation hour.',
  'remote.open_failed.not_found': 'This walk or consultation hour does not exist (any more).',
  'remote.open_failed.other': 'Could not open it ({code}). Please try again.',
  'remote.running': 'Colleagues walking now',
  'remote.join': 'Join',
  'remote.joining': 'Joining…',
  'remote.older_walks': 'Earlier walks of the team',
  'remote.older_sessions': 'Earlier consultation hours of the team',
  'remote.older_offline': 'Older walks and consultation hours are not on this device. You see them when you are online.',
  'remote.older_failed': 'The earlier list could not be loaded ({code}).',
  'remote.plan_offline': 'No connection: below is only what is on this device.',
  'remote.plan_failed': 'The planning could not be loaded from the server ({code}); below is only what is on this device.',
};
