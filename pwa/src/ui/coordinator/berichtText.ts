// The blocks of a wijkbericht's plain text, by the same rules as the
// residents' page on the server (server/src/review/wijkbericht.rs, `blocks`):
// paragraphs at empty lines; in a paragraph, runs of lines starting with
// "- " are a list; a paragraph of one line of at most 80 characters ending in
// "?" is a heading. The coordinator's preview and print use it, so what they
// see is what residents get.

export type Block = { kind: 'heading'; text: string } | { kind: 'paragraph'; lines: string[] } | { kind: 'list'; items: string[] };

export function blocks(text: string): Block[] {
  const out: Block[] = [];
  for (const para of text.replace(/\r\n/g, '\n').split('\n\n')) {
    const lines = para
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    if (lines.length === 1 && lines[0].endsWith('?') && [...lines[0]].length <= 80) {
      out.push({ kind: 'heading', text: lines[0].trim() });
      continue;
    }
    let plain: string[] = [];
    let list: string[] = [];
    for (const l of lines) {
      const s = l.trimStart();
      if (s.startsWith('- ')) {
        if (plain.length) out.push({ kind: 'paragraph', lines: plain });
        plain = [];
        list.push(s.slice(2).trim());
      } else {
        if (list.length) out.push({ kind: 'list', items: list });
        list = [];
        plain.push(l.trim());
      }
    }
    if (plain.length) out.push({ kind: 'paragraph', lines: plain });
    if (list.length) out.push({ kind: 'list', items: list });
  }
  return out;
}

/** Whether the text seems to hold an e-mail address or phone number (the server refuses to publish it). */
export function looksPersonal(text: string): boolean {
  const words = text.split(/[\s<>()[\],;:"']+/);
  if (
    words.some((w) => {
      const at = w.indexOf('@');
      if (at <= 0) return false;
      const host = w.slice(at + 1).replace(/[.!?]+$/, '');
      const dot = host.indexOf('.');
      return dot > 0 && dot < host.length - 1;
    })
  )
    return true;
  let digits = 0;
  let seps = 0;
  for (const c of text) {
    if (c >= '0' && c <= '9') {
      digits++;
      seps = 0;
      if (digits >= 9) return true;
    } else if (' -.()/+'.includes(c) && digits > 0 && seps < 2) {
      seps++;
    } else {
      digits = 0;
      seps = 0;
    }
  }
  return false;
}
