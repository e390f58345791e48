import { describe, expect, it } from 'vitest';
import { bytesToUuid, decodeFrame, encodeFrame, jwtExpiry, parseServerMessage, uuidToBytes } from './frames';

const ID = '0f8e4c7a-1b2c-4d3e-8f90-a1b2c3d4e5f6';

describe('binary frames', () => {
  it('put the 16 raw uuid bytes before the sync message', () => {
    const frame = encodeFrame(ID, new Uint8Array([0x42, 0x43]));
    expect(frame.length).toBe(18);
    expect(Array.from(frame.subarray(0, 4))).toEqual([0x0f, 0x8e, 0x4c, 0x7a]);
    expect(Array.from(frame.subarray(16))).toEqual([0x42, 0x43]);
    const back = decodeFrame(frame.buffer as ArrayBuffer);
    expect(back.docId).toBe(ID);
    expect(Array.from(back.msg)).toEqual([0x42, 0x43]);
  });

  it('refuse frames shorter than 16 bytes and malformed uuids', () => {
    expect(() => decodeFrame(new Uint8Array(15))).toThrow(/16 bytes/);
    expect(() => uuidToBytes('not-a-uuid')).toThrow();
    expect(bytesToUuid(uuidToBytes(ID.toUpperCase()))).toBe(ID);
  });
});

describe('parseServerMessage', () => {
  it('reads ready, ack, doc and error frames', () => {
    const ready = parseServerMessage(
      JSON.stringify({ type: 'ready', user: { id: 'u1', name: 'A', roles: ['boa'], team: 't' }, docs: [{ id: ID, kind: 'walk', heads: ['aa'] }] }),
    );
    expect(ready).toEqual({ type: 'ready', user: { id: 'u1', name: 'A', roles: ['boa'], team: 't' }, docs: [{ id: ID, kind: 'walk', heads: ['aa'], epoch: 0 }] });
    expect(parseServerMessage(JSON.stringify({ type: 'ack', doc: ID, heads: ['bb'] }))).toEqual({ type: 'ack', doc: ID, heads: ['bb'] });
    expect(parseServerMessage(JSON.stringify({ type: 'error', doc: null, code: 'forbidden', message: 'no' }))).toEqual({
      type: 'error',
      doc: null,
      code: 'forbidden',
      message: 'no',
    });
    expect(parseServerMessage(JSON.stringify({ type: 'doc', id: ID, kind: 'spreekuur', heads: [] }))).toEqual({ type: 'doc', id: ID, kind: 'spreekuur', heads: [], epoch: 0 });
  });

  it('reads the epoch of ready and doc (protocol 3); anything but a whole number >= 0 is 0', () => {
    const ready = parseServerMessage(JSON.stringify({ type: 'ready', protocol: 3, user: {}, docs: [{ id: ID, kind: 'walk', heads: [], epoch: 2 }] }));
    expect(ready?.type === 'ready' && ready.docs[0].epoch).toBe(2);
    const doc = (epoch: unknown) => parseServerMessage(JSON.stringify({ type: 'doc', id: ID, kind: 'walk', heads: [], epoch }));
    expect(doc(5)).toMatchObject({ epoch: 5 });
    expect(doc(-1)).toMatchObject({ epoch: 0 });
    expect(doc(1.5)).toMatchObject({ epoch: 0 });
    expect(doc('3')).toMatchObject({ epoch: 0 });
  });

  it('reads unscope (the document left the scope) and refuses one without a document id', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'unscope', doc: ID }))).toEqual({ type: 'unscope', doc: ID });
    expect(parseServerMessage(JSON.stringify({ type: 'unscope' }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: 'unscope', doc: 7 }))).toBeNull();
  });

  it('ignores garbage and unknown types instead of throwing', () => {
    expect(parseServerMessage('{nope')).toBeNull();
    expect(parseServerMessage('"x"')).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: 'pong' }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: 'ack', doc: ID, heads: 'x' }))).toBeNull();
  });
});

describe('jwtExpiry', () => {
  it('reads exp (seconds) as ms and tolerates junk', () => {
    const payload = btoa(JSON.stringify({ exp: 1_900_000_000, sub: 'u' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    expect(jwtExpiry(`h.${payload}.s`)).toBe(1_900_000_000_000);
    expect(jwtExpiry('garbage')).toBeNull();
    expect(jwtExpiry('a.!!!.c')).toBeNull();
  });
});
