import { describe, expect, it } from 'vitest';
import { decryptBytes, decryptJson, encryptBytes, encryptJson, generateKey, IV_BYTES } from './crypto';

describe('record encryption', () => {
  it('round-trips bytes and JSON and never stores the plaintext', async () => {
    const key = await generateKey();
    const plain = new TextEncoder().encode('Jongeren bij winkelcentrum Kostmand');
    const rec = await encryptBytes(key, plain, 'changes/doc-1');
    expect(rec.iv.length).toBe(IV_BYTES);
    const ct = new Uint8Array(rec.ct);
    expect(ct.length).toBe(plain.length + 16);
    expect(new TextDecoder('latin1').decode(ct)).not.toContain('Kostmand');
    expect(Array.from(await decryptBytes(key, rec, 'changes/doc-1'))).toEqual(Array.from(plain));
    const j = await encryptJson(key, { ackedHeads: ['ab'] }, 'sync/x');
    expect(await decryptJson(key, j, 'sync/x')).toEqual({ ackedHeads: ['ab'] });
  });

  it('uses a fresh IV per record', async () => {
    const key = await generateKey();
    const a = await encryptBytes(key, new Uint8Array([1]), 'k');
    const b = await encryptBytes(key, new Uint8Array([1]), 'k');
    expect(Array.from(a.iv)).not.toEqual(Array.from(b.iv));
  });

  it('refuses a record moved to another key (AAD) or tampered with', async () => {
    const key = await generateKey();
    const rec = await encryptBytes(key, new Uint8Array([1, 2, 3]), 'docs/a');
    await expect(decryptBytes(key, rec, 'docs/b')).rejects.toThrow();
    const bad = new Uint8Array(rec.ct);
    bad[0] ^= 1;
    await expect(decryptBytes(key, { iv: rec.iv, ct: bad.buffer }, 'docs/a')).rejects.toThrow();
  });

  it('makes a key that script cannot export', async () => {
    const key = await generateKey();
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });
});
