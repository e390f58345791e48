// Wire format helpers for the sync protocol (docs/sync-protocol.md):
// binary frames are 16 raw bytes of the document UUID followed by one
// automerge sync message; JSON text frames carry control messages.

export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error('invalid uuid');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToUuid(b: Uint8Array): string {
  if (b.length < 16) throw new Error('short uuid');
  const h = Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function encodeFrame(docId: string, msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + msg.length);
  out.set(uuidToBytes(docId), 0);
  out.set(msg, 16);
  return out;
}

export function decodeFrame(data: ArrayBuffer | Uint8Array): { docId: string; msg: Uint8Array } {
  const b = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (b.length < 16) throw new Error('frame shorter than 16 bytes');
  return { docId: bytesToUuid(b), msg: b.slice(16) };
}

export interface ServerUser {
  id: string;
  name: string;
  roles: string[];
  team: string | null;
}

export interface DocAnnouncement {
  id: string;
  kind: string;
  heads: string[];
  /** How often the server rewrote the document's history (an erasure); 0 before protocol 3. */
  epoch: number;
}

export type ServerMessage =
  | { type: 'ready'; user: ServerUser; docs: DocAnnouncement[] }
  | { type: 'ack'; doc: string; heads: string[] }
  | ({ type: 'doc' } & DocAnnouncement)
  /** The document left this device's scope (docs/sync-protocol.md §2): nothing more of it comes. */
  | { type: 'unscope'; doc: string }
  /** Coordinators (protocol 4): walks or sessions changed elsewhere; the review lists may read differently (no content). */
  | { type: 'lists_changed' }
  /** Protocol 5: the answer to `unsubscribe` when the document stays in this device's scope, and why (`member`, `planned`, `open_task`, …). */
  | { type: 'kept'; doc: string; reason: string }
  | { type: 'error'; doc: string | null; code: string; message: string };

/** Parse a JSON text frame; null for anything that is not a known message. */
export function parseServerMessage(text: string): ServerMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const m = v as Record<string, unknown>;
  const strs = (x: unknown): x is string[] => Array.isArray(x) && x.every((h) => typeof h === 'string');
  switch (m.type) {
    case 'ready': {
      const docs = Array.isArray(m.docs) ? m.docs : [];
      const u = (m.user ?? {}) as Record<string, unknown>;
      return {
        type: 'ready',
        user: {
          id: String(u.id ?? ''),
          name: String(u.name ?? ''),
          roles: strs(u.roles) ? u.roles : [],
          team: typeof u.team === 'string' ? u.team : null,
        },
        docs: docs
          .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
          .filter((d) => typeof d.id === 'string')
          .map((d) => ({ id: d.id as string, kind: String(d.kind ?? ''), heads: strs(d.heads) ? d.heads : [], epoch: epochOf(d.epoch) })),
      };
    }
    case 'ack':
      if (typeof m.doc !== 'string' || !strs(m.heads)) return null;
      return { type: 'ack', doc: m.doc, heads: m.heads };
    case 'doc':
      if (typeof m.id !== 'string') return null;
      return { type: 'doc', id: m.id, kind: String(m.kind ?? ''), heads: strs(m.heads) ? m.heads : [], epoch: epochOf(m.epoch) };
    case 'unscope':
      if (typeof m.doc !== 'string') return null;
      return { type: 'unscope', doc: m.doc };
    case 'lists_changed':
      return { type: 'lists_changed' };
    case 'kept':
      if (typeof m.doc !== 'string') return null;
      return { type: 'kept', doc: m.doc, reason: typeof m.reason === 'string' ? m.reason : '' };
    case 'error':
      return {
        type: 'error',
        doc: typeof m.doc === 'string' ? m.doc : null,
        code: typeof m.code === 'string' ? m.code : 'internal',
        message: typeof m.message === 'string' ? m.message : '',
      };
    default:
      return null;
  }
}

/** A document's epoch as announced: a whole number >= 0 (absent before protocol 3: 0). */
export function epochOf(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** Expiry (ms since epoch) of a JWT, read without verifying it; null if unreadable. */
export function jwtExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const claims = JSON.parse(atob(b64)) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}
