// Small pieces shared by the admin screens: error text by code, dates,
// role checkboxes and a two-step confirm button (no browser dialogs).
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { formatWhen } from '../../dates';
import { ApiError } from './api';

export const ROLES = ['boa', 'spreekuur', 'coordinator', 'admin'] as const;
export type RoleName = (typeof ROLES)[number];

export function roleLabel(r: string): string {
  return (ROLES as readonly string[]).includes(r) ? t(`admin.role.${r as RoleName}`) : r;
}

/** A translated sentence for a failed call. */
export function errorText(e: unknown): string {
  const code = e instanceof ApiError ? e.code : ((e as { code?: unknown } | null)?.code as string | undefined) ?? 'internal';
  switch (code) {
    case 'network':
      return t('admin.error.network');
    case 'username_taken':
      return t('admin.error.username_taken');
    case 'self_lockout':
      return t('admin.error.self_lockout');
    case 'invalid_parameter':
      return t('admin.error.invalid_parameter');
    case 'forbidden':
      return t('admin.error.forbidden');
    case 'session_ended':
    case 'revoked':
    case 'unauthenticated':
      return t('admin.error.session');
    default:
      return t('admin.error', { code });
  }
}

export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return t('admin.users.never');
  return formatWhen(ms, 'list');
}

export function RoleChecks({ value, onChange, idPrefix }: { value: string[]; onChange: (r: string[]) => void; idPrefix: string }) {
  return (
    <fieldset class="roles">
      <legend>{t('admin.users.roles')}</legend>
      {ROLES.map((r) => (
        <label class="check" key={r} for={`${idPrefix}-${r}`}>
          <input
            id={`${idPrefix}-${r}`}
            type="checkbox"
            checked={value.includes(r)}
            data-testid={`${idPrefix}-role-${r}`}
            onChange={(e) => onChange(e.currentTarget.checked ? [...value.filter((x) => x !== r), r] : value.filter((x) => x !== r))}
          />
          {roleLabel(r)}
        </label>
      ))}
    </fieldset>
  );
}

/** A button that asks once more (inline) before it acts. */
export function ConfirmButton({
  label,
  ariaLabel,
  question,
  onConfirm,
  testid,
  danger = true,
}: {
  label: string;
  ariaLabel?: string;
  question: string;
  onConfirm: () => void | Promise<void>;
  testid: string;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking)
    return (
      <button type="button" class={`btn small${danger ? ' danger' : ''}`} aria-label={ariaLabel} onClick={() => setAsking(true)} data-testid={testid}>
        {label}
      </button>
    );
  return (
    <span class="row" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        class={`btn small${danger ? ' danger' : ' primary'}`}
        disabled={busy}
        data-testid={`${testid}-confirm`}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {label}
      </button>
      <button type="button" class="btn small" onClick={() => setAsking(false)}>
        {t('new.cancel')}
      </button>
    </span>
  );
}
