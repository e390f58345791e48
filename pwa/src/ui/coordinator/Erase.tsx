// "Gegevens wissen" in the coordinators' item detail: choose the resident's
// contact details or the whole observation/note, give a reason (the
// resident's request, or another reason in words), read what will be gone,
// confirm; then POST /api/v1/items/{doc}/{id}/erase. The dialog says the
// data is erased only when the server answered 200 for this item; without a
// connection it says erasing needs one (nothing is queued for later). The
// logic is in erase.ts.

import { useEffect, useRef, useState } from 'preact/hooks';
import { t, tn, type MsgKey } from '../../i18n';
import { useApp } from '../hooks';
import type { Row } from '../../model/doc';
import { basisOf, eraseChoices, MAX_REASON_CHARS, reasonOf, requestErase, type EraseBasis, type EraseResult, type EraseWhat, type ReasonKind } from './erase';

type Step = { step: 'choose' } | { step: 'confirm'; basis: EraseBasis; reason: string } | { step: 'busy'; basis: EraseBasis; reason: string } | { step: 'done'; result: EraseResult } | { step: 'failed'; key: MsgKey; code: string; basis: EraseBasis; reason: string };

/** The button that opens the dialog, shown while something of the item can still be erased. */
export function EraseButton({ docId, row, onErased }: { docId: string; row: Pick<Row, 'doc_kind' | 'erased' | 'item_id'>; onErased: (r: EraseResult) => void }) {
  const [open, setOpen] = useState(false);
  const choices = eraseChoices(row);
  if (choices.length === 0 && !open) return null;
  return (
    <>
      <button type="button" class="btn danger" onClick={() => setOpen(true)} data-testid="erase-open">
        {t('erase.open')}
      </button>
      {open && <EraseDialog docId={docId} itemId={row.item_id} kind={row.doc_kind} choices={choices.length > 0 ? choices : ['item']} onClose={() => setOpen(false)} onErased={onErased} />}
    </>
  );
}

function EraseDialog(props: { docId: string; itemId: string; kind: Row['doc_kind']; choices: EraseWhat[]; onClose: () => void; onErased: (r: EraseResult) => void }) {
  const app = useApp();
  const [what, setWhat] = useState<EraseWhat>(props.choices[0]);
  const [reasonKind, setReasonKind] = useState<ReasonKind>('verzoek');
  const [detail, setDetail] = useState('');
  const [reasonError, setReasonError] = useState<MsgKey | null>(null);
  const [s, setS] = useState<Step>({ step: 'choose' });
  const first = useRef<HTMLHeadingElement>(null);
  const busy = s.step === 'busy';
  const busyRef = useRef(false);
  busyRef.current = busy;

  useEffect(() => {
    first.current?.focus();
  }, [s.step]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !busyRef.current) props.onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  function next(e: Event) {
    e.preventDefault();
    const r = reasonOf(reasonKind, detail);
    if (!r.ok) {
      setReasonError(r.key);
      return;
    }
    setReasonError(null);
    setS({ step: 'confirm', basis: basisOf(reasonKind), reason: r.text });
  }

  async function erase(basis: EraseBasis, reason: string) {
    setS({ step: 'busy', basis, reason });
    const out = await requestErase(app.api, props.docId, props.itemId, what, basis, reason, globalThis.navigator?.onLine !== false);
    if (out.ok) {
      setS({ step: 'done', result: out.result });
      props.onErased(out.result);
    } else setS({ step: 'failed', key: out.key, code: out.code, basis, reason });
  }

  const itemLabel = props.kind === 'walk' ? 'erase.what.item.walk' : 'erase.what.item.spreekuur';
  return (
    <div class="dialog-backdrop">
      <div class="dialog erase-dialog" role="dialog" aria-modal="true" aria-labelledby="erase-title" data-testid="erase-dialog" data-step={s.step}>
        <h2 id="erase-title" tabIndex={-1} ref={first}>
          {s.step === 'confirm' ? t('erase.confirm.title') : t('erase.title')}
        </h2>
        {s.step === 'choose' && (
          <form class="stack" onSubmit={next}>
            <fieldset>
              <legend>{t('erase.what')}</legend>
              {props.choices.map((w) => (
                <label class="check" key={w}>
                  <input type="radio" name="erase-what" value={w} checked={what === w} onChange={() => setWhat(w)} data-testid={`erase-what-${w}`} />
                  <span>{t(w === 'contact' ? 'erase.what.contact' : itemLabel)}</span>
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>{t('erase.reason')}</legend>
              {(['verzoek', 'other'] as const).map((k) => (
                <label class="check" key={k}>
                  <input
                    type="radio"
                    name="erase-reason"
                    value={k}
                    checked={reasonKind === k}
                    onChange={() => {
                      setReasonKind(k);
                      setReasonError(null);
                    }}
                    data-testid={`erase-reason-${k}`}
                  />
                  <span>{t(k === 'verzoek' ? 'erase.reason.verzoek' : 'erase.reason.other')}</span>
                </label>
              ))}
            </fieldset>
            <label for="erase-detail">{t('erase.reason.detail')}</label>
            <textarea
              id="erase-detail"
              rows={2}
              maxLength={MAX_REASON_CHARS}
              value={detail}
              aria-required={reasonKind === 'other'}
              aria-describedby="erase-detail-hint"
              aria-invalid={reasonError !== null}
              onInput={(e) => {
                setDetail(e.currentTarget.value);
                setReasonError(null);
              }}
              data-testid="erase-reason-detail"
            />
            <p id="erase-detail-hint" class="hint">
              {t(reasonKind === 'verzoek' ? 'erase.reason.detail_hint.verzoek' : 'erase.reason.detail_hint.other')}
            </p>
            {reasonError && (
              <p class="error-text" role="alert" data-testid="erase-reason-error">
                {t(reasonError)}
              </p>
            )}
            <div class="row">
              <button type="submit" class="btn primary" data-testid="erase-next">
                {t('erase.next')}
              </button>
              <button type="button" class="btn" onClick={props.onClose}>
                {t('erase.cancel')}
              </button>
            </div>
          </form>
        )}
        {(s.step === 'confirm' || s.step === 'busy') && (
          <>
            <p data-testid="erase-consequence">{t(what === 'contact' ? 'erase.confirm.contact' : 'erase.confirm.item')}</p>
            {what === 'item' && <p class="hint">{t('erase.confirm.stays')}</p>}
            <p class="hint">{t('erase.confirm.reason', { reason: s.reason })}</p>
            {busy && (
              <p role="status" data-testid="erase-busy">
                {t('erase.busy')}
              </p>
            )}
            <div class="row">
              <button type="button" class="btn danger" disabled={busy} onClick={() => void erase(s.basis, s.reason)} data-testid="erase-confirm">
                {t('erase.confirm.yes')}
              </button>
              <button type="button" class="btn" disabled={busy} onClick={() => setS({ step: 'choose' })} data-testid="erase-back">
                {t('erase.back')}
              </button>
            </div>
          </>
        )}
        {s.step === 'done' && (
          <>
            <p role="status" data-testid="erase-done" data-epoch={s.result.epoch}>
              {t(s.result.what === 'contact' ? 'erase.done.contact' : 'erase.done.item')}
              {s.result.photos_removed > 0 ? ` ${tn('erase.done.photos', s.result.photos_removed)}` : ''}
            </p>
            <button type="button" class="btn primary" onClick={props.onClose} data-testid="erase-close">
              {t('erase.close')}
            </button>
          </>
        )}
        {s.step === 'failed' && (
          <>
            <p class="error-text" role="alert" data-testid="erase-error" data-code={s.code}>
              {t(s.key, { code: s.code })}
            </p>
            <div class="row">
              <button type="button" class="btn" onClick={() => setS({ step: 'confirm', basis: s.basis, reason: s.reason })} data-testid="erase-retry">
                {t('erase.back')}
              </button>
              <button type="button" class="btn" onClick={props.onClose} data-testid="erase-close">
                {t('erase.close')}
              </button>
            </div>
          </>
        )}
      </div>
    </div>
  );
}
