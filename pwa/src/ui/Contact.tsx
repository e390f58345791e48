// The resident's contact fields (name, phone, e-mail), used by the new-note
// form and the note's edit form. A refused value is explained right under
// its field (role=alert, linked with aria-describedby); the phone field shows
// the number(s) the model derived from what was typed.

import { t } from '../i18n';
import { checkPhone } from '../model/doc';
import type { EditError } from './editError';

export function ContactFields({
  idPrefix,
  name,
  phone,
  email,
  error,
  onName,
  onPhone,
  onEmail,
}: {
  idPrefix: string;
  name: string;
  phone: string;
  email: string;
  error: EditError | null;
  onName: (v: string) => void;
  onPhone: (v: string) => void;
  onEmail: (v: string) => void;
}) {
  const err = (f: 'name' | 'phone' | 'email') => (error?.field === f ? error : null);
  const derived = phone.trim() ? checkPhone(phone) : null;
  const hintId = `${idPrefix}-phone-hint`;
  const fieldErr = (f: 'name' | 'phone' | 'email') => {
    const e = err(f);
    return e ? (
      <p class="error-text" role="alert" id={`${idPrefix}-${f}-error`} data-testid={`${f}-error`} data-code={e.code}>
        {e.text}
      </p>
    ) : null;
  };
  return (
    <fieldset class="stack" data-testid="contact-fields">
      <legend>{t('contact.heading')}</legend>
      <label for={`${idPrefix}-name`}>{t('session.resident.name')}</label>
      <input
        id={`${idPrefix}-name`}
        autocomplete="off"
        value={name}
        aria-invalid={err('name') ? 'true' : undefined}
        aria-describedby={err('name') ? `${idPrefix}-name-error` : undefined}
        onInput={(e) => onName(e.currentTarget.value)}
        data-testid="contact-name"
      />
      {fieldErr('name')}
      <label for={`${idPrefix}-phone`}>{t('session.resident.phone')}</label>
      <input
        id={`${idPrefix}-phone`}
        type="tel"
        autocomplete="off"
        value={phone}
        aria-invalid={err('phone') ? 'true' : undefined}
        aria-describedby={err('phone') ? `${idPrefix}-phone-error ${hintId}` : hintId}
        onInput={(e) => onPhone(e.currentTarget.value)}
        data-testid="contact-phone"
      />
      {fieldErr('phone')}
      <p class="hint" id={hintId}>
        {derived?.valid && derived.e164 ? t('contact.phone.e164', { numbers: derived.e164.split(' ').join(', ') }) : t('contact.phone.hint')}
      </p>
      <label for={`${idPrefix}-email`}>{t('session.resident.email')}</label>
      {/* type=text, not email: the browser's own check refuses addresses a mail server accepts (jan@example is fine). */}
      <input
        id={`${idPrefix}-email`}
        type="text"
        inputMode="email"
        autocomplete="off"
        spellcheck={false}
        value={email}
        aria-invalid={err('email') ? 'true' : undefined}
        aria-describedby={err('email') ? `${idPrefix}-email-error` : undefined}
        onInput={(e) => onEmail(e.currentTarget.value)}
        data-testid="contact-email"
      />
      {fieldErr('email')}
    </fieldset>
  );
}
